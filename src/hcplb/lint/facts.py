"""Facts lint derives across files: the cluster nodes, the hosted clusters, their VIPs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from hcplb.lint.findings import Where


@dataclass(frozen=True)
class NodeFact:
    """A management-cluster node that runs a MetalLB speaker.

    `inferred`: only its address is known (from the router's neighbors); its labels are not,
    so node selectors cannot be evaluated against it.
    """

    name: str
    address: str
    where: Where
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    inferred: bool = False


@dataclass(frozen=True)
class ClusterFact:
    """A hosted cluster whose API server lint expects to find published."""

    name: str
    namespace: str
    where: Where
    base_domain: str | None = None

    @property
    def control_plane_namespace(self) -> str:
        return f"{self.namespace}-{self.name}"

    @property
    def api_names(self) -> tuple[str, ...]:
        if not self.base_domain:
            return ()
        base = self.base_domain.lower().rstrip(".")
        return (f"api.{self.name}.{base}", f"api-int.{self.name}.{base}")


@dataclass(frozen=True)
class VipFact:
    """An address a hosted cluster's API server is (or should be) published on."""

    address: str
    where: Where
    source: str  # service | site | dns
    cluster: str | None = None  # control-plane namespace, when known

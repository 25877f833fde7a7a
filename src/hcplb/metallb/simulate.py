"""simulate(): what MetalLB (FRR mode) does with a cluster's manifests, Services and Nodes."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hcplb.metallb.allocator import allocate
from hcplb.metallb.config import parse_config
from hcplb.metallb.frr import render_frr
from hcplb.metallb.frrk8s import OPENSHIFT_NAMESPACE, frr_configuration, node_config, render_frrk8s
from hcplb.metallb.objects import NodeView, ServiceView
from hcplb.metallb.speaker import SpeakerConfig, speaker_for

__all__ = ["Simulation", "simulate"]

_NS_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class Simulation:
    """The outcome: addresses per Service (`ns/name`), and per node its speaker and frr.conf.

    `reason` is set when MetalLB runs nothing at all (no MetalLB resource); `notes` lists
    configuration MetalLB silently ignores (an advertisement naming a missing pool, ...).
    """

    allocations: dict[str, tuple[str, ...]]
    unallocated: dict[str, str]
    speakers: dict[str, SpeakerConfig]
    frr_configs: dict[str, str] = field(repr=False)  # they hold the BGP password
    pools: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    reason: str = ""
    backend: str = "frr"
    frr_configurations: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    def announcers(self, service: str) -> tuple[str, ...]:
        """The nodes that announce the Service to at least one router, sorted."""
        return tuple(sorted(n for n, s in self.speakers.items() if service in s.announced))


def _namespaces(
    manifests: Sequence[Mapping[str, Any]], services: Sequence[ServiceView]
) -> dict[str, dict[str, str]]:
    """Namespace labels: from Namespace objects, else the label Kubernetes puts on every one."""
    result: dict[str, dict[str, str]] = {}
    for m in manifests:
        if m.get("kind") == "Namespace":
            meta = m.get("metadata") or {}
            name = str(meta.get("name", ""))
            labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
            result[name] = {_NS_NAME_LABEL: name, **labels}
    for svc in services:
        result.setdefault(svc.namespace, {_NS_NAME_LABEL: svc.namespace})
    return result


def simulate(
    manifests: Sequence[Mapping[str, Any]],
    services: Sequence[Mapping[str, Any]],
    nodes: Sequence[Mapping[str, Any]],
    *,
    endpoints: Mapping[str, Collection[str]] | None = None,
    frrk8s_namespace: str = OPENSHIFT_NAMESPACE,
) -> Simulation:
    """Run MetalLB's controller then every speaker over the objects; MetallbError if MetalLB
    (or frr-k8s) would reject the configuration. `endpoints` maps `ns/name` to the nodes with a
    ready endpoint (default: every Service is ready on every node); `frrk8s_namespace` is where
    MetalLB writes FRRConfigurations in frr-k8s mode."""
    node_views = [NodeView.of(n) for n in nodes]
    svc_views = [ServiceView.of(s) for s in services]
    parsed = parse_config(
        manifests,
        {n.name: dict(n.labels) for n in node_views},
        _namespaces(manifests, svc_views),
    )
    if parsed.config is None:
        unallocated = {s.key: parsed.reason for s in svc_views if s.type == "LoadBalancer"}
        return Simulation({}, unallocated, {}, {}, reason=parsed.reason)
    config = parsed.config
    result = allocate(config, svc_views)
    by_key = {s.key: s for s in svc_views}
    speakers = {
        n.name: speaker_for(config, n, result.allocations, by_key, endpoints)
        for n in node_views
        if all(n.labels.get(k) == v for k, v in config.speaker_node_selector.items())
    }
    objects: dict[str, dict[str, Any]] = {}
    if config.bgp_backend.startswith("frr-k8s"):
        objects = {n: frr_configuration(s.frr, n, frrk8s_namespace) for n, s in speakers.items()}
        frr_configs = {
            n: render_frrk8s(node_config([obj], hostname=n)) for n, obj in objects.items()
        }
    else:
        frr_configs = {name: render_frr(s.frr) for name, s in speakers.items()}
    return Simulation(
        allocations={k: a.ips for k, a in result.allocations.items()},
        unallocated=dict(result.unallocated),
        speakers=speakers,
        frr_configs=frr_configs,
        pools={k: a.pool for k, a in result.allocations.items()},
        notes=parsed.notes,
        backend=config.bgp_backend,
        frr_configurations=objects,
    )

"""`hostedcluster check`: compare a live HostedCluster with what the site wants.

`spec.services` is immutable once the HostedCluster exists (the CRD's CEL rule "Services is
immutable"), so a difference there cannot be fixed by patching: the cluster has to be
recreated with the patched manifest. `allowedCIDRBlocks` can be changed in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import lightkube
from lightkube import ApiError

from hcplb.errors import TargetError
from hcplb.hypershift.patch import DesiredHostedCluster
from hcplb.targets.kube import RESOURCES, is_missing_kind, status_of, translated

# The HostedCluster CRD's CEL rule (x-kubernetes-validations on spec):
#   self.platform.type != "IBMCloud" ? self.services == oldSelf.services : true
# with the message below; so on every platform but IBMCloud, once the HostedCluster exists the
# API server refuses any change to spec.services (an `oc apply` of a patched manifest fails).
IMMUTABLE_MESSAGE = (
    "Services is immutable. Changes might result in unpredictable and disruptive behavior."
)
IMMUTABLE_HINT = (
    "spec.services is immutable once a HostedCluster exists (HyperShift's CEL rule: "
    f"'{IMMUTABLE_MESSAGE}'): recreate the hosted cluster from a manifest fixed with "
    "`hcplb hostedcluster patch`"
)
LOADBALANCER_HINT = (
    "its API server is already a LoadBalancer Service, so MetalLB gives it a VIP from the site's "
    "pools all the same; only the name in kubeconfigs and the certificate differ. Keep it and "
    "publish the VIP, or recreate the hosted cluster (spec.services is immutable) to change the "
    "name"
)
MUTABLE_HINT = (
    "IBMCloud HostedClusters may change spec.services: apply the manifest fixed with "
    "`hcplb hostedcluster patch`"
)


@dataclass(frozen=True)
class Comparison:
    """One compared field: ok, or what differs and how to fix it."""

    field: str
    expected: str
    observed: str
    ok: bool
    hint: str = ""


@dataclass(frozen=True)
class CheckReport:
    cluster: str
    findings: tuple[Comparison, ...]
    services_mutable: bool = False  # IBMCloud: the immutability rule does not apply

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)

    @property
    def must_recreate(self) -> bool:
        return not self.services_mutable and any(
            not f.ok and f.field.startswith("spec.services") for f in self.findings
        )

    def verdict(self) -> str:
        """One line: can this cluster still be changed to what the site wants, and how."""
        if self.ok:
            return f"{self.cluster}: as the site wants"
        if self.services_mutable:
            return f"{self.cluster}: differs; {MUTABLE_HINT}"
        if self.must_recreate:
            return (
                f"{self.cluster}: can no longer be changed to what the site wants: the API "
                f"server refuses any change to spec.services ('{IMMUTABLE_MESSAGE}'); recreate "
                "it from a manifest fixed with `hcplb hostedcluster patch`"
            )
        return f"{self.cluster}: differs in fields that can change in place (see the hints)"


def _contains(observed: Any, expected: Any) -> bool:
    """Every field of `expected` is in `observed` (the API server may add defaults)."""
    if isinstance(expected, Mapping):
        return isinstance(observed, Mapping) and all(
            _contains(observed.get(k), v) for k, v in expected.items()
        )
    return bool(observed == expected)


def _describe(strategy: Any) -> str:
    if not isinstance(strategy, Mapping):
        return "absent"
    text = str(strategy.get("type", "?"))
    hostname = (strategy.get("loadBalancer") or {}).get("hostname")
    return f"{text} (hostname {hostname})" if hostname else text


def compare(live: Mapping[str, Any], desired: DesiredHostedCluster) -> CheckReport:
    """Findings for one live HostedCluster object (a dict as the API returns it)."""
    spec = live.get("spec") or {}
    mutable = (spec.get("platform") or {}).get("type") == "IBMCloud"
    findings: list[Comparison] = []
    services = {
        s.get("service"): s.get("servicePublishingStrategy") for s in spec.get("services") or []
    }
    for wanted in desired.services:
        name = wanted["service"]
        strategy = wanted["servicePublishingStrategy"]
        observed = services.get(name)
        ok = _contains(observed, strategy)
        hint = MUTABLE_HINT if mutable else IMMUTABLE_HINT
        if (
            not mutable
            and name == "APIServer"
            and isinstance(observed, Mapping)
            and observed.get("type") == strategy.get("type") == "LoadBalancer"
        ):
            hint = f"{LOADBALANCER_HINT} ({IMMUTABLE_MESSAGE})"
        findings.append(
            Comparison(
                f"spec.services[{name}]",
                _describe(strategy),
                _describe(observed),
                ok,
                "" if ok else hint,
            )
        )
    observed_blocks = ((spec.get("networking") or {}).get("apiServer") or {}).get(
        "allowedCIDRBlocks"
    ) or []
    ok = sorted(observed_blocks) == sorted(desired.allowed_cidr_blocks)
    findings.append(
        Comparison(
            "spec.networking.apiServer.allowedCIDRBlocks",
            ", ".join(desired.allowed_cidr_blocks) or "unset (all sources)",
            ", ".join(observed_blocks) or "unset (all sources)",
            ok,
            ""
            if ok
            else "this field can change on a live cluster: oc patch hostedcluster, or apply the "
            "manifest fixed with `hcplb hostedcluster patch`",
        )
    )
    base_domain = (spec.get("dns") or {}).get("baseDomain", "")
    ok = base_domain == desired.base_domain
    findings.append(
        Comparison(
            "spec.dns.baseDomain",
            desired.base_domain,
            base_domain or "unset",
            ok,
            "" if ok else "baseDomain is immutable: fix the site or recreate the hosted cluster",
        )
    )
    endpoint = ((live.get("status") or {}).get("controlPlaneEndpoint") or {}).get("host") or ""
    if endpoint:
        ok = endpoint in (desired.vip, desired.api_name)
        findings.append(
            Comparison(
                "status.controlPlaneEndpoint.host",
                f"{desired.api_name} or {desired.vip}",
                endpoint,
                ok,
                ""
                if ok
                else "the API is published elsewhere: check the kube-apiserver Service's "
                "ingress IP (hcplb verify --kubeconfig)",
            )
        )
    return CheckReport(desired.key, tuple(findings), services_mutable=mutable)


def check_hostedcluster(client: lightkube.Client, desired: DesiredHostedCluster) -> CheckReport:
    """Read the HostedCluster (read only) and compare it; TargetError if it cannot be read."""
    action = f"reading HostedCluster {desired.key}"
    with translated(action):
        try:
            obj = client.get(RESOURCES["HostedCluster"], desired.name, namespace=desired.namespace)
        except ApiError as exc:
            if is_missing_kind(exc):
                raise TargetError(
                    f"{action}: this cluster has no HostedCluster kind (hint: point "
                    "--kubeconfig at the management cluster, where HyperShift is installed)"
                ) from None
            if status_of(exc)[0] == 404:
                raise TargetError(
                    f"HostedCluster {desired.key} does not exist (hint: create it from a "
                    "manifest fixed with `hcplb hostedcluster patch`)"
                ) from None
            raise
    data = obj.to_dict()
    assert isinstance(data, dict)
    return compare(data, desired)

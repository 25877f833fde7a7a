"""The Kubernetes objects MetalLB reacts to: the hosted cluster's kube-apiserver Service and Nodes."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hcplb.errors import MetallbError

__all__ = [
    "BACKENDS",
    "CONFIG_KINDS",
    "CONTROL_PLANE_NAMESPACE_LABEL",
    "CONTROL_PLANE_NAMESPACE_SELECTOR",
    "DEFAULT_NAMESPACE",
    "EXCLUDE_LABEL",
    "GROUP",
    "KAS_SERVICE_SELECTOR",
    "NodeView",
    "ServiceView",
    "apiserver_service",
    "control_plane_namespace",
    "node_object",
]

GROUP = "metallb.io"
# The kinds MetalLB's controller and speakers read their configuration from.
CONFIG_KINDS = (
    "IPAddressPool",
    "BGPPeer",
    "BGPAdvertisement",
    "L2Advertisement",
    "BFDProfile",
    "Community",
)
# The MetalLB CR's spec.bgpBackend values the operator accepts.
BACKENDS = ("native", "frr", "frr-k8s", "frr-k8s-external")
DEFAULT_NAMESPACE = "metallb-system"
EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"
KAS_LABELS = {
    "app": "kube-apiserver",
    "hypershift.openshift.io/control-plane-component": "kube-apiserver",
}
# The label HyperShift's operator puts on every control-plane namespace (hypershift-operator/
# controllers/hostedcluster/hostedcluster_controller.go, "Reconcile the hosted cluster
# namespace"): value "true" today, "" in older releases, so selectors test that it exists.
CONTROL_PLANE_NAMESPACE_LABEL = "hypershift.openshift.io/hosted-control-plane"
# A shared pool's serviceAllocation: HyperShift's control-plane namespaces, kube-apiserver only.
CONTROL_PLANE_NAMESPACE_SELECTOR: dict[str, Any] = {
    "matchExpressions": [{"key": CONTROL_PLANE_NAMESPACE_LABEL, "operator": "Exists"}]
}
KAS_SERVICE_SELECTOR: dict[str, Any] = {"matchLabels": {"app": "kube-apiserver"}}


def control_plane_namespace(name: str, *, value: str = "true") -> dict[str, Any]:
    """A hosted control plane's Namespace as HyperShift's operator labels it."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/metadata.name": name, CONTROL_PLANE_NAMESPACE_LABEL: value},
        },
    }


def apiserver_service(
    namespace: str,
    *,
    name: str = "kube-apiserver",
    annotations: Mapping[str, str] | None = None,
    allowed_cidr_blocks: Sequence[str] = (),
    ip_families: Sequence[str] = ("IPv4",),
) -> dict[str, Any]:
    """The hosted cluster's kube-apiserver Service as HyperShift's LoadBalancer strategy makes it.

    `namespace` is the control-plane namespace (`<namespace>-<name>` of the HostedCluster).
    HyperShift sets PreferDualStack and no ipFamilies (control-plane-operator kas/service.go),
    so the API server gives it the management cluster's families, primary first: `ip_families`.
    externalTrafficPolicy is the default, Cluster.
    """
    spec: dict[str, Any] = {
        "type": "LoadBalancer",
        "selector": dict(KAS_LABELS),
        "ports": [{"port": 6443, "protocol": "TCP", "targetPort": "client"}],
        "externalTrafficPolicy": "Cluster",
        "ipFamilyPolicy": "PreferDualStack",
        "ipFamilies": list(ip_families),
    }
    if allowed_cidr_blocks:
        spec["loadBalancerSourceRanges"] = list(allowed_cidr_blocks)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": dict(KAS_LABELS),
            "annotations": dict(annotations or {}),
        },
        "spec": spec,
    }


def node_object(
    name: str, address: str, labels: Mapping[str, str], *more_addresses: str
) -> dict[str, Any]:
    """A Ready Kubernetes Node with `kubernetes.io/hostname` and an InternalIP address (one
    per family on a dual-stack node: `more_addresses`)."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/hostname": name, **labels},
        },
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": address},
                *({"type": "InternalIP", "address": a} for a in more_addresses),
                {"type": "Hostname", "address": name},
            ],
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


@dataclass(frozen=True)
class NodeView:
    """What the speaker reads from a Node."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    address: str = ""
    network_unavailable: bool = False

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> NodeView:
        meta = obj.get("metadata") or {}
        name = meta.get("name")
        if not isinstance(name, str) or not name:
            raise MetallbError("Node without metadata.name")
        status = obj.get("status") or {}
        address = next(
            (
                a.get("address", "")
                for a in status.get("addresses") or []
                if a.get("type") == "InternalIP"
            ),
            "",
        )
        unavailable = any(
            c.get("type") == "NetworkUnavailable" and c.get("status") == "True"
            for c in status.get("conditions") or []
        )
        labels = {
            str(k): "" if v is None else str(v) for k, v in (meta.get("labels") or {}).items()
        }
        return cls(name, labels, address, unavailable)

    @property
    def excluded(self) -> bool:
        """Labelled to be left out of load balancers (MetalLB then announces nothing from it)."""
        return EXCLUDE_LABEL in self.labels


@dataclass(frozen=True)
class ServiceView:
    """What the controller and the speakers read from a Service."""

    namespace: str
    name: str
    type: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    load_balancer_ip: str
    load_balancer_class: str
    family: str  # "ipv4", "ipv6" or "dual"
    family_policy: str
    ports: tuple[tuple[str, int], ...]
    local_traffic: bool
    selector: tuple[tuple[str, str], ...]
    ingress: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def annotation(self, name: str) -> str:
        """A `metallb.io/<name>` annotation, or the deprecated `metallb.universe.tf/<name>`."""
        for prefix in ("metallb.io/", "metallb.universe.tf/"):
            if prefix + name in self.annotations:
                return self.annotations[prefix + name]
        return ""

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> ServiceView:
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        name = meta.get("name")
        if not isinstance(name, str) or not name:
            raise MetallbError("Service without metadata.name")
        ns = meta.get("namespace") or "default"
        status = (obj.get("status") or {}).get("loadBalancer") or {}
        try:
            ports = tuple(
                (str(p.get("protocol", "TCP")), int(p["port"])) for p in spec.get("ports") or []
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise MetallbError(
                f"Service {ns}/{name}: spec.ports needs a port number each"
            ) from None
        return cls(
            namespace=ns,
            name=name,
            type=str(spec.get("type", "ClusterIP")),
            labels={str(k): str(v) for k, v in (meta.get("labels") or {}).items()},
            annotations={str(k): str(v) for k, v in (meta.get("annotations") or {}).items()},
            load_balancer_ip=str(spec.get("loadBalancerIP") or ""),
            load_balancer_class=str(spec.get("loadBalancerClass") or ""),
            family=_family(spec, f"Service {ns}/{name}"),
            family_policy=str(spec.get("ipFamilyPolicy") or "SingleStack"),
            ports=ports,
            local_traffic=spec.get("externalTrafficPolicy") == "Local",
            selector=tuple(
                sorted((str(k), str(v)) for k, v in (spec.get("selector") or {}).items())
            ),
            ingress=tuple(str(i["ip"]) for i in status.get("ingress") or [] if i.get("ip")),
        )


def _family(spec: Mapping[str, Any], where: str) -> str:
    """The Service's IP family from its cluster IPs, else ipFamilies, else IPv4."""
    cluster_ips = [
        ip for ip in spec.get("clusterIPs") or [spec.get("clusterIP")] if ip and ip != "None"
    ]
    try:
        versions = {ipaddress.ip_address(ip).version for ip in cluster_ips}
    except ValueError:
        raise MetallbError(f"{where}: spec.clusterIPs {cluster_ips} are not IP addresses") from None
    if not versions:
        versions = {6 if f == "IPv6" else 4 for f in spec.get("ipFamilies") or ["IPv4"]}
    if len(versions) == 2:
        return "dual"
    return f"ipv{versions.pop()}"

"""What a healthy site looks like, per router and per hosted cluster (pure: plan + MetalLB).

Which nodes announce which VIP to which router is MetalLB's decision, so it comes from
`hcplb.metallb.simulate` over the rendered manifests (the lab computes its own convergence
the same way). When MetalLB would reject the manifests, every node peering with a router is
assumed to announce every VIP, and `notes` says why.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from hcplb.errors import HcplbError
from hcplb.metallb import apiserver_service, node_object, simulate
from hcplb.plan import ClusterPlan, SitePlan
from hcplb.render.cluster import cluster_manifests
from hcplb.render.host import sysctl_settings
from hcplb.render.secrets import Secrets
from hcplb.spec.models import Bfd

__all__ = ["ClusterExpect", "NodeExpect", "RouterExpect", "SiteExpect", "expect_site"]

API_PORT = 6443


@dataclass(frozen=True)
class NodeExpect:
    name: str
    address: str
    asn: int


@dataclass(frozen=True)
class VipExpect:
    vip: str
    prefix: str
    cluster: str
    """`namespace/name` of the hosted cluster"""
    announcers: tuple[NodeExpect, ...]


@dataclass(frozen=True)
class RouterExpect:
    name: str
    asn: int
    address: str
    sessions: tuple[NodeExpect, ...]
    vips: tuple[VipExpect, ...]
    bfd: Bfd | None
    sysctl: tuple[tuple[str, str], ...]
    frr_conf: str | None = field(default=None, repr=False)  # holds the BGP password
    """the rendered frr.conf to compare the running one with (None: not checked)"""

    def prefixes_from(self, node: NodeExpect) -> int:
        return sum(1 for v in self.vips if node in v.announcers)


@dataclass(frozen=True)
class ClusterExpect:
    key: str
    name: str
    namespace: str
    control_plane_namespace: str
    vip: str
    api_name: str
    api_int_name: str
    announcers: tuple[NodeExpect, ...]
    port: int = API_PORT
    addressed_by_ip: bool = False
    """no DNS zone in the spec: clients use the VIP, so the certificate must cover it"""

    @property
    def id(self) -> str:
        """The probe-id segment of this cluster (its control-plane namespace)."""
        return self.control_plane_namespace


@dataclass(frozen=True)
class SiteExpect:
    name: str
    routers: tuple[RouterExpect, ...]
    clusters: tuple[ClusterExpect, ...]
    metallb_namespace: str
    manifests: tuple[dict[str, Any], ...] = field(repr=False)
    notes: tuple[str, ...] = ()


def service_key(cluster: ClusterPlan) -> str:
    return f"{cluster.control_plane_namespace}/kube-apiserver"


@dataclass(frozen=True)
class _Metallb:
    announcers: dict[tuple[str, str], list[str]]
    """(router name, prefix) -> announcing node names"""
    sessions: dict[str, list[str]] | None
    """router name -> nodes with a speaker session to it (None: unknown, assume every node)"""
    notes: tuple[str, ...]


def _metallb(plan: SitePlan, manifests: list[dict[str, Any]]) -> _Metallb:
    """What MetalLB would do with the manifests: sessions and announcements per router."""
    routers = {r.address: r.name for r in plan.routers}
    services = [
        apiserver_service(
            c.control_plane_namespace, allowed_cidr_blocks=c.cluster.allowed_cidr_blocks
        )
        for c in plan.clusters
    ]
    nodes = [node_object(n.name, n.address, n.labels) for n in plan.nodes]
    table: dict[tuple[str, str], list[str]] = {}
    sessions: dict[str, list[str]] = {r.name: [] for r in plan.routers}
    try:
        sim = simulate(manifests, services, nodes)
    except HcplbError as exc:
        sim = None
        note = f"MetalLB would reject the rendered manifests ({exc}); assuming every node announces"
    if sim is None or sim.reason:
        note = sim.reason if sim is not None else note
        for r in plan.routers:
            for c in plan.clusters:
                table[(r.name, f"{c.vip}/32")] = [n.name for n in plan.nodes]
        return _Metallb(table, None, (note,))
    for node, speaker in sim.speakers.items():
        for session in speaker.sessions:
            name = routers.get(session.peer_address or "")
            if name is None:
                continue
            sessions[name].append(node)
            for prefix in speaker.prefixes_to(session.peer_address or ""):
                table.setdefault((name, prefix), []).append(node)
    return _Metallb(table, sessions, sim.notes)


def _covering(vip: str, prefixes: list[str]) -> str:
    """The announced prefix that carries `vip` (its /32, or an aggregate)."""
    if f"{vip}/32" in prefixes:
        return f"{vip}/32"
    addr = ipaddress.ip_address(vip)
    for p in prefixes:
        if addr in ipaddress.ip_network(p, strict=False):
            return p
    return f"{vip}/32"


def expect_site(
    plan: SitePlan,
    secrets: Secrets,
    *,
    profile: str = "hcplb",
    frr_confs: dict[str, str] | None = None,
) -> SiteExpect:
    """Expectations for `plan`; `frr_confs` maps router name to its rendered frr.conf."""
    manifests = cluster_manifests(plan, secrets, profile)
    metallb = _metallb(plan, manifests)
    table = metallb.announcers
    by_name = {n.name: n for n in plan.nodes}
    node_x = {
        p.node.name: NodeExpect(p.node.name, p.node.address, p.node_asn) for p in plan.peerings
    }
    routers = []
    for router in plan.routers:
        prefixes = [p for (r, p) in table if r == router.name]
        vips = []
        for c in plan.clusters:
            prefix = _covering(c.vip, prefixes)
            names = sorted(table.get((router.name, prefix), []))
            vips.append(
                VipExpect(
                    c.vip,
                    prefix,
                    f"{c.cluster.namespace}/{c.cluster.name}",
                    tuple(node_x[n] for n in names if n in by_name),
                )
            )
        peers = plan.peerings_of(router)
        if metallb.sessions is not None:
            peers = tuple(p for p in peers if p.node.name in metallb.sessions[router.name])
        sessions = tuple(node_x[p.node.name] for p in peers)
        routers.append(
            RouterExpect(
                name=router.name,
                asn=router.asn,
                address=router.address,
                sessions=sessions,
                vips=tuple(vips),
                bfd=plan.bfd if profile != "guide" else None,
                sysctl=tuple(sysctl_settings(profile=profile)),
                frr_conf=(frr_confs or {}).get(router.name),
            )
        )
    clusters = []
    for c in plan.clusters:
        announcers = {
            n.name: n for r in routers for v in r.vips if v.vip == c.vip for n in v.announcers
        }
        clusters.append(
            ClusterExpect(
                key=f"{c.cluster.namespace}/{c.cluster.name}",
                name=c.cluster.name,
                namespace=c.cluster.namespace,
                control_plane_namespace=c.control_plane_namespace,
                vip=c.vip,
                api_name=c.api_name,
                api_int_name=c.api_int_name,
                announcers=tuple(announcers[n] for n in sorted(announcers)),
                addressed_by_ip=plan.site.spec.dns.zone is None,
            )
        )
    return SiteExpect(
        name=plan.site.name,
        routers=tuple(routers),
        clusters=tuple(clusters),
        metallb_namespace=plan.site.spec.management_cluster.metallb_namespace,
        manifests=tuple(manifests),
        notes=metallb.notes,
    )

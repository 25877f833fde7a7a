"""The management cluster's side of the lab: what MetalLB does with the rendered manifests.

`hcplb.metallb.simulate` gets the rendered cluster manifests, one kube-apiserver Service per
hosted cluster and a Node per spec node; its allocations and speakers decide each node's
frr.conf, the VIPs the nodes serve, and what a converged router must show.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hcplb.errors import LabError
from hcplb.lab.state import Expectations
from hcplb.metallb import Simulation, apiserver_service, node_object, simulate
from hcplb.plan import ClusterPlan, SitePlan
from hcplb.render.cluster import cluster_manifests
from hcplb.render.secrets import Secrets

API_PORT = 6443


@dataclass(frozen=True)
class ClusterView:
    """The simulation plus what the lab derives from it."""

    simulation: Simulation
    vips: tuple[str, ...]
    """every allocated VIP; each node binds all of them (kube-proxy, externalTrafficPolicy Cluster)"""
    expect: Expectations


def service_key(cluster: ClusterPlan) -> str:
    return f"{cluster.control_plane_namespace}/kube-apiserver"


def simulate_site(
    plan: SitePlan,
    secrets: Secrets,
    *,
    profile: str,
    extra_labels: Mapping[str, Mapping[str, str]] | None = None,
) -> ClusterView:
    """Run MetalLB over the site's rendered manifests; LabError when it would not publish a VIP.

    `extra_labels` adds labels to some nodes (node -> labels), e.g. the exclude label of a drain.
    """
    services = [
        apiserver_service(
            c.control_plane_namespace, allowed_cidr_blocks=c.cluster.allowed_cidr_blocks
        )
        for c in plan.clusters
    ]
    extra = extra_labels or {}
    nodes = [
        node_object(n.name, n.address, {**n.labels, **extra.get(n.name, {})}) for n in plan.nodes
    ]
    sim = simulate(_installed(plan, cluster_manifests(plan, secrets, profile)), services, nodes)
    if sim.reason:
        raise LabError(f"MetalLB would run nothing: {sim.reason}")
    for cluster in plan.clusters:
        key = service_key(cluster)
        got = sim.allocations.get(key)
        if not got:
            why = sim.unallocated.get(key, "no pool matches")
            raise LabError(f"MetalLB would give {key} no address: {why}")
        if cluster.vip not in got:
            raise LabError(
                f"MetalLB would give {key} {', '.join(got)} but the site publishes {cluster.vip} "
                "in DNS (hint: check the cluster's vip and pool)"
            )
    vips = tuple(sorted({ip for ips in sim.allocations.values() for ip in ips}))
    return ClusterView(sim, vips, expectations(plan, sim))


def _installed(plan: SitePlan, manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The manifests on a cluster where MetalLB is installed: the guide's files lack the
    `MetalLB` resource because the guide takes an installed MetalLB as a prerequisite."""
    if any(m.get("kind") == "MetalLB" for m in manifests):
        return manifests
    namespace = plan.site.spec.management_cluster.metallb_namespace
    installed = {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "MetalLB",
        "metadata": {"name": "metallb", "namespace": namespace},
        "spec": {},
    }
    return [installed, *manifests]


def expectations(plan: SitePlan, sim: Simulation) -> Expectations:
    """Sessions, FIB routes, DNS names and URLs of a converged lab."""
    address = {n.name: n.address for n in plan.nodes}
    sessions: dict[str, list[str]] = {}
    routes: dict[str, dict[str, list[str]]] = {}
    for router in plan.routers:
        speakers = {
            node: sp
            for node, sp in sim.speakers.items()
            if any(s.peer_address == router.address for s in sp.sessions)
        }
        sessions[router.name] = sorted(address[n] for n in speakers)
        table: dict[str, list[str]] = {}
        for node, sp in speakers.items():
            for prefix in sp.prefixes_to(router.address):
                table.setdefault(prefix, []).append(address[node])
        routes[router.name] = {p: sorted(hops) for p, hops in sorted(table.items())}
    for cluster in plan.clusters:
        if not any(f"{cluster.vip}/32" in r or _covered(cluster.vip, r) for r in routes.values()):
            raise LabError(
                f"no node would announce {cluster.vip} ({service_key(cluster)}) to any router"
            )
    names = {}
    for cluster in plan.clusters:
        names[cluster.api_name] = cluster.vip
        names[cluster.api_int_name] = cluster.vip
    urls = [f"https://{c.api_name}:{API_PORT}/version" for c in plan.clusters]
    return Expectations(sessions=sessions, routes=routes, names=names, urls=urls)


def _covered(vip: str, table: dict[str, list[str]]) -> bool:
    addr = ipaddress.ip_address(vip)
    return any(addr in ipaddress.ip_network(p, strict=False) for p in table)

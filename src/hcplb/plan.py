"""Pure derivation from a site spec: which VIP each cluster gets, who peers with whom, which names.

Everything `render`, `lab`, `lint` and `verify` need to agree on is computed here once.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass

from hcplb.errors import Problem, SpecError
from hcplb.spec.models import Bfd, HostedCluster, Node, Pool, Router, Site
from hcplb.spec.pools import pool_addresses, pool_networks

NODE_PEER_GROUP = "HCP-NODES"
MAX_PREFIX_CAP = 4096


def node_asn(site: Site, node: Node) -> int:
    return node.asn if node.asn is not None else site.spec.management_cluster.asn


def cluster_key(cluster: HostedCluster) -> str:
    return f"{cluster.namespace}/{cluster.name}"


def _unplanned(cluster: HostedCluster, why: str) -> SpecError:
    where = f"hostedClusters[{cluster.namespace}/{cluster.name}]"
    return SpecError([Problem("<site>", 0, 0, where, why, "load the site with load_site first")])


def allocate_vips(site: Site) -> dict[str, str]:
    """VIP per hosted cluster (`namespace/name`): fixed ones first, then the first free pool address.

    Raises SpecError only if called on an unchecked site whose pool is exhausted; the loader's
    checks report that case with a location first.
    """
    pools = {p.name: p for p in site.spec.pools}
    taken = {c.vip for c in site.spec.hosted_clusters if c.vip is not None}
    result: dict[str, str] = {}
    cursors: dict[str, Iterator[ipaddress.IPv4Address | ipaddress.IPv6Address]] = {}
    for cluster in site.spec.hosted_clusters:
        if cluster.vip is not None:
            result[cluster_key(cluster)] = cluster.vip
            continue
        assert cluster.pool is not None
        pool = pools.get(cluster.pool)
        if pool is None:
            raise _unplanned(cluster, f"pool {cluster.pool!r} is not defined")
        cursor = cursors.setdefault(pool.name, pool_addresses(pool))
        for addr in cursor:
            if str(addr) not in taken:
                taken.add(str(addr))
                result[cluster_key(cluster)] = str(addr)
                break
        else:
            raise _unplanned(cluster, f"pool {pool.name} has no free address")
    return result


@dataclass(frozen=True)
class ClusterPlan:
    """One hosted cluster as published: its VIP, the MetalLB pool pinned to it, its names."""

    cluster: HostedCluster
    vip: str
    metallb_pool: str
    control_plane_namespace: str
    api_name: str
    api_int_name: str
    # from a shared pool: MetalLB picks the VIP; `vip` is what it picks when the clusters are
    # created in spec order (static DNS and the lab use it; ExternalDNS publishes the real one)
    shared: bool = False


@dataclass(frozen=True)
class Peering:
    router: Router
    node: Node
    node_asn: int

    @property
    def ibgp(self) -> bool:
        return self.router.asn == self.node_asn


@dataclass(frozen=True)
class SitePlan:
    site: Site
    clusters: tuple[ClusterPlan, ...]
    peerings: tuple[Peering, ...]
    accepted_networks: tuple[str, ...]
    maximum_prefix: int
    maximum_paths: int
    bfd: Bfd | None

    @property
    def routers(self) -> tuple[Router, ...]:
        return tuple(self.site.spec.routers)

    @property
    def nodes(self) -> tuple[Node, ...]:
        return tuple(self.site.spec.management_cluster.nodes)

    @property
    def shared_pools(self) -> tuple[Pool, ...]:
        """The pools MetalLB hands out to every hosted control plane (`assignment: shared`)."""
        return tuple(p for p in self.site.spec.pools if p.assignment == "shared")

    def peerings_of(self, router: Router) -> tuple[Peering, ...]:
        return tuple(p for p in self.peerings if p.router.name == router.name)

    def node_asns(self) -> set[int]:
        return {p.node_asn for p in self.peerings}

    def is_ibgp(self, router: Router) -> bool:
        return all(p.ibgp for p in self.peerings_of(router))

    def mixed(self, router: Router) -> bool:
        """Some nodes are iBGP and some eBGP to this router."""
        kinds = {p.ibgp for p in self.peerings_of(router)}
        return len(kinds) > 1

    def multipath_relax(self, router: Router) -> bool:
        """Paths from different neighbour ASNs must be ECMP siblings."""
        return len({p.node_asn for p in self.peerings_of(router) if not p.ibgp}) > 1


def metallb_pool_name(cluster: HostedCluster) -> str:
    """The MetalLB IPAddressPool pinned to one hosted cluster's control-plane namespace."""
    return f"{cluster.namespace}-{cluster.name}-api"


def plan_site(site: Site) -> SitePlan:
    """Derive everything render, lab, lint and verify share from a validated site."""
    spec = site.spec
    vips = allocate_vips(site)
    shared = {p.name for p in spec.pools if p.assignment == "shared"}
    clusters = tuple(
        ClusterPlan(
            cluster=c,
            vip=vips[cluster_key(c)],
            metallb_pool=c.pool if c.pool in shared and c.pool else metallb_pool_name(c),
            control_plane_namespace=c.control_plane_namespace,
            api_name=c.api_name,
            api_int_name=c.api_int_name,
            shared=c.pool in shared,
        )
        for c in spec.hosted_clusters
    )
    peerings = tuple(
        Peering(router, node, node_asn(site, node))
        for router in spec.routers
        for node in spec.management_cluster.nodes
    )
    accepted: list[str] = []
    for pool in spec.pools:
        accepted.extend(str(n) for n in pool_networks(pool.addresses) if n.version == 4)
    pooled = {
        str(ipaddress.ip_network(c.vip))
        for c in clusters
        if not any(ipaddress.ip_address(c.vip) in ipaddress.ip_network(n) for n in accepted)
    }
    accepted.extend(sorted(pooled, key=lambda n: ipaddress.ip_network(n)))
    total = sum(ipaddress.ip_network(n).num_addresses for n in accepted)
    return SitePlan(
        site=site,
        clusters=clusters,
        peerings=peerings,
        accepted_networks=tuple(accepted),
        maximum_prefix=max(1, min(total, MAX_PREFIX_CAP)),
        maximum_paths=max(len(spec.management_cluster.nodes), 1),
        bfd=spec.bgp.bfd,
    )

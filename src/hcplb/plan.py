"""Pure derivation from a site spec: which VIP each cluster gets, who peers with whom, which names.

Everything `render`, `lab`, `lint` and `verify` need to agree on is computed here once.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass

from hcplb.errors import Problem, SpecError
from hcplb.spec.families import cluster_family
from hcplb.spec.models import (
    LAB_CLIENT_NETWORKS,
    Bfd,
    HostedCluster,
    Node,
    Pool,
    Router,
    Site,
    family_of,
)
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
    """VIP per hosted cluster (`namespace/name`): fixed ones first, then the first free pool
    address of the cluster's family.

    Raises SpecError only if called on an unchecked site whose pool is exhausted; the loader's
    checks report that case with a location first.
    """
    pools = {p.name: p for p in site.spec.pools}
    taken = {c.vip for c in site.spec.hosted_clusters if c.vip is not None}
    result: dict[str, str] = {}
    cursors: dict[tuple[str, int], Iterator[ipaddress.IPv4Address | ipaddress.IPv6Address]] = {}
    for cluster in site.spec.hosted_clusters:
        if cluster.vip is not None:
            result[cluster_key(cluster)] = cluster.vip
            continue
        assert cluster.pool is not None
        pool = pools.get(cluster.pool)
        if pool is None:
            raise _unplanned(cluster, f"pool {cluster.pool!r} is not defined")
        family = cluster_family(site, cluster)
        cursor = cursors.setdefault((pool.name, family), pool_addresses(pool, family))
        for addr in cursor:
            if str(addr) not in taken:
                taken.add(str(addr))
                result[cluster_key(cluster)] = str(addr)
                break
        else:
            raise _unplanned(cluster, f"pool {pool.name} has no free IPv{family} address")
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
    family: int = 4
    # from a shared pool: MetalLB picks the VIP; `vip` is what it picks when the clusters are
    # created in spec order (static DNS and the lab use it; ExternalDNS publishes the real one)
    shared: bool = False
    # MetalLB already gave `vip` to this cluster's Service (a lab's running clusters): it keeps
    # it (status.loadBalancer.ingress) whatever came and went before it in the pool
    held: bool = False


@dataclass(frozen=True)
class Peering:
    """One BGP session between a router and a node.

    `family` is the session's transport (the addresses it runs between); `carries` the
    address families it announces: the same one, or both for `bgp.sessions: dual-stack`.
    """

    router: Router
    node: Node
    node_asn: int
    family: int = 4
    carries: tuple[int, ...] = (4,)

    @property
    def ibgp(self) -> bool:
        return self.router.asn == self.node_asn

    @property
    def node_address(self) -> str:
        return _address(self.node, self.family)

    @property
    def router_address(self) -> str:
        return _address(self.router, self.family)


def _address(host: Router | Node, family: int) -> str:
    found = host.address_of(family)
    if found is None:
        raise SpecError(
            [Problem("<site>", 0, 0, host.name, f"no IPv{family} address", "load_site first")]
        )
    return found


@dataclass(frozen=True)
class SitePlan:
    site: Site
    clusters: tuple[ClusterPlan, ...]
    peerings: tuple[Peering, ...]
    accepted_networks: tuple[str, ...]
    maximum_prefix: int
    maximum_paths: int
    bfd: Bfd | None
    families: tuple[int, ...] = (4,)
    machine_networks: tuple[str, ...] = ()
    client_networks: tuple[str, ...] = ()

    @property
    def dual_stack_sessions(self) -> bool:
        return self.site.spec.bgp.sessions == "dual-stack"

    def accepted_of(self, family: int) -> tuple[str, ...]:
        """The networks of one family the routers accept host routes from (pools, lone VIPs)."""
        return tuple(n for n in self.accepted_networks if family_of(n) == family)

    def maximum_prefix_of(self, family: int) -> int:
        """How many routes of one family a node may send: the accepted addresses, capped."""
        return _maximum_prefix(self.accepted_of(family))

    def machine_network_of(self, family: int) -> str | None:
        return next((n for n in self.machine_networks if family_of(n) == family), None)

    def client_network_of(self, family: int) -> str | None:
        return next((n for n in self.client_networks if family_of(n) == family), None)

    def clusters_of(self, family: int) -> tuple[ClusterPlan, ...]:
        return tuple(c for c in self.clusters if c.family == family)

    def announced_families(self) -> tuple[int, ...]:
        """The families some hosted cluster's VIP is in, the site's order."""
        return tuple(f for f in self.families if self.clusters_of(f))

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


def _maximum_prefix(networks: tuple[str, ...]) -> int:
    total = sum(ipaddress.ip_network(n).num_addresses for n in networks)
    return max(1, min(total, MAX_PREFIX_CAP))


def _peerings(site: Site) -> tuple[Peering, ...]:
    """Per-family: one session per family both ends have; dual-stack: one IPv4 session each."""
    spec = site.spec
    families = spec.management_cluster.families
    if spec.bgp.sessions == "dual-stack":
        return tuple(
            Peering(router, node, node_asn(site, node), 4, families)
            for router in spec.routers
            for node in spec.management_cluster.nodes
        )
    return tuple(
        Peering(router, node, node_asn(site, node), family, (family,))
        for router in spec.routers
        for family in families
        for node in spec.management_cluster.nodes
        if family in router.families and family in node.families
    )


def _client_networks(site: Site) -> tuple[str, ...]:
    given = {family_of(n): n for n in site.spec.lab.client_networks}
    return tuple(
        given.get(f, LAB_CLIENT_NETWORKS[f]) for f in site.spec.management_cluster.families
    )


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
            family=cluster_family(site, c),
            shared=c.pool in shared,
        )
        for c in spec.hosted_clusters
    )
    families = spec.management_cluster.families
    accepted: list[str] = []
    for family in sorted(families):
        for pool in spec.pools:
            accepted.extend(str(n) for n in pool_networks(pool.addresses) if n.version == family)
    pooled = {
        str(ipaddress.ip_network(c.vip))
        for c in clusters
        if not any(ipaddress.ip_address(c.vip) in ipaddress.ip_network(n) for n in accepted)
    }
    accepted.extend(
        sorted(pooled, key=lambda n: (family_of(n), int(ipaddress.ip_network(n).network_address)))
    )
    accepted_of_primary = tuple(n for n in accepted if family_of(n) == families[0])
    return SitePlan(
        site=site,
        clusters=clusters,
        peerings=_peerings(site),
        accepted_networks=tuple(accepted),
        maximum_prefix=_maximum_prefix(accepted_of_primary),
        maximum_paths=max(len(spec.management_cluster.nodes), 1),
        bfd=spec.bgp.bfd,
        families=families,
        machine_networks=tuple(spec.management_cluster.machine_networks),
        client_networks=_client_networks(site),
    )

"""Checks that a site's IP families fit together (IPv4-only, IPv6-only or dual-stack).

The machine networks name the site's families (the first is the primary). Every node has an
address in each of them; a router has one in every family a session runs over; a VIP's family
has sessions to carry it and, when the VIP comes from a pool, addresses in that pool.
"""

from __future__ import annotations

from collections.abc import Iterator

from hcplb.spec.models import HostedCluster, Node, Router, Site, family_of
from hcplb.spec.pools import pool_networks

# Imported by checks (which calls check_families); not the other way round.
Loc = tuple[str | int, ...]


def _v(family: int) -> str:
    return f"IPv{family}"


def address_loc(base: Loc, host: Router | Node, index: int) -> Loc:
    """Where a host's `index`-th address is written: `address` or `addresses[index]`
    (the loader finds `address` inside `addresses: [..]` as well)."""
    if len(host.addresses) == 1:
        return (*base, "address")
    return (*base, "addresses", index)


def cluster_family(site: Site, cluster: HostedCluster) -> int:
    """4 or 6: the VIP's family when given, else `ipFamily`, else the site's primary family."""
    if cluster.vip is not None:
        return family_of(cluster.vip)
    if cluster.ip_family is not None:
        return 6 if cluster.ip_family == "IPv6" else 4
    return site.spec.management_cluster.families[0]


def _hosts(site: Site) -> Iterator[tuple[Loc, str, Router | Node]]:
    for i, r in enumerate(site.spec.routers):
        yield ("spec", "routers", i), "router", r
    for i, n in enumerate(site.spec.management_cluster.nodes):
        yield ("spec", "managementCluster", "nodes", i), "node", n


def _check_host_families(site: Site) -> Iterator[tuple[Loc, str, str]]:
    mc = site.spec.management_cluster
    machines = {family_of(n): n for n in mc.machine_networks}
    shown = " and ".join(mc.machine_networks)
    for base, kind, host in _hosts(site):
        for j, address in enumerate(host.addresses):
            family = family_of(address)
            if family not in machines:
                yield (
                    address_loc(base, host, j),
                    f"{kind} address {address} is {_v(family)}, but no machine network is "
                    f"{_v(family)} ({shown})",
                    "add a machine network of that family (managementCluster.machineNetworks: "
                    "[v4, v6]) or drop the address",
                )
        if kind == "node":
            for family in machines:
                if family not in host.families:
                    yield (
                        base,
                        f"node {host.name} has no {_v(family)} address, but the machine "
                        f"network {machines[family]} is {_v(family)}",
                        "give the node one address per family: addresses: [v4, v6]",
                    )


def _check_sessions(site: Site) -> Iterator[tuple[Loc, str, str]]:
    spec = site.spec
    families = spec.management_cluster.families
    if spec.bgp.sessions == "dual-stack":
        if 4 not in families:
            yield (
                ("spec", "bgp", "sessions"),
                "dual-stack sessions run over IPv4, but the site has no IPv4 machine network",
                "use sessions: per-family on an IPv6-only site",
            )
            return
        for base, kind, host in _hosts(site):
            if kind == "router" and 4 not in host.families:
                yield (
                    base,
                    f"router {host.name} has no IPv4 address: a dual-stack session runs over IPv4",
                    "give the router an IPv4 address, or use sessions: per-family",
                )
        return
    vip_families = {cluster_family(site, c) for c in spec.hosted_clusters}
    for i, r in enumerate(spec.routers):
        for family in sorted(vip_families & set(families)):
            if family not in r.families:
                yield (
                    ("spec", "routers", i),
                    f"router {r.name} has no {_v(family)} address, so no {_v(family)} session "
                    f"carries the {_v(family)} VIPs",
                    f"give it an {_v(family)} address (addresses: [..]), or use "
                    "bgp.sessions: dual-stack",
                )


def _check_vips(site: Site) -> Iterator[tuple[Loc, str, str]]:
    spec = site.spec
    families = spec.management_cluster.families
    pools = {p.name: p for p in spec.pools}
    for i, c in enumerate(spec.hosted_clusters):
        family = cluster_family(site, c)
        where: Loc = ("spec", "hostedClusters", i, "vip" if c.vip else "ipFamily")
        if c.vip is None and c.ip_family is None:
            where = ("spec", "hostedClusters", i, "pool")
        if family not in families:
            yield (
                where,
                f"hosted cluster {c.name} has an {_v(family)} VIP, but the management cluster "
                f"has no {_v(family)} machine network, so no session carries it",
                "add a machine network of that family, or change the VIP's family",
            )
            continue
        pool = pools.get(c.pool) if c.pool else None
        nets = pool_networks(pool.addresses) if pool is not None else []
        if c.vip is None and pool is not None and not any(n.version == family for n in nets):
            yield (
                ("spec", "hostedClusters", i, "pool"),
                f"pool {pool.name} has no {_v(family)} addresses for hosted cluster "
                f"{c.name} ({_v(family)})",
                "add a range of that family to the pool, or set ipFamily",
            )


def check_families(site: Site) -> Iterator[tuple[Loc, str, str]]:
    """(location, message, hint) of every family mismatch; all are errors."""
    yield from _check_host_families(site)
    yield from _check_sessions(site)
    yield from _check_vips(site)


def cluster_blocks_of_other_family(site: Site) -> Iterator[tuple[Loc, str, str]]:
    """Warnings: an allowedCIDRBlocks entry of the family the VIP is not allows nobody
    (HyperShift accepts IPv4 and IPv6 blocks; the Service's source ranges filter one VIP)."""
    for i, c in enumerate(site.spec.hosted_clusters):
        family = cluster_family(site, c)
        for j, block in enumerate(c.allowed_cidr_blocks):
            if family_of(block) != family:
                yield (
                    ("spec", "hostedClusters", i, "allowedCIDRBlocks", j),
                    f"{block} is {_v(family_of(block))} but the VIP is {_v(family)}: "
                    "this block lets no client in",
                    f"write the {_v(family)} networks that may reach the API",
                )

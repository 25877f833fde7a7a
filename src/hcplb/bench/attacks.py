"""What a compromised node announces in `bench security`, and the frr.conf that announces it.

Pure: prefixes come from the plan (pools, machine network, maximum-prefix); the config is a
plain FRR speaker with no outbound filter (what is left when a node's own filter is removed),
still peering with every router it peered with, still announcing its legitimate VIPs.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from hcplb.plan import SitePlan, node_asn
from hcplb.spec.pools import pool_networks

__all__ = ["RouteAttack", "compromised_config", "covering_prefix", "route_attacks"]

Net = ipaddress.IPv4Network


@dataclass(frozen=True)
class RouteAttack:
    """Prefixes one compromised node announces; accepted if a router takes any `forbidden`
    one, or more than `limit` routes from that node."""

    id: str
    title: str
    announce: tuple[str, ...]
    forbidden: tuple[str, ...]
    limit: int | None = None


def _pools(plan: SitePlan) -> list[Net]:
    nets: list[Net] = []
    for pool in plan.site.spec.pools:
        nets += [n for n in pool_networks(pool.addresses) if isinstance(n, Net)]
    for c in plan.clusters:
        vip = ipaddress.IPv4Network(f"{c.vip}/32")
        if not any(vip.subnet_of(n) for n in nets):
            nets.append(vip)
    return nets


def covering_prefix(plan: SitePlan) -> Net:
    """The shortest-reaching supernet (at most /24) that covers every pool: 10.0.2.20 -> /24."""
    pools = _pools(plan)
    net = pools[0]
    while net.prefixlen > 0 and (
        net.prefixlen > 24 or not all(p.subnet_of(net) for p in pools) or net in pools
    ):
        net = net.supernet()
    return net


def _in_pools(address: ipaddress.IPv4Address, pools: Sequence[Net]) -> bool:
    return any(address in p for p in pools)


def _outside(plan: SitePlan) -> Iterator[str]:
    """Host routes near the pools but outside every pool and the machine network."""
    pools = _pools(plan)
    machine = ipaddress.IPv4Network(plan.site.spec.management_cluster.machine_network)
    for address in covering_prefix(plan).hosts():
        if not _in_pools(address, pools) and address not in machine:
            yield f"{address}/32"
    for address in ipaddress.IPv4Network("198.51.100.0/24").hosts():  # TEST-NET-2
        yield f"{address}/32"


def route_attacks(plan: SitePlan, legit: Sequence[str]) -> list[RouteAttack]:
    """The announcements of a compromised node whose legitimate routes are `legit` (VIP/32s)."""
    machine = plan.site.spec.management_cluster.machine_network
    cover = str(covering_prefix(plan))
    outside = _outside(plan)
    stray = next(outside)
    # every address of a pool is a VIP MetalLB may hand out; maximum-prefix counts them all
    in_pools = (f"{a}/32" for p in _pools(plan) for a in p)
    flood = list(itertools.islice(in_pools, plan.maximum_prefix + 1))
    inside = set(flood)
    while len(flood) <= plan.maximum_prefix:
        flood.append(next(outside))
    flood_outside = tuple(p for p in flood if p not in inside)
    attacks = [
        RouteAttack("default-route", "a node announces 0.0.0.0/0", ("0.0.0.0/0",), ("0.0.0.0/0",)),
        RouteAttack(
            "machine-network", f"a node announces the machine network {machine}",
            (machine,), (machine,),
        ),
        RouteAttack(
            "pool-supernet", f"a node announces {cover}, covering the VIP pool(s)", (cover,),
            (cover,),
        ),
        RouteAttack(
            "outside-pools", f"a node announces {stray}, outside every pool", (stray,), (stray,)
        ),
        RouteAttack(
            "prefix-flood",
            f"a node announces {len(flood)} host routes, more than maximum-prefix "
            f"{plan.maximum_prefix}",
            tuple(flood), flood_outside, limit=plan.maximum_prefix,
        ),
    ]  # fmt: skip
    return [
        RouteAttack(
            a.id, a.title, tuple(dict.fromkeys([*legit, *a.announce])),
            tuple(p for p in a.forbidden if p not in legit), a.limit,
        )
        for a in attacks
    ]  # fmt: skip


def compromised_config(
    plan: SitePlan,
    node: str,
    routers: Sequence[tuple[str, int]],
    announce: Sequence[str],
    *,
    password: str | None,
) -> str:
    """frr.conf of a node whose outbound filter is gone: it announces `announce` to `routers`
    ((address, ASN) pairs), with the site's BFD, timers and password (the node knows them)."""
    spec = plan.site.spec
    found = [n for n in plan.nodes if n.name == node]
    asn = node_asn(plan.site, found[0]) if found else spec.management_cluster.asn
    bgp = spec.bgp
    lines = [
        "frr defaults traditional",
        f"hostname {node}",
        "log stdout informational",
        "!",
        f"router bgp {asn}",
        " no bgp ebgp-requires-policy",
        " no bgp network import-check",
        " no bgp default ipv4-unicast",
    ]
    for address, router_asn in routers:
        lines.append(f" neighbor {address} remote-as {router_asn}")
        if bgp.bfd is not None:
            lines.append(f" neighbor {address} bfd")
        if password is not None:
            lines.append(f" neighbor {address} password {password}")
        lines.append(f" neighbor {address} timers {int(bgp.keepalive_time)} {int(bgp.hold_time)}")
        lines.append(f" neighbor {address} timers connect {int(bgp.connect_time)}")
        # an attacker does not wait for the route advertisement interval
        lines.append(f" neighbor {address} advertisement-interval 0")
    lines += [" !", " address-family ipv4 unicast"]
    lines += [f"  network {p}" for p in announce]
    lines += [f"  neighbor {address} activate" for address, _ in routers]
    lines += [" exit-address-family", "exit", "!"]
    return "\n".join(lines) + "\n"

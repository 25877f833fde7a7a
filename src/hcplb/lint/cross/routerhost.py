"""Rules across systems, router host side: the daemons and sysctls BGP, BFD and forwarding
need (per IP family in use), and a firewall that lets BGP and BFD in from the nodes only.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from hcplb.lint.facts import NodeFact
from hcplb.lint.findings import Finding, Where, error, warning
from hcplb.lint.hostfiles import Firewall
from hcplb.lint.metallb.pools import pool_networks
from hcplb.lint.world import World

# Documentation addresses (TEST-NET-3, 2001:db8::/32) stand for "anyone who is not a node".
_OUTSIDE = {4: "203.0.113.77", 6: "2001:db8::77"}


def _host(world: World) -> Iterator[Finding]:
    router_bfd = any(nb.bfd for r in world.routers for nb in r.bgp.sessions()) or any(
        r.bgp.group(g) and r.bgp.neighbors[g].bfd
        for r in world.routers
        for _n, g, _l in r.bgp.listen_ranges
    )
    for daemons in world.inputs.daemons:
        if "bgpd" not in daemons.enabled:
            yield error(
                Where(daemons.file, 1),
                "router.daemons.bgpd",
                "bgpd is not enabled: no BGP at all",
                "set bgpd=yes",
            )
        if router_bfd and "bfdd" not in daemons.enabled:
            yield error(
                Where(daemons.file, 1),
                "router.daemons.bfdd",
                "the router config uses BFD but bfdd is not enabled: BFD sessions never come up",
                "set bfdd=yes",
            )
    sysctls = world.inputs.sysctls
    if sysctls:
        values = {k: v for s in sysctls for k, v in s.values.items()}
        where = Where(sysctls[0].file, 1)
        for family in sorted(_vip_families(world)):
            forward, hashing = _SYSCTL[family]
            if values.get(forward, ("0", 0))[0] != "1":
                yield error(
                    where,
                    "router.sysctl.forwarding",
                    f"{forward} is not set to 1: the router drops traffic to the IPv{family} VIPs",
                    f"{forward} = 1",
                )
            if values.get(hashing, ("0", 0))[0] != "1":
                yield warning(
                    where,
                    "router.sysctl.ecmp-hash",
                    f"{hashing} is not 1: ECMP hashes on addresses only, so all "
                    "connections from one client go to the same node",
                    f"{hashing} = 1 (hash on the L4 five-tuple)",
                )


_SYSCTL = {
    4: ("net.ipv4.ip_forward", "net.ipv4.fib_multipath_hash_policy"),
    6: ("net.ipv6.conf.all.forwarding", "net.ipv6.fib_multipath_hash_policy"),
}


def _vip_families(world: World) -> set[int]:
    """The families whose VIPs the router forwards: the VIPs' and the pools' (IPv4 when
    nothing tells)."""
    found: set[int] = set()
    for vip in world.vips:
        try:
            found.add(ipaddress.ip_address(vip.address).version)
        except ValueError:
            continue
    view = world.metallb
    for pool in view.in_namespace(view.pools):
        found |= {n.version for n in pool_networks(pool)}
    return found or {4}


def _firewall(world: World) -> Iterator[Finding]:
    bfd = world.bfd_in_use()
    for fw in world.inputs.firewalls:
        declared = {r.family for r in fw.rules}
        families = {4, 6} if None in declared or not declared else {f for f in declared if f}
        checks = [("tcp", 179, "BGP (TCP 179)")]
        if bfd:
            checks += [("udp", 3784, "BFD (UDP 3784)")]
        for proto, port, label in checks:
            for family in sorted(families):
                yield from _outside(fw, proto, port, f"{label} over IPv{family}", family)
            for node in _session_nodes(world):
                if ipaddress.ip_address(node.address).version not in families:
                    continue
                node_verdict, node_rule = fw.verdict(proto, port, node.address)
                if node_verdict == "drop":
                    who = (
                        node.name if node.name == node.address else f"{node.name} ({node.address})"
                    )
                    yield error(
                        Where(fw.file, node_rule.line if node_rule else 1),
                        "firewall.node-blocked",
                        f"{label} from node {who} is dropped",
                        "accept the port from every node address before the drop",
                    )


def _outside(fw: Firewall, proto: str, port: int, label: str, family: int) -> Iterator[Finding]:
    verdict, rule = fw.verdict(proto, port, _OUTSIDE[family])
    if verdict == "accept" and rule is not None:
        yield error(
            Where(fw.file, rule.line),
            "firewall.source",
            f"{label} is accepted from any source: anyone can open a session or probe the router",
            "accept it only from the node addresses (-s NODE), then drop the port",
        )
    elif verdict == "accept":
        yield warning(
            Where(fw.file, 1),
            "firewall.no-drop",
            f"nothing in this file drops {label} from other sources: it depends on the chain's "
            "default policy",
            "add a rule dropping the port after the per-node accepts",
        )


def _session_nodes(world: World) -> list[NodeFact]:
    """The node addresses BGP comes from: those a linted router has a neighbor for (a
    dual-stack node whose sessions run over IPv4 sends nothing from its IPv6 address)."""
    if not world.routers:
        return list(world.nodes)
    return [n for n in world.nodes if any(r.neighbor_for(n.address) for r in world.routers)]


def check_router_host(world: World) -> list[Finding]:
    return [*_host(world), *_firewall(world)]

"""Rules across systems, router side: the inbound policy accepts the VIP pools and nothing else,
ECMP is possible over every announcing node, and the host lets BGP in from the nodes only.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from hcplb.lint.facts import NodeFact
from hcplb.lint.findings import Finding, Where, error, warning
from hcplb.lint.frr.model import Neighbor, Net, PrefixEntry
from hcplb.lint.frr.policy import INBOUND, OUTBOUND, has_policy, inbound_verdict, policy_lines
from hcplb.lint.frr.prefixsets import prefix_classes
from hcplb.lint.hostfiles import Firewall
from hcplb.lint.metallb.pools import pool_networks, selected_pools
from hcplb.lint.world import RouterView, World
from hcplb.metallb.selectors import selects
from hcplb.metallb.validation import (
    DEFAULT_AGGREGATION_V4,
)

# Documentation addresses (TEST-NET-3, 2001:db8::/32) stand for "anyone who is not a node".
_OUTSIDE = {4: "203.0.113.77", 6: "2001:db8::77"}
# Named first so that a message shows a route people recognise; the search below is complete.
_PROBES = ("0.0.0.0/0", "10.0.0.0/8", "192.168.0.0/16")


def _targets(world: World, router: RouterView) -> list[Neighbor]:
    """The neighbors through which nodes announce: node neighbors and listen-range groups."""
    found = router.node_neighbors(world.nodes)
    for _net, group, _line in router.bgp.listen_ranges:
        nb = router.bgp.group(group)
        if nb is not None:
            found.append(nb)
    return found


def _wanted(world: World, router: RouterView) -> list[tuple[Net, int]]:
    """(network, aggregation length) of every pool advertised towards this router."""
    view = world.metallb
    pools = view.in_namespace(view.pools)
    ads = view.in_namespace(view.advertisements)
    wanted: list[tuple[Net, int]] = []
    for ad in ads:
        names = [str(p) for p in ad.items("spec", "peers")]
        peers = [p for p in view.in_namespace(view.peers) if not names or p.name in names]
        if peers and not any(p.text("spec", "peerAddress") in router.addresses for p in peers):
            continue
        length = ad.integer("spec", "aggregationLength") or DEFAULT_AGGREGATION_V4
        for pool in selected_pools(ad, pools):
            wanted += [(n, length) for n in pool_networks(pool) if n.version == 4]
    if not wanted and not ads:
        for pool in pools:
            wanted += [(n, 32) for n in pool_networks(pool) if n.version == 4]
    if world.plan is not None:
        wanted += [(ipaddress.ip_network(n), 32) for n in world.plan.accepted_networks]
    if not wanted:
        for vip in world.vips:
            try:
                wanted.append((ipaddress.ip_network(vip.address), 32))
            except ValueError:
                continue
    return wanted


def _samples(wanted: list[tuple[Net, int]], world: World) -> list[Net]:
    """Routes nodes announce for the pools: first and last host (or aggregate), and the VIPs."""
    nets = {net for net, _ in wanted}
    out: list[Net] = []
    for net, length in wanted:
        out.append(ipaddress.ip_network(f"{net.network_address}/{length}", strict=False))
        if net.prefixlen < length:
            out.append(ipaddress.ip_network(f"{net.broadcast_address}/{length}", strict=False))
    for vip in world.vips:
        try:
            address = ipaddress.ip_network(vip.address)
        except ValueError:
            continue
        if _inside(address, nets):
            out.append(address)
    return list(dict.fromkeys(out))


def _inside(candidate: Net, wanted: set[Net]) -> bool:
    return any(
        (candidate.supernet(new_prefix=length) if length < candidate.prefixlen else candidate)
        in wanted
        for length in range(candidate.prefixlen, -1, -1)
    )


def _host_routes_only(entry: PrefixEntry) -> bool:
    """A permit of host routes only (`ge 32`): a range kept for VIPs, not a hole in the policy.

    Host routes onto the nodes' or routers' own addresses are still caught: those addresses
    are witnesses of their own.
    """
    return entry.network is not None and entry.length_range()[0] == entry.network.max_prefixlen


def _inbound_lists(router: RouterView, neighbors: list[Neighbor]) -> set[str]:
    """The IPv4 prefix-lists the neighbors' inbound policies read (directly or by route-map)."""
    names: set[str] = set()
    for nb in neighbors:
        filters = nb.af("ipv4 unicast").filters
        if "prefix-list in" in filters:
            names.add(filters["prefix-list in"][0])
        if "route-map in" in filters:
            for entry in router.config.route_maps.get(filters["route-map in"][0], []):
                for match in entry.matches:
                    if len(match) >= 4 and match[:3] == ("ip", "address", "prefix-list"):
                        names.add(match[3])
    return names


def _witnesses(
    world: World, router: RouterView, wanted: list[tuple[Net, int]], targets: list[Neighbor]
) -> list[Net]:
    """Routes outside the pools that a too-wide policy would let in."""
    found: list[Net] = [ipaddress.ip_network(p) for p in _PROBES]
    found += [ipaddress.ip_network(f"{n.address}/32") for n in world.nodes]
    found += [ipaddress.ip_network(f"{a}/32") for a in router.addresses if ":" not in a]
    if world.plan is not None:
        found.append(ipaddress.ip_network(world.plan.site.spec.management_cluster.machine_network))
    named = {w for w in found if w.prefixlen == 32}
    lists = _inbound_lists(router, targets)
    entries = [
        e
        for (family, name), es in router.config.prefix_lists.items()
        if family == 4 and name in lists
        for e in es
    ]
    kept = [e.network for e in entries if e.action == "permit" and _host_routes_only(e)]
    bounds = {net for net, _ in wanted} | {e.network for e in entries if e.network is not None}
    for candidate in prefix_classes(bounds, entries):
        # A permit of host routes only is a VIP range wider than the pools, not a hole.
        widened = any(k is not None and candidate.subnet_of(k) for k in kept)  # type: ignore[arg-type]
        if candidate.prefixlen == 32 and candidate not in named and widened:
            continue
        found.append(candidate)
    nets = {net for net, _ in wanted}
    return [w for w in dict.fromkeys(found) if w.version == 4 and not _inside(w, nets)]


def _names(neighbors: list[Neighbor]) -> str:
    return ", ".join(nb.name for nb in neighbors)


def _no_policy(router: RouterView, neighbors: list[Neighbor]) -> Iterator[Finding]:
    bgp, file = router.bgp, router.config.file
    ebgp = [nb for nb in neighbors if not bgp.is_ibgp(nb)]
    open_ = [nb for nb in neighbors if bgp.is_ibgp(nb)]
    if ebgp and bgp.ebgp_requires_policy:
        yield error(
            Where(file, ebgp[0].line),
            "router.policy.missing",
            f"router {router.name} has no inbound policy for {_names(ebgp)}: with "
            "ebgp-requires-policy (FRR's default) it accepts no route from them, so no VIP",
            "add `neighbor ... route-map FROM-NODES in` permitting only the VIP pools (ge 32)",
        )
    elif ebgp:
        open_ += ebgp
    if open_:
        line = bgp.ebgp_requires_policy_line or open_[0].line
        yield error(
            Where(file, line),
            "router.policy.accepts-all",
            f"router {router.name} accepts every route from {_names(open_)}"
            + (" (`no bgp ebgp-requires-policy` and no inbound policy)" if ebgp else "")
            + ": any node can hijack a default route or the machine network",
            "filter inbound: a prefix-list permitting only the VIP pools (ge 32) in a route-map "
            "`in`, and drop `no bgp ebgp-requires-policy`",
        )


def _policy(world: World, router: RouterView) -> Iterator[Finding]:
    targets = _targets(world, router)
    if not targets:
        return
    file = router.config.file
    for nb in targets:
        if not router.bgp.activated(nb):
            yield error(
                Where(file, nb.line),
                "router.af.not-activated",
                f"neighbor {nb.name} is not activated in address-family ipv4 unicast: no route "
                "is exchanged with it",
                f"add `neighbor {nb.name} activate` under address-family ipv4 unicast",
            )
    yield from _no_policy(router, [nb for nb in targets if not has_policy(nb, INBOUND)])
    wanted = _wanted(world, router)
    groups: dict[str, list[Neighbor]] = {}
    for nb in targets:
        if has_policy(nb, INBOUND):
            key = repr(sorted(nb.af("ipv4 unicast").filters.items()))
            groups.setdefault(key, []).append(nb)
    samples = _samples(wanted, world)
    witnesses = _witnesses(world, router, wanted, targets)
    for members in groups.values():
        nb = members[0]
        where = Where(file, policy_lines(nb, router.bgp, INBOUND))
        # one verdict per sample, read by both the rejects-vip and the unknown findings
        verdicts = {s: inbound_verdict(router.config, nb, s) for s in samples}
        rejected = [s for s in samples if verdicts[s] == "deny"]
        if rejected:
            yield error(
                where,
                "router.policy.rejects-vip",
                f"router {router.name} rejects {', '.join(map(str, rejected[:3]))} from "
                f"{_names(members)}: the VIP pool is not accepted",
                "permit the VIP pools (prefix-list ... permit POOL ge 32) in the inbound route-map",
            )
        let_in = [w for w in witnesses if inbound_verdict(router.config, nb, w) == "permit"]
        if let_in:
            yield error(
                where,
                "router.policy.accepts-more",
                f"router {router.name} accepts {', '.join(map(str, let_in[:3]))} from "
                f"{_names(members)}, outside the VIP pools",
                "permit only the VIP pools: `ip prefix-list NAME permit POOL ge 32`, then deny",
            )
        unsure = [s for s in samples if verdicts[s] == "maybe"]
        if unsure:
            yield warning(
                where,
                "router.policy.unknown",
                f"cannot tell whether router {router.name} accepts {unsure[0]} from {_names(members)} "
                "(the route-map matches on more than prefix-lists)",
            )


def _outbound(world: World, router: RouterView) -> Iterator[Finding]:
    leaky = [
        nb
        for nb in _targets(world, router)
        if not has_policy(nb, OUTBOUND)
        and (router.bgp.is_ibgp(nb) or not router.bgp.ebgp_requires_policy)
    ]
    if leaky:
        yield warning(
            Where(router.config.file, leaky[0].line),
            "router.policy.outbound",
            f"router {router.name} sends its whole table to {_names(leaky)}",
            "the nodes need no routes from the router: add an outbound route-map that denies all",
        )


def announcing_nodes(world: World, router: RouterView) -> list[NodeFact]:
    nodes = [n for n in world.nodes if router.neighbor_for(n.address) is not None]
    peers = [
        p
        for p in world.metallb.in_namespace(world.metallb.peers)
        if p.text("spec", "peerAddress") in router.addresses
    ]
    if peers:
        nodes = [
            n
            for n in nodes
            if any(n.inferred or selects(p.items("spec", "nodeSelectors"), n.labels) for p in peers)
        ]
    return nodes


def _multipath(world: World, router: RouterView) -> Iterator[Finding]:
    bgp, file = router.bgp, router.config.file
    count = len(announcing_nodes(world, router))
    targets = _targets(world, router)
    af = bgp.afs.get("ipv4 unicast")
    for ibgp in (False, True):
        if not any(bgp.is_ibgp(nb) == ibgp for nb in targets):
            continue
        setting = (af.maximum_paths_ibgp if ibgp else af.maximum_paths) if af else None
        if setting is not None and setting[0] < count:
            kind = "maximum-paths ibgp" if ibgp else "maximum-paths"
            yield error(
                Where(file, setting[1]),
                "router.maximum-paths",
                f"{kind} {setting[0]} on router {router.name}, but {count} nodes announce each VIP: "
                f"only {setting[0]} of them receive traffic",
                f"set `{kind} {count}` (or more) in address-family ipv4 unicast",
            )
    asns = {bgp.remote_asn(nb) for nb in targets if not bgp.is_ibgp(nb)}
    if len(asns) > 1 and not bgp.multipath_relax:
        yield error(
            Where(file, bgp.line),
            "router.multipath-relax",
            f"router {router.name} peers with nodes in {len(asns)} different ASNs without "
            "`bgp bestpath as-path multipath-relax`: it uses one node per VIP, not all",
            "add `bgp bestpath as-path multipath-relax` under router bgp",
        )


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
        if values.get("net.ipv4.ip_forward", ("0", 0))[0] != "1":
            yield error(
                where,
                "router.sysctl.forwarding",
                "net.ipv4.ip_forward is not set to 1: the router drops traffic to the VIPs",
                "net.ipv4.ip_forward = 1",
            )
        if values.get("net.ipv4.fib_multipath_hash_policy", ("0", 0))[0] != "1":
            yield warning(
                where,
                "router.sysctl.ecmp-hash",
                "net.ipv4.fib_multipath_hash_policy is not 1: ECMP hashes on addresses only, so all "
                "connections from one client go to the same node",
                "net.ipv4.fib_multipath_hash_policy = 1 (hash on the L4 five-tuple)",
            )


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
            for node in world.nodes:
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


def check_router_side(world: World) -> list[Finding]:
    found: list[Finding] = []
    for router in world.routers:
        if router.paired_with:
            address = next(iter(router.addresses))
            found.append(
                warning(
                    Where(router.config.file, router.bgp.line),
                    "router.address.unknown",
                    f"router {router.name} states no address of its own (no bgp router-id): "
                    f"taken as {address} from BGPPeer {router.paired_with}, whose ASNs match it",
                    f"add `bgp router-id {address}` under router bgp if that is the router",
                )
            )
        found += _policy(world, router)
        found += _outbound(world, router)
        found += _multipath(world, router)
    found += _host(world)
    found += _firewall(world)
    return found

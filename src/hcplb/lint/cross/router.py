"""Rules across systems, router side: the inbound policy accepts the VIP pools and nothing else,
ECMP is possible over every announcing node, and the host lets BGP in from the nodes only.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from hcplb.lint.cross.routerhost import check_router_host
from hcplb.lint.facts import NodeFact
from hcplb.lint.findings import Finding, Where, error, warning
from hcplb.lint.frr.model import Neighbor, Net, PrefixEntry
from hcplb.lint.frr.policy import INBOUND, OUTBOUND, has_policy, inbound_verdict, policy_lines
from hcplb.lint.frr.prefixsets import prefix_classes
from hcplb.lint.metallb.pools import pool_networks, selected_pools
from hcplb.lint.world import RouterView, World
from hcplb.metallb.selectors import selects
from hcplb.metallb.validation import DEFAULT_AGGREGATION_V4

# Named first so that a message shows a route people recognise; the search below is complete.
_PROBES = {4: ("0.0.0.0/0", "10.0.0.0/8", "192.168.0.0/16"), 6: ("::/0", "2000::/3", "fc00::/7")}
_AF = {4: "ipv4 unicast", 6: "ipv6 unicast"}
_WORD = {4: "ip", 6: "ipv6"}


def _transport(router: RouterView, nb: Neighbor) -> int:
    """The IP family a neighbor's session runs over (its address, or its listen range's)."""
    try:
        return ipaddress.ip_address(nb.name).version
    except ValueError:
        pass
    for net, group, _line in router.bgp.listen_ranges:
        if group == nb.name:
            return net.version
    return 4


def _carrying(router: RouterView, targets: list[Neighbor], family: int) -> list[Neighbor]:
    """The neighbors that exchange routes of `family`: over a session of that family, or
    activated for it (an IPv4 session carrying IPv6 too)."""
    return [
        nb
        for nb in targets
        if _transport(router, nb) == family or router.bgp.activated(nb, _AF[family])
    ]


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
        lengths = {
            4: ad.integer("spec", "aggregationLength") or DEFAULT_AGGREGATION_V4,
            6: ad.integer("spec", "aggregationLengthV6") or 128,
        }
        for pool in selected_pools(ad, pools):
            wanted += [(n, lengths[n.version]) for n in pool_networks(pool)]
    if not wanted and not ads:
        for pool in pools:
            wanted += [(n, n.max_prefixlen) for n in pool_networks(pool)]
    if world.plan is not None:
        for text in world.plan.accepted_networks:
            net = ipaddress.ip_network(text)
            wanted.append((net, net.max_prefixlen))
    if not wanted:
        for vip in world.vips:
            try:
                net = ipaddress.ip_network(vip.address)
            except ValueError:
                continue
            wanted.append((net, net.max_prefixlen))
    return wanted


def _samples(wanted: list[tuple[Net, int]], world: World) -> list[Net]:
    """Routes nodes announce for the pools: first and last host (or aggregate), and the VIPs
    (of the pools' family: `wanted` is of one family)."""
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
        if any(n.version == address.version for n in nets) and _inside(address, nets):
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


def _inbound_lists(router: RouterView, neighbors: list[Neighbor], family: int) -> set[str]:
    """The prefix-lists of one family the neighbors' inbound policies read (directly or by
    route-map)."""
    names: set[str] = set()
    for nb in neighbors:
        filters = nb.af(_AF[family]).filters
        if "prefix-list in" in filters:
            names.add(filters["prefix-list in"][0])
        if "route-map in" in filters:
            for entry in router.config.route_maps.get(filters["route-map in"][0], []):
                for match in entry.matches:
                    if len(match) >= 4 and match[:3] == (_WORD[family], "address", "prefix-list"):
                        names.add(match[3])
    return names


def _host_net(address: str) -> Net | None:
    try:
        return ipaddress.ip_network(address)
    except ValueError:
        return None


def _witnesses(
    world: World,
    router: RouterView,
    wanted: list[tuple[Net, int]],
    targets: list[Neighbor],
    family: int = 4,
) -> list[Net]:
    """Routes of one family outside the pools that a too-wide policy would let in."""
    found: list[Net] = [ipaddress.ip_network(p) for p in _PROBES[family]]
    hosts = [_host_net(n.address) for n in world.nodes] + [_host_net(a) for a in router.addresses]
    found += [h for h in hosts if h is not None and h.version == family]
    if world.plan is not None:
        found += [ipaddress.ip_network(n) for n in world.plan.machine_networks]
    found = [w for w in found if w.version == family]
    named = {w for w in found if w.prefixlen == w.max_prefixlen}
    lists = _inbound_lists(router, targets, family)
    entries = [
        e
        for (version, name), es in router.config.prefix_lists.items()
        if version == family and name in lists
        for e in es
    ]
    kept = [e.network for e in entries if e.action == "permit" and _host_routes_only(e)]
    bounds = {net for net, _ in wanted} | {e.network for e in entries if e.network is not None}
    for candidate in prefix_classes(bounds, entries, family):
        # A permit of host routes only is a VIP range wider than the pools, not a hole.
        widened = any(k is not None and candidate.subnet_of(k) for k in kept)  # type: ignore[arg-type]
        if candidate.prefixlen == candidate.max_prefixlen and candidate not in named and widened:
            continue
        found.append(candidate)
    nets = {net for net, _ in wanted}
    return [w for w in dict.fromkeys(found) if w.version == family and not _inside(w, nets)]


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
        af = _AF[_transport(router, nb)]
        if not router.bgp.activated(nb, af):
            yield error(
                Where(file, nb.line),
                "router.af.not-activated",
                f"neighbor {nb.name} is not activated in address-family {af}: no route "
                "is exchanged with it",
                f"add `neighbor {nb.name} activate` under address-family {af}",
            )
    wanted = _wanted(world, router)
    for family in (4, 6):
        carrying = _carrying(router, targets, family)
        of_family = [(n, length) for n, length in wanted if n.version == family]
        if carrying and (family == 4 or of_family):
            yield from _family_policy(world, router, carrying, of_family, family)


def _family_policy(
    world: World,
    router: RouterView,
    targets: list[Neighbor],
    wanted: list[tuple[Net, int]],
    family: int,
) -> Iterator[Finding]:
    """The inbound policy of one address family: present, accepting every pool route of that
    family, and nothing else."""
    af = _AF[family]
    file = router.config.file
    yield from _no_policy(router, [nb for nb in targets if not has_policy(nb, INBOUND, af)])
    groups: dict[str, list[Neighbor]] = {}
    for nb in targets:
        if has_policy(nb, INBOUND, af):
            key = repr(sorted(nb.af(af).filters.items()))
            groups.setdefault(key, []).append(nb)
    samples = _samples(wanted, world)
    witnesses = _witnesses(world, router, wanted, targets, family)
    word, bits = _WORD[family], 32 if family == 4 else 128
    for members in groups.values():
        nb = members[0]
        where = Where(file, policy_lines(nb, router.bgp, INBOUND, af))
        # one verdict per sample, read by both the rejects-vip and the unknown findings
        verdicts = {s: inbound_verdict(router.config, nb, s, af) for s in samples}
        rejected = [s for s in samples if verdicts[s] == "deny"]
        if rejected:
            yield error(
                where,
                "router.policy.rejects-vip",
                f"router {router.name} rejects {', '.join(map(str, rejected[:3]))} from "
                f"{_names(members)}: the VIP pool is not accepted",
                f"permit the VIP pools ({word} prefix-list ... permit POOL ge {bits}) in the "
                "inbound route-map",
            )
        let_in = [w for w in witnesses if inbound_verdict(router.config, nb, w, af) == "permit"]
        if let_in:
            yield error(
                where,
                "router.policy.accepts-more",
                f"router {router.name} accepts {', '.join(map(str, let_in[:3]))} from "
                f"{_names(members)}, outside the VIP pools",
                f"permit only the VIP pools: `{word} prefix-list NAME permit POOL ge {bits}`, "
                "then deny",
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


def announcing_nodes(world: World, router: RouterView, family: int = 4) -> list[NodeFact]:
    """The nodes that announce routes of `family` to the router (one fact per node)."""
    nodes = []
    for n in world.nodes:
        nb = router.neighbor_for(n.address)
        if nb is not None and nb in _carrying(router, [nb], family):
            nodes.append(n)
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
    return list({n.name: n for n in nodes}.values())


def _multipath(world: World, router: RouterView) -> Iterator[Finding]:
    bgp, file = router.bgp, router.config.file
    targets = _targets(world, router)
    for family in (4, 6):
        count = len(announcing_nodes(world, router, family))
        af = bgp.afs.get(_AF[family])
        carrying = _carrying(router, targets, family)
        for ibgp in (False, True):
            if not any(bgp.is_ibgp(nb) == ibgp for nb in carrying):
                continue
            setting = (af.maximum_paths_ibgp if ibgp else af.maximum_paths) if af else None
            if setting is not None and setting[0] < count:
                kind = "maximum-paths ibgp" if ibgp else "maximum-paths"
                yield error(
                    Where(file, setting[1]),
                    "router.maximum-paths",
                    f"{kind} {setting[0]} on router {router.name}, but {count} nodes announce "
                    f"each VIP: only {setting[0]} of them receive traffic",
                    f"set `{kind} {count}` (or more) in address-family {_AF[family]}",
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
    found += check_router_host(world)
    return found

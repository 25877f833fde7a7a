"""frr.conf for one router, hardened (the guide's literal config is `hcplb.render.guide`).

The hcplb profile peers with the cluster nodes through one peer-group and accepts from them
only host routes inside the VIP pools, sends them nothing, caps what they may send, spreads
traffic over all of them (ECMP) and detects a dead node with BFD. Within each block, lines
follow the order of FRR's own `show running-config`, so a diff against it stays readable.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from hcplb.errors import RenderError
from hcplb.plan import NODE_PEER_GROUP, Peering, SitePlan
from hcplb.spec.checks import MAX_ECMP_PATHS
from hcplb.spec.models import Bfd, Router

__all__ = [
    "IBGP_PEER_GROUP",
    "MAX_PATHS",
    "MAX_PREFIX_RESTART_MINUTES",
    "PREFIX_LIST",
    "ROUTE_MAP_IN",
    "ROUTE_MAP_OUT",
    "ZEBRA_WORK_QUEUE_MS",
    "check_bgp_password",
    "group_name",
    "prefix_list_name",
    "render_frr_conf",
]

# Only when one router has both iBGP and eBGP nodes: FRR wants a peer-group all one kind.
IBGP_PEER_GROUP = f"{NODE_PEER_GROUP}-IBGP"
PREFIX_LIST = "HCPLB-VIP-POOLS"
ROUTE_MAP_IN = "HCPLB-FROM-NODES"
ROUTE_MAP_OUT = "HCPLB-TO-NODES"
# A node that floods more routes than the pools hold is cut off, then retried after this.
MAX_PREFIX_RESTART_MINUTES = 5
MAX_PATHS = MAX_ECMP_PATHS
# zebra's RIB work-queue hold (FRR's default: 10 ms), measured by `hcplb bench withdrawal`.
ZEBRA_WORK_QUEUE_MS = 0
# TCP MD5 keys (RFC 2385) are at most 80 bytes (Linux TCP_MD5SIG_MAXKEYLEN).
_MAX_PASSWORD = 80


def check_bgp_password(password: str) -> None:
    """RenderError (never showing the value) unless FRR and the kernel can use this password.

    FRR reads `password WORD`: one token of printable ASCII, no spaces.
    """
    if not 1 <= len(password) <= _MAX_PASSWORD:
        raise RenderError(
            f"the BGP password has {len(password)} characters; TCP MD5 allows 1 to {_MAX_PASSWORD}"
            " (spec.bgp.password)"
        )
    if not all(33 <= ord(ch) <= 126 for ch in password):
        raise RenderError(
            "the BGP password must be printable ASCII without spaces (spec.bgp.password)"
        )


@dataclass(frozen=True)
class _Group:
    """One peer-group of node sessions and the ASN set on it (None: set per neighbor).

    `family` is the sessions' transport; `carries` the address families activated on them.
    """

    name: str
    peerings: tuple[Peering, ...]
    remote_as: str | None
    family: int = 4
    carries: tuple[int, ...] = (4,)


def group_name(base: str, family: int) -> str:
    """IPv4 sessions keep the IPv4-only names; IPv6 sessions get a `-V6` group of their own."""
    return base if family == 4 else f"{base}-V6"


def prefix_list_name(family: int) -> str:
    return group_name(PREFIX_LIST, family)


def _session_families(plan: SitePlan) -> tuple[tuple[int, tuple[int, ...]], ...]:
    """(transport, carried families) of the router's session kinds, IPv4 first."""
    if plan.dual_stack_sessions:
        return ((4, tuple(sorted(plan.families))),)
    return tuple((f, (f,)) for f in sorted(plan.families))


def _groups(plan: SitePlan, router: Router) -> tuple[_Group, ...]:
    """Node peer-groups of a router: per session family, one, or an eBGP and an iBGP one
    when both kinds exist.

    When the node ASNs differ, each neighbor keeps its exact ASN rather than the group's
    `remote-as external`: a node that comes up with another ASN is refused, not accepted.
    """
    groups = []
    for family, carries in _session_families(plan):
        if plan.site.spec.bgp.peering == "dynamic":
            asn = str(plan.site.spec.management_cluster.asn)
            groups.append(_Group(group_name(NODE_PEER_GROUP, family), (), asn, family, carries))
            continue
        peerings = tuple(p for p in plan.peerings_of(router) if p.family == family)
        if not peerings:
            continue
        ebgp = tuple(p for p in peerings if not p.ibgp)
        ibgp = tuple(p for p in peerings if p.ibgp)
        parts: tuple[tuple[str, tuple[Peering, ...]], ...] = ((NODE_PEER_GROUP, peerings),)
        if ebgp and ibgp:
            parts = ((NODE_PEER_GROUP, ebgp), (IBGP_PEER_GROUP, ibgp))
        for name, members in parts:
            asns = {p.node_asn for p in members}
            remote_as = str(asns.pop()) if len(asns) == 1 else None
            groups.append(_Group(group_name(name, family), members, remote_as, family, carries))
    return tuple(groups)


def _prefix_list(plan: SitePlan) -> Iterator[str]:
    # `ge 32` on a /32 is FRR's exact match and is kept as written (checked with FRR 8.4);
    # `ge 128` likewise for IPv6.
    for family, word in ((4, "ip"), (6, "ipv6")):
        name = prefix_list_name(family)
        bits = 32 if family == 4 else 128
        for index, net in enumerate(plan.accepted_of(family), start=1):
            yield f"{word} prefix-list {name} seq {index * 5} permit {net} ge {bits}"


def _route_map_in(plan: SitePlan) -> Iterator[str]:
    """Permit what the pools' prefix-lists match (IPv4 at 10, IPv6 at 20), deny the rest."""
    for family, word, seq in ((4, "ip", 10), (6, "ipv6", 20)):
        if plan.accepted_of(family):
            yield f"route-map {ROUTE_MAP_IN} permit {seq}"
            yield f" match {word} address prefix-list {prefix_list_name(family)}"
            yield "exit"
            yield "!"
    yield f"route-map {ROUTE_MAP_IN} deny 100"
    yield "exit"
    yield "!"


def _host_routes(plan: SitePlan) -> str:
    lengths = [f"/{32 if f == 4 else 128}" for f in sorted(plan.families)]
    return " and ".join(lengths)


def _bfd_block(bfd: Bfd) -> Iterator[str]:
    yield "bfd"
    yield f" profile {bfd.name}"
    yield f"  detect-multiplier {bfd.detect_multiplier}"
    yield f"  transmit-interval {bfd.transmit_interval}"
    yield f"  receive-interval {bfd.receive_interval}"
    if bfd.passive_mode:
        yield "  passive-mode"
    if bfd.echo_mode:
        yield "  echo-mode"
    yield " exit"
    yield "exit"
    yield "!"


def _group_lines(plan: SitePlan, group: _Group, password: str | None) -> Iterator[str]:
    bgp = plan.site.spec.bgp
    pg = group.name
    yield f" neighbor {pg} peer-group"
    if group.remote_as is not None:
        yield f" neighbor {pg} remote-as {group.remote_as}"
    yield f" neighbor {pg} description hcplb: management cluster nodes (MetalLB speakers)"
    if bgp.bfd is not None:
        yield f" neighbor {pg} bfd"
        yield f" neighbor {pg} bfd profile {bgp.bfd.name}"
    if password is not None:
        yield f" neighbor {pg} password {password}"
    yield f" neighbor {pg} passive"
    yield f" neighbor {pg} timers {int(bgp.keepalive_time)} {int(bgp.hold_time)}"
    yield f" neighbor {pg} timers connect {int(bgp.connect_time)}"


def _neighbor_lines(plan: SitePlan, groups: tuple[_Group, ...]) -> Iterator[str]:
    if plan.site.spec.bgp.peering == "dynamic":
        for group in groups:
            network = plan.machine_network_of(group.family)
            yield f" bgp listen range {network} peer-group {group.name}"
        return
    for group in groups:
        for p in group.peerings:
            if group.remote_as is None:
                yield f" neighbor {p.node_address} remote-as {p.node_asn}"
            yield f" neighbor {p.node_address} peer-group {group.name}"
            yield f" neighbor {p.node_address} description {p.node.name}"


def _address_family(plan: SitePlan, router: Router, groups: tuple[_Group, ...]) -> Iterator[str]:
    """One `address-family` block per family some session carries, each hardened alike."""
    paths = plan.maximum_paths
    if paths > MAX_PATHS:
        raise RenderError(
            f"{paths} nodes exceed FRR's {MAX_PATHS} ECMP paths (router {router.name})"
        )
    restart = MAX_PREFIX_RESTART_MINUTES
    for family in sorted(plan.families):
        members = [g for g in groups if family in g.carries]
        if not members:
            continue
        yield " !"
        yield f" address-family ipv{family} unicast"
        for group in members:
            pg = group.name
            yield f"  neighbor {pg} activate"
            yield f"  neighbor {pg} maximum-prefix {plan.maximum_prefix_of(family)} restart {restart}"
            yield f"  neighbor {pg} route-map {ROUTE_MAP_IN} in"
            yield f"  neighbor {pg} route-map {ROUTE_MAP_OUT} out"
        peerings = [p for g in members for p in g.peerings] or list(plan.peerings_of(router))
        if any(not p.ibgp for p in peerings):
            yield f"  maximum-paths {paths}"
        if any(p.ibgp for p in peerings):
            yield f"  maximum-paths ibgp {paths}"
        yield " exit-address-family"


def render_frr_conf(plan: SitePlan, router: Router, *, password: str | None) -> str:
    """The hardened frr.conf of one router (the password, when given, makes it a secret file).

    The policy (prefix-list, route-maps) and the BFD profile come before `router bgp`, so
    no session is ever configured with a route-map or profile that does not exist yet.
    """
    if password is not None:
        check_bgp_password(password)
    groups = _groups(plan, router)
    lines = [
        f"! hcplb: FRR configuration of router {router.name} (site {plan.site.name}).",
        "! Generated by `hcplb render`; edit the site spec, not this file.",
        "frr defaults traditional",
        f"hostname {router.name}",
        "log syslog informational",
        "!",
        "! zebra installs a withdrawal at once instead of holding its RIB queue 10 ms (hcplb bench",
        "! withdrawal: 10 of the 75 ms from BFD down to the FIB change; the router holds few routes).",
        f"zebra work-queue {ZEBRA_WORK_QUEUE_MS}",
        "!",
        f"! Accept from the nodes only host routes ({_host_routes(plan)}) inside the VIP pools.",
        *_prefix_list(plan),
        "!",
        *_route_map_in(plan),
        "! Send the nodes nothing: they need no routes from the router.",
        f"route-map {ROUTE_MAP_OUT} deny 10",
        "exit",
        "!",
    ]
    if plan.bfd is not None:
        lines += _bfd_block(plan.bfd)
    lines += [
        f"router bgp {router.asn}",
        f" bgp router-id {router.router_id}",
        " bgp log-neighbor-changes",
        # eBGP stays policy-required (FRR's default); activation is explicit per peer-group.
        " no bgp default ipv4-unicast",
    ]
    if plan.multipath_relax(router):
        lines.append(" bgp bestpath as-path multipath-relax")
    lines += [
        " ! The router never dials: MetalLB speakers run bgpd without a listener (-p 0) and",
        " ! always connect to it, so only inbound TCP 179 from the nodes is needed.",
    ]
    for group in groups:
        lines += _group_lines(plan, group, password)
    lines += _neighbor_lines(plan, groups)
    lines += _address_family(plan, router, groups)
    lines += ["exit", "!"]
    return "\n".join(lines) + "\n"

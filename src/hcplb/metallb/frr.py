"""The frr.conf MetalLB's FRR mode writes for a speaker, from its sessions and BFD profiles.

Ordering follows MetalLB's session manager: routers are grouped by (myASN, routerID, VRF) and
sorted by the key `myASN@routerID@vrf` as a string; neighbors by `peerASN@address@vrf`;
prefixes sort as strings; per-neighbor localpref then community prefix-lists sort by name.
Counters number prefix-list entries per list and `<id>-out` route-map entries per neighbor.
Blank lines are laid out for reading (never two in a row); MetalLB's template leaves
whitespace-only lines, so compare ignoring blank lines and trailing spaces.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache

__all__ = [
    "Advertisement",
    "BfdProfile",
    "FrrConfig",
    "Session",
    "frr_log_level",
    "prefix_version",
    "render_frr",
]

_LOG_LEVELS = {
    "all": "debugging",
    "debug": "debugging",
    "info": "informational",
    "warn": "warnings",
    "error": "error",
    "none": "emergencies",
}

_DEBUG_LINES = (
    "debug zebra events",
    "debug zebra nht",
    "debug zebra kernel",
    "debug zebra rib",
    "debug zebra nexthop",
    "debug bgp neighbor-events",
    "debug bgp updates",
    "debug bgp keepalives",
    "debug bgp nht",
    "debug bgp zebra",
    "debug bfd network",
    "debug bfd peer",
    "debug bfd zebra",
)


@dataclass(frozen=True)
class Advertisement:
    """One prefix a session announces; communities are `N:N` or `large:N:N:N`."""

    prefix: str
    communities: tuple[str, ...] = ()
    local_pref: int = 0


@dataclass(frozen=True)
class Session:
    """MetalLB's `bgp.SessionParameters` for one peer on one node, timers in whole seconds."""

    my_asn: int
    peer_address: str = ""
    peer_interface: str = ""
    peer_port: int = 0
    peer_asn: int = 0
    dynamic_asn: str = ""
    source_address: str = ""
    router_id: str = ""
    hold_time: int | None = None
    keepalive_time: int | None = None
    connect_time: int | None = None
    password: str = field(default="", repr=False)
    bfd_profile: str = ""
    graceful_restart: bool = False
    ebgp_multihop: bool = False
    vrf: str = ""
    dual_stack_address_family: bool = False
    local_asn: int = 0
    name: str = ""
    advertisements: tuple[Advertisement, ...] = ()

    @property
    def peer(self) -> str:
        """What FRR calls the neighbor: its interface (unnumbered) or its address."""
        return self.peer_interface or self.peer_address

    @property
    def neighbor_id(self) -> str:
        """The prefix of this neighbor's route-map and prefix-list names."""
        return self.peer + (f"-{self.vrf}" if self.vrf else "")

    @property
    def remote_as(self) -> str:
        return self.dynamic_asn or str(self.peer_asn)

    @property
    def family(self) -> str:
        """`ipv4`, `ipv6` or `dual` (interface peers and dualStackAddressFamily)."""
        if self.peer_interface or self.dual_stack_address_family:
            return "dual"
        return f"ipv{prefix_version(self.peer_address)}"


@dataclass(frozen=True)
class BfdProfile:
    """A BFD profile; None leaves FRR's default (the line is not written)."""

    name: str
    receive_interval: int | None = None
    transmit_interval: int | None = None
    detect_multiplier: int | None = None
    echo_interval: int | None = None
    echo_mode: bool = False
    passive_mode: bool = False
    minimum_ttl: int | None = None


@dataclass(frozen=True)
class FrrConfig:
    """Everything one speaker's frr.conf is made from; `log_level` is MetalLB's level name."""

    hostname: str
    log_level: str = "info"
    bfd_profiles: tuple[BfdProfile, ...] = ()
    sessions: tuple[Session, ...] = ()
    extra_config: str = ""


@cache
def prefix_version(prefix: str) -> int:
    """4 or 6 of an address or prefix (host bits may be set, as in MetalLB's own tests)."""
    return ipaddress.ip_interface(prefix).version


def frr_log_level(level: str) -> str:
    """FRR's log level for a MetalLB one (unknown levels fall back to informational)."""
    return _LOG_LEVELS.get(level, "informational")


@dataclass
class _PrefixList:
    name: str
    family: str  # "ip" or "ipv6"
    set_statement: str
    prefixes: set[str] = field(default_factory=set)


@dataclass
class _Neighbor:
    session: Session
    v4: set[str] = field(default_factory=set)
    v6: set[str] = field(default_factory=set)
    localpref: dict[str, _PrefixList] = field(default_factory=dict)
    community: dict[str, _PrefixList] = field(default_factory=dict)


@dataclass
class _Router:
    my_asn: int
    router_id: str
    vrf: str
    neighbors: dict[str, _Neighbor] = field(default_factory=dict)
    v4: set[str] = field(default_factory=set)
    v6: set[str] = field(default_factory=set)


class _Counters:
    def __init__(self) -> None:
        self._values: dict[str, int] = {}

    def next(self, name: str) -> int:
        self._values[name] = self._values.get(name, 0) + 1
        return self._values[name]


def _routers(sessions: tuple[Session, ...]) -> list[_Router]:
    routers: dict[str, _Router] = {}
    for s in sessions:
        key = f"{s.my_asn}@{s.router_id or '<nil>'}@{s.vrf}"
        router = routers.setdefault(key, _Router(s.my_asn, s.router_id, s.vrf))
        nkey = f"{s.remote_as}@{s.peer_address or s.peer_interface}@{s.vrf}"
        neighbor = router.neighbors.setdefault(nkey, _Neighbor(s))
        _add_advertisements(router, neighbor, s.advertisements)
    return [routers[k] for k in sorted(routers)]


def _add_advertisements(
    router: _Router, neighbor: _Neighbor, advertisements: tuple[Advertisement, ...]
) -> None:
    nid = neighbor.session.neighbor_id
    for adv in advertisements:
        version = prefix_version(adv.prefix)
        if neighbor.session.family not in (f"ipv{version}", "dual"):
            continue
        fam = "ipv6" if version == 6 else "ip"
        for community in adv.communities:
            if community.startswith("large:"):
                value = community.removeprefix("large:")
                name = f"{nid}-large:{value}-{fam}-community-prefixes"
                statement = f"set large-community {value} additive"
            else:
                name = f"{nid}-{community}-{fam}-community-prefixes"
                statement = f"set community {community} additive"
            plist = neighbor.community.setdefault(name, _PrefixList(name, fam, statement))
            plist.prefixes.add(adv.prefix)
        if adv.local_pref:
            name = f"{nid}-{adv.local_pref}-{fam}-localpref-prefixes"
            statement = f"set local-preference {adv.local_pref}"
            plist = neighbor.localpref.setdefault(name, _PrefixList(name, fam, statement))
            plist.prefixes.add(adv.prefix)
        (neighbor.v6 if version == 6 else neighbor.v4).add(adv.prefix)
        (router.v6 if version == 6 else router.v4).add(adv.prefix)


def _filters(neighbor: _Neighbor, count: _Counters) -> Iterator[str]:
    nid = neighbor.session.neighbor_id
    yield ""
    yield f"route-map {nid}-in deny 20"
    for lists in (neighbor.localpref, neighbor.community):
        for name in sorted(lists):
            plist = lists[name]
            for prefix in sorted(plist.prefixes):
                yield f"{plist.family} prefix-list {name} seq {count.next(name)} permit {prefix}"
            yield ""
            yield f"route-map {nid}-out permit {count.next(nid)}"
            yield f"  match {plist.family} address prefix-list {name}"
            yield f"  {plist.set_statement}"
            yield "  on-match next"
            yield ""
    for fam, plist_fam, prefixes in (("ipv4", "ip", neighbor.v4), ("ipv6", "ipv6", neighbor.v6)):
        name = f"{nid}-allowed-{fam}"
        yield ""
        if not prefixes:
            yield f"{plist_fam} prefix-list {name} seq {count.next(name)} deny any"
        for prefix in sorted(prefixes):
            yield f"{plist_fam} prefix-list {name} seq {count.next(name)} permit {prefix}"
    for plist_fam, fam in (("ip", "ipv4"), ("ipv6", "ipv6")):
        yield ""
        yield f"route-map {nid}-out permit {count.next(nid)}"
        yield f"  match {plist_fam} address prefix-list {nid}-allowed-{fam}"


def _disable_connected_check(s: Session, my_asn: int) -> bool:
    """MetalLB sets it only for single-hop IPv6 eBGP sessions."""
    if s.family != "ipv6" or s.ebgp_multihop:
        return False
    if s.peer_interface:
        return True
    if s.dynamic_asn:
        return s.dynamic_asn == "external"
    return str(my_asn) != s.remote_as


def _neighbor_lines(s: Session, my_asn: int) -> Iterator[str]:
    p = s.peer
    if s.peer_interface:
        yield f"  neighbor {p} interface remote-as {s.remote_as}"
    else:
        yield f"  neighbor {p} remote-as {s.remote_as}"
    if s.ebgp_multihop:
        yield f"  neighbor {p} ebgp-multihop"
    if s.local_asn:
        yield f"  neighbor {p} local-as {s.local_asn} no-prepend replace-as"
    if s.peer_port:
        yield f"  neighbor {p} port {s.peer_port}"
    if s.keepalive_time is not None and s.hold_time is not None:
        yield f"  neighbor {p} timers {s.keepalive_time} {s.hold_time}"
    if s.connect_time:
        yield f"  neighbor {p} timers connect {s.connect_time}"
    if s.password:
        yield f"  neighbor {p} password {s.password}"
    if s.source_address:
        yield f"  neighbor {p} update-source {s.source_address}"
    if s.graceful_restart:
        yield f"  neighbor {p} graceful-restart"
    if s.bfd_profile:
        yield f"  neighbor {p} bfd"
        yield f"  neighbor {p} bfd profile {s.bfd_profile}"
    if _disable_connected_check(s, my_asn):
        yield f"  neighbor {s.peer_address} disable-connected-check"


def _router_lines(router: _Router) -> Iterator[str]:
    yield f"router bgp {router.my_asn}" + (f" vrf {router.vrf}" if router.vrf else "")
    yield "  no bgp ebgp-requires-policy"
    yield "  no bgp network import-check"
    yield "  no bgp default ipv4-unicast"
    yield "  bgp graceful-restart preserve-fw-state"
    yield ""
    if router.router_id:
        yield f"  bgp router-id {router.router_id}"
    neighbors = [router.neighbors[k] for k in sorted(router.neighbors)]
    for n in neighbors:
        yield from _neighbor_lines(n.session, router.my_asn)
    for n in neighbors:
        s = n.session
        yield ""
        for fam in ("ipv4", "ipv6"):
            if s.family in (fam, "dual"):
                yield f"  address-family {fam} unicast"
                yield f"    neighbor {s.peer} activate"
                yield f"    neighbor {s.peer} route-map {s.neighbor_id}-in in"
                yield f"    neighbor {s.peer} route-map {s.neighbor_id}-out out"
                yield "  exit-address-family"
    for fam, prefixes in (("ipv4", router.v4), ("ipv6", router.v6)):
        if prefixes:
            yield f"  address-family {fam} unicast"
            yield from (f"    network {p}" for p in sorted(prefixes))
            yield "  exit-address-family"
    yield ""


def _bfd_lines(profiles: tuple[BfdProfile, ...]) -> Iterator[str]:
    yield "bfd"
    for p in profiles:
        yield f"  profile {p.name}"
        if p.receive_interval is not None:
            yield f"    receive-interval {p.receive_interval}"
        if p.transmit_interval is not None:
            yield f"    transmit-interval {p.transmit_interval}"
        if p.detect_multiplier is not None:
            yield f"    detect-multiplier {p.detect_multiplier}"
        if p.echo_mode:
            yield "    echo-mode"
        if p.echo_interval is not None:
            yield f"    echo receive-interval {p.echo_interval}"
            yield f"    echo transmit-interval {p.echo_interval}"
        if p.passive_mode:
            yield "    passive-mode"
        if p.minimum_ttl is not None:
            yield f"    minimum-ttl {p.minimum_ttl}"


def render_frr(config: FrrConfig) -> str:
    """The frr.conf text MetalLB's FRR mode writes for `config` (BFD profiles sorted by name)."""
    level = frr_log_level(config.log_level)
    lines = [f"log stdout {level}", "log timestamp precision 3"]
    if level == "debugging":
        lines += _DEBUG_LINES
    lines += [f"hostname {config.hostname}", "ip nht resolve-via-default"]
    lines.append("ipv6 nht resolve-via-default")
    routers = _routers(config.sessions)
    count = _Counters()
    for router in routers:
        for key in sorted(router.neighbors):
            lines += _filters(router.neighbors[key], count)
    lines.append("")
    for router in routers:
        lines += _router_lines(router)
    if config.bfd_profiles:
        lines += _bfd_lines(tuple(sorted(config.bfd_profiles, key=lambda p: p.name)))
    if config.extra_config:
        lines.append(config.extra_config.rstrip("\n"))
    text: list[str] = []
    for line in lines:
        if line or (text and text[-1]):
            text.append(line)
    return "\n".join(text).rstrip("\n") + "\n"

"""The frr.conf MetalLB's FRR mode writes for a speaker, from its sessions and BFD profiles.

Ordering follows MetalLB's session manager: routers are grouped by (myASN, routerID, VRF) and
sorted by the key `myASN@routerID@vrf` as a string; neighbors by `peerASN@address@vrf`;
prefixes sort as strings; per-neighbor localpref then community prefix-lists sort by name.
Counters number prefix-list entries per list and `<id>-out` route-map entries per neighbor.
Blank lines are laid out for reading (never two in a row); MetalLB's template leaves
whitespace-only lines, so compare ignoring blank lines and trailing spaces.

The text frr-k8s's template shares lives in `_frrtext`; what is MetalLB's own stays here:
the `-in deny 20` route-map, allow-lists sorted, one blank line per neighbor's families,
echo receive-interval first, a zero port or connect time left out.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache

from hcplb.metallb import _frrtext as frrtext

__all__ = [
    "Advertisement",
    "BfdProfile",
    "FrrConfig",
    "Session",
    "SessionOptions",
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


@dataclass(frozen=True)
class Advertisement:
    """One prefix a session announces; communities are `N:N` or `large:N:N:N`."""

    prefix: str
    communities: tuple[str, ...] = ()
    local_pref: int = 0


@dataclass(frozen=True, kw_only=True)
class SessionOptions:
    """What a BGP session has in both MetalLB's FRR mode and frr-k8s, under the same names:
    timers in whole seconds (None = FRR's default), password, BFD, restart, multihop, local AS."""

    hold_time: int | None = None
    keepalive_time: int | None = None
    connect_time: int | None = None
    password: str = field(default="", repr=False)
    bfd_profile: str = ""
    graceful_restart: bool = False
    ebgp_multihop: bool = False
    local_asn: int = 0


@dataclass(frozen=True)
class Session(SessionOptions):
    """MetalLB's `bgp.SessionParameters` for one peer on one node (options by keyword)."""

    my_asn: int
    peer_address: str = ""
    peer_interface: str = ""
    peer_port: int = 0
    peer_asn: int = 0
    dynamic_asn: str = ""
    source_address: str = ""
    router_id: str = ""
    vrf: str = ""
    dual_stack_address_family: bool = False
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
            name = frrtext.modifier_name(nid, community, fam, "community")
            statement = frrtext.community_statement(community)
            plist = neighbor.community.setdefault(name, _PrefixList(name, fam, statement))
            plist.prefixes.add(adv.prefix)
        if adv.local_pref:
            name = frrtext.modifier_name(nid, str(adv.local_pref), fam, "localpref")
            statement = frrtext.local_pref_statement(adv.local_pref)
            plist = neighbor.localpref.setdefault(name, _PrefixList(name, fam, statement))
            plist.prefixes.add(adv.prefix)
        (neighbor.v6 if version == 6 else neighbor.v4).add(adv.prefix)
        (router.v6 if version == 6 else router.v4).add(adv.prefix)


def _filters(neighbor: _Neighbor, count: frrtext.Counters) -> Iterator[str]:
    nid = neighbor.session.neighbor_id
    yield ""
    yield f"route-map {nid}-in deny 20"
    for lists in (neighbor.localpref, neighbor.community):
        for name in sorted(lists):
            plist = lists[name]
            statement = plist.set_statement
            yield from frrtext.modifier_lines(
                nid, name, plist.family, plist.prefixes, statement, count
            )
    for fam, plist_fam, prefixes in (("ipv4", "ip", neighbor.v4), ("ipv6", "ipv6", neighbor.v6)):
        yield ""
        yield from frrtext.allowed_lines(f"{nid}-allowed-{fam}", plist_fam, sorted(prefixes), count)
    for plist_fam, fam in (("ip", "ipv4"), ("ipv6", "ipv6")):
        yield ""
        yield f"route-map {nid}-out permit {count(nid)}"
        yield f"  match {plist_fam} address prefix-list {nid}-allowed-{fam}"


def _router_lines(router: _Router) -> Iterator[str]:
    yield from frrtext.router_head(router.my_asn, router.vrf, router.router_id)
    neighbors = [router.neighbors[k] for k in sorted(router.neighbors)]
    for n in neighbors:
        s = n.session
        peer = frrtext.Peer(
            s.peer_address, s.peer_interface, s.remote_as, s.family, s.peer_port, s.source_address
        )
        yield from frrtext.session_lines(s, peer, router.my_asn, zero_is_unset=True)
    for n in neighbors:
        s = n.session
        yield ""  # one blank line per neighbor, none between its families
        for fam in ("ipv4", "ipv6"):
            if s.family in (fam, "dual"):
                yield from frrtext.activate_lines(s.peer, s.neighbor_id, fam)
    yield from frrtext.network_lines(sorted(router.v4), sorted(router.v6))
    yield ""


def render_frr(config: FrrConfig) -> str:
    """The frr.conf text MetalLB's FRR mode writes for `config` (BFD profiles sorted by name)."""
    lines = list(frrtext.header_lines(frr_log_level(config.log_level), config.hostname))
    routers = _routers(config.sessions)
    count = frrtext.Counters()
    for router in routers:
        for key in sorted(router.neighbors):
            lines += _filters(router.neighbors[key], count)
    lines.append("")
    for router in routers:
        lines += _router_lines(router)
    if config.bfd_profiles:
        profiles = sorted(config.bfd_profiles, key=lambda p: p.name)
        lines += frrtext.bfd_lines(profiles, echo_transmit_first=False)
    if config.extra_config:
        lines.append(config.extra_config.rstrip("\n"))
    return frrtext.layout(lines)

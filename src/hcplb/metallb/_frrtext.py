"""The frr.conf text MetalLB's FRR-mode template and frr-k8s's template have in common.

Both upstream templates descend from one: the header, the `router bgp` preamble, the
neighbor session lines, the per-family activation, the `network` lines, the BFD profiles and
the local-preference / community modifier route-maps print the same words. The renderers
(`metallb.frr` and `metallb.frrk8s.render`) decide what goes where and in which order; the
places where the templates differ stay in them, named, and are passed here as arguments
(BFD echo interval order, which optional numbers count as unset).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # frr.py imports this module
    from hcplb.metallb.frr import BfdProfile, SessionOptions

__all__ = [
    "Counters",
    "Peer",
    "activate_lines",
    "allowed_lines",
    "bfd_lines",
    "community_statement",
    "header_lines",
    "layout",
    "local_pref_statement",
    "modifier_lines",
    "modifier_name",
    "network_lines",
    "router_head",
    "session_lines",
]

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


class Counters:
    """Sequence numbers: prefix-list entries per list, route-map entries per neighbor ID."""

    def __init__(self) -> None:
        self._values: dict[str, int] = {}

    def __call__(self, name: str) -> int:
        self._values[name] = self._values.get(name, 0) + 1
        return self._values[name]


@dataclass(frozen=True)
class Peer:
    """Who a session is with, as each model names it: address or interface (unnumbered),
    remote AS (a number, `internal` or `external`), family (`ipv4`, `ipv6`, `dual`), port
    and update source."""

    addr: str
    iface: str
    remote_as: str
    family: str
    port: int | None
    source_address: str

    @property
    def name(self) -> str:
        """What FRR calls the neighbor: its interface (unnumbered) or its address."""
        return self.iface or self.addr


def header_lines(level: str, hostname: str) -> Iterator[str]:
    """The lines before the filters; `level` is FRR's word (`informational`, `debugging`...)."""
    yield f"log stdout {level}"
    yield "log timestamp precision 3"
    if level == "debugging":
        yield from _DEBUG_LINES
    yield f"hostname {hostname}"
    yield "ip nht resolve-via-default"
    yield "ipv6 nht resolve-via-default"
    yield ""


def modifier_name(nid: str, value: str, family: str, kind: str) -> str:
    """A modifier list's name: `<nid>-<value>-<ip|ipv6>-<localpref|community>-prefixes`
    (a large community's value keeps its `large:`)."""
    return f"{nid}-{value}-{family}-{kind}-prefixes"


def community_statement(community: str) -> str:
    """The route-map `set` for a community, `N:N` or `large:N:N:N`."""
    if community.startswith("large:"):
        return f"set large-community {community.removeprefix('large:')} additive"
    return f"set community {community} additive"


def local_pref_statement(local_pref: int) -> str:
    """The route-map `set` for a local preference."""
    return f"set local-preference {local_pref}"


def modifier_lines(
    nid: str, name: str, family: str, prefixes: Iterable[str], statement: str, count: Counters
) -> Iterator[str]:
    """A local-preference or community prefix-list (prefixes sorted as strings) and the
    `<nid>-out` route-map entry that applies it."""
    for prefix in sorted(prefixes):
        yield f"{family} prefix-list {name} seq {count(name)} permit {prefix}"
    yield ""
    yield f"route-map {nid}-out permit {count(nid)}"
    yield f"  match {family} address prefix-list {name}"
    yield f"  {statement}"
    yield "  on-match next"
    yield ""


def allowed_lines(
    name: str, family: str, prefixes: Iterable[str], count: Counters
) -> Iterator[str]:
    """An outgoing allow-list (`ip` or `ipv6`): its prefixes, or `deny any` when empty."""
    empty = True
    for prefix in prefixes:
        empty = False
        yield f"{family} prefix-list {name} seq {count(name)} permit {prefix}"
    if empty:
        yield f"{family} prefix-list {name} seq {count(name)} deny any"


def router_head(my_asn: int, vrf: str, router_id: str) -> Iterator[str]:
    """The start of a `router bgp` block, up to its router ID."""
    yield f"router bgp {my_asn}" + (f" vrf {vrf}" if vrf else "")
    yield "  no bgp ebgp-requires-policy"
    yield "  no bgp network import-check"
    yield "  no bgp default ipv4-unicast"
    yield "  bgp graceful-restart preserve-fw-state"
    yield ""
    if router_id:
        yield f"  bgp router-id {router_id}"


def _disable_connected_check(peer: Peer, multihop: bool, my_asn: int) -> bool:
    """Both set it only for single-hop IPv6 eBGP sessions."""
    if peer.family != "ipv6" or multihop:
        return False
    if peer.iface:
        return True
    if peer.remote_as == "internal":
        return False
    return peer.remote_as == "external" or peer.remote_as != str(my_asn)


def session_lines(
    s: SessionOptions, peer: Peer, my_asn: int, *, zero_is_unset: bool
) -> Iterator[str]:
    """The neighbor's session lines inside `router bgp`. MetalLB's template leaves out a
    zero port or connect time (`zero_is_unset`); frr-k8s's prints them (None is unset)."""
    p = peer.name
    port, connect = peer.port, s.connect_time
    if zero_is_unset:
        port, connect = port or None, connect or None
    if peer.iface:
        yield f"  neighbor {p} interface remote-as {peer.remote_as}"
    else:
        yield f"  neighbor {p} remote-as {peer.remote_as}"
    if s.ebgp_multihop:
        yield f"  neighbor {p} ebgp-multihop"
    if s.local_asn:
        yield f"  neighbor {p} local-as {s.local_asn} no-prepend replace-as"
    if port is not None:
        yield f"  neighbor {p} port {port}"
    if s.keepalive_time is not None and s.hold_time is not None:
        yield f"  neighbor {p} timers {s.keepalive_time} {s.hold_time}"
    if connect is not None:
        yield f"  neighbor {p} timers connect {connect}"
    if s.password:
        yield f"  neighbor {p} password {s.password}"
    if peer.source_address:
        yield f"  neighbor {p} update-source {peer.source_address}"
    if s.graceful_restart:
        yield f"  neighbor {p} graceful-restart"
    if s.bfd_profile:
        yield f"  neighbor {p} bfd"
        yield f"  neighbor {p} bfd profile {s.bfd_profile}"
    if _disable_connected_check(peer, s.ebgp_multihop, my_asn):
        # both templates name the address here, even for an interface peer
        yield f"  neighbor {peer.addr} disable-connected-check"


def activate_lines(peer: str, nid: str, family: str) -> Iterator[str]:
    """One address family of a neighbor: activated, with its `-in` and `-out` route-maps."""
    yield f"  address-family {family} unicast"
    yield f"    neighbor {peer} activate"
    yield f"    neighbor {peer} route-map {nid}-in in"
    yield f"    neighbor {peer} route-map {nid}-out out"
    yield "  exit-address-family"


def network_lines(v4: Iterable[str], v6: Iterable[str]) -> Iterator[str]:
    """The router's `network` statements, one address family each (none when empty)."""
    for family, prefixes in (("ipv4", list(v4)), ("ipv6", list(v6))):
        if prefixes:
            yield f"  address-family {family} unicast"
            yield from (f"    network {p}" for p in prefixes)
            yield "  exit-address-family"


def bfd_lines(profiles: Iterable[BfdProfile], *, echo_transmit_first: bool) -> Iterator[str]:
    """The `bfd` block; MetalLB writes echo receive-interval first, frr-k8s transmit first."""
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
            echo = (f"    echo {d}-interval {p.echo_interval}" for d in ("receive", "transmit"))
            yield from (reversed(list(echo)) if echo_transmit_first else echo)
        if p.passive_mode:
            yield "    passive-mode"
        if p.minimum_ttl is not None:
            yield f"    minimum-ttl {p.minimum_ttl}"


def layout(lines: Iterable[str]) -> str:
    """The file: never two blank lines in a row, none at the end, one final newline."""
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"

"""The one reader of FRR's JSON answers (vtysh `... json`); pure, no I/O.

FRR omits false booleans and zero counters from its JSON, so every field is read with a
default. A stopped daemon answers text (`bgpd is not running`), and so do some empty
results (`% No BGP neighbors found`); `parse_answer` tells these apart from JSON.
`show bfd peers json` is a list, the others are objects. Field names are FRR 8.4's
(captured answers in tests/data/frr/). Lab, verify, apply and bench all read FRR here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Answer",
    "BfdCounters",
    "BfdPeer",
    "BgpPath",
    "BgpSummary",
    "FibNexthop",
    "FibRoute",
    "Neighbor",
    "PeerSummary",
    "parse_answer",
    "parse_bfd_counters",
    "parse_bfd_peers",
    "parse_bgp_neighbors",
    "parse_bgp_prefix",
    "parse_bgp_summary",
    "parse_bgp_table",
    "parse_ip_route",
    "split_answers",
]

_NOT_RUNNING = re.compile(r"^\s*(\w+) is not running\s*$", re.MULTILINE)
_NO_DAEMON = "failed to connect to any daemons"  # vtysh when FRR is stopped altogether


@dataclass(frozen=True)
class Answer:
    """One command's answer: JSON `data`, or `text` (with `down` naming a stopped daemon, or
    "frr" when vtysh reached none: the frr service is stopped)."""

    data: Any = None
    text: str = ""
    down: str | None = None

    @property
    def is_json(self) -> bool:
        return self.data is not None


def parse_answer(text: str) -> Answer:
    """Classify vtysh output: JSON, a stopped daemon, or other text (an error, `% ...`)."""
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            return Answer(data=json.loads(stripped))
        except json.JSONDecodeError:
            pass
    if _NO_DAEMON in text:
        return Answer(text=stripped, down="frr")
    match = _NOT_RUNNING.search(text)
    return Answer(text=stripped, down=match.group(1) if match else None)


def split_answers(text: str, count: int) -> list[Answer]:
    """The answers of `vtysh -c A -c B ...` (printed back to back), padded to `count`.

    vtysh stops at the first command whose daemon is not running, so missing answers are
    filled with that one (or with an empty text answer).
    """
    decoder = json.JSONDecoder()
    answers: list[Answer] = []
    pos = 0
    while pos < len(text) and len(answers) < count:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        if text[pos] in "{[":
            try:
                data, end = decoder.raw_decode(text, pos)
            except json.JSONDecodeError:
                answers.append(parse_answer(text[pos:]))
                break
            answers.append(Answer(data=data))
            pos = end
            continue
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        answers.append(parse_answer(text[pos:end]))
        pos = end
    filler = answers[-1] if answers and not answers[-1].is_json else Answer(text="no answer")
    return answers + [filler] * (count - len(answers))


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _opt_int(value: Any) -> int | None:
    return None if value is None else _int(value)


# -- show bgp summary json ---------------------------------------------------------------------


@dataclass(frozen=True)
class PeerSummary:
    address: str
    state: str
    peer_state: str
    remote_as: int
    local_as: int
    prefixes_received: int
    uptime: str
    uptime_ms: int
    description: str = ""

    @property
    def established(self) -> bool:
        return self.state == "Established"

    @property
    def policy_blocked(self) -> bool:
        """`(Policy)` in the text summary: eBGP without an inbound policy (RFC 8212)."""
        return self.peer_state == "Policy"


@dataclass(frozen=True)
class BgpSummary:
    router_id: str
    local_as: int
    peers: Mapping[str, PeerSummary] = field(default_factory=dict)
    configured: bool = True
    """False when FRR has no `router bgp` at all (empty answer)"""


SUMMARY_TABLES = ("ipv4Unicast", "ipv6Unicast")


def parse_bgp_summary(data: Any) -> BgpSummary:
    """`show bgp summary json`: the peers of its ipv4Unicast and ipv6Unicast tables (`{}` when
    no BGP instance runs). A peer in both (a session carrying both families) is one peer whose
    prefixes received are both tables' together."""
    found = [data.get(t) for t in SUMMARY_TABLES] if isinstance(data, dict) else []
    tables: list[dict[str, Any]] = [t for t in found if isinstance(t, dict)]
    if not tables:
        return BgpSummary("", 0, {}, configured=False)
    peers: dict[str, PeerSummary] = {}
    for table in tables:
        for address, p in (table.get("peers") or {}).items():
            seen = peers.get(address)
            peers[address] = PeerSummary(
                address=address,
                state=str(p.get("state", "")),
                peer_state=str(p.get("peerState", "")),
                remote_as=_int(p.get("remoteAs")),
                local_as=_int(p.get("localAs"), _int(table.get("as"))),
                prefixes_received=_int(p.get("pfxRcd")) + (seen.prefixes_received if seen else 0),
                uptime=str(p.get("peerUptime", "")),
                uptime_ms=_int(p.get("peerUptimeMsec")),
                description=str(p.get("desc", "")),
            )
    first = tables[0]
    return BgpSummary(str(first.get("routerId", "")), _int(first.get("as")), peers)


# -- show bgp neighbors json -------------------------------------------------------------------


@dataclass(frozen=True)
class Neighbor:
    address: str
    state: str
    remote_as: int
    local_as: int
    last_reset: str = ""
    last_notification: str = ""
    inbound_policy: bool = False
    route_map_in: str = ""
    policy_discards: bool = False
    """eBGP without an inbound policy: FRR discards every update (RFC 8212). The summary's
    `peerState` says `Policy` only when nothing else (such as `passive`) takes precedence."""
    bfd_status: str = ""
    """`Up` / `Down` when BFD is configured for the neighbor, else empty"""
    messages_received: int = 0
    updates_received: int = 0
    connections: int = 0
    """sessions established since bgpd started (`connectionsEstablished`)"""
    connections_dropped: int = 0
    """established sessions that went down since bgpd started (`connectionsDropped`)"""
    accepted_prefixes: int | None = None
    max_prefix: int | None = None
    """`maximum-prefix` configured for the neighbor (None: no limit)"""


def parse_bgp_neighbors(data: Any) -> dict[str, Neighbor]:
    """`show bgp neighbors json`: neighbor address -> Neighbor."""
    result: dict[str, Neighbor] = {}
    if not isinstance(data, dict):
        return result
    for address, n in data.items():
        if not isinstance(n, dict) or "bgpState" not in n:
            continue
        af = (n.get("addressFamilyInfo") or {}).get("ipv4Unicast") or {}
        bfd = n.get("peerBfdInfo") or {}
        stats = n.get("messageStats") or {}
        result[address] = Neighbor(
            address=address,
            state=str(n.get("bgpState", "")),
            remote_as=_int(n.get("remoteAs")),
            local_as=_int(n.get("localAs")),
            last_reset=str(n.get("lastResetDueTo", "")),
            last_notification=str(n.get("lastNotificationReason", "")),
            inbound_policy=bool(af.get("inboundPathPolicyConfig", False)),
            route_map_in=str(af.get("routeMapForIncomingAdvertisements", "")),
            policy_discards="inboundEbgpRequiresPolicy" in af,
            bfd_status=str(bfd.get("status", "")),
            messages_received=_int(stats.get("totalRecv")),
            updates_received=_int(stats.get("updatesRecv")),
            connections=_int(n.get("connectionsEstablished")),
            connections_dropped=_int(n.get("connectionsDropped")),
            accepted_prefixes=_opt_int(af.get("acceptedPrefixCounter")),
            max_prefix=_opt_int(af.get("prefixAllowedMax")),
        )
    return result


# -- show bgp ipv4 unicast <prefix> json -------------------------------------------------------


@dataclass(frozen=True)
class BgpPath:
    peer: str
    nexthop: str
    valid: bool
    multipath: bool
    best: bool
    link_local: str = ""
    """an IPv6 path's link-local nexthop (the FIB installs it, `nexthop` is the global one)"""


def _paths(paths: Any) -> tuple[BgpPath, ...]:
    result = []
    for p in paths if isinstance(paths, list) else ():
        if not isinstance(p, dict):
            continue
        hops = p.get("nexthops") or [{}]
        # one prefix's paths name the peer in `peer`, the whole table's in `peerId`
        peer = (p.get("peer") or {}).get("peerId", p.get("peerId", ""))
        best = p.get("bestpath")
        local: dict[str, Any] = next((h for h in hops if h.get("scope") == "link-local"), {})
        result.append(
            BgpPath(
                peer=str(peer),
                nexthop=str(hops[0].get("ip", "")),
                valid=bool(p.get("valid", False)),
                multipath=bool(p.get("multipath", False)),
                best=bool(best.get("overall", False) if isinstance(best, dict) else best),
                link_local=str(local.get("ip", "")),
            )
        )
    return tuple(result)


def parse_bgp_prefix(data: Any) -> tuple[BgpPath, ...]:
    """`show bgp ipv4 unicast <vip>/32 json`: its paths (none when the prefix is unknown)."""
    return _paths(data.get("paths") if isinstance(data, dict) else None)


def parse_bgp_table(data: Any) -> dict[str, tuple[BgpPath, ...]]:
    """`show bgp ipv4 unicast json`: prefix -> its paths (empty when bgpd is down)."""
    routes = data.get("routes") if isinstance(data, dict) else None
    if not isinstance(routes, dict):
        return {}
    return {prefix: _paths(paths) for prefix, paths in routes.items() if isinstance(paths, list)}


def nexthop_peers(paths: Iterable[BgpPath]) -> dict[str, str]:
    """Each IPv6 path's nexthops (link-local, global) -> the peer that sent the path.

    Over eBGP on a shared network FRR installs an IPv6 route via the announcer's link-local
    address, which names no node; and over a dual-stack session (IPv4 transport carrying
    IPv6) even the global nexthop is not the peer's session address. The path names both."""
    found: dict[str, str] = {}
    for p in paths:
        if p.peer:
            found |= {hop: p.peer for hop in (p.link_local, p.nexthop) if hop}
    return found


# -- show ip route <prefix> json ---------------------------------------------------------------


@dataclass(frozen=True)
class FibNexthop:
    ip: str
    interface: str
    fib: bool
    active: bool


@dataclass(frozen=True)
class FibRoute:
    prefix: str
    protocol: str
    selected: bool
    installed: bool
    distance: int
    nexthops: tuple[FibNexthop, ...]

    @property
    def fib_nexthops(self) -> tuple[str, ...]:
        """Addresses of the nexthops installed in the kernel, sorted."""
        return tuple(sorted(h.ip for h in self.nexthops if h.fib and h.ip))


def parse_ip_route(data: Any, prefix: str) -> FibRoute | None:
    """`show ip route <vip>/32 json`: the selected entry for exactly `prefix` (else the first)."""
    entries = data.get(prefix) if isinstance(data, dict) else None
    if not entries:
        return None
    chosen = next((e for e in entries if e.get("selected")), entries[0])
    return FibRoute(
        prefix=prefix,
        protocol=str(chosen.get("protocol", "")),
        selected=bool(chosen.get("selected", False)),
        installed=bool(chosen.get("installed", False)),
        distance=_int(chosen.get("distance")),
        nexthops=tuple(
            FibNexthop(
                ip=str(h.get("ip", "")),
                interface=str(h.get("interfaceName", "")),
                fib=bool(h.get("fib", False)),
                active=bool(h.get("active", False)),
            )
            for h in chosen.get("nexthops") or ()
        ),
    )


# -- show bfd peers json -----------------------------------------------------------------------


@dataclass(frozen=True)
class BfdPeer:
    peer: str
    status: str
    diagnostic: str
    remote_id: int
    receive_interval: int
    transmit_interval: int
    detect_multiplier: int
    remote_receive_interval: int
    remote_transmit_interval: int
    remote_detect_multiplier: int

    @property
    def up(self) -> bool:
        return self.status == "up"


def parse_bfd_peers(data: Any) -> dict[str, BfdPeer]:
    """`show bfd peers json` (a list): peer address -> BfdPeer (single-hop, default VRF)."""
    result: dict[str, BfdPeer] = {}
    for p in data if isinstance(data, list) else ():
        if p.get("vrf", "default") != "default" or "peer" not in p:
            continue
        result[str(p["peer"])] = BfdPeer(
            peer=str(p["peer"]),
            status=str(p.get("status", "")),
            diagnostic=str(p.get("diagnostic", "")),
            remote_id=_int(p.get("remote-id")),
            receive_interval=_int(p.get("receive-interval")),
            transmit_interval=_int(p.get("transmit-interval")),
            detect_multiplier=_int(p.get("detect-multiplier")),
            remote_receive_interval=_int(p.get("remote-receive-interval")),
            remote_transmit_interval=_int(p.get("remote-transmit-interval")),
            remote_detect_multiplier=_int(p.get("remote-detect-multiplier")),
        )
    return result


@dataclass(frozen=True)
class BfdCounters:
    """One session's counters (`show bfd peers counters json`), since bfdd created it."""

    peer: str
    session_up: int
    session_down: int
    control_in: int
    control_out: int


def parse_bfd_counters(data: Any) -> dict[str, BfdCounters]:
    """`show bfd peers counters json` (a list): peer address -> BfdCounters (default VRF)."""
    result: dict[str, BfdCounters] = {}
    for p in data if isinstance(data, list) else ():
        if p.get("vrf", "default") != "default" or "peer" not in p:
            continue
        result[str(p["peer"])] = BfdCounters(
            peer=str(p["peer"]),
            session_up=_int(p.get("session-up")),
            session_down=_int(p.get("session-down")),
            control_in=_int(p.get("control-packet-input")),
            control_out=_int(p.get("control-packet-output")),
        )
    return result

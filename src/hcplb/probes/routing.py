"""Routing probes of one router: node sessions, VIP paths, the FIB and BFD (pure evaluation).

`RouterView` is the router's parsed answers; each function here turns one part of it into a
probe with the likely cause of a failure. Inputs come from `hcplb.probes.router`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from hcplb.converged import Peer, discards_updates
from hcplb.frrjson import (
    Answer,
    BfdPeer,
    BgpSummary,
    FibRoute,
    Neighbor,
    nexthop_peers,
    parse_bfd_peers,
    parse_bgp_neighbors,
    parse_bgp_prefix,
    parse_bgp_summary,
    parse_ip_route,
)
from hcplb.probes import hints
from hcplb.probes.expect import RouterExpect
from hcplb.probes.model import Probe, fail, passed, warn
from hcplb.runner import Result

__all__ = [
    "Failed",
    "RouterObservation",
    "RouterView",
    "bfd_probe",
    "session_probe",
    "view_of",
    "vip_fib_probe",
    "vip_paths_probe",
]

SYSTEM = "router"


@dataclass(frozen=True)
class Failed:
    """A command that could not run (unreachable target, timeout, missing tool)."""

    message: str


@dataclass(frozen=True)
class RouterObservation:
    """Raw answers: bgpd's (summary, neighbors, one per VIP prefix), zebra's, bfdd's, ..."""

    bgpd: tuple[Answer, ...] | Failed
    zebra: tuple[Answer, ...] | Failed
    bfd: Answer | Failed | None
    sysctl: Result | Failed
    drift: Result | Failed | None = None
    prefixes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class RouterView:
    """The parsed answers, or why a part is missing."""

    summary: BgpSummary | None
    bgp_error: str
    bgp_hint: str
    neighbors: dict[str, Neighbor]
    paths: dict[str, tuple[str, ...]]
    all_paths: dict[str, int]
    routes: dict[str, FibRoute | None]
    zebra_error: str
    zebra_hint: str
    bfd: dict[str, BfdPeer] | None
    bfd_error: str
    bfd_hint: str


def _why(part: tuple[Answer, ...] | Answer | Failed | None, target: str) -> tuple[str, str]:
    """(message, hint) when a part has no usable JSON, else ("", "")."""
    if part is None:
        return "", ""
    if isinstance(part, Failed):
        return part.message, hints.router_unreachable(target)
    first = part[0] if isinstance(part, tuple) else part
    if isinstance(part, tuple) and not part:
        return "", ""
    if first.down == "frr":
        return "FRR is not running (vtysh reaches none of its daemons)", hints.FRR_SERVICE
    if first.down == "bgpd":
        return "bgpd is not running", hints.BGP_DAEMON
    if first.down == "zebra":
        return "zebra is not running", hints.ZEBRA_DAEMON
    if first.down == "bfdd":
        return "bfdd is not running", hints.BFD_DAEMON
    if not first.is_json and not first.text.startswith("%"):
        return f"unexpected answer: {first.text[:120]}", hints.router_unreachable(target)
    return "", ""


def view_of(obs: RouterObservation, target: str) -> RouterView:
    bgp_error, bgp_hint = _why(obs.bgpd, target)
    summary = None
    neighbors: dict[str, Neighbor] = {}
    paths: dict[str, tuple[str, ...]] = {}
    all_paths: dict[str, int] = {}
    peers: dict[str, dict[str, str]] = {}
    if not bgp_error and not isinstance(obs.bgpd, Failed):
        summary = parse_bgp_summary(obs.bgpd[0].data or {})
        neighbors = dict(parse_bgp_neighbors(obs.bgpd[1].data))
        for prefix, answer in zip(obs.prefixes, obs.bgpd[2:], strict=False):
            got = parse_bgp_prefix(answer.data)
            paths[prefix] = tuple(sorted(p.peer for p in got if p.valid))
            all_paths[prefix] = len(got)
            peers[prefix] = nexthop_peers(got) if ":" in prefix else {}
    zebra_error, zebra_hint = _why(obs.zebra, target)
    routes: dict[str, FibRoute | None] = {}
    if not zebra_error and not isinstance(obs.zebra, Failed):
        for prefix, answer in zip(obs.prefixes, obs.zebra, strict=False):
            routes[prefix] = _named_by_peer(parse_ip_route(answer.data, prefix), peers.get(prefix))
    bfd_error, bfd_hint = _why(obs.bfd, target)
    bfd = None
    if obs.bfd is not None and not bfd_error and not isinstance(obs.bfd, Failed):
        bfd = parse_bfd_peers(obs.bfd.data)
    return RouterView(
        summary,
        bgp_error,
        bgp_hint,
        neighbors,
        paths,
        all_paths,
        routes,
        zebra_error,
        zebra_hint,
        bfd,
        bfd_error,
        bfd_hint,
    )


def _named_by_peer(route: FibRoute | None, peers: dict[str, str] | None) -> FibRoute | None:
    """An IPv6 route's nexthops (often link-local) named by the peer whose path each is."""
    if route is None or not peers:
        return route
    hops = tuple(replace(h, ip=peers.get(h.ip, h.ip)) for h in route.nexthops)
    return replace(route, nexthops=hops)


def policy_blocked(view: RouterView, address: str) -> bool:
    """The session is up but FRR discards the node's updates for want of an inbound policy."""
    peer = view.summary.peers.get(address) if view.summary is not None else None
    return discards_updates(peer, view.neighbors.get(address))


def session_probe(base: str, expect: RouterExpect, node: Peer, view: RouterView) -> Probe:
    id = f"{base}/session/{peer_id(node)}"
    want = expect.prefixes_from(node)
    expected = f"Established, not (Policy), {want} prefix(es) from AS {node.asn}"
    if view.summary is None:
        return fail(id, SYSTEM, expected, "", view.bgp_error, view.bgp_hint)
    peer = view.summary.peers.get(node.address)
    if peer is None:
        return fail(
            id,
            SYSTEM,
            expected,
            "no such neighbor",
            hints.NOT_CONFIGURED,
            hints.not_configured(node.name, node.address, expect.name),
        )
    neighbor = view.neighbors.get(node.address)
    blocked = policy_blocked(view, node.address)
    state = peer.state + (" (Policy)" if blocked and peer.established else "")
    observed = (
        f"{state}, up {peer.uptime}, {peer.prefixes_received} prefix(es), AS {peer.remote_as}"
    )
    notification = neighbor.last_notification if neighbor is not None else ""
    if peer.local_as != expect.asn:
        return fail(
            id,
            SYSTEM,
            expected,
            observed,
            f"router presents AS {peer.local_as}",
            hints.bad_peer_as_router(peer.local_as, expect.asn),
        )
    if peer.remote_as != node.asn:
        return fail(
            id,
            SYSTEM,
            expected,
            observed,
            f"router expects AS {peer.remote_as}",
            hints.bad_peer_as_node(peer.remote_as, node.asn, node.name),
        )
    if not peer.established:
        message = f"session {peer.state}"
        if "Bad Peer AS" in notification:
            return fail(
                id,
                SYSTEM,
                expected,
                observed,
                f"{message}: {notification}",
                hints.bad_peer_as_node(peer.remote_as, node.asn, node.name),
            )
        if peer.state in ("OpenSent", "OpenConfirm"):
            return fail(id, SYSTEM, expected, observed, message, hints.open_stuck(node.name))
        bfd_up = bool(view.bfd and node.address in view.bfd and view.bfd[node.address].up)
        return fail(
            id, SYSTEM, expected, observed, message, hints.active_session(node.name, bfd_up=bfd_up)
        )
    if blocked:
        return fail(
            id, SYSTEM, expected, observed, "Established but (Policy): routes dropped", hints.POLICY
        )
    if peer.prefixes_received < want:
        return fail(
            id,
            SYSTEM,
            expected,
            observed,
            f"{peer.prefixes_received} of {want} prefixes",
            hints.no_prefixes(node.name, peer.prefixes_received, want),
        )
    return passed(id, SYSTEM, expected, observed)


def _names(addresses: Sequence[str], nodes: Sequence[Peer]) -> str:
    by_address = {n.address: n.name for n in nodes}
    return ", ".join(by_address.get(a, a) for a in addresses) or "none"


def _cause(missing: Sequence[Peer], view: RouterView) -> str:
    """Why these nodes' paths are missing, from their sessions."""
    if view.summary is None:
        return view.bgp_hint
    for node in missing:
        if policy_blocked(view, node.address):
            return hints.POLICY
    names = ", ".join(n.name for n in missing)
    return f"{names}: see the session probe(s); a node whose session is down announces nothing"


def peer_id(node: Peer) -> str:
    """A node's session in a probe id: its name, with `/ipv6` for a session over IPv6 (a
    per-family site has one of each)."""
    return f"{node.name}/ipv6" if ":" in node.address else node.name


def vip_id(prefix: str) -> str:
    """A VIP prefix in a probe id: an IPv4 /32 as its address (`10.0.2.20`), an IPv6 one with
    its family (`ipv6/2001:db8:2::20`), an aggregate as written."""
    if prefix.endswith("/128"):
        return f"ipv6/{prefix.removesuffix('/128')}"
    if ":" in prefix:
        return f"ipv6/{prefix}"
    return prefix.removesuffix("/32")


def vip_paths_probe(
    base: str, expect: RouterExpect, prefix: str, announcers: Sequence[Peer], view: RouterView
) -> Probe:
    id = f"{base}/vip/{vip_id(prefix)}/bgp"
    want = sorted(n.address for n in announcers)
    expected = f"{len(want)} path(s): {_names(want, announcers)}"
    if view.summary is None:
        return fail(id, SYSTEM, expected, "", view.bgp_error, view.bgp_hint)
    got = view.paths.get(prefix, ())
    observed = f"{len(got)} path(s): {_names(got, expect.sessions)}"
    missing = [n for n in announcers if n.address not in got]
    if not want:
        return fail(
            id,
            SYSTEM,
            expected,
            observed,
            hints.VIP_NOT_ANNOUNCED,
            "MetalLB would announce this VIP from no node (see the cluster probes)",
        )
    if missing:
        return fail(
            id,
            SYSTEM,
            expected,
            observed,
            f"no path from {', '.join(n.name for n in missing)}",
            _cause(missing, view),
        )
    extra = sorted(set(got) - set(want))
    if extra:
        return warn(
            id,
            SYSTEM,
            expected,
            observed,
            f"unexpected path(s) from {', '.join(extra)}",
            "a node MetalLB should not use announces the VIP",
        )
    return passed(id, SYSTEM, expected, observed)


def vip_fib_probe(
    base: str, expect: RouterExpect, prefix: str, announcers: Sequence[Peer], view: RouterView
) -> Probe:
    id = f"{base}/vip/{vip_id(prefix)}/fib"
    want = sorted(n.address for n in announcers)
    expected = f"bgp route, {len(want)} nexthop(s): {_names(want, announcers)}"
    if view.zebra_error:
        return fail(id, SYSTEM, expected, "", view.zebra_error, view.zebra_hint)
    route = view.routes.get(prefix)
    paths = view.paths.get(prefix, ())
    if route is None:
        hint = hints.FIB_NOT_INSTALLED if paths else _cause(announcers, view)
        message = "prefix received but not in the FIB" if paths else "no route for the VIP"
        return fail(id, SYSTEM, expected, "no route", message, hint)
    hops = route.fib_nexthops
    protocol = route.protocol
    observed = f"{protocol} route, {len(hops)} nexthop(s): {_names(hops, expect.sessions)}"
    if protocol != "bgp":
        return fail(
            id,
            SYSTEM,
            expected,
            observed,
            f"the VIP is routed by {protocol}, not BGP",
            hints.FIB_NOT_INSTALLED,
        )
    if not route.installed or not hops:
        return fail(
            id,
            SYSTEM,
            expected,
            observed,
            "route not installed in the kernel",
            hints.FIB_NOT_INSTALLED,
        )
    missing = [n for n in announcers if n.address not in hops]
    if missing:
        return fail(
            id,
            SYSTEM,
            expected,
            observed,
            f"{len(hops)} of {len(want)} nexthops; missing {', '.join(n.name for n in missing)}",
            hints.fewer_nexthops(len(paths), len(hops), len(want)),
        )
    return passed(id, SYSTEM, expected, observed)


def bfd_probe(base: str, expect: RouterExpect, node: Peer, view: RouterView) -> Probe:
    id = f"{base}/bfd/{peer_id(node)}"
    bfd = expect.bfd
    assert bfd is not None
    expected = f"up, rx {bfd.receive_interval} tx {bfd.transmit_interval} x{bfd.detect_multiplier}"
    if view.bfd is None:
        return fail(id, SYSTEM, expected, "", view.bfd_error, view.bfd_hint)
    peer = view.bfd.get(node.address)
    if peer is None:
        return fail(
            id, SYSTEM, expected, "no BFD peer", "no BFD session for the node", hints.BFD_NO_SESSION
        )
    observed = (
        f"{peer.status}, rx {peer.receive_interval} tx {peer.transmit_interval} "
        f"x{peer.detect_multiplier}"
    )
    if not peer.up:
        session = view.summary.peers.get(node.address) if view.summary else None
        if session is not None and session.established:
            return fail(id, SYSTEM, expected, observed, "BFD down, BGP up", hints.BFD_ONE_SIDED)
        return fail(id, SYSTEM, expected, observed, "BFD down", hints.BFD_BOTH_DOWN)
    local = (peer.receive_interval, peer.transmit_interval, peer.detect_multiplier)
    rendered = (bfd.receive_interval, bfd.transmit_interval, bfd.detect_multiplier)
    if local != rendered:
        return fail(id, SYSTEM, expected, observed, "router BFD intervals differ", hints.DRIFT)
    remote = (
        peer.remote_receive_interval,
        peer.remote_transmit_interval,
        peer.remote_detect_multiplier,
    )
    if remote != rendered:
        return warn(
            id,
            SYSTEM,
            expected,
            f"{observed}; node rx {remote[0]} tx {remote[1]} x{remote[2]}",
            "the node's BFD intervals differ",
            "the node's BFDProfile differs from the rendered cluster/bfdprofile.yaml",
        )
    return passed(id, SYSTEM, expected, observed)

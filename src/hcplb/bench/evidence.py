"""What a router shows after an attack: RIB, FIB, session, kernel MD5 and firewall counters.

Reads with vtysh JSON, `ip -j route`, /proc/net/netstat and iptables-save / nft inside the
router host, and words it as one line of evidence per router.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hcplb.bench.attacks import RouteAttack
from hcplb.frrjson import BgpPath, parse_answer, parse_bgp_neighbors, parse_bgp_table
from hcplb.lab import Lab
from hcplb.lab.netns import routes as parse_routes
from hcplb.settings import COMMAND_TIMEOUT

__all__ = [
    "NeighborView",
    "RouterView",
    "bgp_prefixes",
    "counter_delta",
    "describe_probe",
    "firewall_counters",
    "firewall_delta",
    "md5_counters",
    "neighbor",
    "router_view",
]

MD5_COUNTERS = ("TCPMD5NotFound", "TCPMD5Unexpected", "TCPMD5Failure")
_COUNTED = re.compile(r"^\[(\d+):(\d+)\]\s+(.*)\Z")
_NFT_COUNTER = re.compile(r"counter packets (\d+) bytes \d+")


def _vtysh_json(lab: Lab, router: str, command: str) -> Any:
    """The answer's JSON (None when FRR answered text: a daemon down, an error)."""
    return parse_answer(
        lab.run(router, ["vtysh", "-c", command], timeout=COMMAND_TIMEOUT).stdout
    ).data


@dataclass(frozen=True)
class NeighborView:
    state: str
    updates_recv: int
    connections: int
    accepted: int | None
    max_prefix: int | None
    last_reset: str


def neighbor(lab: Lab, router: str, peer: str) -> NeighborView:
    """The router's view of one neighbour (`show bgp neighbors PEER json`)."""
    data = parse_bgp_neighbors(_vtysh_json(lab, router, f"show bgp neighbors {peer} json"))
    n = data.get(peer)
    if n is None:
        return NeighborView("not configured", 0, 0, None, None, "")
    return NeighborView(
        state=n.state or "?",
        updates_recv=n.updates_received,
        connections=n.connections,
        accepted=n.accepted_prefixes,
        max_prefix=n.max_prefix,
        last_reset=n.last_reset,
    )


def _rib(lab: Lab, router: str) -> dict[str, tuple[BgpPath, ...]]:
    return parse_bgp_table(_vtysh_json(lab, router, "show bgp ipv4 unicast json"))


def bgp_prefixes(lab: Lab, router: str) -> set[str]:
    """Every prefix in the router's IPv4 BGP table."""
    return set(_rib(lab, router))


def _fib(lab: Lab, router: str) -> dict[str, set[str]]:
    result = lab.run(router, ["ip", "-j", "route", "show", "proto", "bgp"], timeout=COMMAND_TIMEOUT)
    table = parse_routes(result) if result.ok else {}
    return {("0.0.0.0/0" if p == "default" else p): hops for p, hops in table.items()}


@dataclass(frozen=True)
class RouterView:
    router: str
    peer: str
    neighbor: NeighborView
    rib: frozenset[str]
    """prefixes with a valid path from the peer"""
    fib: frozenset[str]
    """prefixes in the kernel FIB with the peer as a nexthop"""

    def taken(self, attack: RouteAttack) -> bool:
        forbidden = set(attack.forbidden)
        if forbidden & (self.rib | self.fib):
            return True
        return attack.limit is not None and len(self.rib) > attack.limit

    def describe(self, attack: RouteAttack, before: NeighborView) -> str:
        n = self.neighbor
        got = sorted(set(attack.forbidden) & (self.rib | self.fib))
        session = f"session {n.state}"
        if n.state != "Established" and n.last_reset:
            session += f" ({n.last_reset})"
        counts = (
            f"updates received +{n.updates_recv - before.updates_recv}, "
            f"{len(self.rib)} route(s) from {self.peer} in the RIB"
        )
        if n.max_prefix is not None:
            counts += f" (maximum-prefix {n.max_prefix})"
        if got:
            where = [
                f"{p} in {'RIB and FIB' if p in self.rib and p in self.fib else 'RIB' if p in self.rib else 'FIB'}"
                for p in got[:3]
            ]
            more = f" and {len(got) - 3} more" if len(got) > 3 else ""
            return f"{self.router}: {', '.join(where)}{more} via {self.peer}; {session}; {counts}"
        if attack.limit is not None and len(self.rib) > attack.limit:
            return f"{self.router}: {len(self.rib)} routes from {self.peer} taken, over {attack.limit}; {session}"
        shown = ", ".join(list(attack.forbidden)[:2]) + ("..." if len(attack.forbidden) > 2 else "")
        return (
            f"{self.router}: {shown or 'nothing extra'} in neither RIB nor FIB; {session}; {counts}"
        )


def router_view(lab: Lab, router: str, peer: str) -> RouterView:
    rib = {
        prefix
        for prefix, paths in _rib(lab, router).items()
        if any(p.peer == peer and p.valid for p in paths)
    }
    fib = {prefix for prefix, hops in _fib(lab, router).items() if peer in hops}
    return RouterView(router, peer, neighbor(lab, router, peer), frozenset(rib), frozenset(fib))


def md5_counters(lab: Lab, router: str) -> dict[str, int]:
    """The TCP MD5 drop counters of the router's network namespace (/proc/net/netstat)."""
    text = lab.run(router, ["cat", "/proc/net/netstat"], timeout=COMMAND_TIMEOUT).stdout
    lines = [line.split() for line in text.splitlines() if line.startswith("TcpExt:")]
    if len(lines) < 2:
        return {}
    values = dict(zip(lines[0][1:], lines[1][1:], strict=False))
    return {k: int(values.get(k, 0)) for k in MD5_COUNTERS}


def counter_delta(before: dict[str, int], after: dict[str, int]) -> str:
    moved = [f"{k} +{after[k] - before.get(k, 0)}" for k in after if after[k] > before.get(k, 0)]
    return ", ".join(moved)


def firewall_counters(lab: Lab, router: str) -> dict[str, int]:
    """Packets per firewall rule that mentions port 179 (iptables-save -c; nft counters)."""
    counters: dict[str, int] = {}
    saved = lab.run(router, ["iptables-save", "-c"], timeout=COMMAND_TIMEOUT)
    for line in saved.stdout.splitlines():
        match = _COUNTED.match(line)
        if match and "179" in match.group(3):
            counters[match.group(3)] = int(match.group(1))
    nft = lab.run(router, ["nft", "list", "ruleset"], timeout=COMMAND_TIMEOUT)
    table = ""
    for line in nft.stdout.splitlines():
        if line.startswith("table "):
            table = line.split("{")[0].strip()
        # iptables-nft keeps its rules in `table ip filter`: already counted above
        if counters and table in ("table ip filter", "table ip6 filter"):
            continue
        match = _NFT_COUNTER.search(line)
        if match and "179" in line:
            counters[f"{table}: {line.strip()}"] = int(match.group(1))
    return counters


def firewall_delta(before: dict[str, int], after: dict[str, int]) -> str:
    moved = [
        f"+{after[rule] - before.get(rule, 0)} packet(s) on `{rule}`"
        for rule in after
        if after[rule] > before.get(rule, 0)
    ]
    if moved:
        return "firewall: " + "; ".join(moved)
    if not after:
        return "firewall: no rule for TCP 179 carries a counter"
    return "firewall: no TCP 179 rule counter moved"


def describe_probe(probe: dict[str, Any]) -> str:
    tcp = probe.get("tcp")
    if tcp == "timeout":
        return "TCP 179 timed out (the SYN got no answer)"
    if tcp == "refused":
        return "TCP 179 refused (RST)"
    if tcp != "connected":
        return f"TCP 179 {tcp}: {probe.get('detail', '')}"
    if probe.get("established"):
        return "TCP 179 open; the router answered OPEN and KEEPALIVE: it peers with an unknown host"
    answer = probe.get("answer")
    if answer == "notification":
        note = probe.get("notification", {})
        return (
            f"TCP 179 open; the router sent NOTIFICATION {note.get('code')}/{note.get('subcode')}"
        )
    if answer == "closed":
        return "TCP 179 open to the intruder; bgpd closed the connection (no such neighbour)"
    return f"TCP 179 open; answer {answer}"

"""What a router's FRR says, parsed: sessions, FIB nexthops, running config, frr-reload diffs.

Pure functions over vtysh / frr-reload.py output (no I/O), so they are tested on captured text.
FRR omits false booleans in JSON, and a stopped daemon answers text ("bgpd is not running"):
every parser treats what it cannot read as "nothing there", never as an exception.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hcplb.plan import SitePlan
from hcplb.spec.models import Router


@dataclass(frozen=True)
class Expected:
    """What a converged router shows: sessions Established (not Policy), VIPs with nexthops."""

    sessions: tuple[str, ...]
    routes: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Observed:
    sessions: Mapping[str, str]
    """neighbour address -> state ("Established", "Established (Policy)", "Active", ...)"""
    routes: Mapping[str, tuple[str, ...]]
    """VIP -> installed FIB nexthops"""


def expected_state(plan: SitePlan, router: Router) -> Expected:
    """Every node of the router peers with it; every speaker node announces every VIP.

    Speakers are the nodes matching `speakerNodeSelector` (all nodes when it is empty); the
    kube-apiserver Service uses externalTrafficPolicy Cluster, so every speaker announces.
    """
    selector = plan.site.spec.management_cluster.speaker_node_selector
    peerings = plan.peerings_of(router)
    sessions = tuple(p.node.address for p in peerings)
    speakers = tuple(
        p.node.address
        for p in peerings
        if all(p.node.labels.get(k) == v for k, v in selector.items())
    )
    routes = {c.vip: tuple(sorted(speakers, key=ipaddress.ip_address)) for c in plan.clusters}
    return Expected(sessions, routes)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, ValueError):
        return None


def parse_sessions(summary_text: str) -> dict[str, str]:
    """Neighbour -> state from `show bgp summary json` (all address families)."""
    data = _json(summary_text)
    result: dict[str, str] = {}
    if not isinstance(data, dict):
        return result
    for family in data.values():
        if not isinstance(family, dict):
            continue
        for address, peer in (family.get("peers") or {}).items():
            if not isinstance(peer, dict):
                continue
            state = str(peer.get("state", "?"))
            if state == "Established" and peer.get("peerState") == "Policy":
                state = "Established (Policy)"
            result.setdefault(address, state)
    return result


def parse_fib_nexthops(route_text: str, prefix: str) -> tuple[str, ...]:
    """Installed FIB nexthops of `prefix` from `show ip route PREFIX json` (none if absent)."""
    data = _json(route_text)
    if not isinstance(data, dict):
        return ()
    nexthops: set[str] = set()
    for route in data.get(prefix) or []:
        if not isinstance(route, dict) or not route.get("installed"):
            continue
        for hop in route.get("nexthops") or []:
            if isinstance(hop, dict) and hop.get("fib") and hop.get("ip"):
                nexthops.add(str(hop["ip"]))
    return tuple(sorted(nexthops, key=ipaddress.ip_address))


def missing(expected: Expected, observed: Observed) -> list[str]:
    """What is not converged yet, one line each (empty when converged)."""
    lines = []
    for address in expected.sessions:
        state = observed.sessions.get(address)
        if state != "Established":
            lines.append(f"session {address}: {state or 'not configured'}")
    for vip, hops in expected.routes.items():
        seen = observed.routes.get(vip, ())
        absent = [h for h in hops if h not in seen]
        if absent:
            have = ", ".join(seen) or "no route"
            lines.append(f"VIP {vip}: nexthops {', '.join(absent)} missing (FIB has {have})")
    return lines


def strip_running_config(text: str) -> str:
    """`show running-config` without vtysh's header, as a file frr-reload.py can load."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("Current configuration:"):
            lines = lines[index + 1 :]
            break
    while lines and lines[-1].strip() in ("end", ""):
        lines.pop()
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class ReloadDiff:
    """`frr-reload.py --test` output: the lines FRR would remove and add."""

    delete: tuple[str, ...]
    add: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.delete and not self.add

    def lines(self) -> list[str]:
        """`- line` / `+ line`, each context line (`router bgp 1`) printed once per run."""
        return [f"- {line}" for line in _condensed(self.delete)] + [
            f"+ {line}" for line in _condensed(self.add)
        ]


def _condensed(lines: Sequence[str]) -> list[str]:
    """frr-reload.py repeats a command's parents before each command; keep the first of each."""
    result: list[str] = []
    stack: list[str] = []  # the last line printed at each indentation level
    for line in lines:
        depth = len(line) - len(line.lstrip(" "))
        if depth < len(stack) and stack[depth] == line:
            continue
        del stack[depth:]
        stack += [""] * (depth - len(stack))
        stack.append(line)
        result.append(line)
    return result


def parse_reload_diff(stdout: str) -> ReloadDiff:
    """The 'Lines To Delete' / 'Lines To Add' sections (FRR 7 to 10 print both headings)."""
    sections: dict[str, list[str]] = {"delete": [], "add": []}
    current: list[str] | None = None
    lines = stdout.splitlines()
    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if line.strip() == "Lines To Delete" and following.startswith("==="):
            current = sections["delete"]
        elif line.strip() == "Lines To Add" and following.startswith("==="):
            current = sections["add"]
        elif current is not None and line.strip() and not line.startswith("==="):
            current.append(line.rstrip())
    return ReloadDiff(tuple(sections["delete"]), tuple(sections["add"]))

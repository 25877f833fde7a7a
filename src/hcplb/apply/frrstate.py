"""What a router's FRR says, for `apply --router`'s convergence check.

FRR's JSON is read by `hcplb.frrjson` (tolerant of omitted booleans and of a stopped daemon
answering text) and the converged state is `hcplb.converged`'s (the sessions MetalLB opens to
each router and the nodes announcing each VIP prefix), so `apply` waits for exactly the state
the lab waits for and `verify` checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hcplb.converged import converged_site, discards_updates, route_problem
from hcplb.frrjson import parse_answer, parse_bgp_summary, parse_ip_route
from hcplb.plan import SitePlan
from hcplb.render.secrets import Secrets
from hcplb.spec.models import Router


@dataclass(frozen=True)
class Expected:
    """What a converged router shows: sessions Established (not Policy), prefixes with nexthops."""

    sessions: tuple[str, ...]
    routes: Mapping[str, tuple[str, ...]]
    """route prefix (the VIP's /32, or its aggregate) -> nexthop addresses"""


@dataclass(frozen=True)
class Observed:
    sessions: Mapping[str, str]
    """neighbour address -> state ("Established", "Established (Policy)", "Active", ...)"""
    routes: Mapping[str, tuple[str, ...]]
    """route prefix -> installed FIB nexthops"""


def expected_state(plan: SitePlan, router: Router) -> Expected:
    """The sessions and announcements MetalLB produces for this router (`hcplb.converged`)."""
    state = converged_site(plan, Secrets()).router(router.name)
    return Expected(tuple(n.address for n in state.sessions), state.routes)


def _ip_key(address: str) -> tuple[int, ...]:
    return tuple(int(part) for part in address.split("."))


def parse_sessions(summary_text: str) -> dict[str, str]:
    """Neighbour -> state from `show bgp summary json` (nothing when bgpd is down)."""
    summary = parse_bgp_summary(parse_answer(summary_text).data)
    return {
        address: "Established (Policy)" if discards_updates(peer) else peer.state
        for address, peer in summary.peers.items()
    }


def parse_fib_nexthops(route_text: str, prefix: str) -> tuple[str, ...]:
    """Installed FIB nexthops of `prefix` from `show ip route PREFIX json` (none if absent)."""
    route = parse_ip_route(parse_answer(route_text).data, prefix)
    if route is None or not route.installed:
        return ()
    return tuple(sorted(route.fib_nexthops, key=_ip_key))


def missing(expected: Expected, observed: Observed) -> list[str]:
    """What is not converged yet, one line each (empty when converged)."""
    lines = []
    for address in expected.sessions:
        state = observed.sessions.get(address)
        if state != "Established":
            lines.append(f"session {address}: {state or 'not configured'}")
    for prefix, hops in expected.routes.items():
        problem = route_problem(prefix, hops, observed.routes.get(prefix, ()))
        if problem:
            lines.append(problem)
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

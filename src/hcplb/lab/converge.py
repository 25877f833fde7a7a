"""Is the lab converged? Probe the state (never sleep-and-hope) and wait for it with a deadline.

Converged (`hcplb.converged`, stored in the journal as `Expectations`) means, in one round of
probes: on every router each expected BGP session is Established and not `(Policy)`, and each
VIP's prefix is in the kernel FIB with a nexthop per announcing node; from the client every
API name resolves to its VIP through the lab DNS and every API URL answers HTTPS 200 with the
lab CA verified. FRR's answers are read by `hcplb.frrjson`.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Literal, Protocol

from hcplb.converged import route_problem, session_problem
from hcplb.errors import HcplbError, LabError
from hcplb.frrjson import (
    PeerSummary,
    nexthop_peers,
    parse_answer,
    parse_bgp_summary,
    parse_bgp_table,
)
from hcplb.lab import netns
from hcplb.lab.state import Expectations
from hcplb.lab.topology import CLIENT
from hcplb.runner import Result
from hcplb.settings import LAB_PROBE_TIMEOUT

Kind = Literal["sessions", "routes", "dns", "https"]


class Runs(Protocol):
    def run(
        self, host: str, argv: Sequence[str], *, timeout: float, input: str | None = None
    ) -> Result: ...


@dataclass(frozen=True)
class Condition:
    """One readiness condition of a round: a kind on a host, met or not, with a count."""

    kind: Kind
    host: str
    ok: bool
    detail: str
    done: int = 0
    total: int = 0


@dataclass(frozen=True)
class Convergence:
    ok: bool
    seconds: float
    checks: tuple[Condition, ...]
    rounds: int

    def failing(self) -> tuple[Condition, ...]:
        return tuple(c for c in self.checks if not c.ok)


def _safe(kind: Kind, host: str, probe: Callable[[], Condition]) -> Condition:
    try:
        return probe()
    except HcplbError as exc:
        return Condition(kind, host, False, str(exc))


def bgp_peers(lab: Runs, router: str) -> dict[str, PeerSummary]:
    """The router's `show bgp summary json`; LabError when FRR answers text (bgpd down)."""
    result = lab.run(router, ["vtysh", "-c", "show bgp summary json"], timeout=LAB_PROBE_TIMEOUT)
    answer = parse_answer(result.stdout)
    if not answer.is_json:
        first = answer.text.splitlines()[0] if answer.text else "no output"
        raise LabError(f"{router}: show bgp summary json: not JSON ({first})")
    return dict(parse_bgp_summary(answer.data).peers)


def check_sessions(lab: Runs, router: str, neighbours: Sequence[str]) -> Condition:
    found = bgp_peers(lab, router)
    problems = [(n, session_problem(found.get(n))) for n in neighbours]
    bad = [f"{n} {p}" for n, p in problems if p]
    done = len(neighbours) - len(bad)
    detail = f"{done}/{len(neighbours)} Established" + (f"; {', '.join(bad)}" if bad else "")
    return Condition("sessions", router, not bad, detail, done, len(neighbours))


def fib_routes(lab: Runs, router: str, *, ipv6: bool) -> dict[str, set[str]]:
    """The router's BGP routes in the kernel FIB: prefix -> nexthops (with `ipv6`, IPv6 ones
    too, each nexthop named by the peer (the node's session address) whose path it is)."""
    argv = ["ip", "-j", "route", "show", "proto", "bgp"]
    table = netns.routes(lab.run(router, argv, timeout=LAB_PROBE_TIMEOUT))
    if not ipv6:
        return table
    v6 = netns.routes(lab.run(router, [argv[0], "-6", *argv[1:]], timeout=LAB_PROBE_TIMEOUT))
    if v6:
        bgp = lab.run(
            router, ["vtysh", "-c", "show bgp ipv6 unicast json"], timeout=LAB_PROBE_TIMEOUT
        )
        table6 = parse_bgp_table(parse_answer(bgp.stdout).data)
        peers = nexthop_peers(p for paths in table6.values() for p in paths)
        v6 = {p: {peers.get(h, h) for h in hops} for p, hops in v6.items()}
    return table | v6


def check_routes(lab: Runs, router: str, expected: Mapping[str, Sequence[str]]) -> Condition:
    table = fib_routes(lab, router, ipv6=any(":" in prefix for prefix in expected))
    bad = []
    for prefix, hops in expected.items():
        got = table.get(prefix, set())
        if route_problem(prefix, hops, got):
            bad.append(f"{prefix} via {len(got & set(hops))}/{len(hops)}")
    done = len(expected) - len(bad)
    detail = f"{done}/{len(expected)} VIPs with every nexthop" + (
        f"; {', '.join(bad[:4])}" if bad else ""
    )
    return Condition("routes", router, not bad, detail, done, len(expected))


def check_dns(lab: Runs, names: Mapping[str, str]) -> Condition:
    """Every name answers its address (AAAA for an IPv6 one) from the client, through the lab
    DNS."""
    argv = ["dig", "+noall", "+answer", "+time=1", "+tries=2"]
    for name, address in names.items():
        argv += [name, "AAAA" if ":" in address else "A"]
    result = lab.run(CLIENT, argv, timeout=LAB_PROBE_TIMEOUT)
    answers: dict[str, set[str]] = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[3] in ("A", "AAAA"):
            answers.setdefault(parts[0].rstrip("."), set()).add(str(ipaddress.ip_address(parts[4])))
    bad = [n for n, addr in names.items() if answers.get(n) != {str(ipaddress.ip_address(addr))}]
    done = len(names) - len(bad)
    detail = f"{done}/{len(names)} names answer" + (
        f"; not yet: {', '.join(bad[:3])}" if bad else ""
    )
    return Condition("dns", CLIENT, not bad, detail, done, len(names))


def check_https(lab: Runs, urls: Sequence[str]) -> Condition:
    argv = [
        "curl",
        "-sS",
        "--connect-timeout",
        "1",
        "--max-time",
        "3",
        "-Z",
        "--parallel-max",
        "64",
    ]
    argv += ["-w", "%{http_code} %{url_effective}\\n"]
    for url in urls:
        argv += ["-o", "/dev/null", url]
    result = lab.run(CLIENT, argv, timeout=LAB_PROBE_TIMEOUT)
    codes: dict[str, str] = {}
    for line in result.stdout.splitlines():
        code, _, url = line.partition(" ")
        codes[url] = code
    bad = [u for u in urls if codes.get(u) != "200"]
    done = len(urls) - len(bad)
    error = result.stderr.strip().splitlines()[-1] if bad and result.stderr.strip() else ""
    detail = f"{done}/{len(urls)} URLs answer 200" + (f"; {error}" if error else "")
    return Condition("https", CLIENT, not bad, detail, done, len(urls))


ALL_KINDS: tuple[Kind, ...] = ("sessions", "routes", "dns", "https")


def probe(
    lab: Runs, expect: Expectations, *, kinds: Sequence[Kind] = ALL_KINDS
) -> tuple[Condition, ...]:
    """One round of the checks of the given kinds (a bare lab checks only `dns`).

    The checks only read, so a round runs them side by side (a round lasts as long as its
    slowest probe, not as all of them): sessions, routes and DNS, then HTTPS once routed."""
    probes: list[tuple[Kind, str, Callable[[], Condition]]] = []
    if "sessions" in kinds:
        for router, neighbours in expect.sessions.items():
            probes.append(("sessions", router, partial(check_sessions, lab, router, neighbours)))
    if "routes" in kinds:
        for router, routes in expect.routes.items():
            probes.append(("routes", router, partial(check_routes, lab, router, routes)))
    if "dns" in kinds:
        probes.append(("dns", CLIENT, partial(check_dns, lab, expect.names)))
    with ThreadPoolExecutor(max_workers=8) as pool:
        checks = list(pool.map(lambda p: _safe(*p), probes))
    if "https" in kinds:
        routed = all(c.ok for c in checks if c.kind == "routes")
        if routed:
            checks.append(_safe("https", CLIENT, partial(check_https, lab, expect.urls)))
        else:  # without routes curl would only wait for its connect timeout
            checks.append(
                Condition("https", CLIENT, False, "waiting for routes", 0, len(expect.urls))
            )
    return tuple(checks)


def wait(
    lab: Runs,
    expect: Expectations,
    *,
    timeout: float,
    since: float | None = None,
    kinds: Sequence[Kind] = ALL_KINDS,
    progress: Callable[[float, tuple[Condition, ...]], None] | None = None,
    interval: float = 0.2,
) -> Convergence:
    """Probe until every check passes in one round or `timeout` s pass; time counted from `since`."""
    start = time.monotonic() if since is None else since
    deadline = time.monotonic() + timeout
    rounds = 0
    while True:
        rounds += 1
        checks = probe(lab, expect, kinds=kinds)
        elapsed = time.monotonic() - start
        if progress is not None:
            progress(elapsed, checks)
        if all(c.ok for c in checks):
            return Convergence(True, elapsed, checks, rounds)
        if time.monotonic() > deadline:
            return Convergence(False, elapsed, checks, rounds)
        time.sleep(interval)

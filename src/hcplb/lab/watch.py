"""Watching a running lab's routers and nodes: FIB nexthops, BFD, open API connections.

`nexthops` reads every router's kernel FIB with `ip -n NETNS -j route` (a few ms, no
mount namespace needed); `FibWatch` does it in a thread every 20 ms and keeps each change
with its instant, so a benchmark knows when the routers changed their mind even while it
was busy doing something else (a frr-reload takes about a second).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from types import TracebackType

from hcplb.errors import LabError
from hcplb.frrjson import parse_answer, parse_bfd_peers
from hcplb.lab.core import Lab
from hcplb.lab.netns import routes as parse_routes
from hcplb.lab.topology import host_prefix
from hcplb.runner import run
from hcplb.settings import COMMAND_TIMEOUT, CONVERGE_TIMEOUT

__all__ = [
    "POLL_S",
    "FibWatch",
    "Table",
    "announced_by",
    "bfd_down",
    "full_ecmp",
    "nexthops",
    "open_connections",
    "wait_idle",
    "wait_nexthops",
    "wait_ready",
    "withdrawn",
]

POLL_S = 0.02
Table = dict[str, dict[str, set[str]]]
"""router -> VIP/32 (or /128) -> nexthop addresses"""


def _read_fib(lab: Lab) -> tuple[Table, tuple[str, ...]]:
    """The parsed table and each router's raw `ip -j route` answer (nexthop group ids too);
    IPv6 routes too when the lab has IPv6 VIPs, each nexthop named as the converged routes name
    its node."""
    table: Table = {}
    raw = []
    ipv6 = _has_ipv6(lab)
    aliases = node_nexthops(lab) if ipv6 else {}
    for router in lab.expect.routes:
        base = ["ip", "-n", lab.host(router).netns, "-j"]
        result = run([*base, "route", "show", "proto", "bgp"], timeout=5)
        table[router] = parse_routes(result) if result.ok else {}
        raw.append(result.stdout)
        if ipv6:
            result = run([*base, "-6", "route", "show", "proto", "bgp"], timeout=5)
            v6 = parse_routes(result) if result.ok else {}
            table[router] |= {p: {aliases.get(h, h) for h in hops} for p, hops in v6.items()}
            raw.append(result.stdout)
    return table, tuple(raw)


def _has_ipv6(lab: Lab) -> bool:
    return any(":" in p for vips in lab.expect.routes.values() for p in vips)


_NODE_HOPS: dict[tuple[str, str], dict[str, str]] = {}


def node_nexthops(lab: Lab) -> dict[str, str]:
    """Each node's IPv6 addresses on the machine network (link-local, global) -> the address
    the converged routes name the node by (its session address).

    A router installs an eBGP-learned IPv6 route via the announcer's link-local address (and a
    dual-stack session's peer is the node's IPv4 address); the kernel keeps a link-local
    address while the link exists, so this is read once per lab."""
    key = (lab.name, lab.state.lab_id)
    if key not in _NODE_HOPS:
        named = {h for vips in lab.expect.routes.values() for hops in vips.values() for h in hops}
        found: dict[str, str] = {}
        for node in lab.plan.nodes:
            host = lab.host(node.name)
            addresses = host.addresses("machine")
            name = next((a for a in addresses if a in named), None)
            if name is None:
                continue
            found |= {a: name for a in addresses}
            argv = ["ip", "-n", host.netns, "-j", "-6", "addr", "show", "scope", "link"]
            result = run(argv, timeout=COMMAND_TIMEOUT)
            for entry in json.loads(result.stdout or "[]") if result.ok else []:
                if entry.get("ifname") == "lo":
                    continue
                found |= {str(i.get("local", "")): name for i in entry.get("addr_info", [])}
        _NODE_HOPS[key] = found
    return _NODE_HOPS[key]


def nexthops(lab: Lab) -> Table:
    """router -> VIP/32 (/128) -> nexthop addresses in its kernel FIB (BGP routes), read with
    `ip -n`."""
    return _read_fib(lab)[0]


def _expected(lab: Lab) -> Table:
    return {
        r: {(v if "/" in v else host_prefix(v)): set(h) for v, h in vips.items()}
        for r, vips in lab.expect.routes.items()
    }


def announced_by(lab: Lab, node: str) -> dict[str, set[str]]:
    """router -> VIP prefixes for which a converged router has this node as a nexthop."""
    addresses = set(lab.host(node).addresses("machine"))
    return {
        r: {v for v, hops in vips.items() if addresses & hops} for r, vips in _expected(lab).items()
    }


def wait_nexthops(
    lab: Lab,
    done: Callable[[Table], bool],
    *,
    timeout: float,
    interval: float = POLL_S,
) -> float | None:
    """Poll every router's FIB until `done(table)`; seconds it took, None after `timeout`."""
    start = time.monotonic()
    while True:
        if done(nexthops(lab)):
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            return None
        time.sleep(interval)


def withdrawn(lab: Lab, node: str) -> Callable[[Table], bool]:
    """A predicate: no router has the node (any of its addresses) as a nexthop for any VIP
    any more."""
    addresses = set(lab.host(node).addresses("machine"))
    return lambda table: all(
        not addresses & hops for vips in table.values() for hops in vips.values()
    )


def full_ecmp(lab: Lab) -> Callable[[Table], bool]:
    """A predicate: every router has exactly the converged nexthops for every VIP."""
    expected = _expected(lab)
    return lambda table: all(
        table.get(r, {}).get(v) == hops for r, vips in expected.items() for v, hops in vips.items()
    )


def bfd_down(lab: Lab) -> list[str]:
    """`router: peer` of every expected BFD session that is not up (none without BFD)."""
    if lab.plan.bfd is None or lab.state.profile != "hcplb":
        return []
    missing = []
    for router, peers in lab.expect.sessions.items():
        result = lab.run(router, ["vtysh", "-c", "show bfd peers json"], timeout=COMMAND_TIMEOUT)
        status = parse_bfd_peers(parse_answer(result.stdout).data)
        missing += [
            f"{router}: {peer}" for peer in peers if peer not in status or not status[peer].up
        ]
    return missing


def wait_ready(lab: Lab, *, timeout: float = CONVERGE_TIMEOUT) -> float:
    """Wait for full ECMP and every BFD session up (BFD comes up after BGP); LabError if not.

    A fault injected before BFD is up would be detected by the hold timer, not by BFD.
    """
    started = time.monotonic()
    while True:
        ecmp = full_ecmp(lab)(nexthops(lab))
        missing = bfd_down(lab) if ecmp else ["ECMP"]
        if not missing:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise LabError(
                f"lab {lab.name} not ready after {timeout:g} s: {', '.join(missing)} not up"
            )
        time.sleep(0.2)


_LIVE_STATES = ("established", "syn-recv", "fin-wait-1", "fin-wait-2", "close-wait", "last-ack")


def open_connections(lab: Lab, node: str, port: int = 6443) -> int:
    """TCP connections to the node's API port that are not finished (TIME-WAIT excluded)."""
    states = [arg for s in _LIVE_STATES for arg in ("state", s)]
    argv = ["ss", "-N", lab.host(node).netns, "-Htn", *states, "sport", "=", f":{port}"]
    result = run(argv, timeout=COMMAND_TIMEOUT)
    return len([line for line in result.stdout.splitlines() if line.strip()])


def wait_idle(lab: Lab, node: str, *, timeout: float) -> float | None:
    """Wait until the node serves no API connection; seconds it took, None after `timeout`."""
    started = time.monotonic()
    while open_connections(lab, node):
        if time.monotonic() - started > timeout:
            return None
        time.sleep(POLL_S)
    return time.monotonic() - started


class FibWatch:
    """Poll every router's FIB in a thread; `changes` holds (Unix time, table) per change.

    Use as a context manager; `first(predicate)` is the instant the predicate first held.
    `instants()` also counts changes that keep the nexthop set (a new nexthop group, another
    order): the kernel may rehash flows then too.
    """

    def __init__(self, lab: Lab, *, interval: float = POLL_S) -> None:
        self.lab, self.interval = lab, interval
        self.changes: list[tuple[float, Table]] = []
        self._touched: list[float] = []
        self._raw: tuple[str, ...] = ()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="fib-watch", daemon=True)

    def __enter__(self) -> FibWatch:
        table, self._raw = _read_fib(self.lab)
        self.changes.append((time.time(), table))
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            table, raw = _read_fib(self.lab)
            now = time.time()
            with self._lock:
                if table != self.changes[-1][1]:
                    self.changes.append((now, table))
                if raw != self._raw:
                    self._touched.append(now)
                    self._raw = raw

    def first(self, predicate: Callable[[Table], bool], *, after: float = 0.0) -> float | None:
        """The earliest instant at or after `after` (Unix time) when the FIB satisfied
        `predicate` (each table holds from its change until the next one)."""
        with self._lock:
            changes = list(self.changes)
        for index, (at, table) in enumerate(changes):
            until = changes[index + 1][0] if index + 1 < len(changes) else float("inf")
            if until > after and predicate(table):
                return max(at, after)
        return None

    def wait(
        self, predicate: Callable[[Table], bool], *, after: float, timeout: float
    ) -> float | None:
        """Block until `first(predicate, after=...)` exists; None after `timeout` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.first(predicate, after=after)
            if found is not None:
                return found
            time.sleep(self.interval / 2)
        return None

    def instants(self) -> list[float]:
        """When any router's FIB entry for a VIP changed while watching."""
        with self._lock:
            return list(self._touched)

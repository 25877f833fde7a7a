"""`bench withdrawal`: where the time goes from a node's failure to the router's FIB change.

On each router of a lab, FRR logs with microsecond timestamps (`log timestamp precision 6`)
and the debugs of the path (`debug bfd peer`, `debug bgp neighbor-events`, `debug bgp
zebra`, `debug zebra rib|dplane|kernel`) to a file of its own, and `ip -ts monitor route`
runs in its namespace (a lab-tracked process). Each run fails one node (switch port down,
as `hcplb lab fail --mode down`), waits until no router has its nexthop, reads the log
lines since the fault (`hcplb.bench.pathlog`), and heals. Nodes take turns unless `node`
is given. `tweaks` are router configuration changes measured against the rendered one.
"""

from __future__ import annotations

import secrets as random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hcplb.bench.failover import machine_load
from hcplb.bench.pathlog import (
    STAGES,
    LogLine,
    find_events,
    parse_frr_log,
    parse_route_monitor,
    stage_durations,
)
from hcplb.bench.stats import percentile, summarize
from hcplb.errors import HcplbError, LabError
from hcplb.lab import Lab, down, up
from hcplb.lab import faults as F
from hcplb.lab import watch as W
from hcplb.render.profile import Profile
from hcplb.settings import COMMAND_TIMEOUT

__all__ = [
    "DEBUGS",
    "TWEAKS",
    "WithdrawalReport",
    "WithdrawalRun",
    "check_tweaks",
    "measure_withdrawal",
    "run_withdrawal",
]

TRACE_FILE = "hcplb-withdrawal.log"
"""in the router's /var/log/frr (the lab host's log/frr)"""
MONITOR_ROLE = "route-monitor"
DEBUGS = (
    "debug bfd peer",
    "debug bgp neighbor-events",
    "debug bgp zebra",
    "debug zebra rib",
    "debug zebra dplane",
    "debug zebra kernel",
)
TWEAKS: dict[str, tuple[str, str]] = {
    # name: (router config line, the command whose setting it changes)
    "zebra-work-queue-10": ("zebra work-queue 10", "zebra work-queue"),  # FRR's default
    "zebra-work-queue-1": ("zebra work-queue 1", "zebra work-queue"),
    "zebra-dplane-limit-1": ("zebra dplane limit 1", "zebra dplane limit"),
}
EVENT_TIMEOUT_S = 5.0
HEAL_TIMEOUT_S = 120.0
Progress = Callable[[str], None]


@dataclass(frozen=True)
class WithdrawalRun:
    run: int
    node: str
    router: str
    vip: str
    fault_at: float
    events: dict[str, float | None]
    """Unix time of each event (hcplb.bench.pathlog.EVENTS)"""
    stages: dict[str, float | None]
    """seconds per stage, plus `after-bfd` and `total`"""

    def as_json(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "node": self.node,
            "router": self.router,
            "vip": self.vip,
            "events_ms": {
                e: None if t is None else round((t - self.fault_at) * 1000, 3)
                for e, t in self.events.items()
            },
            "stages_ms": {k: _ms(v) for k, v in self.stages.items()},
        }


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 3)


def stage_figures(runs: Sequence[WithdrawalRun]) -> dict[str, dict[str, float | int | None]]:
    """Per stage: median, p95, min, max (ms) and how many runs had it."""
    names = [s[0] for s in STAGES] + ["after-bfd", "total"]
    out: dict[str, dict[str, float | int | None]] = {}
    for name in names:
        values = [r.stages.get(name) for r in runs]
        present = [v for v in values if v is not None]
        s = summarize(present)
        out[name] = {
            "median_ms": _ms(s.median),
            "p95_ms": _ms(percentile(present, 95)),
            "min_ms": _ms(s.min),
            "max_ms": _ms(s.max),
            "n": s.count,
        }
    return out


@dataclass(frozen=True)
class WithdrawalReport:
    site: str
    profile: str
    tweaks: tuple[str, ...]
    runs: tuple[WithdrawalRun, ...]
    load_before: str
    load_after: str

    def as_json(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "profile": self.profile,
            "tweaks": list(self.tweaks),
            "stages": [{"name": n, "from": a, "to": b, "what": w} for n, a, b, w in STAGES],
            "figures": stage_figures(self.runs),
            "runs": [r.as_json() for r in self.runs],
            "machine_load": {"before": self.load_before, "after": self.load_after},
        }


# -- tracing on the routers ------------------------------------------------------------------


def _vtysh_config(lab: Lab, router: str, lines: Sequence[str]) -> None:
    argv = ["vtysh", "-c", "configure terminal"]
    for line in lines:
        argv += ["-c", line]
    result = lab.run(router, argv, timeout=COMMAND_TIMEOUT)
    answer = (result.stdout + result.stderr).strip()
    if not result.ok or "% " in answer:
        raise LabError(f"{router}: vtysh refused {list(lines)}: {answer[-300:]}")


def _trace(lab: Lab, router: str, *, on: bool) -> None:
    path = f"/var/log/frr/{TRACE_FILE}"
    if on:
        lines = [f"log file {path} debugging", "log timestamp precision 6", *DEBUGS]
    else:
        lines = [*(f"no {d}" for d in DEBUGS), f"no log file {path}", "no log timestamp precision"]
    _vtysh_config(lab, router, lines)


def check_tweaks(tweaks: Sequence[str]) -> None:
    """HcplbError naming the known tweaks unless every one of `tweaks` is known."""
    unknown = [t for t in tweaks if t not in TWEAKS]
    if unknown:
        raise HcplbError(f"unknown tweak(s) {', '.join(unknown)} (known: {', '.join(TWEAKS)})")


def _tweak(lab: Lab, routers: Sequence[str], tweaks: Sequence[str], *, undo: bool) -> None:
    """Apply the tweaks, or put back what the router's own frr.conf says for each setting."""
    for name in tweaks:
        line, setting = TWEAKS[name]
        for router in routers:
            if not undo:
                _vtysh_config(lab, router, [line])
                continue
            conf = (lab.host_dir(router) / "etc/frr/frr.conf").read_text()
            own = [ln for ln in conf.splitlines() if ln.startswith(setting + " ")]
            _vtysh_config(lab, router, own or [f"no {setting}"])


class _Tap:
    """Where one router's trace and route monitor write, and how far a run has read them."""

    def __init__(self, lab: Lab, router: str) -> None:
        self.frr = lab.host_dir(router) / "log/frr" / TRACE_FILE
        self.monitor = lab.host_dir(router) / "log" / f"{MONITOR_ROLE}.log"
        self.marks = (0, 0)

    def mark(self) -> None:
        self.marks = (_size(self.frr), _size(self.monitor))

    def lines(self) -> list[LogLine]:
        frr = _read_from(self.frr, self.marks[0])
        monitor = _read_from(self.monitor, self.marks[1])
        return parse_frr_log(frr) + parse_route_monitor(monitor)


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _read_from(path: Path, offset: int) -> str:
    if not path.exists():
        return ""
    with path.open("rb") as f:
        f.seek(offset)
        return f.read().decode("utf-8", errors="replace")


# -- runs -----------------------------------------------------------------------------------


def _wait_events(tap: _Tap, *, fault_at: float, peer: str, vip: str) -> dict[str, float | None]:
    """The run's events, once the kernel's change is logged (or EVENT_TIMEOUT_S later)."""
    deadline = time.monotonic() + EVENT_TIMEOUT_S
    while True:
        events = find_events(tap.lines(), fault_at=fault_at, peer=peer, vip=vip)
        if events["kernel"] is not None or time.monotonic() > deadline:
            return events
        time.sleep(W.POLL_S)


def _one_run(
    lab: Lab, index: int, node: str, taps: dict[str, _Tap], *, max_wait: float
) -> list[WithdrawalRun]:
    W.wait_ready(lab)
    peer = lab.host(node).primary_address
    vips = {r: sorted(v) for r, v in W.announced_by(lab, node).items() if v}
    if not vips:
        raise LabError(f"{node} is no router's nexthop: nothing to withdraw")
    for tap in taps.values():
        tap.mark()
    with W.FibWatch(lab) as watch:
        fault = F.fail(lab, node, "down")
        withdrawn = watch.wait(W.withdrawn(lab, node), after=fault.at, timeout=max_wait)
    try:
        if withdrawn is None:
            raise LabError(f"{node}: still a nexthop {max_wait:g} s after its port went down")
        runs = []
        for router, routes in sorted(vips.items()):
            events = _wait_events(taps[router], fault_at=fault.at, peer=peer, vip=routes[0])
            runs.append(
                WithdrawalRun(
                    index, node, router, routes[0], fault.at, events, stage_durations(events)
                )
            )
    finally:
        F.heal(lab, node, timeout=HEAL_TIMEOUT_S)
    return runs


def measure_withdrawal(
    lab: Lab,
    *,
    runs: int = 5,
    node: str | None = None,
    tweaks: Sequence[str] = (),
    max_wait: float = 30.0,
    progress: Progress | None = None,
) -> tuple[WithdrawalRun, ...]:
    """`runs` node failures on a running lab, traced on every router; tracing undone after."""
    say = progress or (lambda _text: None)
    check_tweaks(tweaks)
    nodes = [h.name for h in lab.topology.by_role("node")]
    if node is not None:
        lab.host(node)
    routers = sorted(lab.expect.routes)
    booted = [r for r in routers if lab.booted(r)]
    if booted:
        raise LabError(f"bench withdrawal traces netns routers only ({', '.join(booted)} booted)")
    taps = {r: _Tap(lab, r) for r in routers}
    results: list[WithdrawalRun] = []
    _tweak(lab, routers, tweaks, undo=False)
    try:
        for router in routers:
            _trace(lab, router, on=True)
            lab.spawn(router, MONITOR_ROLE, ["ip", "-ts", "monitor", "route"])
        for index in range(1, runs + 1):
            victim = node or nodes[(index - 1) % len(nodes)]
            got = _one_run(lab, index, victim, taps, max_wait=max_wait)
            for r in got:
                total = "?" if r.stages["total"] is None else f"{r.stages['total'] * 1000:.0f} ms"
                after = r.stages["after-bfd"]
                say(
                    f"run {index}/{runs}: {victim} down, {r.router} FIB changed after {total} "
                    f"({'?' if after is None else f'{after * 1000:.0f}'} ms after BFD down)"
                )
            results += got
    finally:
        for router in routers:
            lab.stop(router, [MONITOR_ROLE])
            _trace(lab, router, on=False)
        _tweak(lab, routers, tweaks, undo=True)
    return tuple(results)


def run_withdrawal(
    site: Path,
    *,
    runs: int = 5,
    profile: Profile = Profile.hcplb,
    node: str | None = None,
    tweaks: Sequence[str] = (),
    progress: Progress | None = None,
) -> WithdrawalReport:
    """Bring up a lab of `site` (unique name), trace `runs` withdrawals, tear the lab down."""
    say = progress or (lambda _text: None)
    check_tweaks(tweaks)
    name = "bw-" + "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(6))
    load_before = machine_load()
    say(f"lab {name}: bringing up {site} ({profile} profile)")
    lab = up(site, name=name, profile=profile)
    try:
        results = measure_withdrawal(lab, runs=runs, node=node, tweaks=tweaks, progress=say)
    finally:
        down(name)
    return WithdrawalReport(
        str(site), str(profile), tuple(tweaks), results, load_before, machine_load()
    )

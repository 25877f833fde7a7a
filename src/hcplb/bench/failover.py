"""`bench failover`: a node fails under load; how long the routers route to it, what it costs.

One lab (unique name, removed at the end even on error), K runs on it. Each run: new HTTPS
connections from the client at a steady rate (loadgen, a lab-tracked process), one second of
steady load, the fault injected on one node at a known instant, the routers' FIBs polled
(`ip -n ROUTER route`, every 20 ms) until no router has the node as a nexthop, one more
second of load, then `heal` and the time until every router has full ECMP again.
`drain`: the node is drained (MetalLB's exclude label), and once withdrawn taken down;
`pinned`: the routers' VIP routes are pinned first (hcplb.lab.pin).

Failures are the requests started between the load start and the heal that did not get a
2xx; `failed_outside_window` counts those that started before the fault or after the
withdrawal (plus one poll interval): it should be zero.
"""

from __future__ import annotations

import secrets as random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hcplb.bench.loadgen import Record, read_records
from hcplb.bench.plot import PlotRun, plot_outcomes
from hcplb.bench.stats import failure_windows, served_by, summarize
from hcplb.errors import HcplbError, LabError
from hcplb.lab import Lab, down, procs, up
from hcplb.lab import faults as F
from hcplb.lab import watch as W
from hcplb.lab.topology import CLIENT
from hcplb.render.profile import Profile

__all__ = [
    "BenchMode",
    "FailoverReport",
    "RunResult",
    "analyse",
    "machine_load",
    "measure_failover",
    "per_thousand",
    "run_failover",
]

BenchMode = Literal["down", "freeze", "drain"]
STEADY_S = 1.0
AFTER_S = 1.0
LOAD_TIMEOUT_S = 1.0
HEAL_TIMEOUT_S = 120.0
Progress = Callable[[str], None]


@dataclass(frozen=True)
class RunResult:
    run: int
    node: str
    fault_at: float
    withdrawal_s: float | None
    """None when the routers still had the nexthop after --max-wait (see `bounded`)"""
    bounded: bool
    requests: int
    failed_requests: int
    """failed requests started before the heal"""
    blackholed: int
    """... of which no answer came (connect timeout or timeout): sent to a dead node"""
    rehash_resets: int
    """... of which reset while under way at a FIB change (ECMP rehash)"""
    failed_outside_window: int
    """failed requests, rehash resets aside, over before the fault or started after the withdrawal"""
    longest_failure_window_s: float
    heal_at: float
    recovery_s: float
    failed_after_heal: int
    served_by: dict[str, int]
    outcomes: dict[str, int]
    in_flight: int = 0
    """connections under way at the fault or a FIB change before the heal"""
    in_flight_resets: int = 0
    """... of which were reset"""
    resets_elsewhere: int = 0
    """... of which had been answered by another node than the failed one (survivors' flows)"""
    records: tuple[Record, ...] = field(default=(), repr=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "node": self.node,
            "withdrawal_s": self.withdrawal_s,
            "bounded": self.bounded,
            "requests": self.requests,
            "failed_requests": self.failed_requests,
            "blackholed": self.blackholed,
            "rehash_resets": self.rehash_resets,
            "failed_outside_window": self.failed_outside_window,
            "in_flight": self.in_flight,
            "in_flight_resets": self.in_flight_resets,
            "resets_elsewhere": self.resets_elsewhere,
            "resets_per_1000_in_flight": per_thousand(self.in_flight_resets, self.in_flight),
            "longest_failure_window_s": self.longest_failure_window_s,
            "recovery_s": self.recovery_s,
            "failed_after_heal": self.failed_after_heal,
            "served_by": self.served_by,
            "outcomes": self.outcomes,
        }


@dataclass(frozen=True)
class FailoverReport:
    site: str
    profile: str
    mode: str
    rate: float
    max_wait: float
    runs: tuple[RunResult, ...]
    lab_converge_s: float | None
    load_before: str
    load_after: str

    @property
    def bounded(self) -> bool:
        return any(r.bounded for r in self.runs)

    def as_json(self) -> dict[str, Any]:
        withdrawal = [r.withdrawal_s if not r.bounded else self.max_wait for r in self.runs]
        return {
            "site": self.site,
            "profile": self.profile,
            "mode": self.mode,
            "rate": self.rate,
            "max_wait": self.max_wait,
            "bounded": self.bounded,
            "runs": [r.as_json() for r in self.runs],
            "withdrawal_s": summarize(withdrawal, bounded=self.bounded).as_dict(),
            "failed_requests": summarize(float(r.failed_requests) for r in self.runs).as_dict(),
            "blackholed": summarize(float(r.blackholed) for r in self.runs).as_dict(),
            "rehash_resets": summarize(float(r.rehash_resets) for r in self.runs).as_dict(),
            "resets_per_1000_in_flight": per_thousand(
                sum(r.in_flight_resets for r in self.runs), sum(r.in_flight for r in self.runs)
            ),
            "resets_elsewhere_per_1000_in_flight": per_thousand(
                sum(r.resets_elsewhere for r in self.runs), sum(r.in_flight for r in self.runs)
            ),
            "longest_failure_window_s": summarize(
                r.longest_failure_window_s for r in self.runs
            ).as_dict(),
            "recovery_s": summarize(r.recovery_s for r in self.runs).as_dict(),
            "lab_converge_s": self.lab_converge_s,
            "machine_load": {"before": self.load_before, "after": self.load_after},
        }


def machine_load() -> str:
    """The 1, 5 and 15 minute load averages, as `uptime` shows them."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def per_thousand(count: int, total: int) -> float | None:
    """`count` per 1000 of `total` (None when there is no total)."""
    return round(1000 * count / total, 1) if total else None


def _in_flight(record: Record, instants: Sequence[float], lag: float) -> bool:
    """The request was under way when the FIB changed (a change is seen up to `lag` late)."""
    end = record.t + record.elapsed
    return any(record.t <= at and end >= at - lag for at in instants)


def analyse(
    records: list[Record],
    *,
    run: int,
    node: str,
    fault_at: float,
    withdrawn_at: float | None,
    heal_at: float,
    recovery_s: float,
    rate: float,
    changes: Sequence[float] = (),
    slack: float = 0.05,
) -> RunResult:
    """The figures of one run from its load records and instants (Unix time).

    A connection reset while it was under way at a FIB change (`changes`) is a rehash
    casualty: Linux ECMP (hash-threshold) moves some flows of the surviving nexthops too.
    """
    before = [r for r in records if r.t < heal_at]
    failed = [r for r in before if not r.ok]
    rehashed = [r for r in failed if r.outcome == "reset" and _in_flight(r, changes, slack)]
    end = (withdrawn_at + slack) if withdrawn_at is not None else heal_at
    # a request under way at the fault instant may fail of it too
    outside = [r for r in failed if r not in rehashed and (r.t + r.elapsed < fault_at or r.t > end)]
    windows = failure_windows(failed, gap=max(0.25, 20.0 / rate))
    # the fault (a pinned drain's route change) and the FIB changes until the heal
    window = [fault_at, *(at for at in changes if fault_at <= at < heal_at)]
    caught = [r for r in before if _in_flight(r, window, slack)]
    caught_reset = [r for r in caught if r.outcome == "reset"]
    outcomes: dict[str, int] = {}
    for r in records:
        outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
    return RunResult(
        run=run,
        node=node,
        fault_at=fault_at,
        withdrawal_s=None if withdrawn_at is None else round(withdrawn_at - fault_at, 3),
        bounded=withdrawn_at is None,
        requests=len(before),
        failed_requests=len(failed),
        blackholed=sum(1 for r in failed if r.outcome in ("connect-timeout", "timeout")),
        rehash_resets=len(rehashed),
        failed_outside_window=len(outside),
        in_flight=len(caught),
        in_flight_resets=len(caught_reset),
        resets_elsewhere=sum(1 for r in caught_reset if r.node is not None and r.node != node),
        longest_failure_window_s=round(max((w.length for w in windows), default=0.0), 3),
        heal_at=heal_at,
        recovery_s=recovery_s,
        failed_after_heal=sum(1 for r in records if r.t >= heal_at and not r.ok),
        served_by=served_by(records),
        outcomes=dict(sorted(outcomes.items())),
        records=tuple(records),
    )


class Load:
    """The loadgen running in the client host, recorded by the lab (so `lab down` stops it)."""

    def __init__(self, lab: Lab, out: Path, *, rate: float, hold: float = 0.0) -> None:
        self.lab, self.out, self.rate = lab, out, rate
        self.hold = hold
        self.stop_file = out.with_suffix(".stop")
        # A run of an earlier measurement on this lab may have left the same files: counting its
        # lines as this load's would end the steady phase before the generator has started.
        out.unlink(missing_ok=True)
        self.stop_file.unlink(missing_ok=True)
        cluster = lab.plan.clusters[0]
        argv = [
            sys.executable, "-m", "hcplb.bench.loadgen", "--name", cluster.api_name,
            "--ca", str(lab.ca_file), "--rate", f"{rate:g}", "--timeout", f"{LOAD_TIMEOUT_S:g}",
            "--stop-file", str(self.stop_file), "--out", str(out), "--hold", f"{hold:g}",
        ]  # fmt: skip
        self.pid = lab.spawn(CLIENT, "loadgen", argv)

    def wait_steady(self, seconds: float) -> None:
        """Wait until `seconds` worth of requests have completed; LabError if they fail."""
        want = int(self.rate * seconds)
        deadline = time.monotonic() + seconds + self.hold + 15
        while time.monotonic() < deadline:
            if not procs.alive(self.pid):
                raise LabError(f"the load generator exited: {procs.exit_note(self._log())}")
            if self.out.exists() and self.out.read_bytes().count(b"\n") >= want:
                records = read_records(self.out)
                bad = [r for r in records if not r.ok]
                if len(bad) * 2 > len(records):
                    raise LabError(
                        f"the lab fails most requests before any fault: {bad[0].outcome} "
                        f"{bad[0].error or ''}"
                    )
                return
            time.sleep(0.05)
        raise LabError(f"the load generator wrote no {want} results in time (log {self._log()})")

    def stop(self) -> list[Record]:
        self.stop_file.touch()
        deadline = time.monotonic() + LOAD_TIMEOUT_S * 3 + self.hold + 10
        while procs.alive(self.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if procs.alive(self.pid):
            self.lab.stop(CLIENT, ["loadgen"])
        return read_records(self.out)

    def _log(self) -> Path:
        return self.lab.host_dir(CLIENT) / "log" / "loadgen.log"


def _victim(lab: Lab, records: list[Record]) -> str:
    """The node that served the client most in the steady phase: the one whose failure this
    client feels (with the guide's L3 hash, one client's connections all go to one node)."""
    counts = served_by(records)
    nodes = {h.name for h in lab.topology.by_role("node")}
    busiest = sorted((n for n in counts if n in nodes), key=lambda n: (-counts[n], n))
    if not busiest:
        raise LabError("no node served the client before the fault")
    return busiest[0]


def _one_run(
    lab: Lab,
    index: int,
    node: str | None,
    mode: BenchMode,
    *,
    rate: float,
    max_wait: float,
    hold: float = 0.0,
    pinned: bool = False,
) -> RunResult:
    W.wait_ready(lab)
    load = Load(lab, lab.state_dir / f"bench-run{index}.jsonl", rate=rate, hold=hold)
    try:
        load.wait_steady(STEADY_S)
        node = node or _victim(lab, read_records(load.out))
        with W.FibWatch(lab) as watch:
            if mode == "drain":
                drained = F.drain(lab, node, timeout=max_wait, pinned=pinned)
                fault_at = drained.at
                withdrawn_at: float | None = drained.at + drained.withdrawn_s
                # what the node was sent before the withdrawal finishes; then it is stopped
                W.wait_idle(lab, node, timeout=10)
                F.fail(lab, node, "down")
            else:
                fault_at = F.fail(lab, node, mode).at
                withdrawn_at = watch.wait(W.withdrawn(lab, node), after=fault_at, timeout=max_wait)
            time.sleep(AFTER_S + hold)  # a measurement window, not a wait for state
            heal_at = time.time()
            healed = F.heal(lab, node, timeout=HEAL_TIMEOUT_S)
            time.sleep(AFTER_S)
        changes = watch.instants()
    finally:
        records = load.stop()
    return analyse(
        records, run=index, node=node, fault_at=fault_at, withdrawn_at=withdrawn_at,
        heal_at=heal_at, recovery_s=healed.ecmp_s, rate=rate, changes=changes,
    )  # fmt: skip


def measure_failover(
    lab: Lab,
    *,
    mode: BenchMode,
    runs: int = 3,
    max_wait: float = 240.0,
    rate: float = 200.0,
    node: str | None = None,
    hold: float = 0.0,
    pinned: bool = False,
    progress: Progress | None = None,
) -> tuple[RunResult, ...]:
    """`runs` failover runs on a running lab, each one healed before the next."""
    say = progress or (lambda _text: None)
    if mode not in ("down", "freeze", "drain"):
        raise HcplbError(f"unknown failover mode {mode!r} (modes: down, freeze, drain)")
    if node is not None:
        lab.host(node)  # LabError naming the hosts when there is no such node
    say(f"lab {lab.name}: {mode}, {rate:g} new connections/s")
    results = []
    for index in range(1, runs + 1):
        result = _one_run(
            lab, index, node, mode, rate=rate, max_wait=max_wait, hold=hold, pinned=pinned
        )
        got = "not within --max-wait" if result.bounded else f"after {result.withdrawal_s} s"
        say(
            f"run {index}/{runs}: {mode} on {result.node}: withdrawn {got}, "
            f"{result.failed_requests} failed of {result.requests}, full ECMP "
            f"{result.recovery_s} s after heal"
        )
        results.append(result)
    return tuple(results)


def run_failover(
    site: Path,
    *,
    mode: BenchMode,
    runs: int = 3,
    profile: Profile = Profile.hcplb,
    max_wait: float = 240.0,
    rate: float = 200.0,
    node: str | None = None,
    hold: float = 0.0,
    pinned: bool = False,
    plot: Path | None = None,
    progress: Progress | None = None,
) -> FailoverReport:
    """Bring up a lab of `site` (unique name), measure `runs` failovers, tear the lab down."""
    say = progress or (lambda _text: None)
    name = "bf-" + "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(6))
    load_before = machine_load()
    say(f"lab {name}: bringing up {site} ({profile} profile)")
    lab = up(site, name=name, profile=profile)
    try:
        say(f"lab {name}: converged in {lab.state.converge_seconds} s")
        results = measure_failover(
            lab, mode=mode, runs=runs, max_wait=max_wait, rate=rate, node=node, hold=hold,
            pinned=pinned, progress=say,
        )  # fmt: skip
        converge_s = lab.state.converge_seconds
    finally:
        down(name)
    report = FailoverReport(
        str(site), profile, mode, rate, max_wait, results, converge_s, load_before, machine_load()
    )
    if plot is not None:
        plot_runs(report, plot)
    return report


def plot_runs(report: FailoverReport, path: Path) -> Path:
    runs = [
        PlotRun(
            f"run {r.run}",
            r.records,
            r.fault_at,
            None if r.withdrawal_s is None else r.fault_at + r.withdrawal_s,
            r.heal_at,
        )
        for r in report.runs
    ]
    title = (
        f"{Path(report.site).name}: {report.mode} on {report.runs[0].node if report.runs else '?'}"
        f", {report.profile} profile, {report.rate:g} new HTTPS connections/s"
    )
    return plot_outcomes(runs, path, title=title)

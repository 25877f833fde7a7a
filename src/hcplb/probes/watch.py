"""`verify --watch`: re-run every check on its own cadence and report only what changed.

Each check (a router, the client's DNS+API probes, the cluster) loops in its own daemon
thread, so a slow or dead router does not delay noticing a session drop on another. A change
is a probe whose status moved (or that appeared or disappeared), stamped with the instant its
check answered. The first answer of each check is the baseline. The running-config drift
check (frr-reload.py --test, about a second each) is left out: a session drop must show within
an interval or two, and drift is what a plain `verify` is for.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from hcplb.probes.expect import SiteExpect
from hcplb.probes.model import Probe, Status
from hcplb.probes.suite import Check, VerifyTargets, checks_of

__all__ = ["Change", "Tracker", "watch"]

ABSENT = "absent"


@dataclass(frozen=True)
class Change:
    """One probe's status moved from `was` to `now` at `at` (Unix time); was=None: baseline."""

    at: float
    check: str
    id: str
    was: str | None
    now: str
    probe: Probe | None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "at": round(self.at, 3),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.at))
            + f".{int(self.at % 1 * 1000):03d}Z",
            "check": self.check,
            "id": self.id,
            "was": self.was,
            "now": self.now,
        }
        if self.probe is not None:
            for key in ("observed", "expected", "message", "hint"):
                value = getattr(self.probe, key)
                if value:
                    data[key] = value
        return data


class Tracker:
    """The last status of every probe, per check; `update` returns what changed."""

    def __init__(self) -> None:
        self._last: dict[str, dict[str, Probe]] = {}

    def exit_code(self) -> int:
        """As `Report.exit_code`, over the latest answer of every check."""
        statuses = {p.status for probes in self._last.values() for p in probes.values()}
        if Status.fail in statuses:
            return 1
        return 3 if Status.warn in statuses else 0

    def update(self, check: str, probes: Sequence[Probe], at: float) -> list[Change]:
        new = {p.id: p for p in probes}
        old = self._last.get(check)
        self._last[check] = new
        if old is None:  # baseline: report what is not healthy
            return [
                Change(at, check, p.id, None, p.status.value, p)
                for p in probes
                if p.status in (Status.fail, Status.warn)
            ]
        changes = []
        for id in [*old, *(i for i in new if i not in old)]:
            was = old[id].status.value if id in old else ABSENT
            now = new[id].status.value if id in new else ABSENT
            if was != now:
                changes.append(Change(at, check, id, was, now, new.get(id)))
        return changes


def watch(
    expect: SiteExpect,
    targets: VerifyTargets,
    *,
    interval: float,
    timeout: float,
    on_change: Callable[[Change], None],
    on_baseline: Callable[[Check, list[Probe]], None] | None = None,
    stop: threading.Event,
    secrets: Sequence[str] = (),
    tracker: Tracker | None = None,
) -> int:
    """Run until `stop` is set (or KeyboardInterrupt); call `on_change` (in this thread) for
    each change. Returns the number of check runs."""
    quick = replace(expect, routers=tuple(replace(r, frr_conf=None) for r in expect.routers))
    checks = checks_of(quick, targets, timeout=timeout, secrets=secrets)
    answers: queue.Queue[tuple[Check, list[Probe], float]] = queue.Queue()

    def loop(check: Check) -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                probes = check.run()
            except Exception as exc:  # a bug in one check must not end the watch
                probes = [
                    Probe(
                        f"{check.system}/{check.name.replace(' ', '-')}",
                        check.system,
                        Status.fail,
                        message=f"internal error: {type(exc).__name__}: {exc}",
                    )
                ]
            answers.put((check, probes, time.time()))
            stop.wait(max(0.0, interval - (time.monotonic() - started)))

    for check in checks:
        threading.Thread(
            target=loop, args=(check,), daemon=True, name=f"watch-{check.name}"
        ).start()
    tracker = tracker if tracker is not None else Tracker()
    seen: set[str] = set()
    runs = 0
    while not stop.is_set():
        try:
            check, probes, at = answers.get(timeout=0.2)
        except queue.Empty:
            continue
        runs += 1
        if check.name not in seen:
            seen.add(check.name)
            if on_baseline is not None:
                on_baseline(check, probes)
        for change in tracker.update(check.name, probes, at):
            on_change(change)
    stop.set()
    return runs

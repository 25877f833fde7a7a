"""Figures from benchmark runs: min / median / max, and what a load record stream says.

Pure: no subprocesses, safe for the runbook renderer to import.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hcplb.bench.loadgen import Record

__all__ = [
    "FailureWindow",
    "Summary",
    "failure_windows",
    "percentile",
    "served_by",
    "summarize",
]


@dataclass(frozen=True)
class Summary:
    """min / median / max of some figures; `bounded` when one of them is only a lower bound."""

    min: float | None
    median: float | None
    max: float | None
    count: int
    bounded: bool = False

    def as_dict(self) -> dict[str, float | int | bool | None]:
        data: dict[str, float | int | bool | None] = {
            "min": self.min,
            "median": self.median,
            "max": self.max,
            "n": self.count,
        }
        if self.bounded:
            data["bounded"] = True
        return data


def summarize(values: Iterable[float | None], *, bounded: bool = False) -> Summary:
    """Summary of the values that are not None (a missing figure is not a zero)."""
    present = sorted(v for v in values if v is not None)
    if not present:
        return Summary(None, None, None, 0, bounded)
    return Summary(
        round(present[0], 6),
        round(statistics.median(present), 6),
        round(present[-1], 6),
        len(present),
        bounded,
    )


def percentile(values: Iterable[float], q: float) -> float | None:
    """The nearest-rank `q`th percentile (95: the value 95 % of the runs stay at or below)."""
    present = sorted(values)
    if not present:
        return None
    rank = max(1, math.ceil(q / 100 * len(present)))
    return round(present[min(rank, len(present)) - 1], 6)


@dataclass(frozen=True)
class FailureWindow:
    """Consecutive failed requests: from the first one's start to the last one's start."""

    start: float
    end: float
    failed: int

    @property
    def length(self) -> float:
        return self.end - self.start


def failure_windows(records: Sequence[Record], *, gap: float) -> list[FailureWindow]:
    """Group failed requests (by start time) into windows; a pause longer than `gap` splits them.

    With ECMP only the share of new connections hashed to the dead node fails, so failures are
    interleaved with successes: a window is bounded by failures, not by a run of them.
    """
    failed = sorted(r.t for r in records if not r.ok)
    windows: list[FailureWindow] = []
    for t in failed:
        if windows and t - windows[-1].end <= gap:
            last = windows[-1]
            windows[-1] = FailureWindow(last.start, t, last.failed + 1)
        else:
            windows.append(FailureWindow(t, t, 1))
    return windows


def served_by(records: Iterable[Record]) -> dict[str, int]:
    """How many successful requests each node served."""
    counts: dict[str, int] = {}
    for r in records:
        if r.ok:
            key = r.node or "?"
            counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))

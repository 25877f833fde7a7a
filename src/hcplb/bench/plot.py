"""PNG of request outcomes over time, one panel per run, with the fault instant marked.

Bars per 100 ms bin: successful requests stacked by serving node, failed ones in red on top.
Vertical lines: the fault (red), the router withdrawing the nexthop (green, the blackhole
window shaded between them), the heal (blue). Uses matplotlib's Agg backend: no display.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hcplb.bench.loadgen import Record
from hcplb.errors import HcplbError

__all__ = ["PlotRun", "plot_outcomes"]

BIN_S = 0.1


@dataclass(frozen=True)
class PlotRun:
    """One run to draw: its records and its instants (Unix time); None when not reached."""

    label: str
    records: tuple[Record, ...]
    fault_at: float
    withdrawn_at: float | None = None
    heal_at: float | None = None


def _bins(records: Sequence[Record], origin: float) -> tuple[list[float], dict[str, list[int]]]:
    if not records:
        return [], {}
    last = max(r.t for r in records) - origin
    first = min(r.t for r in records) - origin
    start_bin = int(first // BIN_S)
    count = int(last // BIN_S) - start_bin + 1
    xs = [(start_bin + i) * BIN_S for i in range(count)]
    series: dict[str, list[int]] = {}
    for r in records:
        key = (r.node or "?") if r.ok else "failed"
        index = int((r.t - origin) // BIN_S) - start_bin
        series.setdefault(key, [0] * count)[index] += 1
    return xs, series


def plot_outcomes(runs: Sequence[PlotRun], path: str | Path, *, title: str) -> Path:
    """Write the PNG to `path` and return it; HcplbError when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise HcplbError(
            "plotting needs matplotlib (pip install 'hcplb[plot]' or make setup)"
        ) from exc
    height = max(2.4 * len(runs), 3.0)
    fig, axes = plt.subplots(len(runs), 1, figsize=(11, height), squeeze=False, sharex=True)
    palette = ["#4c72b0", "#55a868", "#8172b2", "#ccb974", "#64b5cd", "#937860", "#da8bc3"]
    nodes = sorted({r.node or "?" for run in runs for r in run.records if r.ok})
    colors = {n: palette[i % len(palette)] for i, n in enumerate(nodes)}
    colors["failed"] = "#c44e52"
    for ax, run in zip((row[0] for row in axes), runs, strict=True):
        xs, series = _bins(run.records, run.fault_at)
        bottom = [0] * len(xs)
        for key in [*nodes, "failed"]:
            if key not in series:
                continue
            ax.bar(
                xs, series[key], width=BIN_S, bottom=bottom, align="edge",
                color=colors[key], label=key, linewidth=0,
            )  # fmt: skip
            bottom = [b + v for b, v in zip(bottom, series[key], strict=True)]
        ax.axvline(0.0, color="#c44e52", linestyle="-", linewidth=1.5, label="fault")
        if run.withdrawn_at is not None:
            end = run.withdrawn_at - run.fault_at
            ax.axvline(end, color="#2a9d3a", linestyle="--", linewidth=1.2, label="withdrawn")
            ax.axvspan(0.0, end, color="#c44e52", alpha=0.12)
        if run.heal_at is not None:
            ax.axvline(run.heal_at - run.fault_at, color="#3b6fb6", linestyle=":", label="heal")
        ax.set_ylabel(f"{run.label}\nreq / {int(BIN_S * 1000)} ms")
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_title(title)
    axes[0][0].legend(loc="upper right", fontsize="small", ncol=4)
    axes[-1][0].set_xlabel("seconds since the fault")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out

"""`hcplb bench failover --report FILE`: the figures table, the failover plot and the site's
picture with the failed node marked, in one self-contained page.

It takes the benchmark's JSON (`FailoverReport.as_json()`) and the plot's PNG bytes, so it does
not depend on the benchmark code.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from hcplb.graphviz import dot_svg
from hcplb.plan import SitePlan
from hcplb.render.topology import node_element, session_element, topology_dot
from hcplb.report.page import Cell, esc, inline_svg, page, png_img, table

__all__ = ["FIGURES", "failover_html"]

FIGURES = (
    ("withdrawal_s", "nexthop withdrawn after (s)"),
    ("failed_requests", "failed requests"),
    ("blackholed", "... of which blackholed (no answer)"),
    ("rehash_resets", "... of which reset by an ECMP rehash"),
    ("longest_failure_window_s", "longest failure window (s)"),
    ("recovery_s", "full ECMP after heal (s)"),
)
_RUN_COLUMNS = (
    ("run", "run"),
    ("node", "node"),
    ("withdrawal_s", "withdrawn after (s)"),
    ("requests", "requests"),
    ("failed_requests", "failed"),
    ("blackholed", "blackholed"),
    ("rehash_resets", "rehash resets"),
    ("longest_failure_window_s", "longest failure window (s)"),
    ("recovery_s", "recovery (s)"),
)


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"
    return str(value)


def _figures(data: Mapping[str, Any]) -> str:
    rows = []
    for key, label in FIGURES:
        figures = data.get(key) or {}
        bounded = " (lower bound)" if figures.get("bounded") else ""
        rows.append(
            (
                [label + bounded]
                + [Cell(_fmt(figures.get(k)), "num") for k in ("min", "median", "max")],
                "",
                f"figure-{key}",
            )
        )
    return table(["figure", "min", "median", "max"], rows, cls="figures")


def _runs(data: Mapping[str, Any]) -> str:
    rows = [
        ([Cell(_fmt(run.get(k)), "num" if k != "node" else "") for k, _ in _RUN_COLUMNS], "", "")
        for run in data.get("runs", [])
    ]
    return table([label for _, label in _RUN_COLUMNS], rows, cls="runs")


def _picture(plan: SitePlan, failed: set[str]) -> str:
    status = {node_element(n): "fail" for n in plan.nodes if n.name in failed}
    for p in plan.peerings:
        if p.node.name in failed:
            status[session_element(p.router, p.node)] = "fail"
    return f'<div class="topology" id="topology">{inline_svg(dot_svg(topology_dot(plan, status)))}</div>'


def failover_html(
    data: Mapping[str, Any], *, title: str, plot_png: bytes | None, plan: SitePlan | None
) -> str:
    failed = {str(r.get("node")) for r in data.get("runs", []) if r.get("node")}
    load = data.get("machine_load") or {}
    sections = [
        f"<h1>{esc(title)}</h1>",
        f"<p>{esc(len(data.get('runs', [])))} run(s), {esc(data.get('mode'))} fault, "
        f"{esc(data.get('profile'))} profile, {esc(_fmt(data.get('rate')))} new HTTPS "
        f"connections/s; machine load {esc(load.get('before', '?'))} → "
        f"{esc(load.get('after', '?'))}. Generated {esc(time.strftime('%Y-%m-%d %H:%M:%S %Z'))} "
        "by <code>hcplb bench failover</code>.</p>",
        "<h2>Figures</h2>",
        _figures(data),
    ]
    if data.get("bounded"):
        sections.append(
            f"<p>A router still had the nexthop after --max-wait {esc(_fmt(data.get('max_wait')))}"
            " s: the withdrawal figures are lower bounds.</p>"
        )
    if plot_png is not None:
        sections += [
            "<h2>Requests over time</h2>",
            "<p>Per 100 ms: successful requests by serving node, failed ones in red; the fault "
            "(red line), the withdrawal (green, the blackhole shaded), the heal (blue).</p>",
            png_img(plot_png, "failover plot"),
        ]
    if plan is not None:
        sections += ["<h2>The site (failed node in red)</h2>", _picture(plan, failed)]
    sections += ["<h2>Runs</h2>", _runs(data)]
    return page(title, sections)

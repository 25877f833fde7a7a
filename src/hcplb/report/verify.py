"""`hcplb verify --output html --report FILE`: the topology coloured by probe results, the probe
table (observed/expected, hints) and the timings, in one page.

Which probe colours which element: a router's session and BFD probes (and the cluster's view
of that session) colour the session edge; a node is as bad as its worst session; the router's
other probes colour the router; the VIP's route probes and the API probes colour the VIP; the
DNS probes of a name colour the cluster's name box. Worst wins: fail, warn, pass, skip.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from hcplb.graphviz import dot_svg
from hcplb.plan import SitePlan
from hcplb.probes.model import SYSTEMS, Probe, Report, Status
from hcplb.render.topology import (
    names_element,
    node_element,
    router_element,
    session_element,
    topology_dot,
    vip_element,
)
from hcplb.report.page import Cell, esc, inline_svg, page, table

__all__ = ["element_status", "verify_html"]

_RANK = {Status.skip: 0, Status.pass_: 1, Status.warn: 2, Status.fail: 3}


def _worst(statuses: Iterable[Status]) -> Status | None:
    ranked = sorted(statuses, key=_RANK.__getitem__)
    return ranked[-1] if ranked else None


def _element_of(plan: SitePlan, probe: Probe) -> str | None:
    parts = probe.id.split("/")
    routers = {r.name: r for r in plan.routers}
    nodes = {n.name: n for n in plan.nodes}
    if parts[0] == "router" and len(parts) >= 2 and parts[1] in routers:
        router = routers[parts[1]]
        if len(parts) == 4 and parts[2] in ("session", "bfd") and parts[3] in nodes:
            return session_element(router, nodes[parts[3]])
        if len(parts) >= 4 and parts[2] == "vip":
            cluster = next((c for c in plan.clusters if c.vip == parts[3]), None)
            return vip_element(cluster) if cluster else None
        return router_element(router)
    if parts[0] == "cluster" and len(parts) == 4 and parts[1] == "bgpsession":
        node, peer = nodes.get(parts[2]), routers.get(parts[3])
        return session_element(peer, node) if node and peer else None
    if parts[0] == "api" and len(parts) >= 2:
        cluster = next((c for c in plan.clusters if c.control_plane_namespace == parts[1]), None)
        return vip_element(cluster) if cluster else None
    if parts[0] == "dns":
        name = parts[-1]
        cluster = next((c for c in plan.clusters if name in (c.api_name, c.api_int_name)), None)
        return names_element(cluster) if cluster else None
    return None


def element_status(plan: SitePlan, report: Report) -> dict[str, str]:
    """Topology element id -> pass/fail/warn/skip, from the probes that speak for it."""
    found: dict[str, list[Status]] = {}
    for probe in report.probes:
        element = _element_of(plan, probe)
        if element is not None:
            found.setdefault(element, []).append(probe.status)
    for node in plan.nodes:
        sessions = [s for r in plan.routers for s in found.get(session_element(r, node), [])]
        if sessions:
            found.setdefault(node_element(node), []).extend(sessions)
    out: dict[str, str] = {}
    for element, statuses in found.items():
        worst = _worst(statuses)
        if worst is not None:
            out[element] = worst.value
    return out


def _verdict(report: Report) -> tuple[str, str]:
    counts = {s: len(report.with_status(s)) for s in Status}
    text = ", ".join(
        f"{counts[s]} {s.value}" for s in (Status.pass_, Status.fail, Status.warn, Status.skip)
    )
    if not report.ok:
        return "verdict-fail", f"FAILED: {text}"
    if report.with_status(Status.warn):
        return "verdict-warn", f"WARNINGS: {text}"
    return "verdict-ok", f"OK: {text}"


def _probe_rows(report: Report) -> Iterable[tuple[list[Cell | str], str, str]]:
    for system in SYSTEMS:
        for p in (p for p in report.probes if p.system == system):
            hint = p.hint if p.status in (Status.fail, Status.warn) else ""
            yield (
                [
                    Cell(p.id, "id"),
                    Cell(p.status.value, "status"),
                    p.expected,
                    p.observed,
                    p.message,
                    Cell(hint, "hint"),
                ],
                f"status-{p.status.value}",
                f"probe-{p.id}",
            )


def verify_html(
    plan: SitePlan,
    report: Report,
    *,
    title: str,
    timings: Mapping[str, float] | None = None,
) -> str:
    """The page. `timings`: seconds each check took (name -> s), shown with the total."""
    statuses = element_status(plan, report)
    svg = inline_svg(dot_svg(topology_dot(plan, statuses)))
    cls, verdict = _verdict(report)
    legend = (
        '<p class="legend"><span><b style="background:#2e7d32"></b> pass</span>'
        '<span><b style="background:#c62828"></b> fail</span>'
        '<span><b style="background:#ef6c00"></b> warning</span>'
        '<span><b style="background:#757575"></b> skipped</span>'
        '<span><b style="background:#000"></b> not probed</span></p>'
    )
    failed = [p for p in report.probes if p.status is Status.fail]
    problems = "".join(
        f"<li><code>{esc(p.id)}</code>: {esc(p.message)}"
        + (f' <span class="hint">(hint: {esc(p.hint)})</span>' if p.hint else "")
        + "</li>"
        for p in failed
    )
    rows: list[tuple[list[Cell | str], str, str]] = [
        ([name, Cell(f"{seconds:.2f}", "num")], "", "") for name, seconds in (timings or {}).items()
    ]
    rows.append((["all checks (concurrently)", Cell(f"{report.duration_s:.2f}", "num")], "", ""))
    sections = [
        f"<h1>{esc(title)}</h1>",
        f'<p class="summary {cls}" id="verdict">{esc(verdict)}</p>',
        f"<p>Generated {esc(time.strftime('%Y-%m-%d %H:%M:%S %Z'))} by <code>hcplb verify</code>.</p>",
        f'<ul id="failures">{problems}</ul>' if problems else "",
        "<h2>Topology</h2>",
        legend,
        f'<div class="topology" id="topology">{svg}</div>',
        "<h2>Probes</h2>",
        table(
            ["probe", "status", "expected", "observed", "message", "hint"],
            _probe_rows(report),
            cls="probes",
        ),
        "<h2>Timings</h2>",
        table(["check", "seconds"], rows, cls="timings"),
    ]
    return page(title, [s for s in sections if s])

"""Carry out an apply plan step by step, or (dry run) show each step's diff; one report per step.

It stops at the first step that fails (TargetError): each system is left either changed and
confirmed or as it was. Every step reports the same way: its system, its name, the lines
that change (`changes`, secrets redacted), a closing message, and the system's own details
for JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import lightkube

from hcplb.apply.cluster import apply_cluster
from hcplb.apply.dns import apply_dns
from hcplb.apply.planner import ApplyPlan, ClusterStep, DnsStep, RouterStep
from hcplb.apply.preflight import HostCheck, in_lab, prepare_host
from hcplb.apply.router import apply_router
from hcplb.errors import TargetError
from hcplb.targets import Target

__all__ = ["StepReport", "Systems", "execute", "summary"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class StepReport:
    system: str
    name: str
    """who: `frr-a`, the DNS server, the cluster"""
    changes: tuple[str, ...]
    """what changes (or would), one line each, secrets redacted"""
    message: str
    details: Mapping[str, Any]
    """the system's own report, for JSON"""


@dataclass(frozen=True)
class Systems:
    """How the executor reaches each system (opened only when a step needs it)."""

    router: Callable[[RouterStep], Target]
    kube: Callable[[], lightkube.Client]


def _cluster(
    step: ClusterStep, client: lightkube.Client, *, dry_run: bool, force: bool, say: Progress
) -> StepReport:
    report = apply_cluster(
        client, list(step.manifests), dry_run=dry_run, force_conflicts=force, progress=say
    )
    verb = "would " if dry_run else ""
    lines = tuple(f"{o.kind} {o.namespace}/{o.name} {verb}{o.action}" for o in report.objects)
    return StepReport(
        "cluster",
        "cluster",
        lines,
        "",
        {"objects": [asdict(o) for o in report.objects]},
    )


def _preflight(checks: list[HostCheck]) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id,
            "ok": c.ok,
            "observed": c.observed,
            "expected": c.expected,
            "fix": [s.what for s in c.fix] if not c.ok else [],
        }
        for c in checks
    ]


def _router(
    plan: ApplyPlan,
    step: RouterStep,
    target: Target,
    *,
    dry_run: bool,
    yes: bool,
    confirm_timeout: float,
    say: Progress,
) -> StepReport:
    router = step.router
    persist = step.lab is None and in_lab(target) is None  # a lab shares this machine's /etc
    checks, fixed = prepare_host(
        target,
        plan.site,
        router,
        plan.rendered,
        fix=yes and not dry_run,
        persist=persist,
        progress=say,
    )
    missing = [c for c in checks if not c.ok]
    details: dict[str, Any] = {
        "router": router.name,
        "target": str(target),
        "preflight": _preflight(checks),
        "fixed": fixed,
    }
    if missing and not dry_run:
        lines = [
            f"{c.id}: {c.observed} (wanted {c.expected}; --yes: {', '.join(s.what for s in c.fix)})"
            for c in missing
        ]
        raise TargetError(
            f"router {router.name} ({target}) is not ready:\n  "
            + "\n  ".join(lines)
            + "\n(hint: pass --yes to fix these the way router/setup.sh does)"
        )
    host = [
        f"{c.id}: {c.observed} -> --yes would: {', '.join(s.what for s in c.fix)}" for c in missing
    ] + [f"fixed {f}" for f in fixed]
    if any(c.id == "frr-installed" and not c.ok for c in checks):
        details.update(changed=None, diff=[], message="FRR is not installed: no diff")
        return StepReport("router", router.name, tuple(host), details["message"], details)
    result = apply_router(
        target,
        plan.site,
        router,
        step.frr_conf,
        secrets=plan.secrets.values(),
        dry_run=dry_run,
        confirm_timeout=confirm_timeout,
        progress=say,
    )
    details.update(
        changed=result.changed,
        diff=list(result.diff),
        message=result.message,
        converged_s=result.converged_s,
    )
    return StepReport("router", router.name, (*host, *result.diff), result.message, details)


def _dns(plan: ApplyPlan, step: DnsStep, *, dry_run: bool) -> StepReport:
    report = apply_dns(
        plan.site, plan.secrets.tsig_secret, server=step.server, port=step.port, dry_run=dry_run
    )
    verb = "would " if dry_run else ""
    changes = tuple(f"{verb}{c.describe()}" for c in report.changes)
    read_back = tuple(f"read back {line}" for line in report.checked)
    left = tuple(f"left alone {line}" for line in report.left_alone)
    details = {
        "server": report.server,
        "changes": [c.describe() for c in report.changes],
        "checked": list(report.checked),
        "leftAlone": list(report.left_alone),
    }
    message = "" if changes else "no change"
    return StepReport("dns", report.server, (*changes, *read_back, *left), message, details)


def execute(
    plan: ApplyPlan,
    systems: Systems,
    *,
    dry_run: bool = False,
    yes: bool = False,
    force_conflicts: bool = False,
    confirm_timeout: float = 60.0,
    progress: Progress = lambda _: None,
) -> list[StepReport]:
    """Each step in order; TargetError (or the system's error) stops at the first failure."""
    reports: list[StepReport] = []
    client: lightkube.Client | None = None
    for step in plan.steps:
        if isinstance(step, ClusterStep):
            client = client or systems.kube()
            report = _cluster(step, client, dry_run=dry_run, force=force_conflicts, say=progress)
        elif isinstance(step, RouterStep):
            with systems.router(step) as target:
                report = _router(
                    plan,
                    step,
                    target,
                    dry_run=dry_run,
                    yes=yes,
                    confirm_timeout=confirm_timeout,
                    say=progress,
                )
        else:
            report = _dns(plan, step, dry_run=dry_run)
        reports.append(report)
    return reports


def summary(plan: ApplyPlan, reports: list[StepReport], *, dry_run: bool) -> dict[str, Any]:
    """The JSON of `apply -O json`: the site, then each system's details."""
    result: dict[str, Any] = {"site": plan.site.site.name, "dry_run": dry_run}
    for report in reports:
        if report.system == "cluster":
            result["cluster"] = report.details["objects"]
        elif report.system == "router":
            result.setdefault("routers", []).append(dict(report.details))
        else:
            result["dns"] = dict(report.details)
    return result

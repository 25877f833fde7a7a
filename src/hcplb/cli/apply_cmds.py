"""`hcplb apply` and `hcplb hostedcluster patch|check`: options in, reports out.

What apply does and in which order is `hcplb.apply.planner`; carrying it out is
`hcplb.apply.executor`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from hcplb.apply.executor import StepReport, Systems, execute, summary
from hcplb.apply.planner import ApplyOptions, RouterStep, plan_apply
from hcplb.cli._output import (
    OutputFormat,
    OutputOption,
    console,
    err_console,
    handles_errors,
    number_between,
    print_json,
    say,
)
from hcplb.errors import EXIT_FAILED, Problem, SpecError
from hcplb.hypershift.check import check_hostedcluster
from hcplb.hypershift.patch import (
    desired_hostedclusters,
    patch_hostedcluster_file,
    patch_hostedcluster_text,
    shared_pool_desired,
)
from hcplb.plan import SitePlan, plan_site
from hcplb.settings import CONVERGE_TIMEOUT, MAX_MANIFEST_BYTES
from hcplb.spec import load_site
from hcplb.spec.loader import decode_utf8
from hcplb.targets import LabTarget, Target, open_target
from hcplb.targets.kube import kube_client

hostedcluster_app = typer.Typer(
    name="hostedcluster",
    help="Put the site's publishing strategy into a HostedCluster, or check a live one.",
    no_args_is_help=True,
)


def _router_target(lab: str | None, ssh: dict[str, Any]) -> Callable[[RouterStep], Target]:
    def connect(step: RouterStep) -> Target:
        if lab is not None:
            from hcplb.lab import Lab

            return LabTarget(Lab.open(lab), step.target)
        if step.target.startswith("ssh://"):
            return open_target(step.target, **ssh)
        return open_target(step.target)

    return connect


@handles_errors
def apply(
    site: Path = typer.Argument(..., help="site spec (YAML)"),
    router: list[str] = typer.Option(
        [],
        "--router",
        help="local | ssh://user@host[:port] | NAME=TARGET; with --lab: the lab host (repeatable)",
    ),
    lab: str | None = typer.Option(
        None, "--lab", help="apply to routers of this lab (--router names its host)"
    ),
    dns: bool = typer.Option(
        False, "--dns", help="update the api/api-int records on the zone's primary (RFC 2136, TSIG)"
    ),
    dns_server: str | None = typer.Option(
        None, "--dns-server", help="HOST[:PORT] instead of spec.dns.primary"
    ),
    cluster: bool = typer.Option(
        False, "--cluster", help="server-side apply the MetalLB manifests"
    ),
    kubeconfig: Path | None = typer.Option(
        None, "--kubeconfig", help="kubeconfig of the management cluster"
    ),
    context: str | None = typer.Option(None, "--context", help="kubeconfig context"),
    dry_run: bool = typer.Option(False, "--dry-run", help="show what would change; change nothing"),
    yes: bool = typer.Option(False, "--yes", "-y", help="fix a router's missing host preparation"),
    force_conflicts: bool = typer.Option(
        False, "--force-conflicts", help="take over fields another manager owns"
    ),
    confirm_timeout: float = typer.Option(
        CONVERGE_TIMEOUT,
        "--confirm-timeout",
        help="seconds a router has to converge before it is rolled back (0: no confirmation)",
        callback=number_between(1, 3600, zero=True),
    ),
    ssh_key: list[Path] = typer.Option(
        [], "--ssh-key", help="SSH private key (repeatable; default: ssh-agent and ~/.ssh)"
    ),
    known_hosts: Path | None = typer.Option(
        None, "--known-hosts", help="known_hosts file (default ~/.ssh/known_hosts)"
    ),
    output: OutputFormat = OutputOption,
) -> None:
    """Push the site to the cluster, the router(s) and DNS, safely (see --help of each option)."""
    options = ApplyOptions(tuple(router), lab, dns, dns_server, cluster)
    loaded = load_site(site)
    planned = plan_apply(plan_site(loaded.site), options, base_dir=site.parent)
    ssh: dict[str, Any] = {}
    if ssh_key:
        ssh["client_keys"] = [str(k) for k in ssh_key]
    if known_hosts:
        ssh["known_hosts"] = str(known_hosts)
    systems = Systems(
        router=_router_target(lab, ssh), kube=lambda: kube_client(kubeconfig, context)
    )
    reports = execute(
        planned,
        systems,
        dry_run=dry_run,
        yes=yes,
        force_conflicts=force_conflicts,
        confirm_timeout=confirm_timeout,
        progress=say,
    )
    if output is OutputFormat.json:
        print_json(summary(planned, reports, dry_run=dry_run))
    else:
        _print_reports(reports)


def _print_reports(reports: list[StepReport]) -> None:
    """The same shape for every system: `SYSTEM NAME: line` per change, then its message."""
    for report in reports:
        label = report.system if report.system == "cluster" else f"{report.system} {report.name}"
        for line in (*report.changes, *([report.message] if report.message else [])):
            console.print(f"{label}: {line}", markup=False, highlight=False, soft_wrap=True)


_PATCH_USAGE = (
    "give `patch SITE FILE`, `patch SITE -` (stdin to stdout) or `patch FILE --site SITE`"
)


def _patch_arguments(args: list[str], site: Path | None) -> tuple[Path, str]:
    """(site, file or '-') from the two accepted forms."""
    if site is not None and len(args) == 1:
        return site, args[0]
    if site is None and len(args) == 2:
        return Path(args[0]), args[1]
    err_console.print(f"usage: {_PATCH_USAGE}", markup=False, highlight=False)
    raise typer.Exit(2)


def _patch_stream(plan: SitePlan, dry_run: bool) -> None:
    """The filter: YAML documents on stdin, the same documents on stdout, HostedClusters set."""
    data = sys.stdin.buffer.read(MAX_MANIFEST_BYTES + 1)
    if len(data) > MAX_MANIFEST_BYTES:
        raise SpecError([Problem("<stdin>", 0, 0, "", f"more than {MAX_MANIFEST_BYTES} bytes", "")])
    text = decode_utf8(data, "<stdin>")
    result = patch_hostedcluster_text(
        text,
        desired_hostedclusters(plan),
        file="<stdin>",
        unlisted=lambda ns, name, domain: shared_pool_desired(plan, ns, name, domain),
        stream=True,
    )
    for line in (*result.changes, *(f"note: {n}" for n in result.notes)):
        err_console.print(line, markup=False, highlight=False)
    sys.stdout.write(text if dry_run else result.text)
    sys.stdout.flush()


@handles_errors
def patch(
    args: list[str] = typer.Argument(
        ...,
        metavar="[SITE] FILE",
        help="site spec and HostedCluster YAML (multi-document is fine, edited in place); "
        "FILE '-' reads stdin and writes stdout",
    ),
    site: Path | None = typer.Option(None, "--site", help="site spec (YAML)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="show the changes, write nothing"),
    output: OutputFormat = OutputOption,
) -> None:
    """Set spec.services and allowedCIDRBlocks of the site's hosted clusters, keeping comments.

    `hcplb hostedcluster patch SITE -` is a filter for pipelines and GitOps plugins: every
    HostedCluster on stdin is set (one the site does not list gets its shared pool's services),
    every other document is passed through byte for byte; changes go to stderr."""
    site_path, target = _patch_arguments(args, site)
    plan = plan_site(load_site(site_path).site)
    if target == "-":
        _patch_stream(plan, dry_run)
        return
    file = Path(target)
    desired = desired_hostedclusters(plan)
    result = patch_hostedcluster_file(file, desired, write=not dry_run)
    if output is OutputFormat.json:
        print_json(
            {
                "file": str(file),
                "changed": result.changed,
                "written": result.changed and not dry_run,
                "changes": list(result.changes),
                "matched": list(result.matched),
                "skipped": list(result.skipped),
                "notes": list(result.notes),
            }
        )
        return
    for line in result.changes:
        console.print(line, markup=False, highlight=False)
    for line in result.notes:
        err_console.print(f"note: {line}", markup=False, highlight=False)
    for ident in result.skipped:
        err_console.print(
            f"note: {ident} is not in the site: left as it was", markup=False, highlight=False
        )
    if not result.changed:
        console.print(f"{file}: no change", highlight=False)
    elif dry_run:
        console.print(f"{file}: dry run, not written", highlight=False)
    else:
        console.print(f"{file}: written", highlight=False)


@handles_errors
def check(
    site: Path = typer.Option(..., "--site", help="site spec (YAML)"),
    kubeconfig: Path | None = typer.Option(
        None, "--kubeconfig", help="kubeconfig of the management cluster"
    ),
    context: str | None = typer.Option(None, "--context", help="kubeconfig context"),
    output: OutputFormat = OutputOption,
) -> None:
    """Compare each live HostedCluster of the site with what the site wants (read only)."""
    client = kube_client(kubeconfig, context)
    reports = [
        check_hostedcluster(client, d)
        for d in desired_hostedclusters(plan_site(load_site(site).site))
    ]
    if output is OutputFormat.json:
        print_json(
            {
                "ok": all(r.ok for r in reports),
                "clusters": [
                    {
                        "cluster": r.cluster,
                        "ok": r.ok,
                        "must_recreate": r.must_recreate,
                        "verdict": r.verdict(),
                        "findings": [asdict(f) for f in r.findings],
                    }
                    for r in reports
                ],
            }
        )
    else:
        for report in reports:
            table = Table(title=f"HostedCluster {report.cluster}")
            for column in ("field", "status", "expected", "observed", "hint"):
                table.add_column(column)
            for f in report.findings:
                table.add_row(f.field, "ok" if f.ok else "DIFFERS", f.expected, f.observed, f.hint)
            console.print(table)
            console.print(report.verdict(), highlight=False, markup=False)
    if not all(r.ok for r in reports):
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    app.command()(apply)
    hostedcluster_app.command()(patch)
    hostedcluster_app.command()(check)
    app.add_typer(hostedcluster_app)

"""`hcplb verify`: every probe of a site (or of a lab), concurrently, with a hint per failure."""

from __future__ import annotations

import json
import sys
import threading
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from hcplb.cli._output import (
    console,
    err_console,
    handles_errors,
    number_between,
    print_json,
)
from hcplb.errors import ProbeError
from hcplb.gotext import parse_duration
from hcplb.probes.model import SYSTEMS, Probe, Report, Status

if TYPE_CHECKING:
    from hcplb.probes.fleet import FleetCluster
from hcplb.probes.sources import Prepared, prepare_live
from hcplb.probes.suite import Check, checks_of, verify
from hcplb.probes.watch import Change, Tracker, watch
from hcplb.settings import PROBE_TIMEOUT


class VerifyOutput(StrEnum):
    table = "table"
    json = "json"
    html = "html"


_MARK = {
    Status.pass_: Text("✓ pass", style="green"),
    Status.fail: Text("✗ fail", style="bold red"),
    Status.warn: Text("! warn", style="yellow"),
    Status.skip: Text("- skip", style="dim"),
}


def _table(report: Report, title: str) -> Table:
    table = Table(title=title, show_lines=False, expand=True)
    table.add_column("probe", overflow="fold", ratio=3)
    table.add_column("status", no_wrap=True)
    table.add_column("observed", overflow="fold", ratio=3)
    table.add_column("message / hint", overflow="fold", ratio=5)
    for system in SYSTEMS:
        probes = [p for p in report.probes if p.system == system]
        if not probes:
            continue
        table.add_section()
        table.add_row(Text(system, style="bold"), "", "", "")
        for p in probes:
            ident = Text(p.id.removeprefix(f"{system}/"))
            if p.status in (Status.fail, Status.warn) and p.expected:
                ident.append(f"\nexpected: {p.expected}", style="dim")
            message = Text(p.message)
            if p.hint and p.status in (Status.fail, Status.warn):
                message.append(("\n" if p.message else "") + "hint: " + p.hint, style="dim")
            table.add_row(ident, _MARK[p.status], p.observed, message)
    return table


def _summary(report: Report) -> str:
    counts = {s: len(report.with_status(s)) for s in Status}
    parts = [
        f"{counts[s]} {s.value}" for s in (Status.pass_, Status.fail, Status.warn, Status.skip)
    ]
    verdict = "OK" if report.exit_code == 0 else ("FAILED" if not report.ok else "WARNINGS")
    return f"{verdict}: {', '.join(parts)} in {report.duration_s:.2f} s"


def _run_once(
    prepared: Prepared, timeout: float, output: VerifyOutput, timings: dict[str, float]
) -> Report:
    """One run; `timings` gets the seconds each check took."""
    checks = checks_of(prepared.expect, prepared.targets, timeout=timeout)
    started = time.monotonic()

    def timed(check: Check, probes: list[Probe]) -> None:
        timings[check.name] = time.monotonic() - started

    if output is not VerifyOutput.table or not err_console.is_terminal:
        return verify(
            prepared.expect,
            prepared.targets,
            timeout=timeout,
            secrets=prepared.secrets,
            on_done=timed,
        )
    with Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} checks"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task("probing " + ", ".join(c.name for c in checks), total=len(checks))

        def done(check: Check, probes: list[Probe]) -> None:
            timed(check, probes)
            bad = sum(p.status is Status.fail for p in probes)
            what = f"{check.name}: {len(probes)} probes" + (f", {bad} failed" if bad else "")
            progress.update(task, advance=1, description=what)

        return verify(
            prepared.expect,
            prepared.targets,
            timeout=timeout,
            secrets=prepared.secrets,
            on_done=done,
        )


def _show(report: Report, prepared: Prepared, title: str, output: VerifyOutput) -> None:
    if output is VerifyOutput.json:
        print_json(report.to_json())
        return
    if output is VerifyOutput.table:
        console.print(_table(report, title))
    for note in prepared.notes:
        err_console.print(f"note: {note}", markup=False, highlight=False)
    console.print(_summary(report))


def _show_fleet(
    report: Report, prepared: Prepared, title: str, output: VerifyOutput, fleet: list[FleetCluster]
) -> None:
    """The run grouped per hosted cluster: JSON adds `clusters`; text adds a table per cluster."""
    from hcplb.probes.fleet import SITE_GROUP, cluster_summary, group_by_cluster

    summary = cluster_summary(fleet, report)
    if output is VerifyOutput.json:
        site = group_by_cluster(fleet, report.probes)[SITE_GROUP]
        print_json({**report.to_json(), "clusters": summary, "site": [p.to_json() for p in site]})
        return
    table = Table(title=f"{title}: per hosted cluster", expand=True)
    for column in ("hosted cluster", "VIP", "status", "failed probes"):
        table.add_column(column, overflow="fold")
    for row in summary:
        mark = _MARK[Status.pass_] if row["ok"] else _MARK[Status.fail]
        table.add_row(
            row["cluster"], ", ".join(row["vips"]) or "none", mark, "\n".join(row["failed"])
        )
    if output is VerifyOutput.table:
        console.print(_table(report, title))
        console.print(table)
    for note in prepared.notes:
        err_console.print(f"note: {note}", markup=False, highlight=False)
    console.print(_summary(report))


def _write_report(
    path: Path, prepared: Prepared, report: Report, title: str, timings: dict[str, float]
) -> None:
    from hcplb.report.page import write_page
    from hcplb.report.verify import verify_html

    if prepared.plan is None:
        raise ProbeError("no site to draw: give the site spec (or --lab NAME)")
    page = verify_html(prepared.plan, report, title=title, timings=timings)
    write_page(path, page)
    err_console.print(f"report: {path}", markup=False, highlight=False)


def _interval(text: str) -> float:
    seconds = parse_duration(text)
    if seconds is None:
        try:
            seconds = float(text)
        except ValueError:
            seconds = None
    if seconds is None or not 0.05 <= seconds <= 86400:
        raise ProbeError(
            f"--interval {text!r}: not a duration between 50ms and 24h (hint: --interval 10s)"
        )
    return seconds


def _stamp(at: float, since: float) -> str:
    clock = time.strftime("%H:%M:%S", time.localtime(at)) + f".{int(at % 1 * 1000):03d}"
    return f"{clock} (+{at - since:.1f} s)"


def _watch(prepared: Prepared, title: str, timeout: float, interval: float, json_out: bool) -> int:
    """Print one line per change until Ctrl-C; the exit code of the latest state."""
    stop = threading.Event()
    tracker = Tracker()
    since = time.time()
    err_console.print(
        f"{title}: watching every {interval:g} s, printing changes (Ctrl-C ends)",
        markup=False,
        highlight=False,
    )

    def baseline(check: Check, probes: list[Probe]) -> None:
        # on stderr in both modes: stdout carries only changes
        bad = sum(p.status is Status.fail for p in probes)
        err_console.print(
            f"{_stamp(time.time(), since)} {check.name}: {len(probes)} probes, {bad} failing",
            markup=False,
            highlight=False,
        )

    def changed(change: Change) -> None:
        if json_out:
            sys.stdout.write(json.dumps(change.to_json()) + "\n")
            sys.stdout.flush()
            return
        was = change.was if change.was is not None else "start"
        line = f"{_stamp(change.at, since)} {change.id} {was} → {change.now}"
        p = change.probe
        if p is not None and p.status is not Status.pass_:
            line += f": {p.message or p.observed}" + (f" (hint: {p.hint})" if p.hint else "")
        console.print(line, markup=False, highlight=False)

    try:
        watch(
            prepared.expect,
            prepared.targets,
            interval=interval,
            timeout=timeout,
            on_change=changed,
            on_baseline=baseline,
            stop=stop,
            secrets=prepared.secrets,
            tracker=tracker,
        )
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
    err_console.print("stopped", markup=False, highlight=False)
    return tracker.exit_code()


@handles_errors
def verify_cmd(
    site: Path | None = typer.Argument(None, help="site spec (optional with --lab)"),
    lab: str | None = typer.Option(None, "--lab", help="probe the rehearsal lab NAME from inside"),
    router: list[str] = typer.Option(
        [], "--router", help="local | ssh://user@host[:port], or NAME=TARGET (repeatable)"
    ),
    kubeconfig: Path | None = typer.Option(None, "--kubeconfig", help="management cluster"),
    context: str | None = typer.Option(None, "--context", help="kubeconfig context"),
    resolver: list[str] = typer.Option([], "--resolver", help="DNS server to ask (repeatable)"),
    ca_file: Path | None = typer.Option(None, "--ca-file", help="the hosted clusters' CA bundle"),
    known_hosts: Path | None = typer.Option(None, "--known-hosts", help="for SSH routers"),
    ssh_key: list[Path] = typer.Option(
        [], "--ssh-key", help="SSH private key (repeatable; default: ssh-agent and ~/.ssh)"
    ),
    timeout: float = typer.Option(
        PROBE_TIMEOUT, "--timeout", help="seconds per probe", callback=number_between(0.1, 600)
    ),
    watch_: bool = typer.Option(
        False, "--watch", help="re-run the probes until Ctrl-C, printing only changes"
    ),
    interval: str = typer.Option("10s", "--interval", help="with --watch: how often (10s, 500ms)"),
    report_file: Path | None = typer.Option(
        None, "--report", help="with --output html: the page to write"
    ),
    output: VerifyOutput = typer.Option(
        VerifyOutput.table, "--output", "-O", help="table, json, or html (with --report FILE)"
    ),
    hosted_clusters: str = typer.Option(
        "spec",
        "--hosted-clusters",
        help="spec: the site's hosted clusters; all: every HostedCluster of the management "
        "cluster (needs --kubeconfig), results grouped per cluster",
    ),
) -> None:
    """Check routers, DNS, the API VIPs and the cluster; say what is wrong and why.

    Exit code 0 when every probe passes (skips allowed), 1 on any failure, 3 on warnings only.
    """
    if output is VerifyOutput.html and report_file is None:
        raise ProbeError("--output html writes a page: give --report FILE")
    if watch_ and output is VerifyOutput.html:
        raise ProbeError("--watch prints changes as they come: use --output table or json")
    every = _interval(interval) if watch_ else 0.0
    if hosted_clusters not in ("spec", "all"):
        raise ProbeError(f"--hosted-clusters {hosted_clusters!r}: give spec or all")
    if hosted_clusters == "all" and watch_:
        raise ProbeError("--hosted-clusters all lists the clusters once: drop --watch")
    if lab is None and site is None:
        raise ProbeError("give a site spec, or --lab NAME (hint: hcplb verify examples/seed.yaml)")
    if lab is not None and (router or resolver or ca_file):
        raise ProbeError(
            "--lab probes the lab's own router, DNS and CA; drop --router/--resolver/--ca-file"
        )
    if lab is not None:
        from hcplb.lab.verification import prepare_lab  # the lab package only for --lab

        prepared = prepare_lab(
            lab, site=site, kubeconfig=kubeconfig, context=context, timeout=timeout
        )
        title = f"verify lab {lab} ({prepared.expect.name})"
    else:
        assert site is not None
        prepared = prepare_live(
            site,
            routers=router,
            kubeconfig=kubeconfig,
            context=context,
            resolvers=resolver,
            ca_file=ca_file,
            timeout=timeout,
            known_hosts=known_hosts,
            ssh_keys=ssh_key,
        )
        title = f"verify {prepared.expect.name}"
    fleet: list[FleetCluster] | None = None
    try:
        extra: list[Probe] = []
        if hosted_clusters == "all":
            from hcplb.probes.fleet import prepare_fleet

            prepared, fleet, extra = prepare_fleet(prepared)
            title += f", {len(fleet)} hosted clusters"
        if watch_:
            raise typer.Exit(_watch(prepared, title, timeout, every, output is VerifyOutput.json))
        timings: dict[str, float] = {}
        report = _run_once(prepared, timeout, output, timings)
        if fleet is not None:
            report = Report.of((*report.probes, *extra), report.duration_s)
            _show_fleet(report, prepared, title, output, fleet)
        else:
            _show(report, prepared, title, output)
        if report_file is not None:
            _write_report(report_file, prepared, report, title, timings)
        raise typer.Exit(report.exit_code)
    finally:
        prepared.close()


def register(app: typer.Typer) -> None:
    app.command("verify")(verify_cmd)

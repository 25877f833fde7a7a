"""`hcplb verify`: every probe of a site (or of a lab), concurrently, with a hint per failure."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from hcplb.cli._output import (
    OutputFormat,
    OutputOption,
    console,
    err_console,
    handles_errors,
    print_json,
)
from hcplb.errors import ProbeError
from hcplb.probes.model import SYSTEMS, Probe, Report, Status
from hcplb.probes.sources import Prepared, prepare_live
from hcplb.probes.suite import Check, checks_of, verify
from hcplb.settings import PROBE_TIMEOUT

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


def _changes(before: Report | None, after: Report) -> list[dict[str, str]]:
    if before is None:
        return []
    old = {p.id: p.status for p in before.probes}
    new = {p.id: p.status for p in after.probes}
    changed = []
    for id in list(old) + [i for i in new if i not in old]:
        if old.get(id) != new.get(id):
            was = old[id].value if id in old else "absent"
            now = new[id].value if id in new else "absent"
            changed.append({"id": id, "was": was, "now": now})
    return changed


def _run_once(prepared: Prepared, timeout: float, output: OutputFormat) -> Report:
    checks = checks_of(prepared.expect, prepared.targets, timeout=timeout)
    if output is not OutputFormat.table or not err_console.is_terminal:
        return verify(prepared.expect, prepared.targets, timeout=timeout, secrets=prepared.secrets)
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


def _show(
    report: Report,
    prepared: Prepared,
    title: str,
    output: OutputFormat,
    changes: list[dict[str, str]] | None,
) -> None:
    if output is OutputFormat.json:
        data = report.to_json()
        if changes is not None:
            data["changes"] = changes
            sys.stdout.write(json.dumps(data) + "\n")
            sys.stdout.flush()
        else:
            print_json(data)
        return
    console.print(_table(report, title))
    for note in prepared.notes:
        err_console.print(f"note: {note}", markup=False, highlight=False)
    if changes:
        console.print(
            "changes: " + "; ".join(f"{c['id']} {c['was']} → {c['now']}" for c in changes)
        )
    elif changes is not None:
        console.print("changes: none")
    console.print(_summary(report))


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
    timeout: float = typer.Option(PROBE_TIMEOUT, "--timeout", help="seconds per probe"),
    watch: float | None = typer.Option(None, "--watch", help="repeat every SECONDS, show changes"),
    output: OutputFormat = OutputOption,
) -> None:
    """Check routers, DNS, the API VIPs and the cluster; say what is wrong and why.

    Exit code 0 when every probe passes (skips allowed), 1 on any failure, 3 on warnings only.
    """
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
    try:
        if watch is None:
            report = _run_once(prepared, timeout, output)
            _show(report, prepared, title, output, None)
            raise typer.Exit(report.exit_code)
        previous: Report | None = None
        try:
            while True:
                started = time.monotonic()
                report = _run_once(prepared, timeout, output)
                _show(
                    report,
                    prepared,
                    f"{title} at {time.strftime('%H:%M:%S')}",
                    output,
                    _changes(previous, report),
                )
                previous = report
                time.sleep(max(0.0, watch - (time.monotonic() - started)))
        except KeyboardInterrupt:
            raise typer.Exit(previous.exit_code if previous else 130) from None
    finally:
        prepared.close()


def register(app: typer.Typer) -> None:
    app.command("verify")(verify_cmd)

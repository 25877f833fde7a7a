"""`hcplb lint` and `hcplb import`: check a hand-built site, and move it to a site spec."""

from __future__ import annotations

from pathlib import Path

import typer
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
from hcplb.errors import EXIT_INVALID_INPUT, HcplbError
from hcplb.fsutil import write_atomic
from hcplb.importer import import_site
from hcplb.lint import LintReport, Severity
from hcplb.lint.engine import lint_paths

_STYLE = {Severity.error: "bold red", Severity.warning: "yellow", Severity.info: "dim"}
_STATUS_STYLE = {"matched": "green", "bfd-one-side": "yellow"}


def _print_report(report: LintReport) -> None:
    if report.sessions:
        sessions = Table(title="BGP sessions (router neighbor x BGPPeer x node)")
        for column in ("router", "node", "BGPPeer", "status", "detail"):
            sessions.add_column(column, overflow="fold")  # wrapped, never cut with "…"
        for s in report.sessions:
            node = s.node if s.node == s.node_address else f"{s.node} ({s.node_address})"
            status = Text(s.status, style=_STATUS_STYLE.get(s.status, "bold red"))
            sessions.add_row(s.router, node, s.peer or "-", status, s.detail)
        console.print(sessions)
    # `file:line` is one token, never split: its column is as wide as the longest one, and on a
    # terminal too narrow for that and a message, findings are printed as wrapped lines instead.
    widest = max((max(len(f.location), len(f.rule)) for f in report.findings), default=0)
    if report.findings and console.width < widest + 40:
        for f in report.findings:
            line = Text(f"{f.location}: ")
            line.append(str(f.severity), style=_STYLE[f.severity])
            line.append(f" [{f.rule}] {f.message}")
            if f.hint:
                line.append(f"\n  hint: {f.hint}", style="dim")
            console.print(line, soft_wrap=True)
    elif report.findings:
        table = Table(title=f"lint: {len(report.files)} files")
        table.add_column("where / rule", no_wrap=True, min_width=widest)
        table.add_column("severity", no_wrap=True)
        table.add_column("message", overflow="fold", ratio=5)
        for f in report.findings:
            where = Text(f.location)
            where.append("\n" + f.rule, style="dim")
            message = Text(f.message)
            if f.hint:
                message.append("\nhint: " + f.hint, style="dim")
            table.add_row(where, Text(str(f.severity), style=_STYLE[f.severity]), message)
        console.print(table)
    errors, warnings = len(report.errors), len(report.warnings)
    if errors or warnings:
        console.print(f"{errors} error(s), {warnings} warning(s) in {len(report.files)} file(s)")
    else:
        console.print(f"clean: {len(report.files)} file(s), no error, no warning")


@handles_errors
def lint(
    paths: list[Path] = typer.Argument(
        ..., help="router configs, manifests, DNS files, directories, or a site spec"
    ),
    output: OutputFormat = OutputOption,
) -> None:
    """Check router, MetalLB, HyperShift and DNS files, alone and across systems.

    Exit code 0 when clean, 1 on any error, 3 on warnings only.
    """
    report = lint_paths(paths)
    if output is OutputFormat.json:
        data = report.to_json()
        data["sessions"] = [s.to_json() for s in report.sessions]
        print_json(data)
    else:
        _print_report(report)
    raise typer.Exit(report.exit_code)


@handles_errors
def import_(
    paths: list[Path] = typer.Argument(
        ..., help="the files of a hand-built site (router, MetalLB, HostedCluster, DNS)"
    ),
    out: Path = typer.Option(..., "-o", "--out", help="site spec to write ('-' for stdout)"),
    name: str = typer.Option("imported", "--name", help="metadata.name of the site"),
    force: bool = typer.Option(False, "--force", help="replace an existing file"),
) -> None:
    """Write a site spec from existing files; what they cannot tell is marked `# TODO:`."""
    imported = import_site(paths, name=name)
    for problem in imported.read_problems:
        err_console.print(str(problem), markup=False, highlight=False, soft_wrap=True)
    if any(p.rule == "read.file" for p in imported.read_problems):
        raise HcplbError("nothing written: an input could not be read")
    if not imported.usable:
        for reason in imported.blocking:
            err_console.print(f"import: {reason}", markup=False, highlight=False, soft_wrap=True)
        raise HcplbError("nothing written: nothing usable found in the files")
    if str(out) == "-":
        typer.echo(imported.text, nl=False)
    else:
        write_atomic(out, imported.text, mode=0o644, replace=force)
        err_console.print(f"wrote {out}", markup=False)
    for todo in imported.todos:
        err_console.print(f"TODO {todo}", markup=False, highlight=False, soft_wrap=True)
    for reason in imported.blocking:
        err_console.print(f"import: {reason}", markup=False, highlight=False, soft_wrap=True)
    if imported.blocking:
        raise typer.Exit(EXIT_INVALID_INPUT)


def register(app: typer.Typer) -> None:
    app.command()(lint)
    app.command(name="import")(import_)

"""`hcplb init` and `hcplb render`."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import typer
from rich.table import Table

from hcplb.cli._output import OutputFormat, OutputOption, console, err_console, handles_errors
from hcplb.render import render_site, resolve_site_secrets, write_rendered
from hcplb.spec import load_site


def seed_text() -> str:
    return resources.files("hcplb").joinpath("data/seed.yaml").read_text(encoding="utf-8")


@handles_errors
def init() -> None:
    """Print the seed site spec (the guide's lab), commented, to start from."""
    typer.echo(seed_text(), nl=False)


@handles_errors
def render(
    site: Path = typer.Argument(..., help="site spec (YAML)"),
    out: Path = typer.Option(..., "-o", "--out", help="output directory"),
    force: bool = typer.Option(False, "--force", help="replace a non-empty output directory"),
    output: OutputFormat = OutputOption,
) -> None:
    """Render router, MetalLB, HostedCluster, DNS and runbook files for a site."""
    loaded = load_site(site)
    for warning in loaded.warnings:
        err_console.print(str(warning), markup=False, highlight=False, soft_wrap=True)
    secrets = resolve_site_secrets(loaded, base_dir=site.parent)
    rendered = render_site(loaded.site, secrets)
    write_rendered(rendered, out, force=force, keep=site)
    rows: list[dict[str, str | int | bool]] = [
        {"path": f.path, "kind": f.kind, "bytes": f.size, "mode": f"{f.mode:o}", "secret": f.secret}
        for f in rendered.files
    ]
    if output is OutputFormat.json:
        typer.echo(json.dumps({"site": loaded.site.name, "out": str(out), "files": rows}, indent=2))
        return
    table = Table(title=f"{loaded.site.name}: rendered into {out}")
    for column in ("path", "kind", "bytes", "mode", "secret"):
        table.add_column(column, justify="right" if column == "bytes" else "left")
    for row in rows:
        table.add_row(
            *(str(row[c]) for c in ("path", "kind", "bytes", "mode")),
            "yes" if row["secret"] else "",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(render)

"""The `hcplb` command line: one module per command group, each with `register(app)`."""

from __future__ import annotations

import typer

from hcplb.cli import apply_cmds, bench_cmds, lab_cmds, lint_cmds, site_cmds, verify_cmds

app = typer.Typer(
    name="hcplb",
    help="Publish HyperShift hosted cluster API servers through MetalLB (BGP) and FRR.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each command group registers itself; add new groups here.
for _module in (site_cmds, lint_cmds, apply_cmds, lab_cmds, bench_cmds, verify_cmds):
    _module.register(app)


def main() -> None:
    app()


__all__ = ["app", "main"]

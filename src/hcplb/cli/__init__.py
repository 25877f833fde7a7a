"""The `hcplb` command line: one module per command group, each with `register(app)`.

A run imports only the group it names (`hcplb verify ...` never imports the lab, lint or apply
code), so a command starts in a fraction of the time a full import takes; `--help` and the
`app` attribute (used by tests) build the whole tree.
"""

from __future__ import annotations

import importlib
import sys
from functools import cache

import typer

# Registration order is the order `hcplb --help` lists the commands in.
_MODULES = ("site_cmds", "lint_cmds", "apply_cmds", "lab_cmds", "bench_cmds", "verify_cmds")

# Which modules register each top-level command (bench adds `lab fail|heal|drain` to `lab`).
_COMMANDS: dict[str, tuple[str, ...]] = {
    "init": ("site_cmds",),
    "render": ("site_cmds",),
    "lint": ("lint_cmds",),
    "import": ("lint_cmds",),
    "apply": ("apply_cmds",),
    "hostedcluster": ("apply_cmds",),
    "lab": ("lab_cmds", "bench_cmds"),
    "demo": ("lab_cmds",),
    "bench": ("bench_cmds",),
    "verify": ("verify_cmds",),
}

HELP = "Publish HyperShift hosted cluster API servers through MetalLB (BGP) and FRR."


def _root() -> None:
    """Publish HyperShift hosted cluster API servers through MetalLB (BGP) and FRR."""


@cache
def build_app(only: tuple[str, ...] | None = None) -> typer.Typer:
    """The CLI with every command group, or only the modules in `only`."""
    app = typer.Typer(
        name="hcplb",
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    # A callback keeps typer in group mode even when a single command is registered.
    app.callback()(_root)
    for name in _MODULES:
        if only is None or name in only:
            importlib.import_module(f"hcplb.cli.{name}").register(app)
    return app


def _command_of(argv: list[str]) -> str | None:
    return next((arg for arg in argv if not arg.startswith("-")), None)


def main() -> None:
    command = _command_of(sys.argv[1:])
    build_app(_COMMANDS.get(command) if command else None)()


def __getattr__(name: str) -> typer.Typer:
    if name == "app":
        return build_app()
    raise AttributeError(name)


__all__ = ["app", "build_app", "main"]

"""Shared CLI plumbing: consoles, JSON output, and turning HcplbError into lines and exit codes."""

from __future__ import annotations

import functools
import json
import logging
import math
import sys
import tempfile
import traceback
from collections.abc import Callable
from enum import StrEnum
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from hcplb.errors import EXIT_BUG, HcplbError

P = ParamSpec("P")
R = TypeVar("R")

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)
log = logging.getLogger("hcplb")


def say(text: str) -> None:
    """A progress line for people, on stderr (stdout stays the command's result)."""
    err_console.print(text, markup=False, highlight=False)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


OutputOption = typer.Option(
    OutputFormat.table, "--output", "-O", help="table for people, json for machines"
)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False) + "\n")


def handles_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Print a user error as one line per problem (exit 2 spec, 1 otherwise); a bug as one line
    plus the traceback saved to a debug log."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except HcplbError as exc:
            for line in exc.lines():
                err_console.print(line, markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            with tempfile.NamedTemporaryFile(
                "w", prefix="hcplb-bug-", suffix=".log", delete=False
            ) as handle:
                traceback.print_exc(file=handle)
            err_console.print(
                f"internal error: {type(exc).__name__}: {exc} (traceback in {handle.name}; "
                "please report it)",
                markup=False,
            )
            raise typer.Exit(EXIT_BUG) from None

    return wrapper


def number_between(
    low: float, high: float, *, zero: bool = False, unit: str = "seconds"
) -> Callable[[float | None], float | None]:
    """A typer callback: the option is a finite number from `low` to `high` (or 0 with `zero`).

    click's own ranges let nan and inf through (every comparison with nan is false).
    """

    def check(value: float | None) -> float | None:
        if value is None or (zero and value == 0):
            return value
        if not math.isfinite(value) or not low <= value <= high:
            extra = " (or 0)" if zero else ""
            raise typer.BadParameter(
                f"{value} is not a number of {unit} from {low:g} to {high:g}{extra}"
            )
        return value

    return check

"""Where DNS and API probes leave from: this process, or a host reached through a Target.

`OnTarget` runs `python -m hcplb.probes.client` there (tasks as JSON on stdin), which is how
lab runs keep every probe packet inside the lab's client host.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, Protocol

from hcplb.errors import HcplbError, ProbeError
from hcplb.probes.client import Task, run_tasks
from hcplb.targets.base import Target

__all__ = ["InProcess", "OnTarget", "Vantage"]


class Vantage(Protocol):
    name: str

    def run_tasks(self, tasks: Sequence[Task], *, timeout: float) -> dict[str, dict[str, Any]]:
        """Results by task id; ProbeError if the tasks could not run at all."""
        ...


class InProcess:
    """Probes from this machine (live sites)."""

    name = "this machine"

    def run_tasks(self, tasks: Sequence[Task], *, timeout: float) -> dict[str, dict[str, Any]]:
        return run_tasks(tasks)


class OnTarget:
    """Probes from a target host; it needs this Python with hcplb importable (lab hosts do)."""

    def __init__(self, target: Target, *, python: str | None = None) -> None:
        self.target = target
        self.python = python or sys.executable
        self.name = target.name

    def run_tasks(self, tasks: Sequence[Task], *, timeout: float) -> dict[str, dict[str, Any]]:
        if not tasks:
            return {}
        argv = [self.python, "-m", "hcplb.probes.client"]
        try:
            result = self.target.run(
                argv, timeout=timeout, input=json.dumps({"tasks": list(tasks)})
            )
        except HcplbError as exc:
            raise ProbeError(str(exc)) from exc
        if not result.ok:
            last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:]
            raise ProbeError(
                f"{self.name}: probe client failed (exit {result.rc}): {' '.join(last)}"
            )
        try:
            results: dict[str, dict[str, Any]] = json.loads(result.stdout)["results"]
        except (ValueError, KeyError) as exc:
            raise ProbeError(f"{self.name}: probe client answered garbage: {exc}") from exc
        return results

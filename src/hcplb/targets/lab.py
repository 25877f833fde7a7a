"""LabTarget: commands run as one host of a rehearsal lab (its netns and filesystem view)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from hcplb.errors import RunnerError, TargetError
from hcplb.runner import Result
from hcplb.targets.base import Target

__all__ = ["LabRunner", "LabTarget"]


class LabRunner(Protocol):
    """What LabTarget needs of `hcplb.lab.Lab` (kept structural: no import of the lab here)."""

    @property
    def name(self) -> str: ...

    def run(
        self, host: str, argv: Sequence[str], *, timeout: float, input: str | None = None
    ) -> Result: ...


class LabTarget(Target):
    """Host `host` of `lab`; `put` writes through the host so its private mounts apply."""

    def __init__(self, lab: LabRunner, host: str) -> None:
        self.lab = lab
        self.host = host
        self.name = f"lab {lab.name}/{host}"

    def run(self, argv: Sequence[str], *, timeout: float, input: str | None = None) -> Result:
        try:
            return self.lab.run(self.host, argv, timeout=timeout, input=input)
        except RunnerError as exc:
            raise TargetError(f"{self.name}: {exc}") from exc

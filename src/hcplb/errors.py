"""Errors raised by hcplb.

HcplbError                 root; the CLI prints it as one line per problem, no traceback
├── SpecError              the site spec (or another input file) is wrong; carries Problems
├── RenderError            a render could not be produced or written
├── LabError               the rehearsal lab could not be built, found or torn down
├── ProbeError             a probe could not run at all (not a failing probe)
├── TargetError            a router, DNS server or cluster refused or failed an action
├── MetallbError           MetalLB would reject the configuration (its own message)
└── RunnerError            a subprocess failed to start or timed out
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One located problem in an input file."""

    file: str
    line: int
    column: int
    path: str
    message: str
    hint: str = ""
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        field = f" {self.path}:" if self.path else ""
        text = f"{where}: {self.severity}:{field} {self.message}"
        if self.hint:
            text += f" (hint: {self.hint})"
        return text


class HcplbError(Exception):
    """Root of every error hcplb raises on purpose."""

    exit_code = 1

    def lines(self) -> list[str]:
        return [str(self)]


class SpecError(HcplbError):
    """The site spec (or another input) is invalid; every problem found is attached."""

    exit_code = 2

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class RenderError(HcplbError):
    """A render could not be produced or written."""


class LabError(HcplbError):
    """The rehearsal lab could not be built, found or torn down."""


class ProbeError(HcplbError):
    """A probe could not run at all."""


class TargetError(HcplbError):
    """A router, DNS server or cluster refused or failed an action."""


class MetallbError(HcplbError):
    """MetalLB would reject this configuration (message as MetalLB words it, plus the object)."""


class RunnerError(HcplbError):
    """A subprocess failed to start or timed out."""

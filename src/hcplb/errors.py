"""Errors raised by hcplb.

HcplbError                 root; the CLI prints it as one line per problem, no traceback
├── SpecError              the site spec (or another input file) is wrong; carries Problems
├── RenderError            a render could not be produced or written
├── LabError               the rehearsal lab could not be built, found or torn down
├── ProbeError             a probe could not run at all (not a failing probe)
├── TargetError            a router, DNS server or cluster refused or failed an action
├── MetallbError           MetalLB would reject the configuration (its own message)
├── RunnerError            a subprocess failed to start or timed out
└── FileError              a file could not be read or written safely (type, size, symlink)

Every command exits with one rule: 0 clean, 1 a failure (a failing probe or lint error, or an
HcplbError), 2 invalid input (SpecError), 3 warnings only (`exit_code`); 70 is a bug.
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


EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID_INPUT = 2
EXIT_WARNINGS = 3
EXIT_BUG = 70  # EX_SOFTWARE


def exit_code(*, failed: bool, warned: bool) -> int:
    """The exit code of a verdict (verify's probes, lint's findings): failures before warnings."""
    if failed:
        return EXIT_FAILED
    return EXIT_WARNINGS if warned else EXIT_OK


class HcplbError(Exception):
    """Root of every error hcplb raises on purpose."""

    exit_code = EXIT_FAILED

    def lines(self) -> list[str]:
        return [str(self)]


class SpecError(HcplbError):
    """The site spec (or another input) is invalid; every problem found is attached."""

    exit_code = EXIT_INVALID_INPUT

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


class FileError(HcplbError):
    """A file could not be read or written safely (not regular, too large, a symlink)."""

"""Lint findings: what is wrong, where, and what to do; and the report that collects them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from hcplb.errors import exit_code


class Severity(StrEnum):
    error = "error"
    warning = "warning"
    info = "info"


_ORDER = {Severity.error: 0, Severity.warning: 1, Severity.info: 2}


@dataclass(frozen=True)
class Where:
    """A place in an input file (line 0: the file as a whole)."""

    file: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class Finding:
    """One problem: a rule id, a severity, `file:line`, a message and a hint."""

    rule: str
    severity: Severity
    file: str
    line: int
    message: str
    hint: str = ""

    @classmethod
    def at(
        cls, where: Where, rule: str, severity: Severity, message: str, hint: str = ""
    ) -> Finding:
        return cls(rule, severity, where.file, where.line, message, hint)

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": str(self.severity),
            "file": self.file,
            "line": self.line,
            "message": self.message,
            "hint": self.hint,
        }

    def __str__(self) -> str:
        text = f"{self.location}: {self.severity}: [{self.rule}] {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text


def error(where: Where, rule: str, message: str, hint: str = "") -> Finding:
    return Finding.at(where, rule, Severity.error, message, hint)


def warning(where: Where, rule: str, message: str, hint: str = "") -> Finding:
    return Finding.at(where, rule, Severity.warning, message, hint)


def info(where: Where, rule: str, message: str, hint: str = "") -> Finding:
    return Finding.at(where, rule, Severity.info, message, hint)


def sort_findings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Unique findings, errors first, then by file, line and rule."""
    unique = dict.fromkeys(findings)
    return tuple(
        sorted(unique, key=lambda f: (_ORDER[f.severity], f.file, f.line, f.rule, f.message))
    )


@dataclass(frozen=True)
class LintReport:
    """Every finding of one lint run, plus the session table it computed."""

    findings: tuple[Finding, ...]
    sessions: tuple[Any, ...] = field(default_factory=tuple)
    files: tuple[str, ...] = field(default_factory=tuple)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.error)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.warning)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def exit_code(self) -> int:
        """`hcplb.errors.exit_code`: 1 any error, 3 warnings only, 0 clean (info only)."""
        return exit_code(failed=bool(self.errors), warned=bool(self.warnings))

    def rules(self) -> set[str]:
        return {f.rule for f in self.findings}

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "findings": [f.to_json() for f in self.findings]}

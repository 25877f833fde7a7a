"""What a probe reports: a frozen result with a stable id, and the report of a whole run."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from hcplb.errors import exit_code

__all__ = ["SYSTEMS", "Probe", "Report", "Status", "fail", "passed", "skip", "warn"]

SYSTEMS = ("router", "dns", "api", "cluster")


class Status(StrEnum):
    pass_ = "pass"
    fail = "fail"
    warn = "warn"
    skip = "skip"


@dataclass(frozen=True)
class Probe:
    """One check's outcome. `id` is stable across runs (`router/frr/session/master-0`)."""

    id: str
    system: str
    status: Status
    expected: str = ""
    observed: str = ""
    message: str = ""
    hint: str = ""

    def to_json(self) -> dict[str, str]:
        data = asdict(self)
        data["status"] = self.status.value
        return data


def passed(id: str, system: str, expected: str, observed: str, message: str = "") -> Probe:
    return Probe(id, system, Status.pass_, expected, observed, message)


def fail(id: str, system: str, expected: str, observed: str, message: str, hint: str = "") -> Probe:
    return Probe(id, system, Status.fail, expected, observed, message, hint)


def warn(id: str, system: str, expected: str, observed: str, message: str, hint: str = "") -> Probe:
    return Probe(id, system, Status.warn, expected, observed, message, hint)


def skip(id: str, system: str, message: str, expected: str = "") -> Probe:
    return Probe(id, system, Status.skip, expected, "", message)


@dataclass(frozen=True)
class Report:
    """Every probe of one run. `ok` means nothing failed (warnings allowed)."""

    probes: tuple[Probe, ...]
    duration_s: float

    @classmethod
    def of(cls, probes: Iterable[Probe], duration_s: float) -> Report:
        order = {s: i for i, s in enumerate(SYSTEMS)}
        ranked = sorted(enumerate(probes), key=lambda ip: (order.get(ip[1].system, 99), ip[0]))
        return cls(tuple(p for _, p in ranked), duration_s)

    @property
    def ok(self) -> bool:
        return not any(p.status is Status.fail for p in self.probes)

    def with_status(self, status: Status) -> tuple[Probe, ...]:
        return tuple(p for p in self.probes if p.status is status)

    @property
    def exit_code(self) -> int:
        """`hcplb.errors.exit_code`: 1 any fail, 3 warnings only, 0 all pass (skips allowed)."""
        return exit_code(failed=not self.ok, warned=bool(self.with_status(Status.warn)))

    def get(self, id: str) -> Probe:
        for p in self.probes:
            if p.id == id:
                return p
        raise KeyError(id)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "duration_s": round(self.duration_s, 3),
            "probes": [p.to_json() for p in self.probes],
        }

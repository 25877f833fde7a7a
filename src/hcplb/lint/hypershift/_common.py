"""Shared pieces of the HostedCluster rules: the finding collector and safe accessors."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from hcplb import gotext
from hcplb.lint.findings import Finding, Where, error
from hcplb.lint.k8s import Manifest


def has(obj: Any, key: str) -> bool:
    return isinstance(obj, Mapping) and obj.get(key) is not None


def submap(obj: Any, key: str) -> Mapping[str, Any]:
    value = obj.get(key) if isinstance(obj, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def unsupported(value: Any, allowed: tuple[str, ...]) -> str:
    supported = ", ".join(gotext.q(v) for v in allowed)
    return f"Unsupported value: {json.dumps(value)}: supported values: {supported}"


class Collector:
    """Collects findings for one HostedCluster."""

    def __init__(self, hc: Manifest) -> None:
        self.hc = hc
        self.found: list[Finding] = []

    def fail(self, path: tuple[str | int, ...], message: str, rule: str, hint: str = "") -> None:
        text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
        where = (
            self.hc.where(*path) if self.hc.node is not None else Where(self.hc.file, self.hc.line)
        )
        hint = hint or "the HyperShift API server rejects this HostedCluster: fix the field"
        self.found.append(error(where, f"hypershift.crd.{rule}", f"{text}: {message}", hint))

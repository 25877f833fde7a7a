"""Kubernetes label selectors (`matchLabels` + `matchExpressions`) as MetalLB evaluates them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hcplb.metallb.model import MetallbError

__all__ = ["EVERYTHING", "LabelSelector", "Requirement", "matches_any", "parse_selector"]

_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


@dataclass(frozen=True)
class Requirement:
    """One `matchExpressions` entry (values kept sorted, as MetalLB sorts them)."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "In":
            return self.key in labels and labels[self.key] in self.values
        if self.operator == "NotIn":
            return self.key not in labels or labels[self.key] not in self.values
        if self.operator == "Exists":
            return self.key in labels
        return self.key not in labels


@dataclass(frozen=True)
class LabelSelector:
    """A parsed `metav1.LabelSelector`; the empty selector matches everything."""

    match_labels: tuple[tuple[str, str], ...] = ()
    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.match_labels) and all(
            r.matches(labels) for r in self.requirements
        )

    def __str__(self) -> str:
        parts = [f"{k}={v}" for k, v in self.match_labels]
        for r in self.requirements:
            if r.operator in ("In", "NotIn"):
                parts.append(f"{r.key} {r.operator.lower()} ({','.join(r.values)})")
            else:
                parts.append(r.key if r.operator == "Exists" else f"!{r.key}")
        return ",".join(parts) or "<everything>"


EVERYTHING = LabelSelector()


def parse_selector(raw: Any, where: str) -> LabelSelector:
    """A LabelSelector from its manifest form; MetallbError naming `where` if malformed."""
    if raw is None:
        return EVERYTHING
    if not isinstance(raw, Mapping):
        raise MetallbError(f"{where}: a label selector is a mapping, got {type(raw).__name__}")
    unknown = set(raw) - {"matchLabels", "matchExpressions"}
    if unknown:
        raise MetallbError(f"{where}: unknown label selector field(s) {sorted(unknown)}")
    labels = raw.get("matchLabels") or {}
    if not isinstance(labels, Mapping):
        raise MetallbError(f"{where}.matchLabels: expected a mapping of label to value")
    exprs = raw.get("matchExpressions") or []
    if not isinstance(exprs, Sequence) or isinstance(exprs, str):
        raise MetallbError(f"{where}.matchExpressions: expected a list")
    requirements: list[Requirement] = []
    for i, expr in enumerate(exprs):
        requirements.append(_requirement(expr, f"{where}.matchExpressions[{i}]"))
    seen = set()
    for req in requirements:
        if len(set(req.values)) != len(req.values):
            raise MetallbError(
                f"{where}: duplicate definition of match expression value in label selector "
                f'"{req.key}"'
            )
        if req in seen:
            raise MetallbError(f'{where}: duplicate definition of match expressions "{req.key}"')
        seen.add(req)
    return LabelSelector(
        tuple(sorted((str(k), "" if v is None else str(v)) for k, v in labels.items())),
        tuple(requirements),
    )


def _requirement(expr: Any, where: str) -> Requirement:
    if not isinstance(expr, Mapping) or "key" not in expr or "operator" not in expr:
        raise MetallbError(f"{where}: needs 'key' and 'operator'")
    operator = str(expr["operator"])
    if operator not in _OPERATORS:
        raise MetallbError(
            f"{where}: {operator!r} is not a valid label selector operator ({', '.join(_OPERATORS)})"
        )
    values = tuple(sorted(str(v) for v in expr.get("values") or ()))
    if operator in ("In", "NotIn") and not values:
        raise MetallbError(f"{where}: operator {operator} needs at least one value")
    if operator in ("Exists", "DoesNotExist") and values:
        raise MetallbError(f"{where}: operator {operator} takes no values")
    return Requirement(str(expr["key"]), operator, values)


def matches_any(selectors: Sequence[LabelSelector], labels: Mapping[str, str]) -> bool:
    """MetalLB's rule for selector lists: empty list = all, else any selector matching."""
    return not selectors or any(s.matches(labels) for s in selectors)

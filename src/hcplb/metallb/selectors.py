"""Kubernetes label selectors as MetalLB reads, checks and evaluates them (lint and simulator).

Raw selectors (the manifest's mappings) are checked without raising: `selector_problem` is why
`LabelSelectorAsSelector` refuses one, `selector_duplicates` is MetalLB's
`validateLabelSelectorDuplicate` with its messages. `parse_selector` turns a good one into a
`LabelSelector`; `selects` evaluates raw ones (a malformed selector matches nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from hcplb.errors import MetallbError
from hcplb.gotext import q

__all__ = [
    "EVERYTHING",
    "LabelSelector",
    "Requirement",
    "canonical",
    "chosen",
    "go_requirement",
    "go_selector",
    "matches_any",
    "parse_selector",
    "parse_selectors",
    "selector_duplicates",
    "selector_problem",
    "selects",
]

_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
T = TypeVar("T")

DuplicateKind = Literal["value", "expression", "selector"]


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


EVERYTHING = LabelSelector()


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def selector_problem(sel: Any) -> str | None:
    """Why LabelSelectorAsSelector would reject this selector, or None."""
    if not isinstance(sel, Mapping):
        return "a label selector is a mapping"
    labels = sel.get("matchLabels") or {}
    if not isinstance(labels, Mapping) or not all(isinstance(v, str) for v in labels.values()):
        return "matchLabels must map label keys to strings"
    exprs = sel.get("matchExpressions") or []
    if not isinstance(exprs, list):
        return "matchExpressions is a list"
    for expr in exprs:
        if not isinstance(expr, Mapping):
            return "a match expression is a mapping"
        if not isinstance(expr.get("values") or [], list):
            return "values is a list of strings"
        op, values = expr.get("operator"), expr.get("values") or []
        if op not in _OPERATORS:
            return f"{q(str(op))} is not a valid label selector operator"
        if op in ("In", "NotIn") and not values:
            return "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty"
        if op in ("Exists", "DoesNotExist") and values:
            return "values: Invalid value: for 'exists', 'doesnotexist' operators, values set must be empty"
    return None


def selector_duplicates(
    selectors: Sequence[Any], label: str
) -> Iterator[tuple[int, DuplicateKind, str]]:
    """MetalLB's duplicate checks on a selector list, in its order: (index, kind, message).

    `label` names the list in the message (`nodeSelectors`, `serviceSelectors`, ...). Values
    are compared sorted, as MetalLB sorts them first. Malformed selectors are skipped
    (`selector_problem` reports them).
    """
    for i, sel in enumerate(selectors):
        if selector_problem(sel) is not None:
            continue
        exprs = sel.get("matchExpressions") or []
        for k, expr in enumerate(exprs):
            values = [str(v) for v in expr.get("values") or []]
            dup = next((v for n, v in enumerate(values) if v in values[:n]), None)
            if dup is not None:
                yield (
                    i,
                    "value",
                    f"duplicate definition of match expression value in label selector {q(dup)}",
                )
            if any(_expression(expr) == _expression(e) for e in exprs[k + 1 :]):
                yield (
                    i,
                    "expression",
                    f"duplicate definition of match expressions {go_requirement(expr)}",
                )
        if any(canonical(sel) == canonical(other) for other in selectors[i + 1 :]):
            yield i, "selector", f"duplicate definition of {label} {go_selector(sel)}"


def parse_selector(raw: Any, where: str) -> LabelSelector:
    """A LabelSelector from its manifest form; MetallbError `where: problem` if malformed."""
    if raw is None:
        return EVERYTHING
    problem = selector_problem(raw)
    if problem is not None:
        raise MetallbError(f"{where}: {problem}")
    labels = raw.get("matchLabels") or {}
    requirements = tuple(
        Requirement(
            str(e.get("key", "")),
            str(e["operator"]),
            tuple(sorted(str(v) for v in e.get("values") or ())),
        )
        for e in raw.get("matchExpressions") or []
    )
    return LabelSelector(tuple(sorted((str(k), v) for k, v in labels.items())), requirements)


def parse_selectors(raws: Sequence[Any], label: str) -> tuple[LabelSelector, ...]:
    """A selector list as MetalLB's config parser takes it: its first duplicate, then the first
    malformed selector, raise MetallbError (`label` names the list, e.g. `nodeSelectors`)."""
    for _, _, message in selector_duplicates(raws, label):
        raise MetallbError(message)
    return tuple(parse_selector(raw, label) for raw in raws)


def matches_any(selectors: Sequence[LabelSelector], labels: Mapping[str, str]) -> bool:
    """MetalLB's rule for selector lists: empty list = all, else any selector matching."""
    return not selectors or any(s.matches(labels) for s in selectors)


def matches(sel: Any, labels: Mapping[str, str]) -> bool:
    """Whether one raw selector matches; a malformed selector matches nothing."""
    if selector_problem(sel) is not None:
        return False
    for key, value in (sel.get("matchLabels") or {}).items():
        if labels.get(str(key)) != value:
            return False
    for expr in _list(sel.get("matchExpressions")):
        key, op = str(expr.get("key")), expr.get("operator")
        values = [str(v) for v in expr.get("values") or []]
        present = key in labels
        if (
            (op == "In" and not (present and labels[key] in values))
            or (op == "NotIn" and present and labels[key] in values)
            or (op == "Exists" and not present)
            or (op == "DoesNotExist" and present)
        ):
            return False
    return True


def selects(selectors: Sequence[Any], labels: Mapping[str, str]) -> bool:
    """A list of raw selectors: empty selects everything, else any one must match."""
    return not selectors or any(matches(s, labels) for s in selectors)


def chosen(
    names: Sequence[str],
    selectors: Sequence[Any],
    candidates: Sequence[T],
    name_of: Callable[[T], str],
    labels_of: Callable[[T], Mapping[str, str]],
) -> list[T]:
    """The candidates a list of names plus raw selectors picks, in their order; naming and
    selecting nothing picks them all (an advertisement's pools, MetalLB's rule). Labels are
    read only when there are selectors."""
    if not names and not selectors:
        return list(candidates)
    wanted = set(names)
    return [
        c
        for c in candidates
        if name_of(c) in wanted or (selectors and selects(selectors, labels_of(c)))
    ]


def _expression(expr: Any) -> str:
    return canonical({"matchExpressions": [expr]})


def canonical(sel: Any) -> str:
    """A comparable form (values sorted, as MetalLB sorts them before comparing)."""
    if not isinstance(sel, Mapping):
        return repr(sel)
    labels = sel.get("matchLabels") or {}
    labels = sorted(labels.items()) if isinstance(labels, Mapping) else labels
    exprs = []
    for expr in _list(sel.get("matchExpressions")):
        if isinstance(expr, Mapping):
            values = sorted(str(v) for v in _list(expr.get("values")))
            exprs.append((expr.get("key"), expr.get("operator"), values))
        else:
            exprs.append(expr)
    return repr((labels, exprs))


def go_requirement(expr: Any) -> str:
    """Go's %q of a LabelSelectorRequirement value: `{"key" "In" ["a" "b"]}` (values sorted)."""
    if not isinstance(expr, Mapping):
        return str(expr)
    values = " ".join(q(str(v)) for v in sorted(str(v) for v in _list(expr.get("values"))))
    return f"{{{q(str(expr.get('key', '')))} {q(str(expr.get('operator', '')))} [{values}]}}"


def go_selector(sel: Any) -> str:
    """Go's %q of a metav1.LabelSelector value: `{map["k":"v"] [{"key" "In" ["a"]}]}`."""
    if not isinstance(sel, Mapping):
        return q(str(sel))
    labels = sel.get("matchLabels") or {}
    pairs = (
        " ".join(f"{q(str(k))}:{q(str(v))}" for k, v in sorted(labels.items()))
        if isinstance(labels, Mapping)
        else ""
    )
    exprs = " ".join(go_requirement(e) for e in _list(sel.get("matchExpressions")))
    return f"{{map[{pairs}] [{exprs}]}}"

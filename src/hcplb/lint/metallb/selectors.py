"""Kubernetes label selectors as lint reads them from raw manifests (never raising)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hcplb.gotext import q

_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


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


def matches(sel: Any, labels: Mapping[str, str]) -> bool:
    """Whether one selector matches; a malformed selector matches nothing."""
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


def selects(selectors: list[Any], labels: Mapping[str, str]) -> bool:
    """A list of selectors: empty selects everything, else any one must match."""
    return not selectors or any(matches(s, labels) for s in selectors)


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


def _go_requirement(expr: Any) -> str:
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
    exprs = " ".join(_go_requirement(e) for e in _list(sel.get("matchExpressions")))
    return f"{{map[{pairs}] [{exprs}]}}"


def go_requirement(expr: Any) -> str:
    return _go_requirement(expr)

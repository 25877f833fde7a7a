"""Load a site spec from YAML: every problem located at `file:line:column`, all reported at once."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from hcplb.errors import Problem, SpecError
from hcplb.spec.checks import PathProblem, check_site
from hcplb.spec.models import Site

Loc = Sequence[str | int]

_HINTS = {
    "extra_forbidden": "remove it, or check its spelling against `hcplb init`",
    "missing": "add it; `hcplb init` prints a complete example",
    "int_parsing": "write a whole number",
    "int_type": "write a whole number",
    "bool_parsing": "write true or false",
    "too_short": "add at least one entry",
    "dict_type": "write a mapping (key: value)",
    "list_type": "write a list (- item)",
    "string_type": "quote the value",
}


@dataclass(frozen=True)
class LoadedSite:
    """A valid site plus where it came from and the warnings found while loading."""

    site: Site
    file: str
    warnings: tuple[Problem, ...] = field(default_factory=tuple)


def _to_plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_to_plain(v) for v in node]
    return node


def locate(root: Any, loc: Loc) -> tuple[int, int]:
    """1-based (line, column) of the deepest node of `loc` that exists in the YAML tree."""
    line, col = 0, 0
    node = root
    if hasattr(node, "lc"):
        line, col = node.lc.line, node.lc.col
    for index, key in enumerate(loc):
        if isinstance(node, CommentedMap) and key in node:
            last = index == len(loc) - 1
            scalar = not isinstance(node[key], CommentedMap | CommentedSeq)
            line, col = node.lc.value(key) if last and scalar else node.lc.key(key)
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
            line, col = node.lc.item(key)
            node = node[key]
        else:
            break
    return line + 1, col + 1


def dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _clean_loc(loc: Sequence[str | int], data: Any) -> list[str | int]:
    """Keep the steps of a pydantic error location that are keys of the document.

    pydantic inserts pseudo-steps for unions and validators (`function-after[...]`); a step that
    is not in the document is kept only when it is the last one (a missing or unknown field).
    """
    kept: list[str | int] = []
    node = data
    for index, step in enumerate(loc):
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
        elif index == len(loc) - 1 and isinstance(step, str) and "[" not in step:
            node = None
        else:
            continue
        kept.append(step)
    return kept


def _pydantic_problems(exc: ValidationError, root: Any, file: str) -> list[Problem]:
    problems = []
    data = _to_plain(root)
    for err in exc.errors(include_url=False):
        loc = _clean_loc(err["loc"], data)
        message = err["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        hint = _HINTS.get(err["type"], "")
        if err["type"] == "model_type" and loc and loc[-1] in ("password", "secret"):
            message = "secrets are never written in the spec"
            hint = "write {env: VARIABLE} or {file: PATH} instead"
        if err["type"] == "literal_error" and loc[-1:] == ["apiVersion"]:
            hint = "this hcplb reads apiVersion hcplb.io/v1alpha1"
        line, col = locate(root, loc)
        problems.append(Problem(file, line, col, dotted(loc), message, hint))
    return problems


def _position(problem: Problem) -> tuple[int, int]:
    return problem.line, problem.column


def _located(finding: PathProblem, root: Any, file: str) -> Problem:
    line, col = locate(root, finding.loc)
    return Problem(
        file, line, col, dotted(finding.loc), finding.message, finding.hint, finding.severity
    )


def parse_yaml(text: str, file: str) -> Any:
    """Round-trip parse (keeps line numbers); a YAML syntax error becomes a SpecError."""
    yaml = YAML(typ="rt")
    try:
        return yaml.load(io.StringIO(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or "invalid YAML"
        raise SpecError(
            [Problem(file, line, col, "", f"YAML syntax: {what}", "check indentation and quoting")]
        ) from None


def load_site_text(text: str, file: str = "<site>") -> LoadedSite:
    """Validate a site spec given as text; raise SpecError with every problem found."""
    root = parse_yaml(text, file)
    if not isinstance(root, dict):
        raise SpecError(
            [Problem(file, 1, 1, "", "a site spec is a YAML mapping", "start from `hcplb init`")]
        )
    try:
        site = Site.model_validate(_to_plain(root))
    except ValidationError as exc:
        raise SpecError(sorted(_pydantic_problems(exc, root, file), key=_position)) from None
    findings = check_site(site)
    errors = [_located(f, root, file) for f in findings if f.severity == "error"]
    warnings = tuple(_located(f, root, file) for f in findings if f.severity != "error")
    if errors:
        raise SpecError(sorted(errors + list(warnings), key=_position))
    return LoadedSite(site, file, warnings)


def load_site(path: str | Path) -> LoadedSite:
    """Read and validate the site spec at `path`."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([Problem(file, 0, 0, "", "no such file", "check the path")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([Problem(file, 0, 0, "", f"cannot read: {exc}", "")]) from None
    return load_site_text(text, file)

"""Load a site spec from YAML: every problem located at `file:line:column`, all reported at once."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import MaxDepthExceededError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.scanner import RoundTripScanner

from hcplb.errors import FileError, Problem, SpecError
from hcplb.fsutil import read_limited
from hcplb.settings import ALIAS_ALLOWANCE, MAX_SPEC_BYTES, MAX_SPEC_LINE
from hcplb.settings import MAX_SPEC_DEPTH as MAX_DEPTH
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
    tree: Any = field(default=None, repr=False, compare=False)

    def place(self, problems: Sequence[Problem]) -> list[Problem]:
        """Problems found outside the spec (a secret file, the environment), moved to the
        spec's `file:line:column` of the field that refers to them; the outside place is kept
        in the message."""
        placed = []
        for p in problems:
            if p.file == self.file or not p.path.startswith("spec."):
                placed.append(p)
                continue
            line, col = locate(self.tree, _undotted(p.path))
            placed.append(
                Problem(self.file, line, col, p.path, f"{p.file}: {p.message}", p.hint, p.severity)
            )
        return placed


def _undotted(path: str) -> list[str | int]:
    """`spec.pools[0].name` -> ["spec", "pools", 0, "name"] (the inverse of `dotted`)."""
    loc: list[str | int] = []
    for part in path.split("."):
        name, *indexes = part.split("[")
        if name:
            loc.append(name)
        loc += [int(i.rstrip("]")) for i in indexes if i.rstrip("]").isdigit()]
    return loc


class _TooLarge(Exception):
    def __init__(self, node: Any) -> None:
        self.node = node


def _to_plain(node: Any, budget: list[int] | None = None) -> Any:
    """Plain dicts/lists of a parsed document; `budget` bounds how many values aliases expand to."""
    if budget is not None:
        budget[0] -= 1
        if budget[0] < 0:
            raise _TooLarge(node)
    try:
        if isinstance(node, dict):
            return {str(k): _to_plain(v, budget) for k, v in node.items()}
        if isinstance(node, list):
            return [_to_plain(v, budget) for v in node]
    except _TooLarge as exc:
        if not hasattr(exc.node, "lc"):
            exc.node = node
        raise
    return node


def _bounded_plain(root: Any, text: str, file: str) -> Any:
    try:
        return _to_plain(root, [len(text) + ALIAS_ALLOWANCE])
    except _TooLarge as exc:
        line, col = (
            (exc.node.lc.line + 1, exc.node.lc.col + 1) if hasattr(exc.node, "lc") else (1, 1)
        )
        raise SpecError(
            [
                Problem(
                    file,
                    line,
                    col,
                    "",
                    "aliases expand to too many values (more than the text has bytes)",
                    "write the values out, or use fewer nested aliases",
                )
            ]
        ) from None


# A one-family field written in its per-family form: `address` is `addresses[0]`.
_PLURALS = {
    "address": "addresses",
    "machineNetwork": "machineNetworks",
    "clientNetwork": "clientNetworks",
}


def _written(root: Any, loc: Loc) -> list[str | int]:
    """`loc` with a one-family key the document writes in its per-family form replaced by
    the first entry of that list (`address` -> `addresses`, 0)."""
    steps: list[str | int] = []
    node = root
    for key in loc:
        plural = _PLURALS.get(key) if isinstance(key, str) else None
        if (
            plural is not None
            and isinstance(node, CommentedMap)
            and key not in node
            and plural in node
        ):
            steps += [plural, 0]
            node = (
                node[plural][0] if isinstance(node[plural], CommentedSeq) and node[plural] else None
            )
            continue
        steps.append(key)
        if isinstance(node, CommentedMap | CommentedSeq):
            try:
                node = node[key]
            except (KeyError, IndexError, TypeError):
                node = None
    return steps


def locate(root: Any, loc: Loc) -> tuple[int, int]:
    """1-based (line, column) of the deepest node of `loc` that exists in the YAML tree."""
    line, col = 0, 0
    node = root
    if hasattr(node, "lc"):
        line, col = node.lc.line, node.lc.col
    steps = _written(root, loc)
    for index, key in enumerate(steps):
        if isinstance(node, CommentedMap) and key in node:
            last = index == len(steps) - 1
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
        if err["type"] == "missing" and loc[-1:] == ["routerId"]:
            hint = (
                "FRR's router-id is 32 bits, a dotted quad even on an IPv6-only router: "
                "give one unique per router (its IPv4 address, if it has one)"
            )
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


def _text_position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


class _BoundedScanner(RoundTripScanner):
    """Stops at the first flow collection nested too deep: the scanner looks ahead over every
    open `[`/`{` before the composer's own depth limit can act (seconds for a long run)."""

    def fetch_flow_collection_start(self, TokenClass: Any, to_push: str) -> None:
        if len(self.flow_context) >= MAX_DEPTH:
            mark = self.reader.get_mark()
            raise MaxDepthExceededError(None, None, "too deep", mark)
        super().fetch_flow_collection_start(TokenClass, to_push)


def parse_yaml(text: str, file: str) -> Any:
    """Round-trip parse (keeps line numbers); a YAML syntax error becomes a SpecError."""
    yaml = YAML(typ="rt")
    yaml.max_depth = MAX_DEPTH
    yaml.Scanner = _BoundedScanner
    hint = "check indentation and quoting"
    try:
        return yaml.load(io.StringIO(text))
    except MaxDepthExceededError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"nested deeper than {MAX_DEPTH} levels"
        raise SpecError(
            [Problem(file, line, col, "", message, "a site spec is 6 levels deep")]
        ) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or "invalid YAML"
        raise SpecError([Problem(file, line, col, "", f"YAML syntax: {what}", hint)]) from None
    except ReaderError as exc:
        line, col = _text_position(text, exc.position)
        what = f"character {exc.character!r} is not allowed in YAML"
        raise SpecError([Problem(file, line, col, "", what, "remove it")]) from None
    except YAMLError as exc:
        raise SpecError([Problem(file, 1, 1, "", f"YAML syntax: {exc}", hint)]) from None
    except RecursionError:
        message = "nested too deeply to read"
        raise SpecError(
            [Problem(file, 1, 1, "", message, "a site spec is 6 levels deep")]
        ) from None


def load_site_text(text: str, file: str = "<site>") -> LoadedSite:
    """Validate a site spec given as text; raise SpecError with every problem found."""
    if len(text) > MAX_SPEC_BYTES:
        message = f"the spec is {len(text)} characters, more than the limit of {MAX_SPEC_BYTES}"
        raise SpecError([Problem(file, 0, 0, "", message, "a site spec is at most 2 MiB")])
    for number, line in enumerate(text.splitlines(), 1):
        if len(line) > MAX_SPEC_LINE:
            message = f"line of {len(line)} characters, more than the limit of {MAX_SPEC_LINE}"
            hint = "break the value over several lines"
            raise SpecError([Problem(file, number, MAX_SPEC_LINE + 1, "", message, hint)])
    root = parse_yaml(text, file)
    if not isinstance(root, dict):
        raise SpecError(
            [Problem(file, 1, 1, "", "a site spec is a YAML mapping", "start from `hcplb init`")]
        )
    plain = _bounded_plain(root, text, file)
    try:
        site = Site.model_validate(plain)
    except ValidationError as exc:
        raise SpecError(sorted(_pydantic_problems(exc, root, file), key=_position)) from None
    findings = check_site(site)
    errors = [_located(f, root, file) for f in findings if f.severity == "error"]
    warnings = tuple(_located(f, root, file) for f in findings if f.severity != "error")
    warnings += _todo_warnings(text, file)
    if errors:
        raise SpecError(sorted(errors + list(warnings), key=_position))
    return LoadedSite(site, file, warnings, root)


_TODO = re.compile(r"#\s*TODO\b:?\s*(.*)")


def _todo_warnings(text: str, file: str) -> tuple[Problem, ...]:
    """`hcplb import` marks the values it could not read with `# TODO:`; each is still a guess."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        match = _TODO.search(line)
        if match is None:
            continue
        what = match.group(1).strip() or "a value to confirm"
        found.append(
            Problem(
                file,
                number,
                match.start() + 1,
                "",
                f"placeholder still marked TODO: {what}",
                "confirm or replace the value on this line, then delete the `# TODO` comment",
                severity="warning",
            )
        )
    return tuple(found)


def load_site(path: str | Path) -> LoadedSite:
    """Read and validate the site spec at `path`."""
    file = str(path)
    try:
        data = read_limited(Path(path), MAX_SPEC_BYTES)
    except FileError as exc:
        message = str(exc).removeprefix(f"{file}: ")
        hint = "a site spec is a regular YAML file of at most 2 MiB"
        if message == "no such file":
            hint = "check the path"
        raise SpecError([Problem(file, 0, 0, "", message, hint)]) from None
    return load_site_text(decode_utf8(data, file), file)


def decode_utf8(data: bytes, file: str) -> str:
    """Text of a UTF-8 file; a SpecError at the line and column of the first invalid byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        message = f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        raise SpecError([Problem(file, line, col, "", message, "save the file as UTF-8")]) from None

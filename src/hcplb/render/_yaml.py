"""A small block-style YAML writer for manifests: stable, fast, and with comments where we want them.

Only what manifests need: mappings with string keys, lists, strings, ints, bools and None. A
string is written plain only if YAML 1.1 (Go's yaml, so kubectl) and YAML 1.2 both read it back
as a string; otherwise double-quoted with YAML escapes for the rest. Key order is the dict's
order, so callers decide it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver

Path = tuple[str | int, ...]
Comments = Mapping[Path, str]

_PLAIN = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9_./-]*\Z")
_STR = "tag:yaml.org,2002:str"
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_WORDS = frozenset({"y", "n", "yes", "no", "true", "false", "on", "off", "null"})
_RESOLVERS = (VersionedResolver(version=(1, 1)), VersionedResolver(version=(1, 2)))


def dump(doc: Mapping[str, Any], *, comments: Comments | None = None, header: str = "") -> str:
    """One YAML document; `comments` puts `# text` at the end of the line of the key at a path."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    _mapping(doc, 0, (), lines, comments or {})
    return "\n".join(lines) + "\n"


def dump_all(docs: Sequence[str]) -> str:
    """Documents made by `dump`, separated by `---`."""
    return "---\n".join(docs)


@functools.lru_cache(maxsize=8192)
def scalar(value: str | int | bool | None) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise TypeError(f"cannot write {type(value).__name__} {value!r} as YAML")
    if not _PLAIN.fullmatch(value):
        return _quoted(value)
    if value[0].isalpha():
        # a word can only be read as a bool or null
        return _quoted(value) if value.lower() in _WORDS else value
    return value if all(_resolves_to_str(r, value) for r in _RESOLVERS) else _quoted(value)


_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*\Z")


def _quoted(value: str) -> str:
    """A YAML double-quoted scalar: printable characters as they are, the rest escaped."""
    if _PRINTABLE_ASCII.match(value):  # the usual case, e.g. a long PromQL expression
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    out = []
    for ch in value:
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif code in (0x2028, 0x2029, 0xFEFF):  # line breaks in YAML 1.1; a byte-order mark
            out.append(f"\\u{code:04x}")
        elif (
            0x20 <= code <= 0x7E
            or 0xA0 <= code <= 0xD7FF
            or 0xE000 <= code <= 0xFFFD
            or code >= 0x10000
        ):
            out.append(ch)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        else:
            out.append(f"\\u{code:04x}")
    return '"' + "".join(out) + '"'


def _resolves_to_str(resolver: VersionedResolver, value: str) -> bool:
    tag = resolver.resolve(ScalarNode, value, (True, False))
    return str(getattr(tag, "value", tag)) == _STR


def _is_map(value: Any) -> bool:
    # a dict is asked first: the ABC check alone was a fifth of a 500-cluster render
    return isinstance(value, dict) or isinstance(value, Mapping)  # noqa: SIM101


def _is_leaf(value: Any) -> bool:
    if isinstance(value, str | int | None):
        return True
    return not (isinstance(value, list | tuple) or _is_map(value)) or len(value) == 0


def _leaf(value: Any) -> str:
    if isinstance(value, str | int | None):
        return scalar(value)
    if _is_map(value):
        return "{}"
    if isinstance(value, list | tuple):
        return "[]"
    return scalar(value)


def _note(comments: Comments, path: Path) -> str:
    text = comments.get(path)
    return f"  # {text}" if text else ""


def _mapping(
    value: Mapping[str, Any], indent: int, path: Path, lines: list[str], comments: Comments
) -> None:
    pad = " " * indent
    for key, item in value.items():
        here = (*path, key)
        if _is_leaf(item):
            lines.append(f"{pad}{scalar(key)}: {_leaf(item)}{_note(comments, here)}")
        elif _is_map(item):
            lines.append(f"{pad}{scalar(key)}:{_note(comments, here)}")
            _mapping(item, indent + 2, here, lines, comments)
        else:
            lines.append(f"{pad}{scalar(key)}:{_note(comments, here)}")
            _sequence(item, indent + 2, here, lines, comments)


def _sequence(
    value: Sequence[Any], indent: int, path: Path, lines: list[str], comments: Comments
) -> None:
    pad = " " * indent
    for index, item in enumerate(value):
        here = (*path, index)
        if _is_leaf(item):
            lines.append(f"{pad}- {_leaf(item)}{_note(comments, here)}")
            continue
        start = len(lines)
        if _is_map(item):
            _mapping(item, indent + 2, here, lines, comments)
        else:
            _sequence(item, indent + 2, here, lines, comments)
        # the first line of the item goes on the dash line
        lines[start] = f"{pad}- {lines[start][indent + 2 :]}{_note(comments, here)}"

"""Comment-preserving edits of YAML text with ruamel round-trip, one document at a time.

Only the documents hcplb edits are re-emitted; every other byte of the file is kept as it was.
ruamel attaches a full-line comment to the token *before* it, so a comment that introduces the
next key lives at the end of the previous subtree: when that subtree is deleted or a sibling is
appended after it, the comment lines are moved so they still sit in front of what they preceded.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken

_MARKER = re.compile(r"^(?:---|\.\.\.)[ \t]*(?:#.*)?\Z")


@dataclass(frozen=True)
class Chunk:
    """A piece of a multi-document file: a document's text or a marker line (`---`, `...`)."""

    text: str
    start_line: int  # 1-based line of the chunk's first line in the file
    marker: bool


def split_documents(text: str) -> list[Chunk]:
    """Split YAML text into documents and marker lines; joining the texts gives `text` back.

    A line that is exactly `---` or `...` (plus a comment) at column 0 is always a document
    marker in YAML, never content, so this split is safe without parsing.
    """
    chunks: list[Chunk] = []
    current: list[str] = []
    start = 1
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        if _MARKER.match(line.rstrip("\r\n")):
            if current:
                chunks.append(Chunk("".join(current), start, False))
            chunks.append(Chunk(line, number, True))
            current, start = [], number + 1
        else:
            current.append(line)
    if current:
        chunks.append(Chunk("".join(current), start, False))
    return chunks


def _yaml(mapping: int, sequence: int, offset: int) -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def _indent_candidates() -> Iterator[tuple[int, int, int]]:
    yield (2, 2, 0)  # kubectl / hcp --render style
    yield (2, 4, 2)
    for mapping in (2, 4, 3):
        for offset in range(0, mapping + 1):
            for sequence in sorted({offset + 2, mapping, mapping + offset}):
                if sequence >= offset + 2:
                    yield (mapping, sequence, offset)


def dump(data: Any, yaml: YAML) -> str:
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _differing_lines(a: str, b: str) -> int:
    left, right = a.splitlines(), b.splitlines()
    return sum(x != y for x, y in zip(left, right, strict=False)) + abs(len(left) - len(right))


def load_document(text: str) -> tuple[Any, YAML, int]:
    """Parse one document; the YAML emitter whose round trip is closest to `text`, and how many
    lines that round trip would still change (0 for any file written by kubectl or hcp)."""
    best: tuple[Any, YAML, int] | None = None
    for mapping, sequence, offset in _indent_candidates():
        yaml = _yaml(mapping, sequence, offset)
        data = yaml.load(text)
        changed = _differing_lines(dump(data, yaml), text)
        if best is None or changed < best[2]:
            best = (data, yaml, changed)
        if changed == 0:
            break
    assert best is not None
    return best


# ---- trailing comments ------------------------------------------------------------------


def _last_slot(node: Any) -> tuple[Any, Any, int] | None:
    """(container, key, index in its comment list) of the token that ends `node`'s text."""
    if isinstance(node, CommentedMap) and len(node):
        key = list(node.keys())[-1]
        value = node[key]
        if isinstance(value, CommentedMap | CommentedSeq) and len(value):
            return _last_slot(value)
        return (node, key, 2)
    if isinstance(node, CommentedSeq) and len(node):
        index = len(node) - 1
        value = node[index]
        if isinstance(value, CommentedMap | CommentedSeq) and len(value):
            return _last_slot(value)
        return (node, index, 0)
    return None


def _token(value: str) -> CommentToken:
    return CommentToken(value, CommentMark(0), None)


def take_trailing(node: Any) -> str:
    """Remove and return the full comment lines that follow `node` (not its end-of-line comment)."""
    slot = _last_slot(node)
    if slot is None:
        return ""
    container, key, index = slot
    entry = container.ca.items.get(key)
    if not entry or len(entry) <= index or entry[index] is None:
        return ""
    token: CommentToken = entry[index]
    head, newline, rest = token.value.partition("\n")
    if not newline or not rest:
        return ""
    if head.strip():
        token.value = head + "\n"
    else:
        entry[index] = None
    return rest


def put_trailing(node: Any, lines: str) -> None:
    """Append full comment lines after `node`'s last line."""
    if not lines:
        return
    slot = _last_slot(node)
    if slot is None:
        return
    container, key, index = slot
    entry = container.ca.items.setdefault(key, [None, None, None, None])
    while len(entry) <= index:
        entry.append(None)
    token = entry[index]
    if token is None:
        entry[index] = _token("\n" + lines)
    else:
        value = token.value if token.value.endswith("\n") else token.value + "\n"
        token.value = value + lines


# ---- structural edits ------------------------------------------------------------------


def to_commented(value: Any) -> Any:
    """Plain dicts/lists as ruamel's commented containers (so they dump in block style)."""
    if isinstance(value, Mapping):
        result = CommentedMap()
        for key, item in value.items():
            result[key] = to_commented(item)
        return result
    if isinstance(value, list | tuple):
        return CommentedSeq([to_commented(item) for item in value])
    return value


def to_plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    return value


def _insert_position(target: CommentedMap, key: str) -> int:
    """Where a new key goes: alphabetical when the existing keys are (Go's marshal order)."""
    keys = [str(k) for k in target]
    if keys != sorted(keys):
        return len(keys)
    return sum(1 for k in keys if k < key)


def set_key(target: CommentedMap, key: str, value: Any) -> None:
    """Set `target[key]`, keeping the comments around it and the order of the other keys."""
    if key in target:
        old = target[key]
        if isinstance(old, CommentedMap | CommentedSeq):
            trailing = take_trailing(old)
            target[key] = to_commented(value)
            if trailing and not put_after(target, key, trailing):
                put_trailing(target, trailing)
        else:
            target[key] = to_commented(value)
        return
    position = _insert_position(target, key)
    trailing = take_trailing(target) if position == len(target) else ""
    leading = _take_leading(target) if position == 0 else ""
    target.insert(position, key, to_commented(value))
    put_trailing(target, trailing)
    if leading:
        put_after(target, key, leading)


def _take_leading(target: CommentedMap) -> str:
    """Remove and return the comment lines in front of the map's first key."""
    comment = target.ca.comment
    if not comment or len(comment) < 2 or not comment[1]:
        return ""
    lines = "".join(" " * t.column + t.value for t in comment[1] if t is not None)
    comment[1] = []
    return lines


def put_after(target: CommentedMap, key: str, lines: str) -> bool:
    """Attach comment lines after the subtree of `target[key]`; False if it has no token slot."""
    value = target[key]
    if isinstance(value, CommentedMap | CommentedSeq) and len(value):
        put_trailing(value, lines)
        return True
    entry = target.ca.items.setdefault(key, [None, None, None, None])
    token = entry[2]
    if token is None:
        entry[2] = _token("\n" + lines)
    else:
        token.value = (token.value if token.value.endswith("\n") else token.value + "\n") + lines
    return True


def delete_key(target: CommentedMap, key: str) -> None:
    """Delete `target[key]`; comment lines that introduced the next key stay in front of it."""
    keys = list(target.keys())
    position = keys.index(key)
    value = target[key]
    trailing = take_trailing(value) if isinstance(value, CommentedMap | CommentedSeq) else ""
    entry = target.ca.items.get(key)
    if entry and len(entry) > 2 and entry[2] is not None:
        _, newline, rest = entry[2].value.partition("\n")
        trailing = (rest if newline else "") + trailing
    del target[key]
    if not trailing:
        return
    if position > 0:
        put_after(target, keys[position - 1], trailing)
    elif len(target):
        # comment lines in front of the map's (new) first key
        if target.ca.comment is None:
            target.ca.comment = [None, []]
        while len(target.ca.comment) < 2:
            target.ca.comment.append(None)
        if target.ca.comment[1] is None:
            target.ca.comment[1] = []
        target.ca.comment[1].append(_token(trailing))
    else:
        put_trailing(target, trailing)


def sync_map(target: CommentedMap, desired: Mapping[str, Any]) -> None:
    """Make `target` equal `desired`: changed keys set in place, extra keys deleted, new ones inserted."""
    for key in [k for k in target if k not in desired]:
        delete_key(target, key)
    for key, value in desired.items():
        if key in target and isinstance(target[key], CommentedMap) and isinstance(value, Mapping):
            sync_map(target[key], value)
        elif key not in target or to_plain(target[key]) != to_plain(value):
            set_key(target, key, value)


def append_item(target: CommentedSeq, value: Any) -> None:
    """Append to a block sequence; comment lines after the old last item move after the new one."""
    trailing = take_trailing(target)
    target.append(to_commented(value))
    put_trailing(target, trailing)

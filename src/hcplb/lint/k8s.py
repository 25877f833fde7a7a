"""Read Kubernetes manifests (multi-document YAML, `kind: List`) keeping each field's line.

A YAML error, or a document that is not a Kubernetes object, becomes a finding at its line.
Accessors never raise on a field of the wrong type: they return None (or empty), and the
CRD schema check reports the type.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from hcplb.lint.findings import Finding, Where, error

_MAX_DEPTH = 64
_MAX_NODES = 200_000  # aliases can make a small file expand without bound ("billion laughs")


class TooLarge(ValueError):
    """A document expands (through YAML aliases) beyond what a manifest can be."""


def plain(node: Any, depth: int = 0, budget: list[int] | None = None) -> Any:
    """A plain dict/list/scalar copy (string keys); cycles and absurd depth become None."""
    budget = budget if budget is not None else [_MAX_NODES]
    budget[0] -= 1
    if budget[0] < 0:
        raise TooLarge(f"the document expands to more than {_MAX_NODES} values (YAML aliases?)")
    if depth > _MAX_DEPTH:
        return None
    if isinstance(node, Mapping):
        return {str(k): plain(v, depth + 1, budget) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v, depth + 1, budget) for v in node]
    return node


def _line_of(node: Any, path: tuple[str | int, ...]) -> int:
    """1-based line of the deepest existing step of `path` below `node` (0 if unknown)."""
    line = node.lc.line + 1 if hasattr(node, "lc") and node.lc.line is not None else 0
    for key in path:
        if isinstance(node, CommentedMap) and key in node:
            pos = node.lc.key(key)
            line = pos[0] + 1 if pos else line
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
            pos = node.lc.item(key)
            line = pos[0] + 1 if pos else line
            node = node[key]
        else:
            break
    return line


@dataclass(frozen=True, eq=False)
class Manifest:
    """One Kubernetes object as read from a file."""

    file: str
    line: int
    api_version: str
    kind: str
    name: str
    namespace: str | None
    body: Mapping[str, Any]
    node: Any = None

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    @property
    def ref(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {ns}{self.name}"

    def is_a(self, kind: str, group: str | None = None) -> bool:
        return self.kind == kind and (group is None or self.group == group)

    def get(self, *path: str | int) -> Any:
        node: Any = self.body
        for key in path:
            if isinstance(node, Mapping) and isinstance(key, str):
                node = node.get(key)
            elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
                node = node[key]
            else:
                return None
        return node

    def text(self, *path: str | int) -> str | None:
        value = self.get(*path)
        return value if isinstance(value, str) else None

    def integer(self, *path: str | int) -> int | None:
        value = self.get(*path)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def flag(self, *path: str | int) -> bool:
        return self.get(*path) is True

    def items(self, *path: str | int) -> list[Any]:
        value = self.get(*path)
        return value if isinstance(value, list) else []

    def mapping(self, *path: str | int) -> dict[str, Any]:
        value = self.get(*path)
        return dict(value) if isinstance(value, Mapping) else {}

    def has(self, *path: str | int) -> bool:
        return self.get(*path) is not None

    def where(self, *path: str | int) -> Where:
        if self.node is None:
            return Where(self.file, self.line)
        return Where(self.file, _line_of(self.node, path) or self.line)


def _manifest(doc: Any, file: str, index: int) -> tuple[Manifest | None, Finding | None]:
    line = doc.lc.line + 1 if hasattr(doc, "lc") else 1
    where = Where(file, line)
    if not isinstance(doc, Mapping):
        return None, error(
            where, "read.yaml", f"document {index} is not a mapping", "a manifest is a YAML map"
        )
    body = plain(doc)
    kind, api = body.get("kind"), body.get("apiVersion")
    if not isinstance(kind, str) or not isinstance(api, str) or not kind or not api:
        return None, error(
            where,
            "read.k8s",
            f"document {index} is not a Kubernetes object (no apiVersion/kind)",
            "every manifest needs apiVersion, kind and metadata",
        )
    meta = body.get("metadata") if isinstance(body.get("metadata"), Mapping) else {}
    raw_name, raw_ns = meta.get("name"), meta.get("namespace")
    name = raw_name if isinstance(raw_name, str) else ""
    namespace = raw_ns if isinstance(raw_ns, str) and raw_ns else None
    return Manifest(file, line, api, kind, name, namespace, body, doc), None


def _flatten(doc: Any, file: str, index: int) -> Iterator[tuple[Manifest | None, Finding | None]]:
    if (
        isinstance(doc, Mapping)
        and doc.get("kind") == "List"
        and isinstance(doc.get("items"), list)
    ):
        for item in doc["items"]:
            yield _manifest(item, file, index)
        return
    yield _manifest(doc, file, index)


def read_manifests(text: str, file: str) -> tuple[list[Manifest], list[Finding]]:
    """Every object in a (multi-document) YAML text; problems as findings, never raised."""
    yaml = YAML(typ="rt")
    manifests: list[Manifest] = []
    findings: list[Finding] = []
    index = 0
    try:
        for doc in yaml.load_all(io.StringIO(text)):
            index += 1
            if doc is None:
                continue
            for manifest, finding in _flatten(doc, file, index):
                if manifest is not None:
                    manifests.append(manifest)
                if finding is not None:
                    findings.append(finding)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        findings.append(
            error(
                Where(file, line),
                "read.yaml",
                f"YAML syntax: {exc.problem or exc.context or 'invalid YAML'}",
                "check indentation and quoting",
            )
        )
    except (YAMLError, RecursionError, ValueError, TypeError) as exc:
        findings.append(error(Where(file, 1), "read.yaml", f"cannot read YAML: {exc}", ""))
    return manifests, findings

"""Read Kubernetes manifests (multi-document YAML, `kind: List`) keeping each field's line.

A YAML error, or a document that is not a Kubernetes object, becomes a finding at its line.
Accessors never raise on a field of the wrong type: they return None (or empty), and the
CRD schema check reports the type.

Parsing uses PyYAML's composer (libyaml when present: a rendered 500-cluster site is
thousands of documents) and keeps the node tree for line numbers. Its YAML 1.1 scalars
(`yes` is true) are what the Kubernetes API server reads too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from hcplb.lint.findings import Finding, Where, error

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc]
    """YAML 1.1 as Kubernetes' go-yaml reads it: no base-60 numbers (`65535:65282` is a
    string, a BGP community), timestamps stay strings."""


_NUMBERS = {
    "tag:yaml.org,2002:int": re.compile(
        r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"
    ),
    "tag:yaml.org,2002:float": re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
}
_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, _NUMBERS.get(tag, rx))
        for tag, rx in resolvers
        if not tag.endswith(("timestamp", "value"))
    ]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
}
_MAX_DEPTH = 64
_MAX_NODES = 200_000  # aliases can make a small file expand without bound ("billion laughs")
_SCALARS = yaml.constructor.SafeConstructor()


class TooLarge(ValueError):
    """A document expands (through YAML aliases) beyond what a manifest can be."""


class DuplicateKey(ValueError):
    """A mapping repeats a key (the API server's YAML reader refuses it)."""

    def __init__(self, key: str, line: int) -> None:
        super().__init__(f"mapping key {key!r} is repeated")
        self.line = line


_STR = "tag:yaml.org,2002:str"


def _scalar(node: ScalarNode) -> Any:
    if node.tag == _STR:  # most scalars: what the constructor would return, without it
        return node.value
    try:
        return _SCALARS.construct_object(node)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError):
        return node.value


def plain(node: Node, depth: int = 0, budget: list[int] | None = None) -> Any:
    """Plain dicts, lists and scalars (string keys) from a node tree, within a budget."""
    budget = budget if budget is not None else [_MAX_NODES]
    budget[0] -= 1
    if budget[0] < 0:
        raise TooLarge(f"the document expands to more than {_MAX_NODES} values (YAML aliases?)")
    if depth > _MAX_DEPTH:
        return None
    if isinstance(node, MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(_scalar(key_node)) if isinstance(key_node, ScalarNode) else "?"
            if key == "<<" and key_node.tag == "tag:yaml.org,2002:merge":
                merged = plain(value_node, depth + 1, budget)
                for item in merged if isinstance(merged, list) else [merged]:
                    if isinstance(item, dict):
                        out = {**item, **out}
                continue
            if key in out:
                raise DuplicateKey(key, key_node.start_mark.line + 1)
            out[key] = plain(value_node, depth + 1, budget)
        return out
    if isinstance(node, SequenceNode):
        return [plain(v, depth + 1, budget) for v in node.value]
    if isinstance(node, ScalarNode):
        return _scalar(node)
    return None


def _line_of(node: Any, path: tuple[str | int, ...]) -> int:
    """1-based line of the deepest existing step of `path` below `node` (0 if unknown)."""
    line = node.start_mark.line + 1 if isinstance(node, Node) else 0
    for key in path:
        if isinstance(node, MappingNode) and isinstance(key, str):
            pair = next(
                ((k, v) for k, v in node.value if isinstance(k, ScalarNode) and k.value == key),
                None,
            )
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
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


def _manifest(node: Node, file: str, index: int) -> tuple[Manifest | None, Finding | None]:
    line = node.start_mark.line + 1
    where = Where(file, line)
    if not isinstance(node, MappingNode):
        return None, error(
            where, "read.yaml", f"document {index} is not a mapping", "a manifest is a YAML map"
        )
    body = plain(node)
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
    return Manifest(file, line, api, kind, name, namespace, body, node), None


def _items_node(node: Node) -> SequenceNode | None:
    """The `items` of a `kind: List` document, else None."""
    if not isinstance(node, MappingNode):
        return None
    fields = {k.value: v for k, v in node.value if isinstance(k, ScalarNode)}
    kind, items = fields.get("kind"), fields.get("items")
    if isinstance(kind, ScalarNode) and kind.value == "List" and isinstance(items, SequenceNode):
        return items
    return None


def _flatten(node: Node, file: str, index: int) -> Iterator[tuple[Manifest | None, Finding | None]]:
    items = _items_node(node)
    for item in items.value if items is not None else [node]:
        try:
            yield _manifest(item, file, index)
        except DuplicateKey as exc:
            yield (
                None,
                error(
                    Where(file, exc.line),
                    "read.yaml",
                    f"YAML: {exc}",
                    "a key repeated inside one document is usually a missing `---` between two "
                    "objects; otherwise keep one of the two",
                ),
            )


def read_manifests(text: str, file: str) -> tuple[list[Manifest], list[Finding]]:
    """Every object in a (multi-document) YAML text; problems as findings, never raised."""
    manifests: list[Manifest] = []
    findings: list[Finding] = []
    index = 0
    try:
        for node in yaml.compose_all(text, Loader=_Loader):
            index += 1
            if node is None:
                continue
            for manifest, finding in _flatten(node, file, index):
                if manifest is not None:
                    manifests.append(manifest)
                if finding is not None:
                    findings.append(finding)
    except yaml.MarkedYAMLError as exc:
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
    except (yaml.YAMLError, RecursionError, ValueError, TypeError) as exc:
        findings.append(error(Where(file, 1), "read.yaml", f"cannot read YAML: {exc}", ""))
    return manifests, findings

"""The import contract of src/hcplb: rooms in layers, nothing imports upward, no cycles.

Read with `ast` from the sources (lazy imports inside functions count too), so it needs no
import-linter. A new room must be given a layer here; docs/architecture.md draws the same
picture.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "hcplb"

# Lower layers never import higher ones; rooms of one layer may import each other without
# forming a cycle. The bottom holds spec, plan and the leaf utilities (pure, or the one
# subprocess gate); `lint` may grow sub-packages (`hcplb.lint.x` is room lint).
LAYERS: dict[str, int] = {
    **dict.fromkeys(
        (
            "spec",
            "plan",
            "errors",
            "runner",
            "secrets",
            "gotext",
            "schemas",
            "settings",
            "graphviz",
        ),
        0,
    ),
    "frrjson": 0,
    "fsutil": 0,
    "dnsowner": 0,
    **dict.fromkeys(
        ("metallb", "render", "lint", "importer", "probes", "hypershift", "targets", "converged"),
        1,
    ),
    **dict.fromkeys(("lab", "apply", "bench", "report"), 2),
    "cli": 3,
}
# Only these modules start processes themselves; everything else goes through runner.run.
PROCESS_MODULES = {"hcplb.runner", "hcplb.lab.procs"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module) of every import in the file, relative ones resolved."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            yield node.lineno, name
            for alias in node.names:  # `from hcplb import lab` imports the room lab
                if name == "hcplb":
                    yield node.lineno, f"hcplb.{alias.name}"


def _room(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "hcplb" or len(parts) < 2:
        return None
    return parts[1]


def _sources() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _edges() -> dict[tuple[str, str], str]:
    """(importing room, imported room) -> `file:line` of one such import."""
    edges: dict[tuple[str, str], str] = {}
    for path in _sources():
        source = _room(_module_name(path))
        if source is None:
            continue
        for line, name in _imports(path):
            target = _room(name)
            if target is not None and target != source:
                edges.setdefault((source, target), f"{path.relative_to(SRC.parent)}:{line}")
    return edges


def test_every_room_has_a_layer() -> None:
    rooms = {_room(_module_name(p)) for p in _sources()} - {None}
    unknown = sorted(r for r in rooms if r not in LAYERS)
    assert not unknown, f"rooms without a layer in tests/test_layers.py: {unknown}"


def test_nothing_imports_upward() -> None:
    upward = [
        f"{where}: {a} (layer {LAYERS[a]}) imports {b} (layer {LAYERS[b]})"
        for (a, b), where in sorted(_edges().items())
        if a in LAYERS and b in LAYERS and LAYERS[b] > LAYERS[a]
    ]
    assert not upward, "\n".join(upward)


def test_no_cycles_between_rooms() -> None:
    edges = _edges()
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)

    def reaches(start: str, goal: str) -> list[str] | None:
        stack = [(start, [start])]
        seen = set()
        while stack:
            here, route = stack.pop()
            for nxt in sorted(graph.get(here, ())):
                if nxt == goal:
                    return [*route, nxt]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*route, nxt]))
        return None

    cycles = []
    for a, b in sorted(edges):
        back = reaches(b, a)
        if back is not None:
            cycles.append(f"{edges[(a, b)]}: {a} -> {' -> '.join(back)}")
    assert not cycles, "\n".join(cycles)


@pytest.mark.parametrize("banned", ["subprocess"])
def test_processes_only_through_the_runner(banned: str) -> None:
    offenders = [
        f"{path.relative_to(SRC.parent)}:{line}"
        for path in _sources()
        if _module_name(path) not in PROCESS_MODULES
        for line, name in _imports(path)
        if name == banned or name.startswith(f"{banned}.")
    ]
    assert not offenders, f"import {banned} outside {sorted(PROCESS_MODULES)}: {offenders}"


def test_the_contract_reads_package_and_lazy_imports() -> None:
    """The reader itself: a package's imports and an import inside a function count."""
    found = {name for _line, name in _imports(SRC / "lab" / "__init__.py")}
    assert any(n.startswith("hcplb.lab.") for n in found)
    lazy = SRC / "cli" / "verify_cmds.py"  # imports the lab only for --lab
    assert "hcplb.lab.verification" in {name for _line, name in _imports(lazy)}


def test_script_run_in_lab_hosts_imports_only_the_standard_library() -> None:
    """The API stand-in runs as a plain script file in lab hosts, where hcplb may not import."""
    path = SRC / "lab" / "apiserver.py"
    ours = [f"{line}: {name}" for line, name in _imports(path) if name.startswith("hcplb")]
    assert not ours, f"{path.name} imports {ours}"


PURE_ROOMS = ("spec", "plan", "frrjson", "converged", "render", "metallb", "gotext", "schemas")


def test_pure_rooms_never_reach_ssh_or_kubernetes() -> None:
    """spec, plan, render, MetalLB's model and the converged model stay pure (STYLE.md)."""
    edge = ("asyncssh", "lightkube", "httpx", "httpx2", "subprocess", "socket")
    offenders = [
        f"{path.relative_to(SRC.parent)}:{line}: {name}"
        for path in _sources()
        if _room(_module_name(path)) in PURE_ROOMS
        for line, name in _imports(path)
        if name.split(".")[0] in edge
    ]
    assert not offenders, "\n".join(offenders)

"""Property: any mutation of the seed spec renders, or exits 2 with located messages; never a bug."""

from __future__ import annotations

import copy
import io
import re
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from typer.testing import CliRunner

from hcplb.cli import app

from .conftest import EXAMPLES

SEED = (EXAMPLES / "seed.yaml").read_text()
LOCATED = re.compile(r"^\S+:\d+:\d+: (error|warning): ")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.text(max_size=20),
    st.sampled_from(["10.0.2.20", "192.168.125.0/24", "90s", "0s", "hosted", "", "a-b", "::1"]),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.text(max_size=8), scalars, max_size=2),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _mutate(doc: Any, path: tuple[Any, ...], action: str, value: Any) -> Any:
    doc = copy.deepcopy(doc)
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if action == "delete":
        del parent[last]
    elif action == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))
    else:
        parent[last] = value
    return doc


def _load(text: str) -> Any:
    return YAML(typ="safe").load(text)


BASE = _load(SEED)
PATHS = _paths(BASE)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(PATHS), st.sampled_from(["set", "delete", "duplicate"]), values),
        min_size=1,
        max_size=3,
    )
)
def test_mutated_seed_renders_or_fails_located(
    edits: list[tuple[tuple[Any, ...], str, Any]],
) -> None:
    doc = BASE
    for path, action, value in edits:
        try:
            doc = _mutate(doc, path, action, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or replaced the parent
    stream = io.StringIO()
    YAML(typ="safe").dump(doc, stream)
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site.yaml"
        site.write_text(stream.getvalue())
        out = Path(tmp) / "out"
        result = CliRunner().invoke(app, ["render", str(site), "-o", str(out)])
        assert result.exit_code in (0, 2), result.output
        if result.exit_code == 2:
            lines = [line for line in result.output.split("\n") if line.strip()]
            assert lines, "exit 2 with no message"
            assert all(LOCATED.match(line) for line in lines), result.output
            assert not out.exists(), "a failed render left an output directory"
        else:
            assert (out / "README.md").is_file()
        assert "Traceback" not in result.output

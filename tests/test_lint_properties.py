"""Property: random edits of a clean rendered site never crash lint (findings or clean).

Two kinds of edit: on the text (lines dropped, doubled, swapped, truncated, garbage put in)
and on the YAML structure (any field given a value of any type). Every finding must be
located in one of the files, and no rule may fail internally.
"""

from __future__ import annotations

import io
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from hcplb.lint.engine import lint_inputs
from hcplb.lint.sources import read_texts
from hcplb.render import Secrets, render_site
from hcplb.spec import load_site

from .conftest import EXAMPLES

_FILES: dict[str, dict[str, str]] = {}


def rendered(name: str) -> dict[str, str]:
    if name not in _FILES:
        site = load_site(EXAMPLES / f"{name}.yaml").site
        _FILES[name] = {f.path: f.content for f in render_site(site, Secrets()).files}
    return _FILES[name]


GARBAGE = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "neighbor 1.2.3.4 remote-as 1",
            "router bgp",
            "router bgp 99999999999",
            " address-family ipv6 unicast",
            "ip prefix-list X permit any",
            "route-map X permit 10",
            "  match ip address prefix-list NOPE",
            "exit",
            "end",
            "bgp listen range 0.0.0.0/0 peer-group NOPE",
            "maximum-paths 0",
            "- {",
            ": :",
            "&a [*a]",
            "spec: null",
            "spec: [1, 2]",
            "kind: List",
            "$ORIGIN .",
            "@ IN A 999.1.1.1",
            "-A INPUT -p tcp --dport 179 -j ACCEPT",
            "tcp dport { 179 } accept",
            "firewall-cmd --add-port=179/tcp",
            "\ttab",
            "\x00",
            "'unterminated",
            "x" * 500,
        ]
    ),
)


def _text_edit(text: str, rnd: random.Random, garbage: str) -> str:
    lines = text.splitlines()
    if not lines:
        return garbage
    i = rnd.randrange(len(lines))
    kind = rnd.randrange(6)
    if kind == 0:
        del lines[i]
    elif kind == 1:
        lines.insert(i, lines[i])
    elif kind == 2:
        j = rnd.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == 3:
        lines = lines[:i]
    elif kind == 4:
        lines.insert(i, garbage)
    else:
        words = lines[i].split(" ")
        words[rnd.randrange(len(words))] = garbage
        lines[i] = " ".join(words)
    return "\n".join(lines) + "\n"


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.text(max_size=20),
    st.sampled_from(
        ["10.0.2.20", "10.0.2.0/33", "::1", "1s", "-1s", "internal", "LoadBalancer", "a:b"]
    ),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _yaml_edit(text: str, rnd: random.Random, value: Any) -> str:
    yaml = YAML(typ="safe")
    try:
        docs = [d for d in yaml.load_all(text) if d is not None]
    except Exception:  # an earlier edit left text no YAML parser reads: keep it as it is
        return text
    if not docs:
        return text
    doc = rnd.choice(docs)
    paths = [p for p in _paths(doc) if p]
    if not paths:
        return text
    path = rnd.choice(paths)
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    out = io.StringIO()
    yaml.dump_all(docs, out)
    return out.getvalue()


def _check(files: dict[str, str]) -> None:
    inputs, read = read_texts(files.items())
    report = lint_inputs(inputs, read)
    assert [f for f in report.findings if f.rule == "lint.internal"] == []
    for finding in report.findings:
        assert finding.file in files or finding.file in ("<input>", "site spec"), finding
        assert 0 <= finding.line <= files.get(finding.file, "").count("\n") + 2, finding
    assert report.exit_code in (0, 1, 3)


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("site", ["seed", "fleet"])
@SETTINGS
@given(seed=st.integers(0, 2**32), edits=st.integers(1, 4), garbage=GARBAGE)
def test_text_edits_never_crash(site: str, seed: int, edits: int, garbage: str) -> None:
    rnd = random.Random(seed)
    files = dict(rendered(site))
    for _ in range(edits):
        path = rnd.choice(sorted(files))
        files[path] = _text_edit(files[path], rnd, garbage)
    _check(files)


@SETTINGS
@given(seed=st.integers(0, 2**32), value=VALUES)
def test_yaml_value_edits_never_crash(seed: int, value: Any) -> None:
    rnd = random.Random(seed)
    files = dict(rendered("seed"))
    yaml_files = sorted(p for p in files if p.endswith(".yaml"))
    path = rnd.choice(yaml_files)
    files[path] = _yaml_edit(files[path], rnd, value)
    _check(files)

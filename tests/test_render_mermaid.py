"""The runbook's Mermaid block, drawn by Mermaid itself (its browser bundle, in headless
Chromium) as Git hosting would: it parses, and draws one box per router, node and VIP and one
link per BGP session."""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

import pytest

from hcplb.render.topology import topology_mermaid
from tests import browser
from tests.conftest import missing
from tests.render_cases import load_case, render_case, set_secret_env

CASES = ("seed", "fleet", "no-bfd")


def _bundle() -> Path:
    found = sorted((Path(sys.prefix) / "share" / "hcplb").glob("mermaid-*.min.js"))
    if not found:
        missing("mermaid's browser bundle not fetched (make setup fetches it with npm)")
    return found[-1]


def test_mermaid_draws_the_runbook_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    set_secret_env(monkeypatch)
    blocks = {}
    for case in CASES:
        readme = render_case(case).get("README.md").content
        block = re.search(r"```mermaid\n(.*?)```", readme, re.S)
        assert block is not None and block.group(1) == topology_mermaid(load_case(case)[0])
        blocks[case] = block.group(1)
    page = tmp_path / "mermaid.html"
    pres = "".join(
        f'<div id="case-{c}"><pre class="mermaid">{html.escape(b)}</pre></div>'
        for c, b in blocks.items()
    )
    page.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f'<script src="{_bundle().resolve().as_uri()}"></script></head><body>{pres}<script>'
        "mermaid.initialize({startOnLoad: false});"
        'mermaid.run({querySelector: "pre.mermaid"})'
        '.then(() => document.body.setAttribute("data-done", "ok"))'
        '.catch((e) => document.body.setAttribute("data-done", "error: " + e));'
        "</script></body></html>"
    )
    dom = browser.dump_dom(page, tmp_path / "profile", budget_ms=20000)
    done = re.search(r'<body[^>]*data-done="([^"]*)"', dom)
    assert done is not None and done.group(1) == "ok", done.group(1) if done else dom[-2000:]
    starts = [dom.index(f'<div id="case-{c}">') for c in CASES] + [len(dom)]
    for i, case in enumerate(CASES):
        part = dom[starts[i] : starts[i + 1]]
        plan, _ = load_case(case)
        drawn = re.findall(r'<g class="node[^"]*" id="[^"]*?flowchart-(\w+?)-\d+"', part)
        assert sum(d.startswith("router_") for d in drawn) == len(plan.routers), case
        assert sum(d.startswith("node_") for d in drawn) == len(plan.nodes), case
        assert sum(d.startswith("vip_") for d in drawn) == len(plan.clusters), case
        # each link is drawn as a path and labelled: count distinct link ids
        links = set(re.findall(r'id="(?:mermaid-\d+-)?(L_router_\w+?_node_\w+?_\d+)"', part))
        assert len(links) == len(plan.peerings), case

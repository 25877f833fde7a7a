"""The drain script's merge keeps every other nexthop's hash region (run with sh, no lab)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from hcplb.plan import plan_site
from hcplb.render.drain import render_drain_script
from hcplb.runner import run
from hcplb.spec import load_site

from .conftest import EXAMPLES

Hops = list[tuple[str, int]]


@pytest.fixture(scope="module")
def script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    plan = plan_site(load_site(EXAMPLES / "seed.yaml").site)
    path = tmp_path_factory.mktemp("drain") / "drain-pin.sh"
    path.write_text(render_drain_script(plan, plan.routers[0]))
    return path


def _merge(script: Path, hops: Hops, leaving: str) -> Hops:
    lines = "".join(f"{gw} eth0 {w}\n" for gw, w in hops)
    result = run(["sh", str(script), "merge", leaving], timeout=10, input=lines)
    assert result.ok, result.stderr
    words = result.stdout.split()
    return [(words[i + 2], int(words[i + 6])) for i in range(0, len(words), 7)]


def _regions(hops: Hops) -> dict[str, tuple[Fraction, Fraction]]:
    """Linux hash-threshold: the hash space cut in nexthop order, sized by weight."""
    total, start, out = sum(w for _, w in hops), Fraction(0), {}
    for gw, w in hops:
        out[gw] = (start, start + Fraction(w, total))
        start += Fraction(w, total)
    return out


def test_every_staying_hop_keeps_its_region_whichever_leaves(script: Path) -> None:
    for count in (2, 3, 4, 6):
        hops = [(f"10.0.0.{i}", 1 + i % 2) for i in range(count)]
        before = _regions(hops)
        for leaving, _weight in hops:
            merged = _merge(script, hops, leaving)
            assert [gw for gw, _ in merged] == [gw for gw, _ in hops if gw != leaving]
            assert sum(w for _, w in merged) == sum(w for _, w in hops)
            for gw, (start, end) in _regions(merged).items():
                old = before[gw]
                assert start <= old[0] and old[1] <= end, (count, leaving, gw)


def test_the_heir_is_the_next_hop_else_the_one_before(script: Path) -> None:
    hops = [("a", 1), ("b", 1), ("c", 1)]
    assert _merge(script, hops, "b") == [("a", 1), ("c", 2)]
    assert _merge(script, hops, "c") == [("a", 1), ("b", 2)]


def test_the_script_refuses_what_it_does_not_know(script: Path) -> None:
    result = run(["sh", str(script), "drain"], timeout=10)
    assert result.rc == 2 and "usage:" in result.stderr

"""The indexes lint uses instead of quadratic scans answer exactly what the scans answered."""

from __future__ import annotations

import gc
import ipaddress
import random
from pathlib import Path

from hcplb.lint.dnsfiles import Record
from hcplb.lint.engine import lint_paths
from hcplb.lint.facts import ClusterFact
from hcplb.lint.findings import Where
from hcplb.lint.metallb.pools import Net, _Blocks
from hcplb.lint.world import index_records, records_for


def _random_net(rng: random.Random) -> Net:
    if rng.random() < 0.5:
        base = rng.choice([0x0A000000, 0x0A000100]) | rng.randrange(256)
        return ipaddress.IPv4Network((base, rng.randint(20, 32)), strict=False)
    return ipaddress.IPv6Network(
        ((0xFD << 120) | rng.randrange(256), rng.randint(118, 128)), strict=False
    )


def test_blocks_overlap_as_ipaddress_does() -> None:
    rng = random.Random(11)
    for _ in range(200):
        blocks, seen = _Blocks(), []
        for _ in range(20):
            net = _random_net(rng)
            assert blocks.overlaps(net) == any(net.overlaps(old) for old in seen), (net, seen)
            blocks.add(net)
            seen.append(net)


def _scan(records: tuple[Record, ...], cluster: ClusterFact) -> list[Record]:
    names = cluster.api_names
    short = (f"api.{cluster.name}", f"api-int.{cluster.name}")
    return [
        r
        for r in records
        if r.name in names
        or r.name in short
        or (not names and r.name.startswith(tuple(s + "." for s in short)))
    ]


def test_records_for_with_index_matches_the_scan() -> None:
    rng = random.Random(5)
    names = [
        "api.a.example.lab",
        "api-int.a.example.lab",
        "api.a",
        "api-int.b",
        "api.b.x.example.lab",
        "api.b.example.lab",
        "www.example.lab",
    ]
    records = tuple(
        Record(rng.choice(names), rng.choice(["A", "AAAA", "TXT"]), f"10.0.0.{i}", "z", i + 1)
        for i in range(60)
    )
    index = index_records(records)
    for cluster in (
        ClusterFact("a", "clusters", Where("s"), "example.lab"),
        ClusterFact("b", "clusters", Where("s"), "example.lab."),
        ClusterFact("b", "clusters", Where("s")),
        ClusterFact("c", "clusters", Where("s"), "example.lab"),
    ):
        expected = _scan(records, cluster)
        assert records_for(records, cluster, index) == expected
        assert records_for(records, cluster) == expected


def test_lint_restores_the_garbage_collector(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    assert gc.isenabled()
    lint_paths([tmp_path])
    assert gc.isenabled()
    gc.disable()
    try:
        lint_paths([tmp_path])
        assert not gc.isenabled()
    finally:
        gc.enable()

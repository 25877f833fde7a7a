"""`bench stability`: profiles, flap counting, the variant sites, the loads, and a real lab
run in which an injected node failure must be counted (else the counters prove nothing)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hcplb.bench.flaps import Flaps, Snapshot, count_flaps, lost_nexthops
from hcplb.bench.stability import BfdChoice, CpuLoad, parse_profiles, run_stability, variant_site
from hcplb.cli import app
from hcplb.errors import HcplbError
from hcplb.frrjson import parse_bfd_counters
from hcplb.lab import Lab, list_labs, procs
from hcplb.lab import faults as F
from hcplb.lab import watch as W
from hcplb.lab.impair import Impairment
from hcplb.render.stability import stability_evidence
from hcplb.spec import load_site
from hcplb.spec.models import Bfd

from .conftest import EXAMPLES, ROOT, need_root, need_tool

DATA = Path(__file__).parent / "data"


def test_profiles_fastest_last_and_the_specs_own_marked() -> None:
    choices = parse_profiles(
        "100x3, 300x3,50x3,spec", Bfd(receive_interval=100, transmit_interval=100)
    )
    assert [c.label for c in choices] == ["300x3", "100x3 (spec)", "50x3"]
    assert [c.detection_ms for c in choices] == [900, 300, 150]
    assert [c.from_spec for c in choices] == [False, True, False]
    (own,) = parse_profiles(
        "spec", Bfd(receive_interval=200, transmit_interval=250, detect_multiplier=4)
    )
    assert (own.label, own.detection_ms) == ("200x4 (spec)", 1000)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("300", "is not INTERVALxMULTIPLIER"),
        ("5x3", "intervals 10-60000 ms"),
        ("300x1", "multipliers 2-255"),
        ("spec", "BFD off"),
        (" , ", "is not INTERVALxMULTIPLIER"),
    ],
)
def test_bad_profiles_are_named(text: str, message: str) -> None:
    with pytest.raises(HcplbError, match=message):
        parse_profiles(text, None)


def test_cli_names_a_bad_profile_without_a_traceback() -> None:
    result = CliRunner().invoke(
        app, ["bench", "stability", str(EXAMPLES / "seed.yaml"), "--profiles", "300x3,fast"]
    )
    assert "Traceback" not in result.output
    assert result.exit_code == 2
    assert "'fast' is not INTERVALxMULTIPLIER (hint: 300x3,100x3,50x3,spec)" in result.output


def test_variant_site_has_the_profiles_timers_and_absolute_secret_files(tmp_path: Path) -> None:
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    text = (
        (EXAMPLES / "seed.yaml")
        .read_text()
        .replace("# password: {env: HCPLB_BGP_PASSWORD}", "password: {file: bgp.secret}")
    )
    (site_dir / "site.yaml").write_text(text)
    out = tmp_path / "out"
    out.mkdir()
    path = variant_site(site_dir / "site.yaml", BfdChoice("50x3", 50, 50, 3), out)
    loaded = load_site(path).site
    bfd = loaded.spec.bgp.bfd
    assert bfd is not None
    assert (bfd.receive_interval, bfd.transmit_interval, bfd.detect_multiplier) == (50, 50, 3)
    password = loaded.spec.bgp.password
    assert password is not None and password.file == str((site_dir / "bgp.secret").resolve())
    assert "# The upstream router(s)" in path.read_text()  # the comments stay
    own = BfdChoice("100x3 (spec)", 100, 100, 3, from_spec=True)
    assert variant_site(site_dir / "site.yaml", own, out) == site_dir / "site.yaml"


def test_lost_nexthops_counts_each_nexthop_that_left() -> None:
    full = {"frr": {"10.0.2.20/32": {"a", "b", "c"}}}
    changes = [
        (0.0, full),
        (1.0, {"frr": {"10.0.2.20/32": {"a", "b"}}}),
        (2.0, {"frr": {}}),  # the route gone: two more
        (3.0, full),  # coming back is not a withdrawal
    ]
    assert lost_nexthops(changes) == 3
    assert lost_nexthops(changes[:1]) == 0


def test_count_flaps_from_two_snapshots() -> None:
    before = Snapshot({("frr", "a"): 2, ("frr", "b"): 5}, {("frr", "a"): 1, ("frr", "b"): 0})
    # b's BFD session was recreated (its counter went back): counted from zero
    after = Snapshot({("frr", "a"): 3, ("frr", "b"): 1}, {("frr", "a"): 1, ("frr", "b"): 0})
    flaps = count_flaps(before, after, [(0.0, {}), (1.0, {})])
    assert flaps == Flaps(
        bfd_downs=2, bgp_resets=0, withdrawals=0, peers=("frr: a", "frr: b"), bfd_downs_before=7
    )
    assert flaps.as_json()["flaps"] == 2
    calm = count_flaps(before, before, [])
    assert (calm.total, calm.peers) == (0, ())


def test_bfd_counters_parse_frr_84() -> None:
    data = json.loads((DATA / "frr" / "established.bfd-counters.json").read_text())
    counters = parse_bfd_counters(data)
    assert set(counters) == {"192.168.125.20", "192.168.125.21", "192.168.125.22"}
    peer = counters["192.168.125.20"]
    assert peer.session_up >= 1 and isinstance(peer.session_down, int)
    assert peer.control_in > 0 and peer.control_out > 0
    assert parse_bfd_counters("bfdd is not running") == {}


def test_netem_arguments() -> None:
    assert Impairment(1.0, 2.0, 2.0).netem_args() == ["loss", "1%", "delay", "2ms", "2ms"]
    assert Impairment(0.5, 0, 0).netem_args() == ["loss", "0.5%"]
    rules = Impairment(1.5).nft_ruleset(["a1", "b2"])
    assert 'oifname { "a1", "b2" } numgen random mod 10000 < 150 counter drop' in rules
    assert Impairment(1.0).as_json("nftables") == {
        "method": "nftables",
        "loss_pct": 1.0,
        "delay_ms": 0,
        "jitter_ms": 0,
    }


def test_cpu_load_runs_in_its_own_group_and_stops(tmp_path: Path) -> None:
    need_tool("stress-ng")
    load = CpuLoad(5, tmp_path / "stress.log")
    try:
        assert load.running(), (tmp_path / "stress.log").read_text(errors="replace")
        assert os.getpgid(load.pid) == load.pid
    finally:
        load.stop()
    assert not procs.alive(load.pid)


def _fault(lab: Lab) -> None:
    """master-0's link down until the router withdrew it (BFD), then healed."""
    fault = F.fail(lab, "master-0", "down")
    with W.FibWatch(lab) as watch:
        assert watch.wait(W.withdrawn(lab, "master-0"), after=fault.at, timeout=20) is not None
    F.heal(lab, "master-0", timeout=90)


@pytest.mark.lab
def test_an_injected_node_failure_is_counted_under_loss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_root("bench stability")
    need_tool("tc")
    monkeypatch.setenv("HCPLB_LAB_DIR", str(tmp_path / "labs"))
    report = run_stability(
        EXAMPLES / "seed.yaml", seconds=2, load="loss", profiles="spec", during=_fault
    )
    (result,) = report.results
    flaps = result.flaps
    assert all(isinstance(n, int) for n in (flaps.bfd_downs, flaps.bgp_resets, flaps.withdrawals))
    # the router's BFD session to master-0 went down once, its BGP session was dropped, and
    # the VIP lost master-0 as a nexthop
    assert flaps.bfd_downs >= 1 and flaps.bgp_resets >= 1 and flaps.withdrawals >= 1
    assert "frr: 192.168.125.20" in flaps.peers
    assert report.chosen is None
    data = report.as_json()
    assert data["loss"]["loss_pct"] == 1.0 and data["loss"]["method"] in ("netem", "nftables")
    if data["loss"]["method"] == "nftables":  # the loss really dropped packets
        assert isinstance(result.dropped_packets, int)
    assert data["provenance"]["frr"].startswith("8.")
    assert list_labs() == []  # every lab removed


def test_the_seeds_bfd_profile_is_the_evidences_choice() -> None:
    """The runbook says the seed runs the fastest profile without a flap: keep them one."""
    data = stability_evidence()
    chosen = data["fastest_without_flaps"]
    row = next(r for r in data["profiles"] if r["profile"] == chosen)
    assert row["flaps"] == 0 and data["seconds"] >= 600
    assert data["load"] == "both" and data["loss"]["loss_pct"] == 1.0
    for seed in (EXAMPLES / "seed.yaml", ROOT / "src/hcplb/data/seed.yaml"):
        bfd = load_site(seed).site.spec.bgp.bfd
        assert bfd is not None
        timers = (bfd.receive_interval, bfd.transmit_interval, bfd.detect_multiplier)
        assert timers == (row["receive_ms"], row["transmit_ms"], row["multiplier"])
    assert {"date", "machine", "kernel", "frr", "load_before", "load_after", "command"} <= set(
        data["provenance"]
    )

"""Bench parts without a lab: figures from records, attacks, evidence wording, runbook text, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hcplb.bench.attacks import compromised_config, covering_prefix, route_attacks
from hcplb.bench.evidence import (
    NeighborView,
    RouterView,
    counter_delta,
    describe_probe,
    firewall_delta,
)
from hcplb.bench.failover import FailoverReport, analyse, per_thousand
from hcplb.bench.loadgen import Record
from hcplb.bench.plot import PlotRun, plot_outcomes
from hcplb.bench.security import Outcome, SecurityReport
from hcplb.plan import SitePlan, plan_site
from hcplb.render.failover import expected_detection_s, failover_section
from hcplb.runner import run
from hcplb.spec import load_site

from .conftest import EXAMPLES, ROOT, need_tool


def plan_of(path: Path) -> SitePlan:
    return plan_site(load_site(path).site)


def rec(seq: int, t: float, outcome: str = "ok", elapsed: float = 0.01, node: str = "a") -> Record:
    return Record(seq, t, elapsed, outcome, node if outcome == "ok" else None)


# -- failover figures ------------------------------------------------------------------------


def test_analyse_separates_blackholed_rehashed_and_outside_failures() -> None:
    records = [
        rec(0, 99.0),
        rec(1, 99.5, "reset"),  # before the fault, no FIB change: outside the window
        rec(2, 100.1, "connect-timeout", 1.0),  # sent to the dead node: blackholed
        rec(3, 100.2),
        rec(4, 100.5, "connect-timeout", 1.0),
        rec(5, 100.85, "reset", 0.1),  # under way at the FIB change (100.9): rehashed
        rec(6, 101.5),
        rec(7, 103.0, "reset"),  # after the heal
    ]
    run_ = analyse(
        records, run=1, node="n0", fault_at=100.0, withdrawn_at=100.9, heal_at=102.0,
        recovery_s=1.2, rate=10, changes=[100.9],
    )  # fmt: skip
    assert run_.withdrawal_s == 0.9 and not run_.bounded
    assert (run_.requests, run_.failed_requests) == (7, 4)
    assert (run_.blackholed, run_.rehash_resets, run_.failed_outside_window) == (2, 1, 1)
    assert run_.failed_after_heal == 1
    assert run_.served_by == {"a": 3}
    assert run_.longest_failure_window_s == pytest.approx(1.35)
    data = run_.as_json()
    assert data["outcomes"] == {"connect-timeout": 2, "ok": 3, "reset": 3}


def test_resets_per_thousand_in_flight_split_by_the_node_that_served() -> None:
    # long-lived connections (loadgen --hold): the node is the one that answered first
    records = [
        Record(0, 99.0, 3.0, "ok", "n1"),  # under way at the change, survived
        Record(1, 99.5, 2.0, "reset", "n0"),  # on the drained node, moved: reset
        Record(2, 99.6, 2.0, "reset", "n2"),  # a survivor's flow moved by the rehash
        Record(3, 99.7, 2.0, "reset", None),  # reset before any answer: node unknown
        Record(4, 101.0, 0.5, "ok", "n1"),  # after the change
        Record(5, 101.2, 1.5, "reset", "n2"),  # under way at the heal's change: not the drain's
    ]
    run_ = analyse(
        records, run=1, node="n0", fault_at=100.0, withdrawn_at=100.9, heal_at=102.0,
        recovery_s=1.0, rate=10, changes=[100.9, 102.1],
    )  # fmt: skip
    assert (run_.in_flight, run_.in_flight_resets, run_.resets_elsewhere) == (4, 3, 1)
    assert run_.as_json()["resets_per_1000_in_flight"] == 750.0
    report = FailoverReport("s", "hcplb", "drain", 10, 30, (run_, run_), None, "", "").as_json()
    assert report["resets_per_1000_in_flight"] == 750.0
    assert report["resets_elsewhere_per_1000_in_flight"] == 250.0
    assert per_thousand(0, 0) is None


def test_report_json_shape_and_bounded_guide_runs() -> None:
    runs = tuple(
        analyse(
            [rec(0, 1.0)],
            run=i,
            node="n0",
            fault_at=0.0,
            withdrawn_at=w,
            heal_at=5.0,
            recovery_s=2.0,
            rate=200,
        )
        for i, w in ((1, 0.8), (2, None), (3, 0.6))
    )
    data = FailoverReport(
        "seed.yaml", "guide", "down", 200, 240, runs, 7.5, "1 1 1", "2 2 2"
    ).as_json()
    assert list(data)[:6] == ["site", "profile", "mode", "rate", "max_wait", "bounded"]
    assert data["bounded"] is True
    # a bounded run counts as --max-wait, a lower bound, and says so
    assert data["withdrawal_s"] == {
        "min": 0.6,
        "median": 0.8,
        "max": 240.0,
        "n": 3,
        "bounded": True,
    }
    assert data["failed_requests"] == {"min": 0.0, "median": 0.0, "max": 0.0, "n": 3}
    assert [r["bounded"] for r in data["runs"]] == [False, True, False]
    assert data["machine_load"] == {"before": "1 1 1", "after": "2 2 2"}


def test_plot_is_a_png(tmp_path: Path) -> None:
    records = tuple(rec(i, i / 10, "ok" if i % 7 else "connect-timeout") for i in range(50))
    out = plot_outcomes(
        [PlotRun("run 1", records, 2.0, 2.8, 4.0), PlotRun("run 2", records, 2.0)],
        tmp_path / "p.png", title="test",
    )  # fmt: skip
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- attacks ---------------------------------------------------------------------------------


def test_route_attacks_on_the_seed() -> None:
    plan = plan_of(EXAMPLES / "seed.yaml")
    assert str(covering_prefix(plan)) == "10.0.2.0/24"
    attacks = {a.id: a for a in route_attacks(plan, ["10.0.2.20/32"])}
    assert list(attacks) == [
        "default-route", "machine-network", "pool-supernet", "outside-pools", "prefix-flood",
    ]  # fmt: skip
    assert attacks["default-route"].announce == ("10.0.2.20/32", "0.0.0.0/0")
    assert attacks["machine-network"].forbidden == ("192.168.125.0/24",)
    assert attacks["outside-pools"].forbidden == ("10.0.2.1/32",)
    flood = attacks["prefix-flood"]
    assert flood.limit == plan.maximum_prefix == 1
    assert flood.announce == ("10.0.2.20/32", "10.0.2.2/32")
    assert flood.forbidden == ("10.0.2.2/32",)


def test_flood_fills_the_pool_before_going_outside() -> None:
    plan = plan_of(EXAMPLES / "fleet.yaml")  # pool 10.0.2.16/28: maximum-prefix 16
    flood = {a.id: a for a in route_attacks(plan, ["10.0.2.20/32"])}["prefix-flood"]
    assert len(flood.announce) == 17
    assert flood.announce[0] == "10.0.2.20/32"
    assert {f"10.0.2.{i}/32" for i in range(16, 32)} <= set(flood.announce)
    assert flood.forbidden == ("10.0.2.2/32",)


def test_compromised_config_is_valid_frr(tmp_path: Path) -> None:
    vtysh = need_tool("vtysh")
    plan = plan_of(EXAMPLES / "fleet.yaml")
    text = compromised_config(
        plan, "mgmt-0", [("192.168.125.1", 64512), ("192.168.125.2", 64512)],
        ["10.0.2.20/32", "0.0.0.0/0"], password="not-the-real-one",
    )  # fmt: skip
    assert " neighbor 192.168.125.2 password not-the-real-one" in text
    assert "route-map" not in text and "prefix-list" not in text  # its own filter is gone
    conf = tmp_path / "frr.conf"
    conf.write_text(text)
    result = run([vtysh, "-C", "-f", str(conf)], timeout=30)
    assert result.ok, result.stdout + result.stderr


# -- evidence wording ------------------------------------------------------------------------


def test_router_view_verdicts() -> None:
    attack = {a.id: a for a in route_attacks(plan_of(EXAMPLES / "seed.yaml"), [])}
    before = NeighborView("Established", 2, 1, 1, 1, "")
    after = NeighborView("Established", 4, 1, 1, 1, "")
    clean = RouterView("frr", "192.168.125.20", after, frozenset({"10.0.2.20/32"}), frozenset())
    assert not clean.taken(attack["default-route"])
    assert clean.describe(attack["default-route"], before) == (
        "frr: 0.0.0.0/0 in neither RIB nor FIB; session Established; updates received +2, "
        "1 route(s) from 192.168.125.20 in the RIB (maximum-prefix 1)"
    )
    hijacked = RouterView(
        "frr", "192.168.125.20", after, frozenset({"0.0.0.0/0"}), frozenset({"0.0.0.0/0"})
    )
    assert hijacked.taken(attack["default-route"])
    assert hijacked.describe(attack["default-route"], before).startswith(
        "frr: 0.0.0.0/0 in RIB and FIB via 192.168.125.20"
    )
    flooded = RouterView("frr", "192.168.125.20", after, frozenset({"10.0.2.20/32", "10.0.2.2/32"}),
                         frozenset())  # fmt: skip
    assert flooded.taken(attack["prefix-flood"])


def test_probe_and_counter_wording() -> None:
    assert describe_probe({"tcp": "timeout"}) == "TCP 179 timed out (the SYN got no answer)"
    assert "closed the connection" in describe_probe({"tcp": "connected", "answer": "closed"})
    assert "it peers with an unknown host" in describe_probe(
        {"tcp": "connected", "answer": "open", "established": True}
    )
    assert counter_delta({"TCPMD5Failure": 1}, {"TCPMD5Failure": 4, "TCPMD5NotFound": 0}) == (
        "TCPMD5Failure +3"
    )
    rule = "-A HCPLB-INPUT -p tcp -m tcp --dport 179 -j DROP"
    assert firewall_delta({rule: 0}, {rule: 3}) == f"firewall: +3 packet(s) on `{rule}`"
    assert firewall_delta({rule: 3}, {rule: 3}) == "firewall: no TCP 179 rule counter moved"
    assert firewall_delta({}, {}) == "firewall: no rule for TCP 179 carries a counter"


def test_security_report_json_side_by_side() -> None:
    report = SecurityReport(
        "seed.yaml",
        {
            "hcplb": (Outcome("default-route", "0/0", False, "frr: not taken"),),
            "guide": (Outcome("default-route", "0/0", True, "frr: in RIB and FIB"),),
        },
    )
    data = report.as_json()
    assert data["profiles"] == ["hcplb", "guide"]
    first = data["attacks"][0]
    assert first == {
        "id": "default-route", "title": "0/0", "hcplb": "rejected", "guide": "accepted",
        "evidence": {"hcplb": "frr: not taken", "guide": "frr: in RIB and FIB"},
    }  # fmt: skip


# -- runbook recommendations -----------------------------------------------------------------


def test_failover_section_follows_the_site() -> None:
    seed = plan_of(EXAMPLES / "seed.yaml")
    assert expected_detection_s(seed) == pytest.approx(0.15)
    text = failover_section(seed)
    assert text.startswith("## Failover")
    assert "BFD 50/50 ms x3" in text and "about 0.15 s" in text and "1/3 of new connections" in text
    no_bfd = plan_of(ROOT / "tests/sites/no-bfd.yaml")
    assert "BFD off" in failover_section(no_bfd)
    assert expected_detection_s(no_bfd) == no_bfd.site.spec.bgp.hold_time


# -- CLI -------------------------------------------------------------------------------------


def test_bench_cli_json(monkeypatch: pytest.MonkeyPatch) -> None:
    from hcplb.bench import failover, security
    from hcplb.cli import app, bench_cmds

    if not any(g.name == "bench" for g in app.registered_groups):
        bench_cmds.register(app)
    runs = (analyse([rec(0, 1.0)], run=1, node="master-0", fault_at=0.0, withdrawn_at=0.8,
                    heal_at=5.0, recovery_s=1.3, rate=200),)  # fmt: skip
    canned = FailoverReport("seed.yaml", "hcplb", "down", 200, 240, runs, 7.5, "1", "1")
    monkeypatch.setattr(failover, "run_failover", lambda *a, **k: canned)
    result = CliRunner().invoke(
        app, ["bench", "failover", "x.yaml", "--mode", "down", "-O", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"profile", "mode", "runs", "withdrawal_s", "failed_requests"} <= set(data)
    table = CliRunner().invoke(app, ["bench", "failover", "x.yaml", "--mode", "down"])
    assert "nexthop withdrawn after (s)" in table.stdout and "0.8" in table.stdout
    report = SecurityReport("x.yaml", {"hcplb": (Outcome("intruder", "t", False, "ev"),)})
    monkeypatch.setattr(security, "run_security", lambda *a, **k: report)
    sec = CliRunner().invoke(
        app, ["bench", "security", "x.yaml", "--profile", "hcplb", "-O", "json"]
    )
    assert sec.exit_code == 0, sec.output
    assert json.loads(sec.stdout)["attacks"][-1]["hcplb"] == "rejected"

"""The withdrawal path read from FRR's debug log and `ip -ts monitor route` (captured in the lab).

The lab run itself is in test_bench_failover.py (it shares that module's lab).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hcplb.bench.pathlog import (
    EVENTS,
    STAGES,
    LogLine,
    find_events,
    parse_frr_log,
    parse_route_monitor,
    stage_durations,
)
from hcplb.bench.stats import percentile
from hcplb.bench.withdrawal import WithdrawalRun, check_tweaks, stage_figures
from hcplb.errors import HcplbError

DATA = Path(__file__).parent / "data" / "withdrawal"
PEER = "192.168.125.22"
VIP = "10.0.2.20/32"


def _lines() -> list[LogLine]:
    frr = parse_frr_log((DATA / "frr.log").read_text())
    return frr + parse_route_monitor((DATA / "route-monitor.log").read_text())


def _at(lines: list[LogLine], text: str) -> float:
    return next(ln.t for ln in lines if text in ln.text)


def test_every_event_of_a_captured_withdrawal_is_found_in_order() -> None:
    lines = _lines()
    bfd = _at(lines, "state-change: [mhop:no peer:192.168.125.22")
    fault = bfd - 0.3
    events = find_events(lines, fault_at=fault, peer=PEER, vip=VIP)
    assert list(events) == list(EVENTS)
    assert events["bfd-down"] == bfd
    # bgpd logged the BFD down 0.3 ms before bfdd did: found within the skew
    assert events["bgp-down"] == _at(lines, "192.168.125.22 [FSM] BGP_Stop (Established->Clearing)")
    assert events["bgp-cleared"] == _at(lines, "192.168.125.22 [FSM] Clearing_Completed")
    assert events["bgp-tx"] == _at(lines, "Tx route add VRF 0 10.0.2.20/32")
    assert events["zebra-rib"] == _at(lines, "process_subq_early_route_add: (0:254):10.0.2.20/32")
    assert events["dplane"] == _at(lines, "RTM_NEWROUTE 10.0.2.20/32")
    assert events["kernel"] == _at(lines, "10.0.2.20 nhid 44")
    stages = stage_durations(events)
    assert stages["bgp-down"] == 0.0  # the skew counts as no time
    assert stages["bgp-bestpath"] == pytest.approx(0.052828, abs=1e-6)  # bgpd's 50 ms queue hold
    assert stages["zebra-rib"] == pytest.approx(0.012888, abs=1e-6)  # zebra's 10 ms queue hold
    assert stages["total"] == pytest.approx(events["kernel"] - fault, abs=1e-6)  # type: ignore[operator]
    assert stages["after-bfd"] == pytest.approx(events["kernel"] - bfd, abs=1e-6)  # type: ignore[operator]
    assert [s[0] for s in STAGES] == [k for k in stages if k not in ("after-bfd", "total")]


def test_another_peer_or_route_finds_nothing_after_detection() -> None:
    lines = _lines()
    fault = lines[0].t
    other = find_events(lines, fault_at=fault, peer="192.168.125.2", vip=VIP)
    assert other["bfd-down"] is None and other["bgp-down"] is None
    assert stage_durations(other)["detect"] is None
    none = find_events(lines, fault_at=fault, peer=PEER, vip="10.0.2.21/32")
    assert none["bgp-tx"] is None and none["kernel"] is None
    assert stage_durations(none)["total"] is None


def test_lines_without_a_timestamp_are_skipped() -> None:
    text = "garbage\n2026/12/03 15:11:24.720338 BFD: [SEY1D-NT8EQ] hello\n\tnexthop via x\n"
    (line,) = parse_frr_log(text)
    assert (line.source, line.text) == ("BFD", "hello")
    assert parse_route_monitor("\tnexthop via 192.168.125.20 dev eth0\n") == []


def test_figures_are_median_and_p95_per_stage() -> None:
    assert percentile([], 95) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([float(v) for v in range(1, 21)], 95) == 19.0
    runs = [
        WithdrawalRun(i, "n", "r", VIP, 0.0, {}, {"detect": v, "total": None})
        for i, v in enumerate((0.1, 0.2, 0.3), start=1)
    ]
    figures = stage_figures(runs)
    assert figures["detect"] == {
        "median_ms": 200.0, "p95_ms": 300.0, "min_ms": 100.0, "max_ms": 300.0, "n": 3,
    }  # fmt: skip
    assert figures["total"]["n"] == 0 and figures["total"]["median_ms"] is None


def test_an_unknown_tweak_is_refused_with_the_known_ones() -> None:
    with pytest.raises(HcplbError, match=r"unknown tweak.*known: zebra-work-queue-10"):
        check_tweaks(["zebra-work-queue-10", "fast"])

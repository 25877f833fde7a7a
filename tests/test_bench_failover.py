"""`bench failover` on a real lab (seed site, hcplb profile): BFD withdrawal and drain.

One lab for the module, always torn down. Bounds are generous (a loaded 2-core machine);
the benchmark script prints the real figures.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from hcplb.bench.failover import FailoverReport, RunResult, measure_failover, plot_runs
from hcplb.lab import Lab, down, up
from hcplb.lab import watch as W
from hcplb.runner import run as run_cmd

from .conftest import EXAMPLES

pytestmark = pytest.mark.lab

RATE = 100.0


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    path = tmp_path_factory.mktemp("labs")
    name = f"t{os.getpid() % 100000}-failover"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HCPLB_LAB_DIR", str(path))
        try:
            yield up(EXAMPLES / "seed.yaml", name, timeout=90)
        finally:
            if (path / name).exists():
                down(name)


def _failures(run: RunResult) -> list[str]:
    """Failed requests relative to the fault, for an assertion message."""
    return [
        f"{r.t - run.fault_at:+.3f}s {r.outcome} after {r.elapsed:.3f}s"
        for r in run.records
        if not r.ok
    ]


def test_node_down_is_withdrawn_under_3s_with_bfd(
    lab: Lab, tmp_path_factory: pytest.TempPathFactory
) -> None:
    (run,) = measure_failover(lab, mode="down", runs=1, rate=RATE, max_wait=30)
    assert run.node in {"master-0", "master-1", "master-2"}
    assert run.withdrawal_s is not None and 0 < run.withdrawal_s < 3.0
    # new connections hashed to the dead node fail, and only until the routers withdrew it
    assert run.blackholed > 0
    assert run.failed_outside_window == 0, _failures(run)
    assert run.longest_failure_window_s < 3.0 + 1.0
    assert run.recovery_s < 30
    assert set(run.served_by) == {"master-0", "master-1", "master-2"}
    # lab fully restored: full ECMP and every BFD session up again
    W.wait_ready(lab, timeout=60)
    report = FailoverReport("seed.yaml", "hcplb", "down", RATE, 30, (run,), None, "", "")
    data = report.as_json()
    assert data["withdrawal_s"]["median"] == run.withdrawal_s
    assert data["runs"][0]["failed_requests"] == run.failed_requests
    png = plot_runs(report, tmp_path_factory.mktemp("plot") / "down.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_drain_fails_no_request(lab: Lab) -> None:
    (run,) = measure_failover(lab, mode="drain", runs=1, rate=RATE, max_wait=30)
    assert run.withdrawal_s is not None and run.withdrawal_s < 10
    # nothing is sent to the node once it is stopped: no request goes unanswered
    assert run.blackholed == 0, _failures(run)
    assert run.failed_outside_window == 0, _failures(run)
    # only a connection under way at the instant the router changed its ECMP set may be
    # reset (Linux rehashes flows); every other request succeeded
    assert run.failed_requests == run.rehash_resets, _failures(run)
    # a few per thousand requests (more on a loaded machine, where connections last longer)
    assert run.rehash_resets <= max(10, run.requests // 50), _failures(run)
    W.wait_ready(lab, timeout=60)


def test_withdrawal_path_is_traced_stage_by_stage_and_the_trace_undone(lab: Lab) -> None:
    from hcplb.bench.withdrawal import MONITOR_ROLE, measure_withdrawal, stage_figures

    # measured with FRR's default RIB queue hold instead of the rendered 0 ms
    (run,) = measure_withdrawal(lab, runs=1, node="master-1", tweaks=("zebra-work-queue-10",))
    assert (run.node, run.router, run.vip) == ("master-1", "frr", "10.0.2.20/32")
    # every event found, in order, from the fault to the kernel's FIB change
    missing = [e for e, t in run.events.items() if t is None]
    assert not missing, run.as_json()
    assert all(v is not None and v >= 0 for v in run.stages.values()), run.stages
    assert run.stages["total"] is not None and run.stages["total"] < 3.0
    # bgpd and zebra hold their work queues (50 and 10 ms): the path after BFD takes time
    assert run.stages["after-bfd"] is not None and run.stages["after-bfd"] >= 0.04
    assert run.stages["zebra-rib"] is not None and run.stages["zebra-rib"] >= 0.009
    assert stage_figures((run,))["total"]["n"] == 1
    # the router is as it was: no trace file in its config, no route monitor left
    conf = lab.run("frr", ["vtysh", "-c", "show running-config"], timeout=10).stdout
    assert "hcplb-withdrawal" not in conf and "debug bgp zebra" not in conf
    assert "zebra work-queue 0" in conf  # the rendered setting is back
    assert not lab.processes("frr", MONITOR_ROLE)
    W.wait_ready(lab, timeout=60)


def test_pinned_drain_moves_no_flow_of_the_nodes_that_stay(lab: Lab) -> None:
    from hcplb.lab import faults as F
    from hcplb.lab import pin

    W.wait_ready(lab, timeout=60)
    vip, ports = "10.0.2.20/32", range(40000, 40256)
    # the first nexthop is a plain drain's worst case: every region after it shifts
    shown = run_cmd(["ip", "-n", lab.host("frr").netns, "-j", "route", "show", vip], timeout=10)
    first = json.loads(shown.stdout)[0]["nexthops"][0]["gateway"]
    node = next(h.name for h in lab.topology.by_role("node") if h.primary_address == first)

    def moved(before: dict[int, str], after: dict[int, str]) -> list[int]:
        return [p for p in ports if before[p] != first and after[p] != before[p]]

    before = pin.flow_hops(lab, "frr", vip, ports)
    F.drain(lab, node, timeout=30)
    plain = pin.flow_hops(lab, "frr", vip, ports)
    F.heal(lab, node, timeout=120)
    assert moved(before, plain), "a plain drain of the first nexthop moves other nodes' flows"

    W.wait_ready(lab, timeout=60)
    before = pin.flow_hops(lab, "frr", vip, ports)
    F.drain(lab, node, timeout=30, pinned=True)
    after = pin.flow_hops(lab, "frr", vip, ports)
    assert moved(before, after) == []
    assert first not in after.values()  # and the drained node gets no flow
    healed = F.heal(lab, node, timeout=120)
    assert "frr: unpinned" in healed.undone and not pin.pinned(lab, "frr")

    # held connections under way through the drain: none on another node is reset
    (run,) = measure_failover(
        lab, mode="drain", runs=1, rate=50, hold=1.0, node=node, pinned=True, max_wait=30
    )
    assert run.in_flight > 0
    assert run.resets_elsewhere == 0, _failures(run)
    assert not pin.pinned(lab, "frr")
    W.wait_ready(lab, timeout=60)

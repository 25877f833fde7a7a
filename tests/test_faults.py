"""Faults on a real lab (seed site): withdrawal with BFD, drain, and heal restoring everything.

One lab for the module, always torn down. Every test leaves the lab healed (and checks it).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hcplb.errors import LabError
from hcplb.lab import Lab, converge, down, standin, up
from hcplb.lab import faults as F
from hcplb.lab import watch as W

from .conftest import EXAMPLES

pytestmark = pytest.mark.lab

NODE = "master-0"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    path = tmp_path_factory.mktemp("labs")
    name = f"t{os.getpid() % 100000}-faults"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HCPLB_LAB_DIR", str(path))
        try:
            lab = up(EXAMPLES / "seed.yaml", name, timeout=90)
            W.wait_ready(lab)  # BFD comes up a little after BGP
            yield lab
        finally:
            if (path / name).exists():
                down(name)


def roles(lab: Lab, host: str) -> list[str]:
    return sorted(p.role for p in lab.processes(host))


def assert_fully_restored(lab: Lab, before_roles: list[str]) -> None:
    """Every session Established, full ECMP, HTTPS, same daemons running, no fault recorded."""
    result = converge.wait(lab, lab.expect, timeout=30)
    assert result.ok, [c.detail for c in result.failing()]
    assert W.full_ecmp(lab)(W.nexthops(lab))
    W.wait_ready(lab, timeout=60)  # every BFD session up again too
    assert roles(lab, NODE) == before_roles
    assert F.faults_of(lab) == []
    assert not (lab.state_dir / "faults" / f"{NODE}.frr.conf").exists()
    for pid in (p.pid for p in lab.processes(NODE) if p.pid is not None):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
        assert state != "T", f"pid {pid} is still stopped"


def test_down_is_withdrawn_within_3s_with_bfd_and_heal_restores(lab: Lab) -> None:
    before = roles(lab, NODE)
    fault = F.fail(lab, NODE, "down")
    waited = W.wait_nexthops(lab, W.withdrawn(lab, NODE), timeout=10)
    assert waited is not None and time.time() - fault.at < 3.0 + 0.5
    assert waited < 3.0
    # the node really vanished: the switch port is down
    switch, port = lab.switch_port(NODE)
    link = lab.run(switch, ["ip", "-j", "link", "show", port], timeout=10)
    assert "UP" not in json.loads(link.stdout)[0]["flags"]
    healed = F.heal(lab, NODE)
    assert healed.undone == ("switch port up",)
    assert_fully_restored(lab, before)


def test_freeze_keeps_the_data_path_and_bfd_withdraws(lab: Lab) -> None:
    before = roles(lab, NODE)
    F.fail(lab, NODE, "freeze")
    try:
        assert W.wait_nexthops(lab, W.withdrawn(lab, NODE), timeout=3.0) is not None
        # the node still answers on its own address: only its FRR is frozen
        vip = lab.plan.clusters[0].vip
        served = lab.run(
            NODE, ["curl", "-sk", "--max-time", "3", f"https://{vip}:6443/readyz"], timeout=10
        )
        assert served.stdout == "ok"
    finally:
        F.heal(lab, NODE)
    assert_fully_restored(lab, before)


def test_bgp_stop_and_api_stop_are_restarted_with_the_same_argv(lab: Lab) -> None:
    before = roles(lab, NODE)
    argv = {p.role: p.argv for p in lab.processes(NODE)}
    F.fail(lab, NODE, "bgp-stop")
    F.fail(lab, NODE, "api-stop")
    lab.refresh()
    assert "bgpd" not in roles(lab, NODE) and standin.stopped_nodes(lab) == [NODE]
    assert W.wait_nexthops(lab, W.withdrawn(lab, NODE), timeout=10) is not None
    healed = F.heal(lab, NODE)
    assert set(healed.undone) == {"bgpd restarted", "API stand-in restarted"}
    lab.refresh()
    assert {p.role: p.argv for p in lab.processes(NODE)} == argv
    assert_fully_restored(lab, before)


def test_drain_withdraws_then_heal_reloads_the_original(lab: Lab) -> None:
    before = roles(lab, NODE)
    original = (lab.host_dir(NODE) / "etc/frr/frr.conf").read_text()
    drained = F.drain(lab, NODE, timeout=20)
    assert drained.routers == ("frr",)
    assert drained.withdrawn_s < 10
    assert W.withdrawn(lab, NODE)(W.nexthops(lab))
    # the session stays up (MetalLB keeps it); only the announcement is gone
    sessions = converge.check_sessions(lab, "frr", lab.expect.sessions["frr"])
    assert sessions.ok, sessions.detail
    drained_conf = (lab.host_dir(NODE) / "etc/frr/frr.conf").read_text()
    assert not re.search(r"^\s*network ", drained_conf, re.MULTILINE)  # announces nothing
    with pytest.raises(LabError, match="already drained"):
        F.drain(lab, NODE)
    F.heal(lab, NODE)
    assert (lab.host_dir(NODE) / "etc/frr/frr.conf").read_text() == original
    assert_fully_restored(lab, before)


def test_fault_errors_are_clear(lab: Lab) -> None:
    with pytest.raises(LabError, match=r"client is not a node of lab .* \(nodes: master-0"):
        F.fail(lab, "client", "down")
    with pytest.raises(LabError, match="unknown fault mode 'melt'"):
        F.fail(lab, NODE, "melt")
    F.fail(lab, NODE, "freeze")
    try:
        with pytest.raises(LabError, match="already has fault freeze"):
            F.fail(lab, NODE, "freeze")
    finally:
        F.heal(lab, NODE)
    assert F.heal(lab, NODE).undone == ()  # nothing left to undo: a no-op

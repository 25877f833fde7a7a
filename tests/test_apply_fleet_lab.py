"""`apply --lab NAME --router HOST`: both routers of the two-router fleet (nftables and
iptables flavours) configured from a bare lab, through the lab targets, with `--yes`."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from hcplb import lab as labs
from hcplb.cli import app
from hcplb.lab import Lab
from hcplb.lab.converge import wait
from tests.conftest import EXAMPLES

pytestmark = [pytest.mark.lab, pytest.mark.slow]
FLEET = EXAMPLES / "fleet.yaml"


@pytest.fixture(scope="module")
def fleet() -> Iterator[Lab]:
    name = f"fleet{int(time.time() * 1000) % 100000}"
    lab = labs.up(FLEET, name=name, bare=True)
    try:
        yield lab
    finally:
        labs.down(name)


def apply(lab: Lab, *extra: str) -> dict[str, Any]:
    args = ["apply", str(FLEET), "--lab", lab.name, "--router", "frr-a", "--router", "frr-b"]
    result = CliRunner().invoke(app, [*args, *extra, "-O", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_two_routers_both_flavours_converge(fleet: Lab) -> None:
    not_ready = CliRunner().invoke(
        app, ["apply", str(FLEET), "--lab", fleet.name, "--router", "frr-a"]
    )
    assert not_ready.exit_code == 1
    assert "router frr-a (lab" in not_ready.output and "is not ready" in not_ready.output
    assert "sysctl: net.ipv4.ip_forward=0" in not_ready.output
    assert "pass --yes to fix these" in not_ready.output

    report = apply(fleet, "--yes")
    by_name = {r["router"]: r for r in report["routers"]}
    assert by_name["frr-a"]["fixed"] == [
        "sysctl: install /etc/sysctl.d/90-hcplb.conf",
        "sysctl: load it",
        "firewall: nftables installed",
        "firewall: load table inet hcplb",  # a lab target: no /etc/hcplb, no nftables.conf
    ]
    assert any("iptables: fill chain HCPLB-INPUT" in f for f in by_name["frr-b"]["fixed"])
    assert all(r["changed"] and r["converged_s"] is not None for r in report["routers"])
    converged = wait(fleet, fleet.expect, timeout=60)
    assert converged.ok, converged.failing()
    table = fleet.run("frr-a", ["nft", "list", "table", "inet", "hcplb"], timeout=10).stdout
    assert "192.168.125.24" in table


def test_fleet_second_apply_changes_nothing(fleet: Lab) -> None:
    report = apply(fleet, "--yes")
    for router in report["routers"]:
        assert router["fixed"] == [] and router["changed"] is False, router


def test_a_node_is_not_taken_for_a_router(fleet: Lab) -> None:
    # 192.168.125.23 is node mgmt-3; it starts with router frr-b's 192.168.125.2
    result = CliRunner().invoke(
        app, ["apply", str(FLEET), "--router", "ssh://root@192.168.125.23", "--dry-run"]
    )
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "which router is it? the site has routers frr-a, frr-b" in result.output


def test_unknown_router_and_missing_lab_are_clear(fleet: Lab) -> None:
    result = CliRunner().invoke(
        app, ["apply", str(FLEET), "--lab", fleet.name, "--router", "frr-z"]
    )
    assert result.exit_code == 1
    assert "the site has no router 'frr-z' (it has frr-a, frr-b)" in result.output

"""setup.sh's iptables and nftables flavours on a booted Debian 12 router (the firewalld one is
in test_routerhost_lab.py): the rules are live, BGP from the client is dropped while the nodes'
sessions are up, a second run changes nothing, and the rules come back after a reboot."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hcplb import lab as labs
from hcplb.apply.frrstate import parse_sessions
from hcplb.lab import Lab, image, nspawn
from hcplb.lab.routerhost import run_setup, wait_booted
from hcplb.render.firewall import IPTABLES_CHAIN
from tests.conftest import EXAMPLES, missing

pytestmark = [pytest.mark.lab, pytest.mark.slow]

NODES = ["192.168.125.20", "192.168.125.21", "192.168.125.22"]
# the live rules of each flavour, as the kernel holds them
RULES = {
    "iptables": ["iptables", "-S", IPTABLES_CHAIN],
    "nftables": ["nft", "list", "table", "inet", "hcplb"],
}


def _wait(what: str, check: Callable[[], bool], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:g} s"
        time.sleep(0.2)


def _established(lab: Lab) -> bool:
    summary = lab.run("frr", ["vtysh", "-c", "show bgp summary json"], timeout=20).stdout
    return parse_sessions(summary) == dict.fromkeys(NODES, "Established")


def _state(lab: Lab) -> tuple[str, ...]:
    files = "/etc/frr/frr.conf /etc/frr/daemons /etc/sysctl.d/90-hcplb.conf"
    return (
        lab.run("frr", ["bash", "-c", f"stat -c '%n %Y' {files}"], timeout=20).stdout,
        lab.run("frr", ["systemctl", "show", "-p", "MainPID", "frr"], timeout=20).stdout,
        lab.run("frr", ["cat", "/run/frr/bgpd.pid"], timeout=20).stdout,
        lab.run("frr", RULES[lab.plan.routers[0].firewall.value], timeout=20).stdout,
    )


@pytest.mark.parametrize("flavour", ["nftables", "iptables"])
def test_setup_sh_flavour_on_a_booted_router(flavour: str, tmp_path: Path) -> None:
    if image.find_image() is None:
        missing("no router image (run `hcplb lab image build`; `make setup` does)")
    tmp_path.chmod(0o755)
    site = tmp_path / "site.yaml"
    site.write_text(
        (EXAMPLES / "seed.yaml").read_text().replace("firewall: iptables", f"firewall: {flavour}")
    )
    name = f"rh{flavour[:3]}{int(time.time() * 1000) % 10000}"
    try:
        lab = labs.up(site, name=name, router_host="systemd", timeout=120)
        rules = lab.run("frr", RULES[flavour], timeout=20)
        assert rules.ok and "179" in rules.stdout and "192.168.125.20" in rules.stdout
        assert _established(lab)
        bgp = "exec 3<>/dev/tcp/192.168.130.1/179"
        probe = lab.run("client", ["timeout", "3", "bash", "-c", bgp], timeout=10)
        assert probe.rc == 124  # dropped: no answer at all
        before = _state(lab)
        again = run_setup(lab, "frr")
        assert again.ok, again.stderr
        assert _state(lab) == before
        # after a reboot systemd alone brings back FRR, the sysctls and the firewall
        record = nspawn.nspawn_record(lab.state, "frr")
        assert record is not None and record.pid is not None
        first = nspawn.leader_pid(record.pid)
        lab.run("frr", ["systemctl", "reboot"], timeout=30)
        _wait("a new boot", lambda: nspawn.leader_pid(record.pid) not in (None, first), 60)
        assert wait_booted(lab, "frr", timeout=120) == "running"
        _wait("sessions Established", lambda: _established(lab))
        assert lab.run("frr", RULES[flavour], timeout=20).stdout == rules.stdout
    finally:
        if name in [s.name for s in labs.list_labs()]:
            labs.down(name)

"""The router half of the product on a real init system: `lab up --router-host systemd`.

The seed site with a firewalld router, in one lab per module whose router `frr` is a booted
Debian 12 (systemd, firewalld, Debian's frr package, its own sshd) set up by the rendered
setup.sh, as the runbook says. The tests run in file order and assert the router's state
(systemd units, sysctls, the running firewalld, FRR's JSON), never the tools' output text.
The lab is removed at the end, and the last test checks nothing of it is left.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from hcplb import lab as labs
from hcplb.apply.frrstate import parse_sessions
from hcplb.lab import Lab, image, nspawn, procs
from hcplb.lab.netns import namespaces
from hcplb.lab.routerhost import run_setup, ssh_for, wait_booted
from hcplb.lab.sshd import LabSsh
from hcplb.lab.state import netns_prefix
from hcplb.render.firewall import BFD_PORTS
from hcplb.runner import Result, run
from tests.conftest import EXAMPLES, missing

pytestmark = [pytest.mark.lab, pytest.mark.slow]

HCPLB = str(Path(sys.executable).with_name("hcplb"))
ROUTER = "frr"
NODES = ["192.168.125.20", "192.168.125.21", "192.168.125.22"]
CLIENT_ADDRESS_PREFIX = "192.168.130."


@dataclass(frozen=True)
class Booted:
    lab: Lab
    ssh: LabSsh
    site: Path
    changed: Path
    broken: Path


def _site(directory: Path, name: str, *replacements: tuple[str, str]) -> Path:
    text = (EXAMPLES / "seed.yaml").read_text()
    for old, new in (("firewall: iptables", "firewall: firewalld"), *replacements):
        assert old in text, old
        text = text.replace(old, new)
    path = directory / f"{name}.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def booted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Booted]:
    if image.find_image() is None:
        missing("no router image (run `hcplb lab image build`; `make test` builds it)")
    directory = tmp_path_factory.mktemp("routerhost")
    directory.chmod(0o755)
    site = _site(directory, "site")
    changed = _site(directory, "changed", ("keepaliveTime: 30s", "keepaliveTime: 20s"))
    broken = _site(directory, "broken", ("  asn: 64513", "  asn: 64599"))
    name = f"rh{int(time.time() * 1000) % 100000}"
    lab = labs.up(site, name=name, router_host="systemd", timeout=120)
    try:
        yield Booted(lab, ssh_for(lab, ROUTER), site, changed, broken)
    finally:
        if lab.state_dir.exists():
            labs.down(name)


def on_router(b: Booted, *argv: str, timeout: float = 30, input: str | None = None) -> Result:
    return b.lab.run(ROUTER, list(argv), timeout=timeout, input=input)


def vtysh_json(b: Booted, command: str) -> object:
    return json.loads(on_router(b, "vtysh", "-c", f"{command} json").stdout or "{}")


def sessions(b: Booted) -> dict[str, str]:
    return parse_sessions(on_router(b, "vtysh", "-c", "show bgp summary json").stdout)


def wait_for(what: str, check: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what}: not within {timeout:g} s"
        time.sleep(0.2)


def all_established(b: Booted) -> bool:
    return sessions(b) == dict.fromkeys(NODES, "Established")


def running_config(b: Booted) -> str:
    return on_router(b, "vtysh", "-c", "show running-config").stdout


def host_state(b: Booted) -> dict[str, str]:
    """What setup.sh may change: files (content and mtime), the services and their pids,
    the running firewall, the kernel settings."""
    files = "/etc/frr/frr.conf /etc/frr/daemons /etc/sysctl.d/90-hcplb.conf"
    return {
        "files": on_router(b, "bash", "-c", f"stat -c '%n %Y %s' {files}; md5sum {files}").stdout,
        "frr": on_router(b, "systemctl", "show", "-p", "MainPID,ActiveState", "frr").stdout,
        "firewalld": on_router(b, "systemctl", "show", "-p", "MainPID", "firewalld").stdout,
        "bgpd": on_router(b, "cat", "/run/frr/bgpd.pid").stdout,
        "policy": on_router(b, "firewall-cmd", "--info-policy=hcplb-bgp").stdout,
        "policy_file": on_router(
            b, "stat", "-c", "%Y %s", "/etc/firewalld/policies/hcplb-bgp.xml"
        ).stdout,
        "nft": on_router(b, "nft", "list", "ruleset").stdout,
        "config": running_config(b),
    }


def test_setup_sh_prepared_the_booted_router(booted: Booted) -> None:
    assert booted.lab.state.router_host == "systemd"
    assert on_router(booted, "systemctl", "is-system-running").stdout.strip() == "running"
    assert on_router(booted, "systemctl", "is-enabled", "frr").stdout.strip() == "enabled"
    assert on_router(booted, "systemctl", "is-active", "frr").stdout.strip() == "active"
    assert on_router(booted, "systemctl", "is-active", "firewalld").stdout.strip() == "active"
    for key, value in (("ip_forward", "1"), ("fib_multipath_hash_policy", "1")):
        assert on_router(booted, "cat", f"/proc/sys/net/ipv4/{key}").stdout.strip() == value
    # the policy is in the running firewalld (not only in its permanent config)
    policy = on_router(booted, "firewall-cmd", "--info-policy=hcplb-bgp")
    assert policy.ok, policy.stderr
    rules = [line.strip() for line in policy.stdout.splitlines() if "rule " in line]
    for node in NODES:
        assert any(f'source address="{node}"' in r and 'port="179"' in r for r in rules)
        assert any(f'source address="{node}"' in r and 'port="3784"' in r for r in rules)
    assert any('port="179"' in r and r.endswith("drop") and "source" not in r for r in rules)
    # FRR runs the rendered files: the router's files are the ones hcplb rendered
    rendered = booted.lab.render_dir / "router"
    for name, path in (("frr.conf", "/etc/frr/frr.conf"), ("daemons", "/etc/frr/daemons")):
        assert on_router(booted, "cat", path).stdout == (rendered / name).read_text()


def test_lab_exec_and_status_see_the_booted_router(booted: Booted) -> None:
    def hcplb(*args: str) -> Result:
        return run([HCPLB, *args], timeout=60)

    name = booted.lab.name
    exec_ = ("lab", "exec", name, ROUTER, "--")
    assert hcplb(*exec_, "systemctl", "is-active", "frr").stdout.strip() == "active"
    assert hcplb(*exec_, "hostname").stdout.strip() == ROUTER
    journal = hcplb(*exec_, "journalctl", "-u", "frr", "-o", "json", "-n", "1", "--no-pager")
    assert json.loads(journal.stdout)["_SYSTEMD_UNIT"] == "frr.service"
    assert hcplb(*exec_, "firewall-cmd", "--state").stdout.strip() == "running"
    status = json.loads(hcplb("lab", "status", name, "-O", "json").stdout)
    assert status["router_host"] == "systemd" and status["converged"]
    roles = {p["role"] for h in status["hosts"] if h["name"] == ROUTER for p in h["processes"]}
    assert roles == {nspawn.ROLE}


def test_setup_sh_a_second_time_changes_nothing(booted: Booted) -> None:
    before = host_state(booted)
    result = run_setup(booted.lab, ROUTER)
    assert result.ok, result.stderr
    assert host_state(booted) == before


def test_the_firewall_drops_bgp_from_the_client_and_passes_the_nodes(booted: Booted) -> None:
    assert all_established(booted)
    bfd = vtysh_json(booted, "show bfd peers")
    assert isinstance(bfd, list)
    assert sorted(p["peer"] for p in bfd if p["status"] == "up") == NODES
    router = booted.lab.host(ROUTER)
    client_side = next(i.ip for i in router.interfaces if i.ip.startswith(CLIENT_ADDRESS_PREFIX))
    for address in (router.interfaces[0].ip, client_side):

        def connect(port: int, address: str = address) -> Result:
            script = f"exec 3<>/dev/tcp/{address}/{port}"
            return booted.lab.run("client", ["timeout", "3", "bash", "-c", script], timeout=10)

        assert connect(22).ok  # the router is reachable from the client ...
        assert connect(179).rc == 124  # ... but BGP is dropped (no answer, not refused)
    assert bfd_verdicts(booted, client_side) == {3784: {"drop"}, 3785: {"drop"}}


TRACE = """table inet hcplbtrace {
	chain pre {
		type filter hook prerouting priority -400;
		ip saddr CLIENT udp dport { 3784, 3785 } meta nftrace set 1
	}
}
"""


def bfd_verdicts(booted: Booted, address: str) -> dict[int, set[str]]:
    """The running firewall's verdicts on BFD packets from the client (nft's packet trace):
    port -> {"drop"} when the router's firewall drops them."""
    client = booted.lab.host("client").interfaces[0].ip
    assert on_router(booted, "nft", "-f", "-", input=TRACE.replace("CLIENT", client)).ok
    try:
        with ThreadPoolExecutor(1) as pool:
            monitor = pool.submit(on_router, booted, "timeout", "5", "nft", "monitor", "trace")
            while not monitor.done():  # keep sending until the 5 s trace window closed
                for port in BFD_PORTS:
                    send = f"echo bfd > /dev/udp/{address}/{port}"
                    booted.lab.run("client", ["bash", "-c", send], timeout=5)
                time.sleep(0.1)
            out = monitor.result().stdout
    finally:
        on_router(booted, "nft", "delete", "table", "inet", "hcplbtrace")
    verdicts: dict[int, set[str]] = {}
    for line in out.splitlines():
        if " firewalld filter_" in line and line.endswith(("(verdict drop)", "(verdict accept)")):
            for port in (p for p in BFD_PORTS if f"dport {p} " in line):
                verdicts.setdefault(port, set()).add(line.rsplit("verdict ", 1)[1].rstrip(")"))
    return verdicts


def hcplb_on_client(b: Booted, *args: str, timeout: float = 240) -> Result:
    """`hcplb ARGS...` run as the lab's client host, over SSH with host-key checking."""
    ssh = ["--ssh-key", str(b.ssh.key_file), "--known-hosts", str(b.ssh.known_hosts)]
    return b.lab.run("client", [HCPLB, *args, "--router", b.ssh.url, *ssh], timeout=timeout)


def test_apply_over_ssh_reloads_a_changed_site(booted: Booted) -> None:
    bgpd = on_router(booted, "cat", "/run/frr/bgpd.pid").stdout
    result = hcplb_on_client(booted, "apply", str(booted.changed), "-O", "json")
    assert result.ok, result.stderr
    report = json.loads(result.stdout)["routers"][0]
    assert report["changed"] and report["converged_s"] is not None
    assert report["fixed"] == [] and all(c["ok"] for c in report["preflight"])
    assert " timers 20 90" in running_config(booted)
    # frr-reload.py changed the running daemons: same bgpd, sessions up
    assert on_router(booted, "cat", "/run/frr/bgpd.pid").stdout == bgpd
    assert on_router(booted, "systemctl", "is-active", "frr").stdout.strip() == "active"
    wait_for("sessions Established", lambda: all_established(booted))


def test_apply_that_breaks_convergence_is_rolled_back(booted: Booted) -> None:
    good = on_router(booted, "cat", "/etc/frr/frr.conf").stdout
    args = ("apply", str(booted.broken), "--confirm-timeout", "8", "-O", "json")
    result = hcplb_on_client(booted, *args)
    assert result.rc == 1
    assert "rolled back" in result.stderr and "Traceback" not in result.stderr
    assert on_router(booted, "cat", "/etc/frr/frr.conf").stdout == good
    assert "remote-as 64599" not in running_config(booted)
    wait_for("sessions back", lambda: all_established(booted))


def test_the_change_persists_across_a_reboot(booted: Booted) -> None:
    record = nspawn.nspawn_record(booted.lab.state, ROUTER)
    assert record is not None and record.pid is not None
    before = nspawn.leader_pid(record.pid)
    booted.lab.run(ROUTER, ["systemctl", "reboot"], timeout=30)
    wait_for("a new boot", lambda: nspawn.leader_pid(record.pid) not in (None, before), 60)
    assert wait_booted(booted.lab, ROUTER, timeout=120) == "running"
    # nobody but systemd started FRR: the applied config, the sessions and the BFD peers
    assert on_router(booted, "systemctl", "is-active", "frr").stdout.strip() == "active"
    wait_for("sessions Established", lambda: all_established(booted), 90)
    assert " timers 20 90" in running_config(booted)
    assert on_router(booted, "firewall-cmd", "--info-policy=hcplb-bgp").ok


def test_verify_over_ssh_passes_and_names_systemctl_for_a_stopped_frr(booted: Booted) -> None:
    result = hcplb_on_client(booted, "verify", str(booted.changed), "-O", "json")
    probes = json.loads(result.stdout)["probes"]
    failing = [p for p in probes if p["status"] == "fail"]
    assert result.rc in (0, 3), failing
    assert any(p["id"].startswith("router") and p["status"] == "pass" for p in probes)
    assert on_router(booted, "systemctl", "stop", "frr").ok
    try:
        result = hcplb_on_client(booted, "verify", str(booted.changed), "-O", "json")
        assert result.rc == 1
        failed = [p for p in json.loads(result.stdout)["probes"] if p["status"] == "fail"]
        assert failed and any("systemctl" in p["hint"] for p in failed), failed
    finally:
        assert on_router(booted, "systemctl", "start", "frr").ok
    wait_for("sessions back", lambda: all_established(booted), 90)


def _mounts_mentioning(text: str) -> list[str]:
    return [m for m in Path("/proc/self/mountinfo").read_text().splitlines() if text in m]


def test_lab_down_leaves_nothing(booted: Booted) -> None:
    lab = booted.lab
    state = lab.state
    pids = [p.pid for p in state.processes if p.pid]
    machine = nspawn.machine_name(lab.name, ROUTER)
    labs.down(lab.name)
    assert not [n for n in namespaces() if n.startswith(netns_prefix(lab.name))]
    assert not [pid for pid in pids if procs.alive(pid)]  # none runs once down returns
    # a killed process whose parent is another lab process (the container's systemd under
    # nspawn) is a zombie until that parent reaps it: gone within a deadline
    wait_for(
        "lab processes reaped", lambda: not [p for p in pids if Path(f"/proc/{p}").exists()], 10
    )
    assert not _mounts_mentioning(str(lab.state_dir))
    assert not lab.state_dir.exists()
    assert not list(Path("/run/systemd/nspawn").glob(f"*/{machine}"))

"""verify against the seed lab: every probe passes, then one fault at a time (router neighbor
removed, router ASN changed, firewall drops 179, inbound policy removed, BFD off on one side,
a node's speaker stopped, DNS record changed, a node's API stand-in stopped, a certificate for
the wrong name): verify fails exactly the expected probes with the expected hint, and passes
again after the repair. One lab for the whole module, always torn down.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from hcplb.lab import Lab, faults, standin
from hcplb.lab.pki import Ca, issue
from hcplb.lab.verification import prepare_lab
from hcplb.probes.model import Report, Status
from hcplb.probes.sources import Prepared
from hcplb.probes.suite import verify

from .conftest import EXAMPLES, running_lab

pytestmark = pytest.mark.lab

TIMEOUT = 1.5  # per probe: everything is local
SETTLE = 45.0  # how long a fault may take to show (BFD, BGP reconnects)
HEAL = 150.0  # how long a repair may take (a node backs off after Bad Peer AS)
ROUTER, NODE, VIP, CP = "frr", "master-2", "10.0.2.20", "hosted-hosted"
API, API_INT = "api.hosted.hypershift.lab", "api-int.hosted.hypershift.lab"
RELOAD = "/usr/lib/frr/frr-reload.py"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with running_lab(
        tmp_path_factory, EXAMPLES / "seed.yaml", f"v{os.getpid() % 100000}-seed"
    ) as lab:
        yield lab


@pytest.fixture(scope="module")
def prepared(lab: Lab) -> Prepared:
    return prepare_lab(lab.name, timeout=TIMEOUT)


def run_verify(prepared: Prepared) -> Report:
    return verify(prepared.expect, prepared.targets, timeout=TIMEOUT, secrets=prepared.secrets)


def failing(report: Report) -> dict[str, str]:
    return {p.id: p.hint for p in report.probes if p.status is Status.fail}


def wait_for(prepared: Prepared, done: Callable[[Report], bool], timeout: float) -> Report:
    """Run verify until `done(report)`; the last report either way (then the assert shows it)."""
    deadline = time.monotonic() + timeout
    while True:
        report = run_verify(prepared)
        if done(report) or time.monotonic() > deadline:
            return report
        time.sleep(0.3)


def assert_fails_exactly(prepared: Prepared, expected: dict[str, str]) -> Report:
    """Wait until exactly `expected` fail; each failing probe's hint starts as given."""
    report = wait_for(prepared, lambda r: set(failing(r)) == set(expected), SETTLE)
    got = failing(report)
    assert set(got) == set(expected), _describe(report)
    for id, hint in expected.items():
        assert got[id].startswith(hint), f"{id}: {got[id]!r}"
    return report


def assert_passes(prepared: Prepared, timeout: float = HEAL) -> Report:
    report = wait_for(prepared, lambda r: r.exit_code == 0, timeout)
    assert report.exit_code == 0, _describe(report)
    return report


def _describe(report: Report) -> str:
    return "\n".join(
        f"{p.status.value} {p.id}: {p.observed} | {p.message} | {p.hint}"
        for p in report.probes
        if p.status is not Status.pass_
    )


def vtysh_config(lab: Lab, host: str, *lines: str) -> None:
    argv = ["vtysh", "-c", "configure terminal"]
    for line in lines:
        argv += ["-c", line]
    result = lab.run(host, argv, timeout=15)
    assert result.ok, result.stdout + result.stderr


def reload_frr(lab: Lab, host: str) -> None:
    """Back to the host's own /etc/frr/frr.conf (which the faults never touch)."""
    result = lab.run(host, [RELOAD, "--reload", "/etc/frr/frr.conf"], timeout=60)
    assert result.ok, result.stderr[-500:]


def rendered_router_conf(lab: Lab) -> str:
    return (lab.render_dir / "router" / "frr.conf").read_text()


def write_router_conf(lab: Lab, text: str) -> None:
    result = lab.run(ROUTER, ["sh", "-c", "cat >/etc/frr/frr.conf"], timeout=10, input=text)
    assert result.ok, result.stderr


# -- the healthy lab -------------------------------------------------------------------------


def test_seed_lab_passes_every_probe(prepared: Prepared) -> None:
    report = assert_passes(prepared, timeout=30)
    assert report.duration_s < 5.0  # the benchmark measures it on a quiet machine (< 2 s)
    ids = [p.id for p in report.probes]
    assert [p.id for p in report.probes if p.status is Status.skip] == ["cluster"]
    for id in (
        f"router/{ROUTER}/daemons",
        f"router/{ROUTER}/asn",
        *(f"router/{ROUTER}/session/master-{i}" for i in range(3)),
        f"router/{ROUTER}/vip/{VIP}/bgp",
        f"router/{ROUTER}/vip/{VIP}/fib",
        *(f"router/{ROUTER}/bfd/master-{i}" for i in range(3)),
        f"router/{ROUTER}/sysctl/ip_forward",
        f"router/{ROUTER}/sysctl/fib_multipath_hash_policy",
        f"router/{ROUTER}/config",
        f"dns/192.168.130.53/{API}",
        f"dns/192.168.130.53/{API_INT}",
        *(f"api/{CP}/{k}" for k in ("tcp", "tls", "cert", "ready", "spread")),
    ):
        assert id in ids


def test_cli_json_and_exit_code(lab: Lab, prepared: Prepared) -> None:
    assert_passes(prepared, timeout=30)
    hcplb = str(Path(sys.executable).with_name("hcplb"))
    argv = [hcplb, "verify", "--lab", lab.name, "--output", "json"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=os.environ.copy())
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(done.stdout)
    assert data["ok"] is True and isinstance(data["duration_s"], float)
    assert set(data["probes"][0]) == {
        "id",
        "system",
        "status",
        "expected",
        "observed",
        "message",
        "hint",
    }


# -- one fault at a time -----------------------------------------------------------------------

TRAFFIC_GONE = {  # the VIP left the router's FIB: the client reaches nothing
    f"router/{ROUTER}/vip/{VIP}/bgp": "",
    f"router/{ROUTER}/vip/{VIP}/fib": "",
    f"api/{CP}/tcp": f"nothing answers on {VIP}:6443",
    f"api/{CP}/spread": "no connection reached master-0, master-1, master-2",
}
ONE_NODE_GONE = {  # master-2 announces nothing: two nexthops, no connection to it
    f"router/{ROUTER}/vip/{VIP}/bgp": "master-2: see the session probe",
    f"router/{ROUTER}/vip/{VIP}/fib": "fewer nexthops than nodes (2 of 3)",
    f"api/{CP}/spread": "no connection reached master-2",
}
SESSIONS = [f"router/{ROUTER}/session/master-{i}" for i in range(3)]


def test_router_neighbor_removed(lab: Lab, prepared: Prepared) -> None:
    assert_passes(prepared, timeout=30)
    vtysh_config(lab, ROUTER, "router bgp 64512", "no neighbor 192.168.125.22")
    try:
        report = assert_fails_exactly(
            prepared,
            {
                f"router/{ROUTER}/session/{NODE}": "master-2 (192.168.125.22) is not a neighbor of router frr",
                f"router/{ROUTER}/bfd/{NODE}": "no BFD session for this node",
                **ONE_NODE_GONE,
            },
        )
        drift = report.get(f"router/{ROUTER}/config")
        assert drift.status is Status.warn
        assert "+ router bgp 64512 / neighbor 192.168.125.22 peer-group HCP-NODES" in drift.observed
    finally:
        reload_frr(lab, ROUTER)
    assert_passes(prepared)


def test_router_asn_changed(lab: Lab, prepared: Prepared) -> None:
    assert_passes(prepared, timeout=30)
    original = rendered_router_conf(lab)
    write_router_conf(lab, original.replace("router bgp 64512", "router bgp 64599"))
    try:
        reload_frr(lab, ROUTER)
        bad_as = "Bad Peer AS: the router presents AS 64599, but the nodes"
        assert_fails_exactly(
            prepared,
            {
                f"router/{ROUTER}/asn": bad_as,
                **dict.fromkeys(SESSIONS, bad_as),
                **TRAFFIC_GONE,
                f"router/{ROUTER}/vip/{VIP}/bgp": "master-0, master-1, master-2: see the session",
            },
        )
    finally:
        write_router_conf(lab, original)
        reload_frr(lab, ROUTER)
    assert_passes(prepared)


def test_firewall_drops_bgp(lab: Lab, prepared: Prepared) -> None:
    assert_passes(prepared, timeout=30)
    rule = ["INPUT", "-p", "tcp", "--dport", "179", "-j", "DROP"]
    assert lab.run(ROUTER, ["iptables", "-I", *rule[:1], "1", *rule[1:]], timeout=10).ok
    try:
        # established sessions would survive until the hold time: reset them now
        assert lab.run(ROUTER, ["vtysh", "-c", "clear bgp *"], timeout=10).ok
        blocked = {id: f"TCP 179 from master-{id[-1]} is blocked" for id in SESSIONS}
        assert_fails_exactly(prepared, {**blocked, **TRAFFIC_GONE})
    finally:
        lab.run(ROUTER, ["iptables", "-D", *rule], timeout=10)
    assert_passes(prepared)


def test_inbound_policy_removed(lab: Lab, prepared: Prepared) -> None:
    assert_passes(prepared, timeout=30)
    vtysh_config(
        lab,
        ROUTER,
        "router bgp 64512",
        "address-family ipv4 unicast",
        "no neighbor HCP-NODES route-map HCPLB-FROM-NODES in",
    )
    try:
        policy = "(Policy): FRR requires an inbound policy"
        assert_fails_exactly(
            prepared,
            {
                **dict.fromkeys(SESSIONS, policy),
                **TRAFFIC_GONE,
                f"router/{ROUTER}/vip/{VIP}/bgp": policy,
                f"router/{ROUTER}/vip/{VIP}/fib": policy,
            },
        )
    finally:
        reload_frr(lab, ROUTER)
    assert_passes(prepared)


def test_bfd_off_on_one_side(lab: Lab, prepared: Prepared) -> None:
    assert_passes(prepared, timeout=30)
    vtysh_config(lab, NODE, "router bgp 64513", "no neighbor 192.168.125.1 bfd")
    try:
        assert_fails_exactly(
            prepared,
            {
                f"router/{ROUTER}/bfd/{NODE}": "BFD is down while BGP is up (one-sided)",
            },
        )
    finally:
        reload_frr(lab, NODE)
    assert_passes(prepared)


def test_node_speaker_stopped(lab: Lab, prepared: Prepared) -> None:
    assert_passes(prepared, timeout=30)
    faults.fail(lab, NODE, "freeze")  # every FRR daemon of the node stops answering
    try:
        assert_fails_exactly(
            prepared,
            {
                f"router/{ROUTER}/session/{NODE}": "master-2 does not connect: MetalLB nodes dial",
                f"router/{ROUTER}/bfd/{NODE}": "BFD and BGP are both down",
                **ONE_NODE_GONE,
            },
        )
    finally:
        faults.heal(lab, NODE)
    assert_passes(prepared)


def _nsupdate(lab: Lab, address: str) -> None:
    script = (
        f"server 192.168.130.53\nupdate delete {API} A\nupdate add {API} 300 A {address}\nsend\n"
    )
    result = lab.run("client", ["nsupdate", "-k", str(lab.tsig_file)], timeout=10, input=script)
    assert result.ok, result.stderr


def test_dns_record_changed(lab: Lab, prepared: Prepared) -> None:
    assert_passes(prepared, timeout=30)
    _nsupdate(lab, "10.0.2.99")
    try:
        assert_fails_exactly(
            prepared,
            {
                f"dns/192.168.130.53/{API}": "the record points to 10.0.2.99, not the VIP 10.0.2.20",
            },
        )
    finally:
        _nsupdate(lab, VIP)
    assert_passes(prepared)


def test_node_api_stopped(lab: Lab, prepared: Prepared) -> None:
    assert_passes(prepared, timeout=30)
    faults.fail(lab, NODE, "api-stop")
    try:
        report = assert_fails_exactly(
            prepared,
            {
                f"api/{CP}/spread": "no connection reached master-2: their API server stand-in",
            },
        )
        assert "Connection refused" in report.get(f"api/{CP}/spread").message
    finally:
        faults.heal(lab, NODE)
    assert_passes(prepared)


def _restart_apiservers(lab: Lab) -> None:
    for node in ("master-0", "master-1", "master-2"):
        faults.fail(lab, node, "api-stop")
        faults.heal(lab, node)


def test_certificate_for_the_wrong_name(lab: Lab, prepared: Prepared, tmp_path: Path) -> None:
    assert_passes(prepared, timeout=30)
    config = standin.read_config(lab)
    files = {Path(p) for spec in config["listeners"] for p in (spec["cert"], spec["key"])}
    saved = {path: path.read_bytes() for path in files}
    pki = lab.state_dir / "pki"
    key = serialization.load_pem_private_key((pki / "ca.key").read_bytes(), password=None)
    ca = Ca(x509.load_pem_x509_certificate((pki / "ca.pem").read_bytes()), key, pki / "ca.pem")
    wrong = issue(ca, tmp_path, "wrong", dns_names=["wrong.example.net"], ips=[])
    try:
        for spec in config["listeners"]:
            Path(spec["cert"]).write_bytes(wrong.cert_file.read_bytes())
            Path(spec["key"]).write_bytes(wrong.key_file.read_bytes())
        _restart_apiservers(lab)
        report = assert_fails_exactly(
            prepared,
            {
                f"api/{CP}/cert": "TLS name mismatch: the serving certificate does not cover the API name",
            },
        )
        assert report.get(f"api/{CP}/cert").observed == "SANs: wrong.example.net"
        assert report.get(f"api/{CP}/tls").status is Status.pass_  # same CA: the chain is fine
    finally:
        for path, data in saved.items():
            path.write_bytes(data)
        _restart_apiservers(lab)
    assert_passes(prepared)


# -- live mode, from the lab's client host (its packets never leave the lab) -----------------


def _hcplb_on_client(lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    hcplb = str(Path(sys.executable).with_name("hcplb"))
    result = lab.run("client", [hcplb, *args], timeout=120)
    return subprocess.CompletedProcess(result.argv, result.rc, result.stdout, result.stderr)


def test_live_verify_over_ssh_from_the_client(lab: Lab, prepared: Prepared) -> None:
    from hcplb.lab.sshd import start_sshd

    assert_passes(prepared, timeout=30)
    ssh = start_sshd(lab, ROUTER)
    common = [
        "verify",
        str(lab.site_file),
        "--resolver",
        "192.168.130.53",
        "--ca-file",
        str(lab.ca_file),
        "--ssh-key",
        str(ssh.key_file),
        "--known-hosts",
        str(ssh.known_hosts),
        "--timeout",
        "3",
        "--output",
        "json",
    ]
    done = _hcplb_on_client(lab, *common, "--router", ssh.url)
    data = json.loads(done.stdout)
    bad = [p for p in data["probes"] if p["status"] not in ("pass", "skip")]
    assert done.returncode == 0 and not bad, done.stdout + done.stderr
    ids = {p["id"]: p["status"] for p in data["probes"]}
    assert ids[f"router/{ROUTER}/config"] == "pass"  # rendered from the spec = running
    assert ids[f"dns/192.168.130.53/{API}"] == "pass" and ids[f"api/{CP}/tls"] == "pass"
    assert f"api/{CP}/spread" not in ids  # a live site has no X-Hcplb-Node

    # nothing listens on port 2222: every router probe fails at once, with why
    started = time.monotonic()
    dead = _hcplb_on_client(lab, *common, "--router", f"ssh://root@{ssh.address}:2222")
    router = [p for p in json.loads(dead.stdout)["probes"] if p["system"] == "router"]
    assert dead.returncode == 1
    assert {p["status"] for p in router if p["id"] != f"router/{ROUTER}/config"} == {"fail"}
    assert "cannot connect" in router[0]["message"]
    assert router[0]["hint"].startswith("could not run commands on ssh://")
    assert time.monotonic() - started < 20

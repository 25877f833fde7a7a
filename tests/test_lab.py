"""The rehearsal lab for real (root, FRR, BIND, TLS): the seed site, the fleet site, two labs.

Each lab is built once per module and always torn down, also when a test fails.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from hcplb.errors import LabError
from hcplb.lab import Lab, down, list_labs, status, up
from hcplb.lab.netns import namespaces
from hcplb.lab.state import netns_prefix
from hcplb.runner import run

from .conftest import EXAMPLES

pytestmark = pytest.mark.lab

SEED_VIP = "10.0.2.20"
SEED_NODES = {"master-0", "master-1", "master-2"}


def lab_name(kind: str) -> str:
    return f"t{os.getpid() % 100000}-{kind}"


@pytest.fixture(scope="module")
def labs_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("labs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HCPLB_LAB_DIR", str(path))
        yield path


def _lab(labs_dir: Path, site: Path, kind: str) -> Iterator[Lab]:
    name = lab_name(kind)
    try:
        yield up(site, name, timeout=90)
    finally:
        if (labs_dir / name).exists():
            down(name)


@pytest.fixture(scope="module")
def seed_lab(labs_dir: Path) -> Iterator[Lab]:
    yield from _lab(labs_dir, EXAMPLES / "seed.yaml", "seed")


@pytest.fixture(scope="module")
def fleet_lab(labs_dir: Path) -> Iterator[Lab]:
    yield from _lab(labs_dir, EXAMPLES / "fleet.yaml", "fleet")


def bgp_peers(lab: Lab, router: str) -> dict[str, dict[str, object]]:
    result = lab.run(router, ["vtysh", "-c", "show bgp summary json"], timeout=10)
    return dict(json.loads(result.stdout)["ipv4Unicast"]["peers"])


def fib_nexthops(lab: Lab, router: str, vip: str) -> set[str]:
    result = lab.run(router, ["ip", "-j", "route", "show", f"{vip}/32"], timeout=10)
    (route,) = json.loads(result.stdout)
    return {hop["gateway"] for hop in route.get("nexthops", [route])}


def served_by(lab: Lab, url: str, count: int = 300) -> Counter[str]:
    """`count` new HTTPS connections from the client (CA verified); which node served each."""
    argv = ["curl", "-sS", "--no-progress-meter", "-H", "Connection: close"]
    argv += ["-w", "%header{x-hcplb-node}\\n"]
    for _ in range(count):
        argv += ["-o", "/dev/null", url]
    result = lab.run("client", argv, timeout=180)
    assert result.ok, result.stderr
    return Counter(line for line in result.stdout.splitlines() if line)


def rx_packets(lab: Lab, host: str, ifname: str) -> int:
    result = lab.run(host, ["ip", "-j", "-s", "link", "show", ifname], timeout=10)
    return int(json.loads(result.stdout)[0]["stats64"]["rx"]["packets"])


# -- the seed site: one router, three nodes, one hosted cluster -------------------------------


def test_seed_three_sessions_established(seed_lab: Lab) -> None:
    peers = bgp_peers(seed_lab, "frr")
    assert set(peers) == {"192.168.125.20", "192.168.125.21", "192.168.125.22"}
    for address, peer in peers.items():
        assert peer["state"] == "Established", address
        assert peer.get("peerState") != "Policy", address
        assert peer["pfxRcd"] == 1, address


def test_seed_fib_route_has_three_nexthops(seed_lab: Lab) -> None:
    assert fib_nexthops(seed_lab, "frr", SEED_VIP) == {
        "192.168.125.20",
        "192.168.125.21",
        "192.168.125.22",
    }
    text = seed_lab.run("frr", ["ip", "route", "show", SEED_VIP], timeout=10).stdout
    assert text.count("nexthop via") == 3


def test_seed_nodes_dialled_only_a_router_that_accepted(seed_lab: Lab) -> None:
    """A node that dials a router before the router's bgpd knows it is closed and waits to
    dial again. The nodes' daemons start only once the router's bgpd, having read its part of
    frr.conf, listens: every OPEN a node sent became an Established session, none was refused."""
    for node in sorted(SEED_NODES):
        result = seed_lab.run(
            node, ["vtysh", "-c", "show bgp neighbors 192.168.125.1 json"], timeout=10
        )
        peer = json.loads(result.stdout)["192.168.125.1"]
        assert peer["connectionsEstablished"] >= 1, peer
        assert peer["messageStats"]["opensSent"] == peer["connectionsEstablished"], (node, peer)


def test_seed_dns_answers_from_the_client(seed_lab: Lab) -> None:
    for name in ("api.hosted.hypershift.lab", "api-int.hosted.hypershift.lab"):
        result = seed_lab.run("client", ["dig", name, "+short"], timeout=10)
        assert result.stdout.split() == [SEED_VIP], name


def test_seed_https_verifies_the_lab_ca(seed_lab: Lab) -> None:
    url = "https://api.hosted.hypershift.lab:6443/version"
    ok = seed_lab.run("client", ["curl", "-sS", "--fail", url], timeout=10)
    assert ok.ok, ok.stderr
    assert json.loads(ok.stdout)["gitVersion"].startswith("v1.")
    # the same request against the system trust store must fail verification
    bad = seed_lab.run(
        "client", ["curl", "-sS", "--cacert", "/etc/ssl/certs/ca-certificates.crt", url], timeout=10
    )
    assert bad.rc == 60, bad.stderr  # CURLE_PEER_FAILED_VERIFICATION
    for path in ("/readyz", "/livez"):
        probe = seed_lab.run(
            "client", ["curl", "-sS", "--fail", url.replace("/version", path)], timeout=10
        )
        assert probe.stdout == "ok"


def test_seed_300_connections_spread_over_all_nodes(seed_lab: Lab) -> None:
    counts = served_by(seed_lab, "https://api.hosted.hypershift.lab:6443/version")
    assert sum(counts.values()) == 300
    assert set(counts) == SEED_NODES
    for node, n in counts.items():
        assert n >= 60, f"{node} served {n}/300: {dict(counts)}"


def test_seed_status_reports_converged(seed_lab: Lab) -> None:
    st = status(seed_lab.name)
    assert st.phase == "up" and st.converged, st.checks
    router = next(h for h in st.hosts if h.name == "frr")
    assert {p.role for p in router.processes if p.running} >= {"zebra", "bgpd", "bfdd"}
    assert st.converge_seconds is not None
    assert any(s.name == seed_lab.name and s.phase == "up" for s in list_labs())


def test_seed_lab_exec_sees_the_hosts_own_files(seed_lab: Lab) -> None:
    hostname = seed_lab.run("master-1", ["hostname"], timeout=10).stdout.strip()
    assert hostname == "master-1"
    conf = seed_lab.run("frr", ["cat", "/etc/frr/frr.conf"], timeout=10).stdout
    assert conf == (seed_lab.render_dir / "router" / "frr.conf").read_text()
    resolv = seed_lab.run("client", ["cat", "/etc/resolv.conf"], timeout=10).stdout
    assert "nameserver 192.168.130.53" in resolv


def test_seed_dns_takes_updates_signed_with_the_lab_key(seed_lab: Lab) -> None:
    script = (
        "server 192.168.130.53\nzone hypershift.lab.\n"
        "update add probe.hosted.hypershift.lab. 60 A 10.0.2.99\nsend\n"
    )
    signed = seed_lab.run(
        "client", ["nsupdate", "-k", str(seed_lab.tsig_file)], timeout=20, input=script
    )
    assert signed.ok, signed.stderr
    answer = seed_lab.run("client", ["dig", "probe.hosted.hypershift.lab", "+short"], timeout=10)
    assert answer.stdout.split() == ["10.0.2.99"]
    unsigned = seed_lab.run(
        "client", ["nsupdate"], timeout=20, input=script.replace("10.0.2.99", "10.0.2.98")
    )
    assert not unsigned.ok and "REFUSED" in unsigned.stderr


def test_seed_router_runs_the_rendered_sysctl_and_firewall(seed_lab: Lab) -> None:
    sysctl = seed_lab.run(
        "frr",
        ["sysctl", "-n", "net.ipv4.ip_forward", "net.ipv4.fib_multipath_hash_policy"],
        timeout=10,
    )
    assert sysctl.stdout.split() == ["1", "1"]
    rules = seed_lab.run("frr", ["iptables", "-S", "HCPLB-INPUT"], timeout=10).stdout
    assert "-s 192.168.125.20/32 -p tcp -m tcp --dport 179 -j ACCEPT" in rules
    assert "-p tcp -m tcp --dport 179 -j DROP" in rules
    # ... and nothing of it in the machine's own namespace
    assert "HCPLB-INPUT" not in run(["iptables", "-S"], timeout=10).stdout


def test_seed_cli_exec_and_status_json(seed_lab: Lab) -> None:
    hcplb = str(Path(sys.executable).with_name("hcplb"))
    shown = run(
        [hcplb, "lab", "exec", seed_lab.name, "frr", "--", "vtysh", "-c", "show ip bgp summary"],
        timeout=30,
    )
    assert shown.ok, shown.stderr
    assert re.search(r"(?m)^192\.168\.125\.21 .* master-1$", shown.stdout)
    st = run([hcplb, "lab", "status", seed_lab.name, "--output", "json"], timeout=60)
    assert st.ok, st.stderr
    data = json.loads(st.stdout)
    assert data["converged"] is True and data["phase"] == "up"
    unknown = run([hcplb, "lab", "exec", seed_lab.name, "nosuch", "--", "true"], timeout=30)
    assert unknown.rc == 1 and "has no host 'nosuch'" in unknown.stderr


def test_second_lab_side_by_side_and_name_in_use(seed_lab: Lab, labs_dir: Path) -> None:
    with pytest.raises(LabError, match="already exists"):
        up(EXAMPLES / "seed.yaml", seed_lab.name)
    other = lab_name("seed2")
    try:
        lab2 = up(EXAMPLES / "seed.yaml", other, timeout=90)
        assert fib_nexthops(lab2, "frr", SEED_VIP) == fib_nexthops(seed_lab, "frr", SEED_VIP)
        assert status(seed_lab.name).converged
        assert status(other).converged
    finally:
        if (labs_dir / other).exists():
            down(other)
    assert not [n for n in namespaces() if n.startswith(netns_prefix(other))]
    assert status(seed_lab.name).converged


def test_guide_profile_lab_converges(labs_dir: Path) -> None:
    """The guide's literal router and MetalLB config in the same lab (no BFD, no policy)."""
    name = lab_name("guide")
    try:
        lab = up(EXAMPLES / "seed.yaml", name, profile="guide", timeout=90)
        conf = lab.run("frr", ["vtysh", "-c", "show running-config"], timeout=10).stdout
        assert "no bgp ebgp-requires-policy" in conf and " bfd" not in conf
        assert fib_nexthops(lab, "frr", SEED_VIP) == {
            "192.168.125.20",
            "192.168.125.21",
            "192.168.125.22",
        }
        assert status(name).converged
    finally:
        if (labs_dir / name).exists():
            down(name)


def test_seed_nodes_run_what_frrk8s_renders(seed_lab: Lab) -> None:
    """The default backend: each node runs frr-k8s's frr.conf for MetalLB's FRRConfiguration
    (frr-k8s drops BGP's default port and names its incoming list after the node's family)."""
    conf = seed_lab.run("master-0", ["vtysh", "-c", "show running-config"], timeout=10).stdout
    assert "ipv6 prefix-list 192.168.125.1-inpl-ipv4 seq 2 deny any" in conf
    assert "neighbor 192.168.125.1 port" not in conf
    assert "network 10.0.2.20/32" in conf


def test_frr_backend_lab_converges(labs_dir: Path, tmp_path: Path) -> None:
    """bgpBackend frr: MetalLB's own FRR mode, the path older OpenShift releases run."""
    text = (EXAMPLES / "seed.yaml").read_text()
    site = tmp_path / "seed-frr.yaml"
    site.write_text(
        text.replace("  managementCluster:\n", "  managementCluster:\n    bgpBackend: frr\n")
    )
    name = lab_name("frrmode")
    try:
        lab = up(site, name, timeout=90)
        conf = lab.run("master-0", ["vtysh", "-c", "show running-config"], timeout=10).stdout
        assert "route-map 192.168.125.1-in deny 20" in conf
        assert "inpl-ipv4" not in conf
        peers = bgp_peers(lab, "frr")
        assert {p["state"] for p in peers.values()} == {"Established"}
        assert status(name).converged
        # lab up's daemons read their part of frr.conf at start; frrinit.sh's `vtysh -b` load
        # (restart_frr) gives the same running config, on the router and on a node
        for host in ("frr", "master-0"):
            started = lab.run(host, ["vtysh", "-c", "show running-config"], timeout=10).stdout
            lab.restart_frr(host)
            booted = lab.run(host, ["vtysh", "-c", "show running-config"], timeout=10).stdout
            assert started == booted, host
    finally:
        if (labs_dir / name).exists():
            down(name)


# -- the fleet site: two routers, five nodes, three hosted clusters ---------------------------

FLEET_NODES = {f"192.168.125.{20 + i}" for i in range(5)}


def test_fleet_sessions_on_both_routers(fleet_lab: Lab) -> None:
    for router in ("frr-a", "frr-b"):
        peers = bgp_peers(fleet_lab, router)
        assert set(peers) == FLEET_NODES, router
        assert all(
            p["state"] == "Established" and p.get("peerState") != "Policy" for p in peers.values()
        )


def test_fleet_every_vip_has_five_nexthops_on_both_routers(fleet_lab: Lab) -> None:
    vips = [c.vip for c in fleet_lab.plan.clusters]
    assert len(set(vips)) == 3
    for router in ("frr-a", "frr-b"):
        for vip in vips:
            assert fib_nexthops(fleet_lab, router, vip) == FLEET_NODES, (router, vip)


def test_fleet_dns_and_https_for_every_cluster(fleet_lab: Lab) -> None:
    for cluster in fleet_lab.plan.clusters:
        for name in (cluster.api_name, cluster.api_int_name):
            answer = fleet_lab.run("client", ["dig", name, "+short"], timeout=10).stdout.split()
            assert answer == [cluster.vip], name
        url = f"https://{cluster.api_name}:6443/version"
        result = fleet_lab.run("client", ["curl", "-sS", "--fail", "-i", url], timeout=10)
        assert result.ok, result.stderr
        assert re.search(r"(?im)^x-hcplb-node: mgmt-\d", result.stdout)


def test_fleet_connections_spread_over_nodes_and_both_routers(fleet_lab: Lab) -> None:
    before = {r: rx_packets(fleet_lab, r, "eth1") for r in ("frr-a", "frr-b")}
    counts = served_by(fleet_lab, f"https://{fleet_lab.plan.clusters[1].api_name}:6443/version")
    after = {r: rx_packets(fleet_lab, r, "eth1") for r in ("frr-a", "frr-b")}
    assert sum(counts.values()) == 300
    assert set(counts) == {f"mgmt-{i}" for i in range(5)}
    for node, n in counts.items():  # fair share is 60; at least half of it each
        assert n >= 30, f"{node} served {n}/300: {dict(counts)}"
    for router in before:  # the client's ECMP default route uses both routers
        assert after[router] - before[router] >= 300, (router, before, after)


def test_fleet_routers_run_their_firewall_flavour(fleet_lab: Lab) -> None:
    nft = fleet_lab.run("frr-a", ["nft", "list", "table", "inet", "hcplb"], timeout=10).stdout
    assert "tcp dport 179 drop" in nft
    rules = fleet_lab.run("frr-b", ["iptables", "-S", "HCPLB-INPUT"], timeout=10).stdout
    assert "-p tcp -m tcp --dport 179 -j DROP" in rules

"""The lab's pure parts (topology, parsers, journal) and the API stand-in over loopback TLS."""

from __future__ import annotations

import importlib
import json
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from hcplb.converged import session_problem
from hcplb.errors import LabError, SpecError
from hcplb.frrjson import PeerSummary, nexthop_peers, parse_bgp_summary, parse_bgp_table
from hcplb.lab import converge, frr, netns, pki
from hcplb.lab.state import Journal, ProcessRecord, new_state, read_state
from hcplb.lab.topology import Host, Interface, build_topology, port_name
from hcplb.plan import plan_site
from hcplb.runner import Result
from hcplb.spec import LoadedSite, Site, load_site, load_site_text

from .conftest import EXAMPLES


def _result(stdout: str) -> Result:
    return Result(("ip",), 0, stdout, "", 0.0)


def test_seed_topology_addresses(seed: LoadedSite) -> None:
    topo = build_topology(
        plan_site(seed.site), "seed", "ab12", vips_by_node={"master-0": ["10.0.2.20"]}
    )
    router = topo.host("frr")
    assert [i.address for i in router.interfaces] == ["192.168.125.1/24", "192.168.130.1/24"]
    assert topo.host("client").interfaces[0].address == "192.168.130.10/24"
    assert topo.host("dns").interfaces[0].address == "192.168.130.53/24"
    assert topo.host("client").gateways == ("192.168.130.1",)
    assert topo.host("master-0").gateways == ("192.168.125.1",)
    assert topo.host("master-0").loopbacks == ("10.0.2.20",)
    assert topo.host("master-0").netns == "hcplb-seed.master-0"
    assert all(len(port) <= 15 for port, _seg in topo.ports())
    assert len({port for port, _seg in topo.ports()}) == len(topo.ports())


def test_fleet_topology_has_ecmp_defaults() -> None:
    plan = plan_site(load_site(EXAMPLES / "fleet.yaml").site)
    topo = build_topology(plan, "fleet", "zz99", vips_by_node={})
    assert topo.host("client").gateways == ("192.168.130.1", "192.168.130.2")
    assert topo.host("mgmt-3").gateways == ("192.168.125.1", "192.168.125.2")
    assert netns.host_lines(topo.host("client"))[-1] == (
        "route add default nexthop via 192.168.130.1 nexthop via 192.168.130.2"
    )


def test_ipv6_and_dualstack_topologies_address_every_family() -> None:
    """Every lab host gets an address per site family (primary first) and a default route per
    family via the routers; every namespace turns duplicate address detection off."""
    plan = plan_site(load_site(EXAMPLES / "ipv6.yaml").site)
    topo = build_topology(plan, "v6", "ab12", vips_by_node={"master-0": ["2001:db8:2::20"]})
    assert topo.host("frr").interfaces[1].addresses == ("2001:db8:130::1/64",)
    assert topo.host("client").interfaces[0].addresses == ("2001:db8:130::10/64",)
    assert topo.host("dns").interfaces[0].addresses == ("2001:db8:130::53/64",)
    assert topo.host("master-0").gateways == ("2001:db8:125::1",)
    assert "addr add 2001:db8:2::20/128 dev lo nodad" in netns.host_lines(topo.host("master-0"))
    assert all(
        ("net.ipv6.conf.default.accept_dad", "0") in h.sysctls
        for h in topo.hosts
        if h.role != "switch"
    )
    plan = plan_site(load_site(EXAMPLES / "dualstack.yaml").site)
    topo = build_topology(plan, "ds", "ab12", vips_by_node={})
    assert topo.host("frr-b").interfaces[0].addresses == ("192.168.125.2/24", "2001:db8:125::2/64")
    assert topo.host("client").gateways == (
        "192.168.130.1",
        "2001:db8:130::1",
        "192.168.130.2",
        "2001:db8:130::2",
    )
    assert netns.host_lines(topo.host("master-1"))[-2:] == [
        "route add default nexthop via 192.168.125.1 nexthop via 192.168.125.2",
        "route add ::/0 nexthop via 2001:db8:125::1 nexthop via 2001:db8:125::2",
    ]


def test_reserved_host_name_is_a_clear_error(seed: LoadedSite) -> None:
    # `client` and `dns` are refused by the spec checks already; `lan` is the switch namespace
    text = (EXAMPLES / "seed.yaml").read_text().replace("name: master-2", "name: lan")
    with pytest.raises(SpecError, match="'lan' is reserved for the lab"):
        load_site_text(text, "seed.yaml")
    # The lab keeps its own guard for sites that did not go through the loader's checks.
    plan = plan_site(Site.model_validate(YAML(typ="safe").load(text)))
    with pytest.raises(LabError, match="host name 'lan' is reserved"):
        build_topology(plan, "x", "ab12", vips_by_node={})


def test_port_names_fit_ifnamsiz() -> None:
    assert port_name("ab12", "machine", 999) == "ab12m999"
    assert len(port_name("zzzz", "client", 99999)) <= 15


def test_routes_parser_multipath_and_single() -> None:
    text = json.dumps(
        [
            {
                "dst": "10.0.2.20",
                "nexthops": [{"gateway": "192.168.125.20"}, {"gateway": "192.168.125.21"}],
            },
            {"dst": "10.0.2.21", "gateway": "192.168.125.22"},
            {"dst": "10.0.2.16/28", "gateway": "192.168.125.22"},
        ]
    )
    assert netns.routes(_result(text)) == {
        "10.0.2.20/32": {"192.168.125.20", "192.168.125.21"},
        "10.0.2.21/32": {"192.168.125.22"},
        "10.0.2.16/28": {"192.168.125.22"},
    }
    assert netns.routes(_result("")) == {}


def test_ipv6_routes_are_host_prefixes_and_link_local_hops_name_their_peer() -> None:
    """`ip -j -6 route`: a host route is a /128; over eBGP FRR installs the announcers'
    link-local addresses, which the BGP paths map back to their peers."""
    text = json.dumps(
        [
            {
                "dst": "2001:db8:2::20",
                "protocol": "bgp",
                "nexthops": [
                    {"gateway": "fe80::1:20", "dev": "eth0"},
                    {"gateway": "fe80::1:21", "dev": "eth0"},
                ],
            }
        ]
    )
    assert netns.routes(_result(text)) == {"2001:db8:2::20/128": {"fe80::1:20", "fe80::1:21"}}
    table = {
        "2001:db8:2::20/128": [
            {
                "valid": True,
                "peerId": "2001:db8:125::20",
                "nexthops": [
                    {"ip": "2001:db8:125::20", "scope": "global"},
                    {"ip": "fe80::1:20", "scope": "link-local", "used": True},
                ],
            },
            {  # a dual-stack session: the peer is the node's IPv4 address
                "valid": True,
                "peerId": "192.168.125.21",
                "nexthops": [
                    {"ip": "2001:db8:125::21", "scope": "global"},
                    {"ip": "fe80::1:21", "scope": "link-local"},
                ],
            },
        ]
    }
    paths = parse_bgp_table({"routes": table})["2001:db8:2::20/128"]
    assert nexthop_peers(paths) == {
        "fe80::1:20": "2001:db8:125::20",
        "2001:db8:125::20": "2001:db8:125::20",
        "fe80::1:21": "192.168.125.21",
        "2001:db8:125::21": "192.168.125.21",
    }


def test_ipv6_host_lines_skip_dad_and_route_each_family() -> None:
    host = Host(
        "client",
        "client",
        "hcplb-x.client",
        (Interface("eth0", "client", "p0", ("192.168.130.10/24", "2001:db8:130::a/64")),),
        gateways=("192.168.130.1", "192.168.130.2", "2001:db8:130::1", "2001:db8:130::2"),
        loopbacks=("10.0.2.20", "2001:db8:2::20"),
    )
    assert netns.host_lines(host) == [
        "link set lo up",
        "addr add 192.168.130.10/24 dev eth0",
        "addr add 2001:db8:130::a/64 dev eth0 nodad",
        "link set eth0 up",
        "addr add 10.0.2.20/32 dev lo",
        "addr add 2001:db8:2::20/128 dev lo nodad",
        "route add default nexthop via 192.168.130.1 nexthop via 192.168.130.2",
        "route add ::/0 nexthop via 2001:db8:130::1 nexthop via 2001:db8:130::2",
    ]
    assert host.address("client", 6) == "2001:db8:130::a"
    assert host.addresses("client") == ("192.168.130.10", "2001:db8:130::a")
    with pytest.raises(LabError, match="no IPv6 address on the machine network"):
        host.address("machine", 6)


def test_session_problem_reads_policy_and_state() -> None:
    def peer(**fields: str) -> PeerSummary | None:
        data = {"ipv4Unicast": {"as": 64512, "peers": {"192.0.2.1": fields}}}
        return parse_bgp_summary(data).peers.get("192.0.2.1")

    assert session_problem(None) == "not configured"
    assert session_problem(peer(state="Active")) == "Active"
    assert "Policy" in (session_problem(peer(state="Established", peerState="Policy")) or "")
    assert session_problem(peer(state="Established", peerState="OK")) is None


class _Answers:
    def __init__(self, stdout: str) -> None:
        self.stdout = stdout

    def run(
        self, host: str, argv: Sequence[str], *, timeout: float, input: str | None = None
    ) -> Result:
        return Result(tuple(argv), 0, self.stdout, "", 0.01)


def test_stopped_daemon_text_is_a_lab_error() -> None:
    with pytest.raises(LabError, match="not JSON"):
        converge.bgp_peers(_Answers("bgpd is not running\n"), "frr")
    check = converge.check_sessions
    assert not converge._safe("sessions", "frr", lambda: check(_Answers(""), "frr", ["x"])).ok


class _Site:
    """Answers a round's probes as a lab would: two routers (r2 without the VIP's route yet),
    one DNS name; records the commands it was asked."""

    def __init__(self, routed: bool) -> None:
        self.routed = routed
        self.asked: list[tuple[str, str]] = []

    def run(
        self, host: str, argv: Sequence[str], *, timeout: float, input: str | None = None
    ) -> Result:
        self.asked.append((host, argv[0]))
        peers = {"192.0.2.20": {"state": "Established", "peerState": "OK"}}
        route = {"dst": "10.0.2.20", "gateway": "192.0.2.20"}
        out = {
            "vtysh": json.dumps({"ipv4Unicast": {"as": 64512, "peers": peers}}),
            "ip": json.dumps([route] if self.routed or host == "r1" else []),
            "dig": "api.x.lab. 300 IN A 10.0.2.20\n",
            "curl": "200 https://api.x.lab:6443/version\n",
        }[argv[0]]
        return Result(tuple(argv), 0, out, "", 0.01)


def test_a_probe_round_reports_every_check_in_order_and_https_only_once_routed() -> None:
    from hcplb.lab.state import Expectations

    expect = Expectations(
        sessions={"r1": ["192.0.2.20"], "r2": ["192.0.2.20"]},
        routes={r: {"10.0.2.20/32": ["192.0.2.20"]} for r in ("r1", "r2")},
        names={"api.x.lab": "10.0.2.20"},
        urls=["https://api.x.lab:6443/version"],
    )
    for routed in (False, True):
        site = _Site(routed)
        checks = converge.probe(site, expect)
        assert [(c.kind, c.host, c.ok) for c in checks] == [
            ("sessions", "r1", True),
            ("sessions", "r2", True),
            ("routes", "r1", True),
            ("routes", "r2", routed),
            ("dns", "client", True),
            ("https", "client", routed),
        ]
        assert (("client", "curl") in site.asked) is routed


def test_split_config_gives_each_daemon_its_blocks() -> None:
    conf = (
        "frr defaults traditional\nhostname r\n!\nip prefix-list P seq 5 permit 10.0.2.0/24\n"
        "route-map M permit 10\n match ip address prefix-list P\nexit\n!\n"
        "ip route 10.9.0.0/16 192.168.125.254\nip nht resolve-via-default\n"
        "bfd\n profile p\n  detect-multiplier 3\n exit\nexit\n!\n"
        "router bgp 64512\n neighbor 192.168.125.20 remote-as 64513\nexit\n"
    )
    parts = frr.split_config(conf)
    assert parts["bgpd"].splitlines()[:2] == ["frr defaults traditional", "hostname r"]
    assert "router bgp 64512" in parts["bgpd"] and "router bgp" not in parts["zebra"]
    assert " match ip address prefix-list P" in parts["zebra"]
    assert "bfd" not in parts["bgpd"] and " profile p" in parts["bfdd"]
    assert parts["staticd"].count("ip ") == 1 and "ip route 10.9.0.0/16" in parts["staticd"]
    assert "ip nht resolve-via-default" in parts["zebra"]
    assert "route-map" not in parts["bfdd"] and "exit" not in parts["bfdd"].split("bfd\n")[0]
    assert set(frr.split_config(conf, ["zebra", "bgpd"])) == {"zebra", "bgpd"}
    argv = frr.daemon_argv(frr.Daemon("bgpd", ("-p", "0")), profile="traditional", config="/c")
    assert argv[-2:] == ["-f", "/c"]  # a bgp-stop fault restarts bgpd with this same argv


def test_daemons_file_round_trip() -> None:
    text = frr.daemons_file(
        {"bgpd": ["-A", "127.0.0.1", "-p", "0"], "bfdd": ["-A", "127.0.0.1"]}, always=("zebra",)
    )
    daemons = frr.daemons_to_run(text, always=("zebra",))
    assert [d.name for d in daemons] == ["zebra", "bgpd", "bfdd"]
    assert daemons[1].options == ("-A", "127.0.0.1", "-p", "0")
    argv = frr.daemon_argv(daemons[1], profile=frr.profile_of(text, "frr defaults datacenter\n"))
    assert argv == ["/usr/lib/frr/bgpd", "-F", "datacenter", "-A", "127.0.0.1", "-p", "0"]


def test_journal_survives_reread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HCPLB_LAB_DIR", str(tmp_path))
    (tmp_path / "j").mkdir()
    journal = Journal(
        tmp_path / "j", new_state("j", "ab12", "/x.yaml", profile="hcplb", bare=False)
    )
    journal.add_namespaces(["hcplb-j.a"])
    index = journal.add_process(ProcessRecord(host="a", role="zebra", argv=("zebra",), log="/l"))
    journal.set_pid(index, 4242)
    state = read_state("j")
    assert state is not None
    assert state.namespaces == ("hcplb-j.a",)
    assert state.processes[0].pid == 4242
    assert oct((tmp_path / "j" / "state.json").stat().st_mode & 0o777) == "0o600"


def _free_port(address: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET) as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_apiserver_serves_version_with_node_header(tmp_path: Path, address: str) -> None:
    """On an IPv4 or IPv6 address, with that address as an IP SAN the client verifies."""
    ca = pki.make_ca(tmp_path, "unit")
    cert = pki.issue(
        ca,
        tmp_path,
        "api",
        dns_names=["api.hosted.hypershift.lab", "kubernetes.default.svc"],
        ips=[address],
    )
    port = _free_port(address)
    config = tmp_path / "api.json"
    listener = {
        "node": "master-0",
        "address": address,
        "port": port,
        "cert": str(cert.cert_file),
        "key": str(cert.key_file),
        "cluster": "hosted",
    }
    config.write_text(json.dumps({"generation": 1, "stopped": [], "listeners": [listener]}))
    script = Path(pki.__file__).with_name("apiserver.py")
    proc = subprocess.Popen([sys.executable, str(script), str(config)], stdout=subprocess.PIPE)
    try:
        context = ssl.create_default_context(cafile=str(ca.cert_file))
        deadline = time.monotonic() + 10
        while True:
            try:
                raw = socket.create_connection((address, port), timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        with context.wrap_socket(raw, server_hostname=address) as tls:  # the IP SAN
            tls.sendall(b"GET /version HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := tls.recv(4096):
                data += chunk
        head, _, body = data.decode().partition("\r\n\r\n")
        assert head.startswith("HTTP/1.1 200")
        assert "X-Hcplb-Node: master-0" in head
        assert json.loads(body)["gitVersion"].startswith("v1.")
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        assert proc.stdout is not None
        proc.stdout.close()


def test_preflight_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    upmod = importlib.import_module("hcplb.lab.up")  # `hcplb.lab.up` is also the function
    monkeypatch.setattr(upmod.os, "geteuid", lambda: 1000)
    with pytest.raises(LabError, match=r"needs root .*sudo"):
        upmod.preflight()
    monkeypatch.setattr(upmod.os, "geteuid", lambda: 0)
    monkeypatch.setattr(upmod, "REQUIRED", (("/nonexistent/bgpd-hcplb-test", "FRR"),))
    with pytest.raises(LabError, match=r"FRR is not installed .*make setup"):
        upmod.preflight()


def test_ssh_url_brackets_an_ipv6_router() -> None:
    from hcplb.lab.sshd import ssh_url
    from hcplb.targets.ssh import parse_ssh_url

    assert ssh_url("192.168.125.1") == "ssh://root@192.168.125.1:22"
    assert ssh_url("2001:db8:125::1") == "ssh://root@[2001:db8:125::1]:22"
    assert parse_ssh_url(ssh_url("2001:db8:125::1")) == ("root", "2001:db8:125::1", 22)


def test_summary_reads_both_families_and_sums_a_dual_stack_peer() -> None:
    """An IPv6-only router answers only ipv6Unicast; a dual-stack session's peer is in both
    tables (one session, its prefixes of both families)."""
    peer = {"remoteAs": 64513, "localAs": 64512, "state": "Established", "pfxRcd": 1}
    v6only = parse_bgp_summary({"ipv6Unicast": {"as": 64512, "peers": {"2001:db8::20": peer}}})
    assert v6only.configured and v6only.peers["2001:db8::20"].established
    both = parse_bgp_summary(
        {
            "ipv4Unicast": {"as": 64512, "routerId": "192.0.2.1", "peers": {"192.0.2.20": peer}},
            "ipv6Unicast": {"as": 64512, "routerId": "192.0.2.1", "peers": {"192.0.2.20": peer}},
        }
    )
    assert list(both.peers) == ["192.0.2.20"]
    assert both.peers["192.0.2.20"].prefixes_received == 2
    assert both.router_id == "192.0.2.1"
    assert not parse_bgp_summary({}).configured


def test_config_commands_negate_removed_lines_then_enter_added_ones_under_their_blocks() -> None:
    def conf(*vips: str) -> str:
        lines = [f"ip prefix-list out seq {i} permit {v}/32" for i, v in enumerate(vips, 1)]
        lines += ["", "router bgp 64513", "  no bgp default ipv4-unicast"]
        lines += ["  address-family ipv4 unicast", *(f"    network {v}/32" for v in vips)]
        return "\n".join([*lines, "  exit-address-family", ""])

    old, new = conf("10.0.4.1", "10.0.4.2"), conf("10.0.4.1", "10.0.4.10", "10.0.4.2")
    assert frr.config_commands(old, new) == [
        "-c", "configure terminal", "-c", "no ip prefix-list out seq 2 permit 10.0.4.2/32",
        "-c", "end",
        "-c", "configure terminal", "-c", "ip prefix-list out seq 2 permit 10.0.4.10/32",
        "-c", "end",
        "-c", "configure terminal", "-c", "ip prefix-list out seq 3 permit 10.0.4.2/32",
        "-c", "end",
        "-c", "configure terminal", "-c", "router bgp 64513", "-c", "address-family ipv4 unicast",
        "-c", "network 10.0.4.10/32",
        "-c", "end",
    ]  # fmt: skip
    assert frr.config_commands(old, old) == []
    # a removed `no` line is undone; lines under a removed block go with the block
    gone = frr.config_commands(old, "ip prefix-list out seq 1 permit 10.0.4.1/32\n")
    assert "no router bgp 64513" in gone and "bgp default ipv4-unicast" not in gone
    assert not [a for a in gone if "network" in a]
    assert frr.config_commands(conf("10.0.4.1"), conf("10.0.4.1").replace("  no bgp", "  bgp"))[
        5
    ] == ("bgp default ipv4-unicast")


def test_lab_cluster_cli_without_a_lab_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from hcplb.cli import app

    monkeypatch.setenv("HCPLB_LAB_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["lab", "cluster", "add", "delta", "--namespace", "clusters"])
    assert result.exit_code != 0
    assert "no lab is running (hint: `hcplb lab up SITE` first)" in result.output
    assert "Traceback" not in result.output

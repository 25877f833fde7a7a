"""FRR answer parsers on real FRR 8.4 output captured in tests/data/frr/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hcplb.frrjson import (
    parse_answer,
    parse_bfd_peers,
    parse_bgp_neighbors,
    parse_bgp_prefix,
    parse_bgp_summary,
    parse_bgp_table,
    parse_ip_route,
    split_answers,
)
from hcplb.probes.frr import parse_reload_diff, parse_sysctl
from tests.conftest import data_files

DATA = Path(__file__).parent / "data" / "frr"
VIP = "10.0.2.20/32"
NODES = ("192.168.125.20", "192.168.125.21", "192.168.125.22")


def load(state: str, what: str) -> Any:
    return parse_answer((DATA / f"{state}.{what}.json").read_text()).data


def test_summary_established() -> None:
    s = parse_bgp_summary(load("established", "summary"))
    assert (s.router_id, s.local_as, s.configured) == ("192.168.125.1", 64512, True)
    assert sorted(s.peers) == list(NODES)
    peer = s.peers["192.168.125.20"]
    assert peer.established and not peer.policy_blocked
    assert (peer.remote_as, peer.local_as, peer.prefixes_received) == (64513, 64512, 1)
    assert peer.uptime == "00:00:02" and peer.uptime_ms == 2000


def test_summary_policy_is_established_but_blocked() -> None:
    s = parse_bgp_summary(load("policy", "summary"))
    assert all(p.established and p.policy_blocked for p in s.peers.values())
    assert all(p.prefixes_received == 0 for p in s.peers.values())


def test_summary_missing_and_foreign_neighbors() -> None:
    s = parse_bgp_summary(load("neighbor-missing", "summary"))
    assert sorted(s.peers) == ["192.168.125.20", "192.168.125.21", "192.168.125.23"]
    assert s.peers["192.168.125.23"].state == "Idle"
    assert s.peers["192.168.125.23"].uptime == "never"


def test_summary_wrong_asns() -> None:
    bad = parse_bgp_summary(load("bad-peer-as", "summary"))
    assert {p.remote_as for p in bad.peers.values()} == {64599}
    assert {p.state for p in bad.peers.values()} == {"Active"}
    changed = parse_bgp_summary(load("router-as-changed", "summary"))
    assert {p.local_as for p in changed.peers.values()} == {64600}


def test_summary_without_bgp_instance() -> None:
    s = parse_bgp_summary({})
    assert not s.configured and s.peers == {}


def test_neighbors() -> None:
    n = parse_bgp_neighbors(load("established", "neighbors"))
    assert sorted(n) == list(NODES)
    first = n["192.168.125.20"]
    assert first.state == "Established" and first.inbound_policy
    assert first.route_map_in == "HCP-IN" and first.bfd_status == "Up"
    policy = parse_bgp_neighbors(load("policy", "neighbors"))["192.168.125.20"]
    assert not policy.inbound_policy and policy.route_map_in == ""  # FRR omits false
    assert (first.connections, first.accepted_prefixes, first.max_prefix) == (2, 1, 1)
    assert first.updates_received == 2


def test_bgp_table_names_the_peer_per_path() -> None:
    """`show bgp ipv4 unicast json` (whole table): paths carry `peerId` and boolean bestpath."""
    table = {
        "routes": {
            "10.0.2.20/32": [
                {"valid": True, "bestpath": True, "peerId": "192.168.125.20", "nexthops": []},
                {"valid": True, "multipath": True, "peerId": "192.168.125.21"},
            ],
            "junk": "not a list",
        }
    }
    paths = parse_bgp_table(table)["10.0.2.20/32"]
    assert [(p.peer, p.best, p.multipath) for p in paths] == [
        ("192.168.125.20", True, False),
        ("192.168.125.21", False, True),
    ]
    assert list(parse_bgp_table(table)) == ["10.0.2.20/32"]
    assert parse_bgp_table(parse_answer("bgpd is not running\n").data) == {}


def test_neighbor_notification_seen_by_the_node() -> None:
    node = parse_bgp_neighbors(load("bad-peer-as", "node-neighbors"))["192.168.125.1"]
    assert node.last_notification == "OPEN Message Error/Bad Peer AS"
    assert node.state == "Idle"


def test_bgp_prefix_paths() -> None:
    paths = parse_bgp_prefix(load("established", "bgp-vip"))
    assert sorted(p.peer for p in paths) == list(NODES)
    assert all(p.valid and p.multipath for p in paths)
    assert sum(p.best for p in paths) == 1
    one = parse_bgp_prefix(load("maxpaths1", "bgp-vip"))
    assert len(one) == 3 and not any(p.multipath for p in one)
    assert parse_bgp_prefix(load("policy", "bgp-vip")) == ()


def test_ip_route() -> None:
    route = parse_ip_route(load("established", "route-vip"), VIP)
    assert route is not None
    assert (route.protocol, route.selected, route.installed) == ("bgp", True, True)
    assert route.fib_nexthops == NODES
    stopped = parse_ip_route(load("speaker-stopped", "route-vip"), VIP)
    assert stopped is not None and stopped.fib_nexthops == NODES[:2]
    assert parse_ip_route(load("policy", "route-vip"), VIP) is None


def test_bfd_peers() -> None:
    peers = parse_bfd_peers(load("established", "bfd"))
    assert sorted(peers) == list(NODES)
    p = peers["192.168.125.20"]
    assert p.up
    assert (p.receive_interval, p.transmit_interval, p.detect_multiplier) == (300, 300, 3)
    assert (p.remote_receive_interval, p.remote_detect_multiplier) == (300, 3)
    one_sided = parse_bfd_peers(load("bfd-one-sided", "bfd"))["192.168.125.22"]
    assert not one_sided.up and one_sided.remote_id == 0


@pytest.mark.parametrize(
    ("file", "daemon"), [("bgpd-stopped.bgp.txt", "bgpd"), ("bgpd-stopped.bfd.txt", "bfdd")]
)
def test_stopped_daemon_answers_text(file: str, daemon: str) -> None:
    answer = parse_answer((DATA / file).read_text())
    assert not answer.is_json and answer.down == daemon


def test_other_text_answer() -> None:
    answer = parse_answer("% No BGP neighbors found in VRF default\n")
    assert not answer.is_json and answer.down is None and answer.text.startswith("%")


def test_split_answers_of_one_vtysh_call() -> None:
    route = (DATA / "established.route-vip.json").read_text()
    bgp = (DATA / "established.bgp-vip.json").read_text()
    answers = split_answers(bgp + route + "{}\n{\n}\n", 4)
    assert [a.is_json for a in answers] == [True, True, True, True]
    assert parse_ip_route(answers[1].data, VIP) is not None
    assert answers[3].data == {}


def test_split_answers_stops_at_a_stopped_daemon() -> None:
    summary = (DATA / "established.summary.json").read_text()
    answers = split_answers(summary + " bfdd is not running\n", 3)
    assert answers[0].is_json
    assert answers[1].down == "bfdd" and answers[2].down == "bfdd"


def test_split_answers_pads_missing() -> None:
    answers = split_answers("", 2)
    assert [a.text for a in answers] == ["no answer", "no answer"]


def test_sysctl() -> None:
    text = "net.ipv4.ip_forward = 1\nnet.ipv4.fib_multipath_hash_policy = 0\n"
    assert parse_sysctl(text) == {
        "net.ipv4.ip_forward": "1",
        "net.ipv4.fib_multipath_hash_policy": "0",
    }


RELOAD_OUTPUT = """
Lines To Delete
===============
ipv6 forwarding
router bgp 64512
 neighbor 192.168.125.23 peer-group HCP-NODES

Lines To Add
============
bfd
 profile hcplb-bfd
  detect-multiplier 3
bfd
 profile hcplb-bfd
  receive-interval 300
router bgp 64512
 address-family ipv4 unicast
  neighbor HCP-NODES route-map HCPLB-FROM-NODES in
"""


def test_reload_diff_drops_frr_noise() -> None:
    diff = parse_reload_diff(RELOAD_OUTPUT)
    assert diff.lines() == [
        "- router bgp 64512 / neighbor 192.168.125.23 peer-group HCP-NODES",
        "+ router bgp 64512 / address-family ipv4 unicast / "
        "neighbor HCP-NODES route-map HCPLB-FROM-NODES in",
    ]
    assert not diff.empty


def test_reload_diff_empty() -> None:
    text = "\nLines To Delete\n===============\nipv6 forwarding\n\nLines To Add\n============\n"
    assert parse_reload_diff(text).empty


def test_captured_files_are_all_parseable() -> None:
    for path in data_files(DATA, "*.json", at_least=41):
        assert parse_answer(path.read_text()).is_json, path.name
        json.loads(path.read_text())


def test_vtysh_reaching_no_daemon_means_the_frr_service_is_stopped() -> None:
    answer = parse_answer("Exiting: failed to connect to any daemons.\n")
    assert answer.down == "frr" and not answer.is_json

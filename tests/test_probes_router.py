"""Router probes evaluated on real FRR answers captured in each state (tests/data/frr/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hcplb.converged import Announcement, Peer
from hcplb.frrjson import parse_answer
from hcplb.probes.expect import RouterExpect
from hcplb.probes.model import Probe, Status
from hcplb.probes.router import Failed, RouterObservation, evaluate_router, redact_config
from hcplb.runner import Result
from hcplb.spec.models import Bfd

DATA = Path(__file__).parent / "data" / "frr"
NODES = tuple(Peer(f"n{i}", f"192.168.125.{20 + i}", 64513) for i in range(3))
SYSCTL = (("net.ipv4.ip_forward", "1"), ("net.ipv4.fib_multipath_hash_policy", "1"))
EXPECT = RouterExpect(
    name="frr",
    asn=64512,
    address="192.168.125.1",
    sessions=NODES,
    vips=(Announcement("10.0.2.20", "10.0.2.20/32", "hosted/hosted", NODES),),
    bfd=Bfd(),
    sysctl=SYSCTL,
)
SYSCTL_OK = "net.ipv4.ip_forward = 1\nnet.ipv4.fib_multipath_hash_policy = 1\n"


def result(stdout: str, rc: int = 0, stderr: str = "") -> Result:
    return Result(("x",), rc, stdout, stderr, 0.01)


def answer(state: str, what: str):  # type: ignore[no-untyped-def]
    return parse_answer((DATA / f"{state}.{what}.json").read_text())


def observe(
    state: str, *, sysctl: str = SYSCTL_OK, drift: Result | None = None
) -> RouterObservation:
    return RouterObservation(
        bgpd=(answer(state, "summary"), answer(state, "neighbors"), answer(state, "bgp-vip")),
        zebra=(answer(state, "route-vip"),),
        bfd=answer(state, "bfd"),
        sysctl=result(sysctl),
        drift=drift,
        prefixes=("10.0.2.20/32",),
    )


def by_id(probes: list[Probe]) -> dict[str, Probe]:
    return {p.id: p for p in probes}


def failing(probes: list[Probe]) -> dict[str, str]:
    return {p.id: p.hint for p in probes if p.status is Status.fail}


IDS = [
    "router/frr/daemons",
    "router/frr/asn",
    "router/frr/session/n0",
    "router/frr/session/n1",
    "router/frr/session/n2",
    "router/frr/vip/10.0.2.20/bgp",
    "router/frr/vip/10.0.2.20/fib",
    "router/frr/bfd/n0",
    "router/frr/bfd/n1",
    "router/frr/bfd/n2",
    "router/frr/sysctl/ip_forward",
    "router/frr/sysctl/fib_multipath_hash_policy",
    "router/frr/config",
]


def test_established_passes_everything() -> None:
    probes = evaluate_router(EXPECT, observe("established"))
    assert [p.id for p in probes] == IDS
    assert {p.id: p.status for p in probes if p.status is not Status.pass_} == {
        "router/frr/config": Status.skip
    }
    got = by_id(probes)
    assert (
        got["router/frr/session/n0"].observed == "Established, up 00:00:02, 1 prefix(es), AS 64513"
    )
    assert got["router/frr/vip/10.0.2.20/fib"].observed == ("bgp route, 3 nexthop(s): n0, n1, n2")
    assert got["router/frr/bfd/n1"].observed == "up, rx 300 tx 300 x3"


def test_maximum_paths_too_low() -> None:
    probes = evaluate_router(EXPECT, observe("maxpaths1"))
    assert list(failing(probes)) == ["router/frr/vip/10.0.2.20/fib"]
    assert (
        "BGP has 3 paths but only 1 are installed: `maximum-paths`"
        in failing(probes)["router/frr/vip/10.0.2.20/fib"]
    )


def test_policy() -> None:
    fails = failing(evaluate_router(EXPECT, observe("policy")))
    assert sorted(fails) == sorted(
        [
            "router/frr/session/n0",
            "router/frr/session/n1",
            "router/frr/session/n2",
            "router/frr/vip/10.0.2.20/bgp",
            "router/frr/vip/10.0.2.20/fib",
        ]
    )
    assert all(h.startswith("(Policy): FRR requires an inbound policy") for h in fails.values())


def test_speaker_stopped() -> None:
    probes = evaluate_router(EXPECT, observe("speaker-stopped"))
    fails = failing(probes)
    assert sorted(fails) == [
        "router/frr/bfd/n2",
        "router/frr/session/n2",
        "router/frr/vip/10.0.2.20/bgp",
        "router/frr/vip/10.0.2.20/fib",
    ]
    assert fails["router/frr/session/n2"].startswith("n2 does not connect: MetalLB nodes dial")
    assert fails["router/frr/bfd/n2"].startswith("BFD and BGP are both down")
    assert "fewer nexthops than nodes (2 of 3)" in fails["router/frr/vip/10.0.2.20/fib"]
    assert by_id(probes)["router/frr/vip/10.0.2.20/bgp"].message == "no path from n2"


def test_bfd_one_sided() -> None:
    fails = failing(evaluate_router(EXPECT, observe("bfd-one-sided")))
    assert list(fails) == ["router/frr/bfd/n2"]
    assert fails["router/frr/bfd/n2"].startswith("BFD is down while BGP is up (one-sided)")


def test_neighbor_missing() -> None:
    probes = evaluate_router(EXPECT, observe("neighbor-missing"))
    fails = failing(probes)
    assert sorted(fails) == [
        "router/frr/bfd/n2",
        "router/frr/session/n2",
        "router/frr/vip/10.0.2.20/bgp",
        "router/frr/vip/10.0.2.20/fib",
    ]
    assert fails["router/frr/session/n2"].startswith(
        "n2 (192.168.125.22) is not a neighbor of router frr"
    )
    assert fails["router/frr/bfd/n2"].startswith("no BFD session for this node")


def test_bad_peer_as() -> None:
    fails = failing(evaluate_router(EXPECT, observe("bad-peer-as")))
    assert sorted(fails) == [
        "router/frr/session/n0",
        "router/frr/session/n1",
        "router/frr/session/n2",
        "router/frr/vip/10.0.2.20/bgp",
        "router/frr/vip/10.0.2.20/fib",
    ]
    assert fails["router/frr/session/n0"].startswith(
        "Bad Peer AS: the router expects AS 64599 from n0, but the node speaks AS 64513"
    )


def test_router_as_changed() -> None:
    fails = failing(evaluate_router(EXPECT, observe("router-as-changed")))
    assert "router/frr/asn" in fails
    assert fails["router/frr/session/n1"].startswith(
        "Bad Peer AS: the router presents AS 64600, but the nodes"
    )


def test_bgpd_stopped() -> None:
    down = parse_answer((DATA / "bgpd-stopped.bgp.txt").read_text())
    bfd_down = parse_answer((DATA / "bgpd-stopped.bfd.txt").read_text())
    obs = RouterObservation(
        bgpd=(down, down, down),
        zebra=(answer("established", "route-vip"),),
        bfd=bfd_down,
        sysctl=result(SYSCTL_OK),
        prefixes=("10.0.2.20/32",),
    )
    probes = by_id(evaluate_router(EXPECT, obs))
    assert probes["router/frr/daemons"].status is Status.fail
    assert probes["router/frr/daemons"].observed == "bgpd is not running; bfdd is not running"
    assert probes["router/frr/session/n0"].message == "bgpd is not running"
    assert probes["router/frr/session/n0"].hint.startswith("bgpd is not running: set bgpd=yes")
    assert probes["router/frr/bfd/n0"].hint.startswith("bfdd is not running")


def test_unreachable_router_fails_every_probe_with_the_reason() -> None:
    gone = Failed("ssh://admin@r1:22: cannot connect: timed out")
    obs = RouterObservation(
        bgpd=gone, zebra=gone, bfd=gone, sysctl=gone, prefixes=("10.0.2.20/32",)
    )
    probes = evaluate_router(EXPECT, obs, target="ssh://admin@r1:22")
    assert [p.id for p in probes] == IDS
    assert {p.status for p in probes[:-1]} == {Status.fail}
    assert probes[2].message == "ssh://admin@r1:22: cannot connect: timed out"
    assert probes[2].hint.startswith("could not run commands on ssh://admin@r1:22")


@pytest.mark.parametrize(
    ("sysctl", "status"),
    [
        (
            "net.ipv4.ip_forward = 0\nnet.ipv4.fib_multipath_hash_policy = 1\n",
            {"ip_forward": Status.fail},
        ),
        (
            "net.ipv4.ip_forward = 1\nnet.ipv4.fib_multipath_hash_policy = 0\n",
            {"fib_multipath_hash_policy": Status.warn},
        ),
    ],
)
def test_sysctl(sysctl: str, status: dict[str, Status]) -> None:
    probes = evaluate_router(EXPECT, observe("established", sysctl=sysctl))
    odd = {
        p.id.rsplit("/", 1)[-1]: p.status
        for p in probes
        if p.status not in (Status.pass_, Status.skip)
    }
    assert odd == status


def test_drift_is_a_warning_with_secrets_redacted() -> None:
    expect = RouterExpect(**{**EXPECT.__dict__, "frr_conf": "router bgp 64512\n"})
    stdout = (
        "Lines To Delete\n===============\nipv6 forwarding\n"
        "router bgp 64512\n neighbor HCP-NODES password s3cr3t-value\n\n"
        "Lines To Add\n============\nbfd\n profile hcplb-bfd\n  detect-multiplier 3\n"
        "router bgp 64512\n neighbor HCP-NODES password other-value\n"
    )
    probes = by_id(
        evaluate_router(
            expect, observe("established", drift=result(stdout)), secrets=["s3cr3t-value"]
        )
    )
    drift = probes["router/frr/config"]
    assert drift.status is Status.warn
    assert drift.observed == (
        "- router bgp 64512 / neighbor HCP-NODES password <redacted>\n"
        "+ router bgp 64512 / neighbor HCP-NODES password <redacted>"
    )
    assert "s3cr3t" not in repr(drift) and "other-value" not in repr(drift)
    clean = evaluate_router(
        expect, observe("established", drift=result("Lines To Delete\nLines To Add\n"))
    )
    assert by_id(clean)["router/frr/config"].status is Status.pass_
    missing = evaluate_router(expect, observe("established", drift=result("", 127)))
    assert "frr-reload.py not found" in by_id(missing)["router/frr/config"].message


def test_redact_config() -> None:
    assert redact_config("neighbor X password abc\nkey s3", ["s3"]) == (
        "neighbor X password <redacted>\nkey <redacted>"
    )


def test_prefix_received_but_not_in_the_fib() -> None:
    obs = observe("established")
    no_route = RouterObservation(
        bgpd=obs.bgpd,
        zebra=(parse_answer("{}"),),
        bfd=obs.bfd,
        sysctl=obs.sysctl,
        prefixes=obs.prefixes,
    )
    fails = failing(evaluate_router(EXPECT, no_route))
    assert list(fails) == ["router/frr/vip/10.0.2.20/fib"]
    assert fails["router/frr/vip/10.0.2.20/fib"].startswith("prefix received but not in the FIB")


def test_zebra_stopped() -> None:
    obs = observe("established")
    down = RouterObservation(
        bgpd=obs.bgpd,
        zebra=(parse_answer("zebra is not running"),),
        bfd=obs.bfd,
        sysctl=obs.sysctl,
        prefixes=obs.prefixes,
    )
    probes = by_id(evaluate_router(EXPECT, down))
    assert probes["router/frr/daemons"].message == "zebra is not running"
    assert probes["router/frr/vip/10.0.2.20/fib"].hint.startswith("zebra is not running")


V6_NODES = tuple(Peer(f"master-{i}", f"2001:db8:125::2{i}", 64513) for i in range(3))
V6_SYSCTL = (("net.ipv6.conf.all.forwarding", "1"), ("net.ipv6.fib_multipath_hash_policy", "1"))
V6_EXPECT = RouterExpect(
    name="frr",
    asn=64512,
    address="2001:db8:125::1",
    sessions=V6_NODES,
    vips=(Announcement("2001:db8:2::20", "2001:db8:2::20/128", "hosted/hosted", V6_NODES),),
    bfd=Bfd(receive_interval=100, transmit_interval=100),
    sysctl=V6_SYSCTL,
)


def test_ipv6_router_passes_with_link_local_nexthops_and_ids_say_the_family() -> None:
    """A converged IPv6-only router (captured from the lab): its FIB names the nodes by their
    link-local addresses, which the BGP paths map back to the sessions."""
    obs = RouterObservation(
        bgpd=(
            answer("ipv6-established", "summary"),
            answer("ipv6-established", "neighbors"),
            answer("ipv6-established", "bgp-vip"),
        ),
        zebra=(answer("ipv6-established", "route-vip"),),
        bfd=answer("ipv6-established", "bfd"),
        sysctl=result("net.ipv6.conf.all.forwarding = 1\nnet.ipv6.fib_multipath_hash_policy = 1\n"),
        prefixes=("2001:db8:2::20/128",),
    )
    probes = by_id(evaluate_router(V6_EXPECT, obs))
    assert failing(list(probes.values())) == {}
    assert set(probes) >= {
        "router/frr/session/master-0/ipv6",
        "router/frr/vip/ipv6/2001:db8:2::20/bgp",
        "router/frr/vip/ipv6/2001:db8:2::20/fib",
        "router/frr/bfd/master-2/ipv6",
        "router/frr/sysctl/ipv6/forwarding",
        "router/frr/sysctl/ipv6/fib_multipath_hash_policy",
    }
    fib = probes["router/frr/vip/ipv6/2001:db8:2::20/fib"]
    assert fib.observed == "bgp route, 3 nexthop(s): master-0, master-1, master-2"


def test_ipv6_forwarding_off_fails_with_the_ipv6_hint() -> None:
    obs = RouterObservation(
        bgpd=Failed("x"),
        zebra=Failed("x"),
        bfd=None,
        sysctl=result("net.ipv6.conf.all.forwarding = 0\nnet.ipv6.fib_multipath_hash_policy = 1\n"),
    )
    probes = by_id(evaluate_router(V6_EXPECT, obs))
    assert probes["router/frr/sysctl/ipv6/forwarding"].status is Status.fail
    assert "net.ipv6.conf.all.forwarding=1" in probes["router/frr/sysctl/ipv6/forwarding"].hint

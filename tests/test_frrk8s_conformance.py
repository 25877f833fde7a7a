"""frr-k8s conformance: MetalLB's FRRConfiguration per node and frr-k8s's frr.conf, each
golden reproduced from its input (byte for byte / normalised as the FRR-mode corpus), and FRR
accepting what frr-k8s would run."""

from __future__ import annotations

import base64
import dataclasses
import json
import random
from pathlib import Path
from typing import Any

import pytest

from hcplb.errors import MetallbError
from hcplb.metallb import FrrConfig
from hcplb.metallb.frrk8s import (
    frr_configuration,
    frrk8s_config_from_mapping,
    go_json,
    load_frrk8s_input,
    load_translation_input,
    node_config,
    render_frrk8s,
)
from tests.conftest import data_files
from tests.test_metallb_conformance import normalized, vtysh_accepts

GOLDEN = Path(__file__).parent / "upstream" / "metallb" / "golden"
INTERNAL = data_files(GOLDEN / "frr-k8s-internal-inputs", "*.input.yaml", at_least=4)
TRANSLATE = data_files(GOLDEN / "frrk8s-inputs", "*.input.yaml", at_least=3)


def _name(p: Path) -> str:
    return p.name.removesuffix(".input.yaml")


def test_every_golden_has_an_input() -> None:
    assert sorted(p.stem for p in (GOLDEN / "frr-k8s-internal").glob("*.golden")) == [
        _name(p) for p in INTERNAL
    ]
    assert sorted(p.stem for p in (GOLDEN / "frrk8s").glob("*.golden")) == [
        _name(p) for p in TRANSLATE
    ]


@pytest.mark.parametrize("case", INTERNAL, ids=_name)
def test_frrk8s_renders_internal_golden(case: Path, tmp_path: Path) -> None:
    golden = (GOLDEN / "frr-k8s-internal" / f"{_name(case)}.golden").read_text()
    rendered = render_frrk8s(load_frrk8s_input(case))
    assert normalized(rendered) == normalized(golden)
    assert "\n\n\n" not in rendered
    assert all(line == line.rstrip() for line in rendered.splitlines())
    vtysh_accepts(rendered, tmp_path)


@pytest.mark.parametrize("case", TRANSLATE, ids=_name)
def test_metallb_writes_frrconfiguration_golden(case: Path) -> None:
    golden = (GOLDEN / "frrk8s" / f"{_name(case)}.golden").read_text()
    frr, node, namespace = load_translation_input(case)
    assert go_json(frr_configuration(frr, node, namespace)) == golden


def test_frrconfiguration_does_not_depend_on_order() -> None:
    frr, node, ns = load_translation_input(
        GOLDEN / "frrk8s-inputs" / "TestTwoAdvertisementsTwoSessions.input.yaml"
    )
    expected = go_json(frr_configuration(frr, node, ns))
    rng = random.Random(7)
    for _ in range(50):
        sessions = [
            dataclasses.replace(
                s, advertisements=tuple(rng.sample(s.advertisements, len(s.advertisements)))
            )
            for s in frr.sessions
        ]
        rng.shuffle(sessions)
        shuffled = FrrConfig(hostname=frr.hostname, sessions=tuple(sessions))
        assert go_json(frr_configuration(shuffled, node, ns)) == expected


def _golden_object(name: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads((GOLDEN / "frrk8s" / f"{name}.golden").read_text())
    return obj


def test_frrk8s_refuses_metallbs_sub_3s_hold_time() -> None:
    with pytest.raises(MetallbError, match=r"holdTime: invalid hold time '1s': must be 0 or >=3s"):
        node_config([_golden_object("TestSingleAdvertisement")], hostname="n")


def _fix_timers(obj: dict[str, Any]) -> dict[str, Any]:
    for r in obj["spec"]["bgp"]["routers"]:
        for n in r["neighbors"]:
            n["holdTime"], n["keepaliveTime"] = "9s", "3s"
    return obj


@pytest.mark.parametrize("case", [_name(p) for p in TRANSLATE])
def test_frr_accepts_what_frrk8s_renders_from_metallbs_objects(case: str, tmp_path: Path) -> None:
    text = render_frrk8s(
        node_config(
            [_fix_timers(_golden_object(case))], hostname="n", always_block=["10.128.0.0/14"]
        )
    )
    assert "neighbor 10.2.2.254 port" not in text  # 179 is BGP's default: frr-k8s drops it
    assert "timers 3 9" in text
    vtysh_accepts(text, tmp_path)


def _user_config(**neighbor: Any) -> dict[str, Any]:
    return {
        "kind": "FRRConfiguration",
        "metadata": {"name": "extra", "namespace": "openshift-frr-k8s"},
        "spec": {
            "bgp": {
                "routers": [
                    {"asn": 100, "neighbors": [{"asn": 200, "address": "10.2.2.254", **neighbor}]}
                ]
            },
        },
    }


def test_a_second_configuration_merges_into_metallbs() -> None:
    metallb = _fix_timers(_golden_object("TestSingleAdvertisement"))
    user = _user_config(
        password="password",
        holdTime="9s",
        keepaliveTime="3s",
        ebgpMultiHop=True,
        toReceive={
            "allowed": {"mode": "filtered", "prefixes": [{"prefix": "10.0.0.0/8", "le": 24}]}
        },
    )
    config = node_config([metallb, user], hostname="n")
    (router,) = config.routers
    (neighbor,) = router.neighbors
    assert router.router_id == "10.1.1.254"
    assert neighbor.outgoing.prefixes_v4 == ("172.16.1.10/24",)
    assert [(f.prefix, f.le) for f in neighbor.incoming.prefixes_v4] == [("10.0.0.0/8", 24)]
    assert "ip prefix-list 10.2.2.254-inpl-ipv4 seq 1 permit 10.0.0.0/8 le 24" in render_frrk8s(
        config
    )


def test_conflicting_configurations_are_refused() -> None:
    metallb = _fix_timers(_golden_object("TestSingleAdvertisement"))
    with pytest.raises(MetallbError, match=r"multiple passwords specified for 10\.2\.2\.254"):
        node_config(
            [
                metallb,
                _user_config(
                    password="other", holdTime="9s", keepaliveTime="3s", ebgpMultiHop=True
                ),
            ],
            hostname="n",
        )
    other_asn = _user_config()
    other_asn["spec"]["bgp"]["routers"][0]["asn"] = 101
    with pytest.raises(MetallbError, match=r"different asns \(101 != 100\)"):
        node_config([metallb, other_asn], hostname="n")


def test_node_selector_picks_configurations() -> None:
    metallb = _fix_timers(_golden_object("TestSingleAdvertisement"))
    assert (
        node_config(
            [metallb], hostname="x", node_labels={"kubernetes.io/hostname": "other"}
        ).routers
        == ()
    )
    mine = node_config(
        [metallb], hostname="x", node_labels={"kubernetes.io/hostname": "testnodename"}
    )
    assert len(mine.routers) == 1


def _secret(password: str, kind: str = "kubernetes.io/basic-auth") -> dict[str, Any]:
    return {
        "kind": "Secret",
        "type": kind,
        "metadata": {"name": "bgp-auth", "namespace": "openshift-frr-k8s"},
        "data": {"password": base64.b64encode(password.encode()).decode()},
    }


def test_password_from_a_secret(tmp_path: Path) -> None:
    user = _user_config(passwordSecret={"name": "bgp-auth"})
    config = node_config([user], hostname="n", secrets={"bgp-auth": _secret("s3cret")})
    text = render_frrk8s(config)
    assert "neighbor 10.2.2.254 password s3cret" in text
    assert "s3cret" not in repr(config)
    vtysh_accepts(text, tmp_path)
    with pytest.raises(MetallbError, match="secret bgp-auth not found"):
        node_config([user], hostname="n")
    with pytest.raises(MetallbError, match="secret type mismatch"):
        node_config([user], hostname="n", secrets={"bgp-auth": _secret("x", "Opaque")})


def test_raw_config_is_appended_by_priority_then_name() -> None:
    a = _user_config()
    a["spec"]["raw"] = {"priority": 5, "rawConfig": "ip route 10.9.0.0/16 blackhole"}
    b = {"metadata": {"name": "aaa"}, "spec": {"raw": {"priority": 1, "rawConfig": "log syslog"}}}
    text = render_frrk8s(node_config([a, b], hostname="n"))
    assert text.endswith("log syslog\nip route 10.9.0.0/16 blackhole\n")


def test_dual_stack_neighbor_gets_both_families(tmp_path: Path) -> None:
    user = _user_config(
        dualStackAddressFamily=True,
        toAdvertise={
            "allowed": {"mode": "all"},
            "withCommunity": [
                {"community": "65000:1", "prefixes": ["192.0.2.0/24", "2001:db8::/64"]}
            ],
        },
    )
    user["spec"]["bgp"]["routers"][0]["prefixes"] = ["192.0.2.0/24", "2001:db8::/64"]
    text = render_frrk8s(node_config([user], hostname="n"))
    for line in (
        "ip prefix-list 10.2.2.254-65000:1-ip-community-prefixes seq 1 permit 192.0.2.0/24",
        "ipv6 prefix-list 10.2.2.254-65000:1-ipv6-community-prefixes seq 1 permit 2001:db8::/64",
        "  address-family ipv6 unicast",
        "    network 2001:db8::/64",
    ):
        assert line in text.splitlines()
    vtysh_accepts(text, tmp_path)


def test_a_node_without_ipv4_gets_frrk8s_hashed_router_id() -> None:
    """frr-k8s's TestSingleSessionIPv6OnlyNode golden has `bgp router-id 167.62.253.30` for the
    hostname `dummyhostname`: the CRC-32 of the hostname, little endian."""
    config = frrk8s_config_from_mapping(
        {
            "hostname": "dummyhostname",
            "hasIPv4Address": False,
            "routers": [{"myASN": 65000}, {"myASN": 65000, "vrf": "red", "routerID": "10.0.0.1"}],
        }
    )
    assert [r.router_id for r in config.routers] == ["167.62.253.30", "10.0.0.1"]

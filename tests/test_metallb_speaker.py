"""What each node's MetalLB speaker does: sessions, announcements, and the frr.conf FRR accepts."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from hcplb.metallb import EXCLUDE_LABEL, Simulation, apiserver_service, node_object, simulate
from tests.conftest import EXAMPLES
from tests.test_metallb_allocation import (
    KAS,
    NS,
    advertisement,
    guide,
    metallb_cr,
    nodes,
    obj,
    peer,
    pool,
    service,
)
from tests.test_metallb_conformance import vtysh_accepts


def all_configs_accepted(sim: Simulation, tmp_path: Path) -> None:
    assert sim.frr_configs, "no frr.conf rendered"
    for node, text in sim.frr_configs.items():
        (tmp_path / node).mkdir()
        vtysh_accepts(text, tmp_path / node)


def two_routers(**adv: Any) -> list[dict[str, Any]]:
    return [
        metallb_cr(),
        pool("api", "10.0.2.20/32"),
        peer("router-a", "192.168.125.1"),
        peer("router-b", "192.168.125.2"),
        advertisement("api", "api", **adv),
    ]


# -- sessions -------------------------------------------------------------------------------------


def test_peer_node_selectors_choose_the_nodes_that_open_sessions(tmp_path: Path) -> None:
    manifests = [
        metallb_cr(),
        pool("api", "10.0.2.20/32"),
        peer("core", "192.168.125.1"),
        peer("rack1-tor", "192.168.125.2", nodeSelectors=[{"matchLabels": {"rack": "r1"}}]),
        peer(
            "not-rack1",
            "192.168.125.3",
            nodeSelectors=[
                {"matchExpressions": [{"key": "rack", "operator": "NotIn", "values": ["r1"]}]}
            ],
        ),
        advertisement("api", "api"),
    ]
    node_list = [
        node_object("master-0", "192.168.125.20", {"rack": "r1"}),
        node_object("master-1", "192.168.125.21", {"rack": "r2"}),
        node_object("master-2", "192.168.125.22", {}),
    ]
    sim = simulate(manifests, [apiserver_service("hosted-hosted")], node_list)
    peers_of = {n: [s.name for s in sp.sessions] for n, sp in sim.speakers.items()}
    assert peers_of == {
        "master-0": ["core", "rack1-tor"],
        "master-1": ["core", "not-rack1"],
        "master-2": ["core", "not-rack1"],
    }
    assert "neighbor 192.168.125.2 remote-as 64512" in sim.frr_configs["master-0"]
    assert "192.168.125.2" not in sim.frr_configs["master-1"]
    all_configs_accepted(sim, tmp_path)


def test_speakers_run_only_where_the_metallb_cr_node_selector_allows() -> None:
    manifests = guide()
    manifests[0] = metallb_cr(nodeSelector={"node-role.kubernetes.io/worker": ""})
    node_list = [
        *nodes(2),
        node_object("worker-0", "192.168.125.30", {"node-role.kubernetes.io/worker": ""}),
    ]
    sim = simulate(manifests, [apiserver_service("hosted-hosted")], node_list)
    assert list(sim.speakers) == ["worker-0"]
    assert sim.announcers(KAS) == ("worker-0",)


@pytest.mark.parametrize(
    ("timers", "line"),
    [
        ({"holdTime": "90s", "keepaliveTime": "30s"}, "timers 30 90"),
        ({"holdTime": "90s"}, "timers 30 90"),
        ({"keepaliveTime": "10s"}, "timers 10 30"),
        ({"holdTime": "1m30s", "keepaliveTime": "1500ms"}, "timers 1 90"),
        ({"holdTime": "0s", "keepaliveTime": "0s"}, "timers 0 0"),
    ],
)
def test_timers_are_derived_as_metallb_derives_them(timers: dict[str, str], line: str) -> None:
    manifests = [metallb_cr(), pool("api", "10.0.2.20/32"), peer("frr", "192.168.125.1", **timers)]
    sim = simulate(manifests, [], nodes(1))
    assert f"  neighbor 192.168.125.1 {line}\n" in sim.frr_configs["master-0"]


def test_no_timers_means_frr_defaults() -> None:
    sim = simulate(guide(), [], nodes(1))
    assert "timers" not in sim.frr_configs["master-0"]
    assert "  neighbor 192.168.125.1 port 179\n" in sim.frr_configs["master-0"]


def test_password_from_a_basic_auth_secret(tmp_path: Path) -> None:
    pw = "s3cr3t-Passw0rd"
    manifests = guide(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/basic-auth",
            "metadata": {"name": "bgp-pw", "namespace": NS},
            "data": {"password": base64.b64encode(pw.encode()).decode()},
        }
    )
    manifests[2]["spec"]["passwordSecret"] = {"name": "bgp-pw", "namespace": NS}
    sim = simulate(manifests, [apiserver_service("hosted-hosted")], nodes(1))
    assert f"  neighbor 192.168.125.1 password {pw}\n" in sim.frr_configs["master-0"]
    assert pw not in repr(sim.speakers) and pw not in repr(sim)


def test_plain_password(tmp_path: Path) -> None:
    manifests = guide()
    manifests[2]["spec"]["password"] = "plain-pw"
    sim = simulate(manifests, [], nodes(1))
    assert "  neighbor 192.168.125.1 password plain-pw\n" in sim.frr_configs["master-0"]


def test_bfd_profiles_all_rendered_and_unset_values_left_to_frr(tmp_path: Path) -> None:
    manifests = guide(
        obj(
            "BFDProfile",
            "fast",
            {"receiveInterval": 100, "transmitInterval": 100, "detectMultiplier": 3},
        ),
        obj("BFDProfile", "defaults", {}),
        obj(
            "BFDProfile",
            "echo",
            {"echoMode": True, "echoInterval": 50, "passiveMode": True, "minimumTtl": 250},
        ),
    )
    manifests[2]["spec"]["bfdProfile"] = "fast"
    sim = simulate(manifests, [apiserver_service("hosted-hosted")], nodes(1))
    text = sim.frr_configs["master-0"]
    assert "  neighbor 192.168.125.1 bfd\n  neighbor 192.168.125.1 bfd profile fast\n" in text
    bfd = text[text.index("\nbfd\n") :]
    assert bfd == (
        "\nbfd\n"
        "  profile defaults\n"
        "  profile echo\n"
        "    echo-mode\n"
        "    echo receive-interval 50\n"
        "    echo transmit-interval 50\n"
        "    passive-mode\n"
        "    minimum-ttl 250\n"
        "  profile fast\n"
        "    receive-interval 100\n"
        "    transmit-interval 100\n"
        "    detect-multiplier 3\n"
    )
    all_configs_accepted(sim, tmp_path)


# -- announcements --------------------------------------------------------------------------------


def test_a_node_labelled_exclude_announces_nothing_but_keeps_its_session(tmp_path: Path) -> None:
    node_list = nodes(3)
    node_list[1]["metadata"]["labels"][EXCLUDE_LABEL] = ""
    sim = simulate(guide(), [apiserver_service("hosted-hosted")], node_list)
    assert sim.announcers(KAS) == ("master-0", "master-2")
    drained = sim.speakers["master-1"]
    assert [s.name for s in drained.sessions] == ["upstream-router-peer"]
    assert drained.prefixes == ()
    assert drained.withheld[KAS].startswith("nodeLabeledExcludeBalancers")
    text = sim.frr_configs["master-1"]
    assert "ip prefix-list 192.168.125.1-allowed-ipv4 seq 1 deny any" in text
    assert "    network " not in text
    assert "    network 10.0.2.20/32\n" in sim.frr_configs["master-0"]
    all_configs_accepted(sim, tmp_path)


def test_network_unavailable_nodes_announce_nothing() -> None:
    node_list = nodes(2)
    node_list[0]["status"]["conditions"].append({"type": "NetworkUnavailable", "status": "True"})
    sim = simulate(guide(), [apiserver_service("hosted-hosted")], node_list)
    assert sim.announcers(KAS) == ("master-1",)
    assert sim.speakers["master-0"].withheld[KAS].startswith("nodeNetworkUnavailable")


def test_advertisement_for_one_peer_only_reaches_that_peer(tmp_path: Path) -> None:
    sim = simulate(two_routers(peers=["router-a"]), [apiserver_service("hosted-hosted")], nodes())
    speaker = sim.speakers["master-0"]
    assert speaker.prefixes_to("router-a") == ("10.0.2.20/32",)
    assert speaker.prefixes_to("192.168.125.2") == ()
    text = sim.frr_configs["master-0"]
    assert "ip prefix-list 192.168.125.1-allowed-ipv4 seq 1 permit 10.0.2.20/32" in text
    assert "ip prefix-list 192.168.125.2-allowed-ipv4 seq 1 deny any" in text
    all_configs_accepted(sim, tmp_path)


def test_advertisement_for_all_peers_reaches_both_routers() -> None:
    sim = simulate(two_routers(), [apiserver_service("hosted-hosted")], nodes())
    for speaker in sim.speakers.values():
        assert (
            speaker.prefixes_to("router-a") == speaker.prefixes_to("router-b") == ("10.0.2.20/32",)
        )


def test_advertisement_node_selectors_pick_the_announcing_nodes() -> None:
    manifests = guide()
    manifests[3]["spec"]["nodeSelectors"] = [
        {"matchLabels": {"kubernetes.io/hostname": "master-2"}}
    ]
    sim = simulate(manifests, [apiserver_service("hosted-hosted")], nodes())
    assert sim.announcers(KAS) == ("master-2",)
    assert sim.speakers["master-0"].withheld[KAS].startswith("notOwner")
    # the session stays up everywhere: only announcements follow the advertisement's nodes
    assert all(len(s.sessions) == 1 for s in sim.speakers.values())


def test_advertisement_service_selectors() -> None:
    manifests = [
        metallb_cr(),
        pool("p", "10.0.3.0/24"),
        peer("frr", "192.168.125.1"),
        advertisement(
            "only-api", "p", serviceSelectors=[{"matchLabels": {"app": "kube-apiserver"}}]
        ),
    ]
    sim = simulate(
        manifests, [service("default", "web"), apiserver_service("hosted-hosted")], nodes(1)
    )
    assert sim.allocations == {"default/web": ("10.0.3.0",), KAS: ("10.0.3.1",)}
    speaker = sim.speakers["master-0"]
    assert speaker.announced == {KAS: ("10.0.3.1/32",)}
    assert speaker.withheld["default/web"].startswith("noMatchingAdvertisement")


@pytest.mark.parametrize(
    ("length", "prefix"), [(32, "10.0.5.77/32"), (28, "10.0.5.64/28"), (24, "10.0.5.0/24")]
)
def test_aggregation_length_masks_the_address(length: int, prefix: str, tmp_path: Path) -> None:
    manifests = [
        metallb_cr(),
        pool("p", "10.0.5.0/24"),
        peer("frr", "192.168.125.1"),
        advertisement("agg", "p", aggregationLength=length),
    ]
    web = service("default", "web", annotations={"metallb.io/loadBalancerIPs": "10.0.5.77"})
    sim = simulate(manifests, [web], nodes(1))
    assert sim.speakers["master-0"].announced == {"default/web": (prefix,)}
    assert f"    network {prefix}\n" in sim.frr_configs["master-0"]
    all_configs_accepted(sim, tmp_path)


def test_two_services_under_one_aggregate_are_one_route() -> None:
    manifests = [
        metallb_cr(),
        pool("p", "10.0.5.0/24"),
        peer("frr", "192.168.125.1"),
        advertisement("agg", "p", aggregationLength=24),
    ]
    sim = simulate(manifests, [service("a", "one"), service("b", "two")], nodes(1))
    assert sim.frr_configs["master-0"].count("network 10.0.5.0/24") == 1


def test_communities_and_local_pref(tmp_path: Path) -> None:
    manifests = [
        metallb_cr(),
        pool("p", "10.0.2.20/32"),
        peer("ibgp", "192.168.125.1", peer_asn=64513),
        obj(
            "Community",
            "aliases",
            {"communities": [{"name": "no-advertise", "value": "65535:65282"}]},
        ),
        advertisement(
            "api", "p", communities=["no-advertise", "64513:100", "large:64513:1:2"], localPref=200
        ),
    ]
    sim = simulate(manifests, [apiserver_service("hosted-hosted")], nodes(1))
    text = sim.frr_configs["master-0"]
    for expected in (
        "ip prefix-list 192.168.125.1-200-ip-localpref-prefixes seq 1 permit 10.0.2.20/32",
        "  set local-preference 200",
        "ip prefix-list 192.168.125.1-65535:65282-ip-community-prefixes seq 1 permit 10.0.2.20/32",
        "  set community 65535:65282 additive",
        "  set community 64513:100 additive",
        "ip prefix-list 192.168.125.1-large:64513:1:2-ip-community-prefixes seq 1 permit 10.0.2.20/32",
        "  set large-community 64513:1:2 additive",
    ):
        assert expected in text
    all_configs_accepted(sim, tmp_path)


def test_conflicting_local_pref_for_one_service_is_rejected() -> None:
    from hcplb.metallb import MetallbError

    manifests = guide(advertisement("pref", "hcp-api-pool", localPref=50))
    with pytest.raises(MetallbError, match="invalid local preference 50"):
        simulate(manifests, [], nodes(1))


def test_local_traffic_policy_announces_only_from_nodes_with_endpoints() -> None:
    web = service("default", "web", externalTrafficPolicy="Local", selector={"app": "web"})
    sim = simulate(guide(), [web], nodes(), endpoints={"default/web": ["master-1"]})
    assert sim.announcers("default/web") == ("master-1",)
    assert sim.speakers["master-0"].withheld["default/web"].startswith("noLocalEndpoints")
    none = simulate(guide(), [web], nodes(), endpoints={})
    assert none.announcers("default/web") == ()


def test_ipv6_pool_announced_only_to_sessions_of_its_family(tmp_path: Path) -> None:
    manifests = [
        metallb_cr(),
        pool("v6", "fd00:10::/120"),
        peer("v4", "192.168.125.1"),
        peer("v6", "fd00:125::1"),
        advertisement("all", "v6"),
    ]
    web = service("default", "web", ipFamilies=["IPv6"])
    sim = simulate(manifests, [web], nodes(1))
    speaker = sim.speakers["master-0"]
    assert sim.allocations == {"default/web": ("fd00:10::",)}
    assert speaker.prefixes_to("v6") == ("fd00:10::/128",) and speaker.prefixes_to("v4") == ()
    text = sim.frr_configs["master-0"]
    assert "  address-family ipv6 unicast\n    network fd00:10::/128\n" in text
    assert "  neighbor fd00:125::1 disable-connected-check\n" in text
    all_configs_accepted(sim, tmp_path)


# -- realistic sites: rendered by hcplb ----------------------------------------------------------


def _rendered(site_file: str, profile: str = "hcplb") -> tuple[Any, list[dict[str, Any]]]:
    from hcplb.plan import plan_site
    from hcplb.render.profile import manifests_of, parse_profile
    from hcplb.render.secrets import Secrets
    from hcplb.spec import load_site

    plan = plan_site(load_site(EXAMPLES / site_file).site)
    return plan, manifests_of(parse_profile(profile), plan, Secrets(bgp_password="lab-secret"))


@pytest.mark.parametrize("site_file", ["seed.yaml", "fleet.yaml"])
def test_sites_rendered_by_hcplb(site_file: str, tmp_path: Path) -> None:
    plan, manifests = _rendered(site_file)
    node_list = [node_object(n.name, n.address, n.labels) for n in plan.nodes]
    services = [apiserver_service(c.control_plane_namespace) for c in plan.clusters]
    sim = simulate(manifests, services, node_list)
    for c in plan.clusters:
        key = f"{c.control_plane_namespace}/kube-apiserver"
        assert sim.allocations[key] == (c.vip,)
        assert sim.announcers(key) == tuple(sorted(n.name for n in plan.nodes))
        for speaker in sim.speakers.values():
            for router in plan.routers:
                assert f"{c.vip}/32" in speaker.prefixes_to(router.address)
    assert sim.unallocated == {} and sim.notes == ()
    all_configs_accepted(sim, tmp_path)


def test_the_guide_as_written_deploys_nothing() -> None:
    """The guide forgets the MetalLB CR: the operator runs no controller and no speaker."""
    plan, manifests = _rendered("seed.yaml", "guide")
    node_list = [node_object(n.name, n.address, n.labels) for n in plan.nodes]
    sim = simulate(manifests, [apiserver_service("hosted-hosted")], node_list)
    assert sim.allocations == {} and sim.speakers == {}
    assert sim.unallocated == {KAS: sim.reason}


def test_pool_selectors_pick_pools_by_label() -> None:
    manifests = [
        metallb_cr(),
        pool("api", "10.0.2.20/32", labels={"hcplb.io/purpose": "api"}),
        pool("apps", "10.0.3.0/24"),
        peer("frr", "192.168.125.1"),
        advertisement(
            "api-only", ipAddressPoolSelectors=[{"matchLabels": {"hcplb.io/purpose": "api"}}]
        ),
    ]
    web = service("default", "web", annotations={"metallb.io/address-pool": "apps"})
    sim = simulate(manifests, [apiserver_service("hosted-hosted"), web], nodes(1))
    assert sim.allocations == {KAS: ("10.0.2.20",), "default/web": ("10.0.3.0",)}
    assert sim.speakers["master-0"].announced == {KAS: ("10.0.2.20/32",)}
    assert sim.speakers["master-0"].withheld["default/web"].startswith("notOwner")


def test_silently_ignored_references_are_noted() -> None:
    manifests = guide(advertisement("typo", "hcp-api-pol", peers=["no-such-peer"]))
    sim = simulate(manifests, [apiserver_service("hosted-hosted")], nodes(1))
    assert sim.notes == (
        "BGPAdvertisement openshift-operators/typo names IPAddressPool 'hcp-api-pol', which does not exist",
        "BGPAdvertisement typo names peer 'no-such-peer', which does not exist",
    )


def test_aggregation_length_v6() -> None:
    manifests = [
        metallb_cr(),
        pool("v6", "fd00:10::/64"),
        peer("v6", "fd00:125::1", ebgpMultiHop=True),
        advertisement("agg", "v6", aggregationLengthV6=64),
    ]
    sim = simulate(manifests, [service("default", "web", ipFamilies=["IPv6"])], nodes(1))
    assert sim.speakers["master-0"].announced == {"default/web": ("fd00:10::/64",)}
    assert "disable-connected-check" not in sim.frr_configs["master-0"]  # multihop

"""The MetalLB controller's allocation as hcplb.metallb simulates it, and the configs it rejects."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from hcplb.metallb import MetallbError, apiserver_service, node_object, simulate

NS = "openshift-operators"
KAS = "hosted-hosted/kube-apiserver"


# -- manifest builders (the speaker tests use them too) ------------------------------------------


def metallb_cr(ns: str = NS, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "MetalLB",
        "metadata": {"name": "metallb", "namespace": ns},
        "spec": spec,
    }


def obj(kind: str, name: str, spec: dict[str, Any], **meta: Any) -> dict[str, Any]:
    version = "metallb.io/v1beta2" if kind == "BGPPeer" else "metallb.io/v1beta1"
    return {
        "apiVersion": version,
        "kind": kind,
        "metadata": {"name": name, "namespace": NS, **meta},
        "spec": spec,
    }


def pool(name: str, *addresses: str, **spec: Any) -> dict[str, Any]:
    labels = spec.pop("labels", None)
    return obj(
        "IPAddressPool",
        name,
        {"addresses": list(addresses), **spec},
        **({"labels": labels} if labels else {}),
    )


def pinned(namespaces: list[str] | None = None, priority: int = 0, **labels: str) -> dict[str, Any]:
    """A serviceAllocation block."""
    alloc: dict[str, Any] = {}
    if namespaces:
        alloc["namespaces"] = namespaces
    if labels:
        alloc["serviceSelectors"] = [{"matchLabels": labels}]
    if priority:
        alloc["priority"] = priority
    return alloc


def peer(
    name: str, address: str, peer_asn: int = 64512, my_asn: int = 64513, **spec: Any
) -> dict[str, Any]:
    return obj(
        "BGPPeer", name, {"peerAddress": address, "peerASN": peer_asn, "myASN": my_asn, **spec}
    )


def advertisement(name: str, *pools: str, **spec: Any) -> dict[str, Any]:
    return obj("BGPAdvertisement", name, {"ipAddressPools": list(pools), **spec} if pools else spec)


def service(
    ns: str, name: str, *, labels: dict[str, str] | None = None, **spec: Any
) -> dict[str, Any]:
    annotations = spec.pop("annotations", {})
    status = spec.pop("status", None)
    svc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": labels or {},
            "annotations": annotations,
        },
        "spec": {"type": "LoadBalancer", "ports": [{"port": 443, "protocol": "TCP"}], **spec},
    }
    if status:
        svc["status"] = status
    return svc


def nodes(count: int = 3, **labels: str) -> list[dict[str, Any]]:
    return [
        node_object(
            f"master-{i}", f"192.168.125.{20 + i}", {"node-role.kubernetes.io/master": "", **labels}
        )
        for i in range(count)
    ]


def guide(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    """The guide's MetalLB configuration (plus the MetalLB CR it forgets), and extras."""
    return [
        metallb_cr(),
        pool("hcp-api-pool", "10.0.2.20-10.0.2.20", autoAssign=True),
        peer("upstream-router-peer", "192.168.125.1"),
        advertisement("hcp-api-bgp-adv", "hcp-api-pool"),
        *extra,
    ]


def hcplb_pool(vip: str = "10.0.2.20", cp_ns: str = "hosted-hosted") -> dict[str, Any]:
    """hcplb's per-cluster pool: only the VIP, only for that control plane's kube-apiserver."""
    return pool(
        f"{cp_ns}-api",
        f"{vip}/32",
        serviceAllocation=pinned([cp_ns], priority=1, app="kube-apiserver"),
    )


# -- the guide and hcplb's pinned pools -----------------------------------------------------------


def test_guide_gives_the_vip_to_the_apiserver_and_every_node_announces_it() -> None:
    sim = simulate(guide(), [apiserver_service("hosted-hosted")], nodes())
    assert sim.allocations == {KAS: ("10.0.2.20",)}
    assert sim.pools == {KAS: "hcp-api-pool"}
    assert sim.announcers(KAS) == ("master-0", "master-1", "master-2")


def test_guide_pool_is_first_come_first_served_by_any_service() -> None:
    """The guide's pool is unpinned: a Service created first takes the VIP from the API server."""
    early = service("default", "ingress")
    sim = simulate(guide(), [early, apiserver_service("hosted-hosted")], nodes())
    assert sim.allocations == {"default/ingress": ("10.0.2.20",)}
    assert "pool exhausted" in sim.unallocated[KAS]


def test_pinned_pool_serves_only_its_namespace_and_selector() -> None:
    manifests = [
        metallb_cr(),
        hcplb_pool(),
        pool("general", "10.0.3.0/30"),
        peer("frr", "192.168.125.1"),
        advertisement("api", "hosted-hosted-api", "general"),
    ]
    services = [
        service("default", "ingress"),  # created first, still cannot take the VIP
        service("other-other", "kube-apiserver", labels={"app": "kube-apiserver"}),
        service("hosted-hosted", "unlabelled"),
        apiserver_service("hosted-hosted"),
    ]
    sim = simulate(manifests, services, nodes())
    assert sim.allocations[KAS] == ("10.0.2.20",)
    assert sim.pools[KAS] == "hosted-hosted-api"
    # everybody else gets addresses from the general pool, never the VIP
    assert sim.allocations["default/ingress"] == ("10.0.3.0",)
    assert sim.allocations["other-other/kube-apiserver"] == ("10.0.3.1",)
    assert sim.allocations["hosted-hosted/unlabelled"] == ("10.0.3.2",)
    assert all(p == "general" for k, p in sim.pools.items() if k != KAS)


def test_pinned_pool_gives_nothing_to_a_service_of_another_namespace() -> None:
    manifests = [metallb_cr(), hcplb_pool(), peer("frr", "192.168.125.1"), advertisement("api")]
    services = [
        service("other-other", "kube-apiserver", labels={"app": "kube-apiserver"}),
        service("hosted-hosted", "unlabelled"),
        apiserver_service("hosted-hosted"),
    ]
    sim = simulate(manifests, services, nodes())
    assert sim.allocations == {KAS: ("10.0.2.20",)}
    assert sim.unallocated == {
        "other-other/kube-apiserver": "no pool selects this service",
        "hosted-hosted/unlabelled": "no pool selects this service",
    }


def test_a_service_asking_for_a_pinned_vip_from_elsewhere_is_refused() -> None:
    manifests = [metallb_cr(), hcplb_pool(), peer("frr", "192.168.125.1"), advertisement("api")]
    thief = service(
        "default", "thief", annotations={"metallb.universe.tf/loadBalancerIPs": "10.0.2.20"}
    )
    sim = simulate(manifests, [thief, apiserver_service("hosted-hosted")], nodes())
    assert (
        "pool hosted-hosted-api not compatible for ip assignment"
        in sim.unallocated["default/thief"]
    )
    assert sim.allocations[KAS] == ("10.0.2.20",)


def test_namespace_selectors_pick_namespaces_by_label() -> None:
    manifests = [
        metallb_cr(),
        pool(
            "hcp",
            "10.0.6.0/29",
            serviceAllocation={
                "namespaceSelectors": [
                    {"matchLabels": {"hypershift.openshift.io/hosted-control-plane": "true"}}
                ]
            },
        ),
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": "hosted-hosted",
                "labels": {"hypershift.openshift.io/hosted-control-plane": "true"},
            },
        },
        peer("frr", "192.168.125.1"),
        advertisement("api"),
    ]
    sim = simulate(
        manifests, [service("default", "web"), apiserver_service("hosted-hosted")], nodes()
    )
    assert sim.allocations == {KAS: ("10.0.6.0",)}
    assert sim.unallocated == {"default/web": "no pool selects this service"}


# -- requested addresses --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "how",
    [
        {"annotations": {"metallb.universe.tf/loadBalancerIPs": "10.0.3.7"}},
        {"annotations": {"metallb.io/loadBalancerIPs": "10.0.3.7"}},
        {"loadBalancerIP": "10.0.3.7"},
    ],
    ids=["deprecated-annotation", "annotation", "spec.loadBalancerIP"],
)
def test_a_requested_address_is_given(how: dict[str, Any]) -> None:
    manifests = guide(pool("general", "10.0.3.0/24"))
    sim = simulate(
        manifests, [service("default", "first"), service("default", "web", **how)], nodes()
    )
    assert sim.allocations["default/web"] == ("10.0.3.7",)
    # unpinned pools are tried by name: "general" before "hcp-api-pool"
    assert sim.allocations["default/first"] == ("10.0.3.0",)


def test_a_requested_address_outside_every_pool_is_refused() -> None:
    web = service("default", "web", annotations={"metallb.io/loadBalancerIPs": "172.16.0.1"})
    sim = simulate(guide(), [web], nodes())
    assert sim.unallocated["default/web"].startswith('"172.16.0.1" is not allowed in config')


def test_a_requested_address_in_use_is_refused() -> None:
    ask = {"annotations": {"metallb.io/loadBalancerIPs": "10.0.2.20"}}
    sim = simulate(guide(), [service("a", "one", **ask), service("b", "two", **ask)], nodes())
    assert sim.allocations == {"a/one": ("10.0.2.20",)}
    assert sim.unallocated["b/two"] == "address 10.0.2.20 is already in use by a/one"


def test_both_annotation_and_load_balancer_ip_is_an_error() -> None:
    web = service(
        "default",
        "web",
        loadBalancerIP="10.0.2.20",
        annotations={"metallb.io/loadBalancerIPs": "10.0.2.20"},
    )
    sim = simulate(guide(), [web], nodes())
    assert "can not have both" in sim.unallocated["default/web"]


def test_sharing_an_address_needs_the_same_key_and_other_ports() -> None:
    share = {"metallb.io/allow-shared-ip": "api", "metallb.io/loadBalancerIPs": "10.0.2.20"}
    a = service("a", "https", annotations=share, ports=[{"port": 443, "protocol": "TCP"}])
    b = service("a", "http", annotations=share, ports=[{"port": 80, "protocol": "TCP"}])
    c = service("a", "clash", annotations=share, ports=[{"port": 443, "protocol": "TCP"}])
    sim = simulate(guide(), [a, b, c], nodes())
    assert sim.allocations == {"a/https": ("10.0.2.20",), "a/http": ("10.0.2.20",)}
    assert sim.unallocated["a/clash"] == "port TCP/443 is already in use on 10.0.2.20 by a/https"


def test_an_address_in_status_is_kept() -> None:
    manifests = guide(pool("general", "10.0.3.0/24"))
    kept = service("default", "web", status={"loadBalancer": {"ingress": [{"ip": "10.0.3.200"}]}})
    sim = simulate(manifests, [service("default", "new"), kept], nodes())
    assert sim.allocations == {"default/new": ("10.0.3.0",), "default/web": ("10.0.3.200",)}


# -- pools: exhaustion, autoAssign, priority, avoidBuggyIPs ---------------------------------------


def test_pool_exhausted() -> None:
    services = [apiserver_service("hosted-hosted"), apiserver_service("second-second")]
    sim = simulate(guide(), services, nodes())
    assert sim.allocations == {KAS: ("10.0.2.20",)}
    assert sim.unallocated == {
        "second-second/kube-apiserver": "pool exhausted: no available IPs in hcp-api-pool"
    }


def test_auto_assign_false_serves_only_explicit_requests() -> None:
    manifests = guide(pool("manual", "10.0.7.0/24", autoAssign=False))
    services = [
        apiserver_service("hosted-hosted"),
        service("default", "auto"),
        service("default", "by-pool", annotations={"metallb.io/address-pool": "manual"}),
        service(
            "default", "by-ip", annotations={"metallb.universe.tf/loadBalancerIPs": "10.0.7.9"}
        ),
    ]
    sim = simulate(manifests, services, nodes())
    assert sim.unallocated == {"default/auto": "pool exhausted: no available IPs in hcp-api-pool"}
    assert sim.allocations["default/by-pool"] == ("10.0.7.0",)
    assert sim.allocations["default/by-ip"] == ("10.0.7.9",)


def test_auto_assign_false_alone_selects_nothing() -> None:
    manifests = [
        metallb_cr(),
        pool("manual", "10.0.7.0/24", autoAssign=False),
        advertisement("all"),
    ]
    sim = simulate(manifests, [service("default", "auto")], nodes())
    assert sim.unallocated == {"default/auto": "no pool selects this service"}


def test_unknown_address_pool_annotation() -> None:
    web = service("default", "web", annotations={"metallb.io/address-pool": "nope"})
    sim = simulate(guide(), [web], nodes())
    assert sim.unallocated == {"default/web": 'unknown pool "nope"'}


def test_lower_priority_number_wins_and_zero_comes_last() -> None:
    manifests = [
        metallb_cr(),
        pool("zero", "10.0.8.0/32", serviceAllocation=pinned(["hosted-hosted"])),
        pool("second", "10.0.9.0/32", serviceAllocation=pinned(["hosted-hosted"], priority=20)),
        pool("first", "10.0.10.0/32", serviceAllocation=pinned(["hosted-hosted"], priority=10)),
        advertisement("all"),
    ]
    services = [service("hosted-hosted", f"svc-{i}") for i in range(4)]
    sim = simulate(manifests, services, nodes())
    assert [sim.pools.get(f"hosted-hosted/svc-{i}") for i in range(4)] == [
        "first",
        "second",
        "zero",
        None,
    ]
    assert sim.unallocated["hosted-hosted/svc-3"].startswith("pool exhausted")


def test_avoid_buggy_ips_skips_dot_zero_and_dot_255() -> None:
    manifests = [
        metallb_cr(),
        pool("buggy", "10.0.11.0/24", serviceAllocation=pinned(["a"])),
        pool("careful", "10.0.12.0/24", avoidBuggyIPs=True, serviceAllocation=pinned(["b"])),
        pool("edge", "10.0.13.254-10.0.14.0", avoidBuggyIPs=True, serviceAllocation=pinned(["c"])),
    ]
    services = [service("a", "x"), service("b", "x"), service("c", "x"), service("c", "y")]
    sim = simulate(manifests, services, nodes())
    assert sim.allocations == {
        "a/x": ("10.0.11.0",),
        "b/x": ("10.0.12.1",),
        "c/x": ("10.0.13.254",),
    }
    assert sim.unallocated["c/y"].startswith("pool exhausted")


def test_services_metallb_does_not_handle_are_left_alone() -> None:
    cluster_ip = service("default", "internal", type="ClusterIP")
    other_class = service("default", "elsewhere", loadBalancerClass="example.com/lb")
    sim = simulate(guide(), [cluster_ip, other_class], nodes())
    assert sim.allocations == {} and sim.unallocated == {}


def test_load_balancer_class_of_the_metallb_cr() -> None:
    manifests = guide()
    manifests[0] = metallb_cr(loadBalancerClass="metallb.io/metallb")
    mine = service("default", "mine", loadBalancerClass="metallb.io/metallb")
    sim = simulate(manifests, [apiserver_service("hosted-hosted"), mine], nodes())
    assert sim.allocations == {"default/mine": ("10.0.2.20",)}


# -- no MetalLB, or a configuration MetalLB rejects -----------------------------------------------


def test_without_the_metallb_cr_nothing_runs() -> None:
    sim = simulate(guide()[1:], [apiserver_service("hosted-hosted")], nodes())
    assert sim.reason.startswith("no MetalLB resource")
    assert sim.unallocated == {KAS: sim.reason}
    assert sim.speakers == {} and sim.frr_configs == {}


def test_a_metallb_cr_not_named_metallb_deploys_nothing() -> None:
    cr = metallb_cr()
    cr["metadata"]["name"] = "my-metallb"
    sim = simulate([cr, *guide()[1:]], [apiserver_service("hosted-hosted")], nodes())
    assert sim.reason == "MetalLB resource name must be 'metallb'"


def secret(name: str, password: str, type_: str = "kubernetes.io/basic-auth") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": type_,
        "metadata": {"name": name, "namespace": NS},
        "data": {"password": base64.b64encode(password.encode()).decode()},
    }


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            [peer("bad", "192.168.125.2", holdTime="1s")],
            'BGPPeer openshift-operators/bad: invalid BGPPeer timers: invalid hold time "1s": must be 0 or >=3s',
        ),
        (
            [peer("bad", "192.168.125.2", holdTime="30s", keepaliveTime="40s")],
            'invalid keepaliveTime "40s", must be lower than holdTime "30s"',
        ),
        (
            [peer("bad", "192.168.125.2", myASN=0)],
            "BGPPeer openshift-operators/bad: missing local ASN",
        ),
        (
            [peer("bad", "192.168.125.2", bfdProfile="nope")],
            "peer bad referencing non existing bfd profile nope",
        ),
        (
            [
                peer("bad", "192.168.125.2", passwordSecret={"name": "pw"}),
                secret("pw", "x", "Opaque"),
            ],
            'secret type mismatch on "openshift-operators"/"pw", type "kubernetes.io/basic-auth" is expected',
        ),
        (
            [
                peer("bad", "192.168.125.2", passwordSecret={"name": "pw"}, password="x"),
                secret("pw", "x"),
            ],
            'can not have both password and secret ref set in peer config "openshift-operators"/"bad"',
        ),
        (
            [peer("bad", "192.168.125.2", passwordSecret={"name": "missing"})],
            'secret ref not found for peer config "openshift-operators"/"bad"',
        ),
        (
            [pool("overlap", "10.0.2.0/24")],
            'CIDR "10.0.2.0/24" in pool "overlap" overlaps with already defined CIDR "10.0.2.20/32"',
        ),
        (
            [advertisement("agg", "hcp-api-pool", aggregationLength=24)],
            "invalid aggregation length 24: prefix 32 in this pool is more specific than the "
            "aggregation length for addresses 10.0.2.20-10.0.2.20",
        ),
        (
            [peer("twin", "192.168.125.1", routerID="1.1.1.1")],
            "has RouterID different from , in FRR mode peers selecting the same node must all have the same RouterID",
        ),
        (
            [peer("twin", "192.168.125.1")],
            "peer 192.168.125.1 already exists, FRR mode doesn't support duplicate BGPPeers selecting the same node",
        ),
        (
            [peer("other-asn", "192.168.125.9", my_asn=65000)],
            "in FRR mode peers selecting the same node must have the same myAsn within the same VRF",
        ),
        (
            [advertisement("comm", "hcp-api-pool", communities=["65536:1"])],
            'invalid community "65536:1" in BGP advertisement',
        ),
        (
            [
                {
                    **pool("elsewhere", "10.9.0.0/24"),
                    "metadata": {"name": "elsewhere", "namespace": "default"},
                }
            ],
            "IPAddressPool default/elsewhere: resource must be created in openshift-operators namespace",
        ),
    ],
    ids=[
        "hold-too-short",
        "keepalive-over-hold",
        "no-my-asn",
        "missing-bfd-profile",
        "secret-type",
        "password-and-secret",
        "secret-missing",
        "pool-overlap",
        "aggregation-vs-pool",
        "router-id-mismatch",
        "duplicate-peer",
        "my-asn-mismatch",
        "bad-community",
        "wrong-namespace",
    ],
)
def test_configurations_metallb_rejects(extra: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(MetallbError) as info:
        simulate(guide(*extra), [apiserver_service("hosted-hosted")], nodes())
    assert message in str(info.value)


def test_peers_on_disjoint_nodes_may_differ_in_my_asn() -> None:
    west = peer(
        "west", "192.168.125.1", my_asn=65001, nodeSelectors=[{"matchLabels": {"zone": "west"}}]
    )
    east = peer(
        "east", "192.168.125.1", my_asn=65002, nodeSelectors=[{"matchLabels": {"zone": "east"}}]
    )
    manifests = [metallb_cr(), pool("p", "10.0.2.20/32"), west, east, advertisement("a")]
    node_list = [
        node_object("w", "192.168.125.20", {"zone": "west"}),
        node_object("e", "192.168.125.21", {"zone": "east"}),
    ]
    sim = simulate(manifests, [apiserver_service("hosted-hosted")], node_list)
    assert [s.my_asn for s in sim.speakers["w"].sessions] == [65001]
    assert [s.my_asn for s in sim.speakers["e"].sessions] == [65002]


def test_first_free_fills_the_holes_left_by_requested_addresses() -> None:
    manifests = [metallb_cr(), pool("p", "10.1.0.0/29"), advertisement("all")]
    ask = {"annotations": {"metallb.io/loadBalancerIPs": "10.1.0.3"}}
    services = [service("a", "asked", **ask)] + [service("a", f"auto-{i}") for i in range(8)]
    sim = simulate(manifests, services, nodes(1))
    got = [sim.allocations.get(f"a/auto-{i}", ("-",))[0] for i in range(8)]
    assert got == [
        "10.1.0.0",
        "10.1.0.1",
        "10.1.0.2",
        "10.1.0.4",
        "10.1.0.5",
        "10.1.0.6",
        "10.1.0.7",
        "-",
    ]
    assert sim.unallocated == {"a/auto-7": "pool exhausted: no available IPs in p"}


def test_many_services_get_consecutive_addresses() -> None:
    manifests = [metallb_cr(), pool("big", "10.2.0.0/16", avoidBuggyIPs=True), advertisement("all")]
    sim = simulate(manifests, [service("a", f"s{i}") for i in range(600)], nodes(1))
    assert sim.allocations["a/s0"] == ("10.2.0.1",)
    assert sim.allocations["a/s254"] == ("10.2.1.1",)  # .255 and .0 skipped
    assert sim.allocations["a/s599"] == ("10.2.2.92",)  # 254 per /24
    assert len(set(sim.allocations.values())) == 600

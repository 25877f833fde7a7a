"""IPv4-only, IPv6-only and dual-stack sites: the spec's per-family forms and the plan's lists."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hcplb.errors import SpecError
from hcplb.plan import plan_site
from hcplb.spec import load_site, load_site_text

from .conftest import EXAMPLES

SITE = """\
apiVersion: hcplb.io/v1alpha1
kind: Site
metadata: {{name: fam}}
spec:
  routers:
    - {{name: r1, asn: 64512, routerId: 192.168.125.1, {router}}}
  managementCluster:
    asn: 64513
    {machine}
    nodes:
      - {{name: m0, {node0}}}
      - {{name: m1, {node1}}}
  bgp: {{sessions: {sessions}}}
  pools:
    - {{name: p, addresses: [10.0.2.16/28, "2001:db8:2::10/124"]}}
  hostedClusters:
    - {{name: c1, namespace: hc, baseDomain: example.com, pool: p{c1}}}
"""
V4 = {"router": "address: 192.168.125.1", "node0": "address: 192.168.125.20"}
DUAL = {
    "router": 'addresses: [192.168.125.1, "2001:db8:125::1"]',
    "machine": 'machineNetworks: [192.168.125.0/24, "2001:db8:125::/64"]',
    "node0": 'addresses: [192.168.125.20, "2001:db8:125::20"]',
    "node1": 'addresses: [192.168.125.21, "2001:db8:125::21"]',
}


def site_text(**parts: str) -> str:
    values = {
        "router": V4["router"],
        "machine": "machineNetwork: 192.168.125.0/24",
        "node0": V4["node0"],
        "node1": "address: 192.168.125.21",
        "sessions": "per-family",
        "c1": "",
    }
    values.update(parts)
    return SITE.format(**values)


def test_ipv4_site_plans_as_before() -> None:
    plan = plan_site(load_site_text(site_text()).site)
    assert plan.families == (4,)
    assert [(p.family, p.carries, p.node_address) for p in plan.peerings] == [
        (4, (4,), "192.168.125.20"),
        (4, (4,), "192.168.125.21"),
    ]
    assert plan.clusters[0].vip == "10.0.2.16"
    assert plan.accepted_networks == ("10.0.2.16/28",)
    assert plan.client_networks == ("192.168.130.0/24",)


def test_dual_stack_per_family_sessions() -> None:
    plan = plan_site(load_site_text(site_text(**DUAL, c1=", ipFamily: IPv6")).site)
    assert plan.families == (4, 6)
    assert [(p.family, p.router_address, p.node_address) for p in plan.peerings] == [
        (4, "192.168.125.1", "192.168.125.20"),
        (4, "192.168.125.1", "192.168.125.21"),
        (6, "2001:db8:125::1", "2001:db8:125::20"),
        (6, "2001:db8:125::1", "2001:db8:125::21"),
    ]
    assert (plan.clusters[0].vip, plan.clusters[0].family) == ("2001:db8:2::10", 6)
    assert plan.accepted_of(6) == ("2001:db8:2::10/124",)
    assert plan.maximum_prefix_of(6) == 16
    assert plan.client_networks == ("192.168.130.0/24", "fd00:130::/64")


def test_dual_stack_sessions_carry_both_families_over_ipv4() -> None:
    plan = plan_site(load_site_text(site_text(**DUAL, sessions="dual-stack")).site)
    assert {(p.family, p.carries) for p in plan.peerings} == {(4, (4, 6))}
    assert len(plan.peerings) == 2


def test_ipv6_example_is_ipv6_only() -> None:
    plan = plan_site(load_site(EXAMPLES / "ipv6.yaml").site)
    assert plan.families == (6,)
    assert plan.accepted_networks == ("2001:db8:2::20/124",)
    assert all(p.family == 6 for p in plan.peerings)
    assert plan.site.spec.routers[0].router_id == "192.168.125.1"


def test_dualstack_example_has_one_cluster_per_family() -> None:
    loaded = load_site(EXAMPLES / "dualstack.yaml")
    plan = plan_site(loaded.site)
    assert loaded.warnings == ()
    assert [(c.cluster.name, c.vip, c.family) for c in plan.clusters] == [
        ("hosted-a", "10.0.2.20", 4),
        ("hosted-b", "2001:db8:2::10", 6),
    ]
    assert len(plan.peerings) == 2 * 2 * 3


# (parts, expected fragment of the error) for each family rule.
FAMILY_RULES = [
    ({"node0": 'address: "2001:db8:125::20"'}, "is IPv6, but no machine network is IPv6"),
    ({**DUAL, "node1": "address: 192.168.125.21"}, "node m1 has no IPv6 address"),
    ({**DUAL, "node0": 'addresses: [192.168.125.20, "2001:db8:9::20"]'}, "outside the machine"),
    ({"c1": ', vip: "2001:db8:2::11"'}, "has an IPv6 VIP, but the management cluster has no IPv6"),
    ({**DUAL, "router": "address: 192.168.125.1", "c1": ", ipFamily: IPv6"}, "no IPv6 session"),
    ({**DUAL, "router": 'address: "2001:db8:125::1"', "sessions": "dual-stack"}, "no IPv4 addr"),
    ({"c1": ", vip: 10.0.2.17, ipFamily: IPv6"}, "is not IPv6; the vip decides the family"),
    ({"router": 'address: 192.168.125.1, addresses: ["2001:db8::1"]'}, "not both"),
    ({"machine": "machineNetworks: [192.168.125.0/24, 10.0.0.0/8]"}, "same IP family"),
]


@pytest.mark.parametrize(("parts", "expected"), FAMILY_RULES)
def test_family_rules_are_located_errors(parts: dict[str, str], expected: str) -> None:
    with pytest.raises(SpecError) as info:
        load_site_text(site_text(**parts), "fam.yaml")
    lines = info.value.lines()
    assert any(expected in line and line.startswith("fam.yaml:") for line in lines), lines


@settings(max_examples=30, deadline=None)
@given(
    v6_first=st.booleans(),
    sessions=st.sampled_from(["per-family", "dual-stack"]),
    families=st.lists(st.sampled_from(["IPv4", "IPv6"]), min_size=1, max_size=4),
)
def test_generated_dual_stack_sites_plan_one_vip_per_cluster_in_its_family(
    v6_first: bool, sessions: str, families: list[str]
) -> None:
    """Whatever the primary family and session kind, each cluster's VIP is of its family,
    in the pool, unique, and every session's ends are of the session's family."""
    nets = ["192.168.125.0/24", '"2001:db8:125::/64"']
    if v6_first:
        nets.reverse()
    order = (lambda a, b: f"[{b}, {a}]") if v6_first else (lambda a, b: f"[{a}, {b}]")
    clusters = "\n".join(
        f"    - {{name: c{i}, namespace: hc, baseDomain: example.com, pool: p, ipFamily: {f}}}"
        for i, f in enumerate(families)
    )
    text = site_text(
        machine=f"machineNetworks: [{', '.join(nets)}]",
        router="addresses: " + order("192.168.125.1", '"2001:db8:125::1"'),
        node0="addresses: " + order("192.168.125.20", '"2001:db8:125::20"'),
        node1="addresses: " + order("192.168.125.21", '"2001:db8:125::21"'),
        sessions=sessions,
    ).replace("    - {name: c1, namespace: hc, baseDomain: example.com, pool: p}", clusters)
    plan = plan_site(load_site_text(text).site)
    assert plan.families == ((6, 4) if v6_first else (4, 6))
    vips = [c.vip for c in plan.clusters]
    assert len(set(vips)) == len(vips)
    for c, family in zip(plan.clusters, families, strict=True):
        assert ipaddress.ip_address(c.vip).version == c.family == int(family[-1])
        assert any(
            ipaddress.ip_address(c.vip) in ipaddress.ip_network(n) for n in plan.accepted_networks
        )
    for p in plan.peerings:
        for addr in (p.node_address, p.router_address):
            assert ipaddress.ip_address(addr).version == p.family

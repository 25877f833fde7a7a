"""Property: hcplb lints its own output clean, for any valid site.

Sites are generated over the address plan (machine network, pools as CIDRs or ranges anywhere,
including the documentation ranges the old sample-address check probed), the peering mode,
the router count and the firewall flavour; each is rendered, then linted twice: with its plan
and as a bare directory on disk (what a user runs). Neither may report an error.
"""

from __future__ import annotations

import ipaddress
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hcplb.lint.engine import lint_inputs, lint_paths
from hcplb.lint.sources import read_texts
from hcplb.plan import plan_site
from hcplb.render import Secrets, render_site, write_rendered
from hcplb.spec import load_site_text

_MACHINE = st.sampled_from(["192.168.125.0/24", "10.20.0.0/24", "172.16.8.0/24", "10.0.0.0/16"])
# Pool bases: the TEST-NET that import's placeholder and the old fixed probe used, and others.
_POOL_BASE = st.sampled_from(["198.51.100.0", "10.0.2.0", "203.0.113.64", "172.31.250.0"])


@st.composite
def sites(draw: st.DrawFn) -> str:
    machine = ipaddress.ip_network(draw(_MACHINE))
    hosts = list(machine.hosts())
    node_count = draw(st.integers(min_value=1, max_value=4))
    router_count = draw(st.integers(min_value=1, max_value=2))
    base = ipaddress.ip_address(draw(_POOL_BASE))
    length = draw(st.integers(min_value=26, max_value=32))
    pool_net = ipaddress.ip_network(f"{base}/{length}")
    as_range = draw(st.booleans())
    if as_range:
        first = pool_net.network_address
        last = pool_net.broadcast_address - draw(st.integers(min_value=0, max_value=1))
        last = max(last, first)
        addresses = f"{first}-{last}"
    else:
        addresses = str(pool_net)
    vip = pool_net.network_address
    peering = draw(st.sampled_from(["static", "dynamic"]))
    firewall = draw(st.sampled_from(["iptables", "nftables", "firewalld"]))
    bfd = draw(st.booleans())
    routers = "".join(
        f"    - {{name: r{i}, asn: 64512, routerId: {hosts[i]}, address: {hosts[i]}, "
        f"firewall: {firewall}}}\n"
        for i in range(router_count)
    )
    nodes = "".join(
        f"      - {{name: node-{i}, address: {hosts[10 + i]}}}\n" for i in range(node_count)
    )
    return (
        "apiVersion: hcplb.io/v1alpha1\nkind: Site\nmetadata: {name: generated}\nspec:\n"
        f"  routers:\n{routers}"
        "  managementCluster:\n    asn: 64513\n    metallbNamespace: metallb-system\n"
        f"    machineNetwork: {machine}\n    nodes:\n{nodes}"
        "  bgp:\n"
        + (
            "    bfd: {receiveInterval: 300, transmitInterval: 300, detectMultiplier: 3}\n"
            if bfd
            else "    bfd: null\n"
        )
        + f"    peering: {peering}\n"
        f"  pools:\n    - {{name: api-pool, addresses: [{addresses}]}}\n"
        "  hostedClusters:\n"
        f"    - {{name: hosted, namespace: clusters, baseDomain: example.com, vip: {vip}, "
        "pool: api-pool}\n"
        "  dns: {zone: example.com, ttl: 300}\n"
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(text=sites())
def test_render_then_lint_reports_no_error(text: str) -> None:
    site = load_site_text(text, "site.yaml").site
    rendered = render_site(site, Secrets())
    inputs, read = read_texts((f.path, f.content) for f in rendered.files)
    with_plan = lint_inputs(inputs, read, plan=plan_site(site))
    assert [str(f) for f in with_plan.errors] == [], text
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        write_rendered(rendered, out)
        on_disk = lint_paths([out])
        assert [str(f) for f in on_disk.errors] == [], text


_FIXED = (
    "apiVersion: hcplb.io/v1alpha1\nkind: Site\nmetadata: {name: testnet}\nspec:\n"
    "  routers:\n    - {name: r0, asn: 64512, routerId: 192.168.125.1, address: 192.168.125.1, "
    "firewall: iptables}\n"
    "  managementCluster:\n    asn: 64513\n    metallbNamespace: metallb-system\n"
    "    machineNetwork: 192.168.125.0/24\n    nodes:\n"
    "      - {name: node-0, address: 192.168.125.10}\n"
    "  pools:\n    - {name: api-pool, addresses: [198.51.100.0/28]}\n"
    "  hostedClusters:\n    - {name: hosted, namespace: clusters, baseDomain: example.com, "
    "vip: 198.51.100.7, pool: api-pool}\n"
    "  dns: {zone: example.com, ttl: 300}\n"
)


def _router_lint(edit: tuple[str, str]) -> list[str]:
    site = load_site_text(_FIXED, "site.yaml").site
    files = [(f.path, f.content.replace(*edit)) for f in render_site(site, Secrets()).files]
    inputs, read = read_texts(files)
    report = lint_inputs(inputs, read)
    return [f.message for f in report.findings if f.rule == "router.policy.accepts-more"]


def test_acceptance_is_prefix_set_containment() -> None:
    # The VIP is the address the old check probed: accepting the pool's host routes is clean.
    assert _router_lint(("", "")) == []
    # Accepting exactly the VIP is clean too.
    assert _router_lint(("permit 198.51.100.0/28 ge 32", "permit 198.51.100.7/32")) == []
    # Shorter routes let in more than MetalLB announces, whatever addresses they hold.
    found = _router_lint(("permit 198.51.100.0/28 ge 32", "permit 198.51.100.0/27 ge 28"))
    assert found and "198.51.100.0/28" in found[0]
    # A permit far from every sample address the old check knew is still caught.
    found = _router_lint(
        (
            "permit 198.51.100.0/28 ge 32",
            "permit 198.51.100.0/28 ge 32\n"
            "ip prefix-list HCPLB-VIP-POOLS seq 6 permit 100.64.0.0/10 le 24",
        )
    )
    assert found and "100.64.0.0/10" in found[0]


def test_a_pool_on_the_node_subnet_is_one_warning_and_lints_clean() -> None:
    text = _FIXED.replace("198.51.100.0/28", "192.168.125.200-192.168.125.210").replace(
        "vip: 198.51.100.7", "vip: 192.168.125.201"
    )
    loaded = load_site_text(text, "site.yaml")  # a warning, not a failure to load
    overlap = [w for w in loaded.warnings if "overlaps the machine network" in w.message]
    assert len(overlap) == 1  # one per pool, though the range is several CIDR fragments
    assert "more specific than the connected route" in overlap[0].message and overlap[0].hint
    rendered = render_site(loaded.site, Secrets())
    inputs, read = read_texts((f.path, f.content) for f in rendered.files)
    assert list(lint_inputs(inputs, read, plan=plan_site(loaded.site)).errors) == []
    assert list(lint_inputs(inputs, read).errors) == []

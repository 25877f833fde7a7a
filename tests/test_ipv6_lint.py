"""lint and import on IPv6-only and dual-stack sites: the rendered files import back to the
spec's site and lint clean; the IPv6 policy, sysctl and pool-family rules fire when broken."""

from __future__ import annotations

from pathlib import Path

import pytest

from hcplb.importer import import_site
from hcplb.lint.engine import lint_inputs
from hcplb.lint.sources import read_texts
from hcplb.plan import SitePlan, plan_site
from hcplb.render import render_site
from hcplb.render.secrets import Secrets
from hcplb.spec import load_site, load_site_text

from .conftest import EXAMPLES

SITES = {
    "ipv6": EXAMPLES / "ipv6.yaml",
    "dualstack": EXAMPLES / "dualstack.yaml",
    "dualstack-sessions": Path(__file__).parent / "sites" / "dualstack-sessions.yaml",
}


def _rendered(case: str) -> dict[str, str]:
    site = load_site(SITES[case]).site
    return {f.path: f.content for f in render_site(site, Secrets()).files}


def _shape(plan: SitePlan) -> dict[str, object]:
    """What an import must reproduce: families, who peers over what, each VIP and its family."""
    return {
        "families": plan.families,
        "machine": plan.machine_networks,
        "sessions": plan.site.spec.bgp.sessions,
        "routers": sorted((r.name, r.router_id, tuple(r.addresses)) for r in plan.routers),
        "nodes": sorted((n.name, tuple(n.addresses)) for n in plan.nodes),
        "peerings": sorted(
            (p.router.name, p.node.name, p.family, p.carries) for p in plan.peerings
        ),
        "vips": sorted((c.cluster.name, c.vip, c.family) for c in plan.clusters),
    }


# Not dualstack-sessions: its files name no IPv6 node address (every session is IPv4), and
# the import says so rather than guess one.
@pytest.mark.parametrize("case", ["ipv6", "dualstack"])
def test_import_of_the_rendered_files_reproduces_the_site(case: str, tmp_path: Path) -> None:
    for path, content in _rendered(case).items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(content)
    imported = import_site([tmp_path], name="imported")
    assert imported.ok, imported.blocking
    again = plan_site(load_site_text(imported.text, "imported.yaml").site)
    assert _shape(again) == _shape(plan_site(load_site(SITES[case]).site))


@pytest.mark.parametrize("case", list(SITES))
def test_rendered_files_lint_clean_without_the_spec(case: str) -> None:
    inputs, read = read_texts(_rendered(case).items())
    report = lint_inputs(inputs, read)
    assert [str(f) for f in report.findings if f.severity.value != "info"] == []
    assert report.sessions and all(s.status == "matched" for s in report.sessions)


def test_import_of_dual_stack_sessions_says_what_it_cannot_know(tmp_path: Path) -> None:
    for path, content in _rendered("dualstack-sessions").items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(content)
    imported = import_site([tmp_path], name="imported")
    assert not imported.ok
    assert any("IPv6 VIP" in b and "machine network" in b for b in imported.blocking)
    assert "sessions: dual-stack" in imported.text


def _lint_ipv6(**edits: str) -> list[str]:
    """The ipv6 example's rendered files with `old=new` text edits applied to frr.conf or the
    sysctl file (keys: `frr`, `sysctl`), linted with the spec: the rules that fire."""
    files = _rendered("ipv6")
    for key, (old, new) in ((k, v.split("=>")) for k, v in edits.items()):
        path = {"frr": "router/frr.conf", "sysctl": "router/90-hcplb.conf"}[key]
        assert old in files[path], old
        files[path] = files[path].replace(old, new)
    inputs, read = read_texts(files.items())
    plan = plan_site(load_site(SITES["ipv6"]).site)
    return sorted({f.rule for f in lint_inputs(inputs, read, plan=plan).findings})


def test_ipv6_policy_wider_than_host_routes_is_caught() -> None:
    rules = _lint_ipv6(frr="permit 2001:db8:2::20/124 ge 128=>permit 2001:db8::/32 ge 128")
    assert "router.policy.accepts-more" in rules


def test_ipv6_policy_that_rejects_the_pool_is_caught() -> None:
    rules = _lint_ipv6(frr="permit 2001:db8:2::20/124 ge 128=>permit 2001:db8:9::/124 ge 128")
    assert "router.policy.rejects-vip" in rules


def test_ipv6_forwarding_sysctl_is_required() -> None:
    rules = _lint_ipv6(sysctl="net.ipv6.conf.all.forwarding = 1=>net.ipv6.conf.all.forwarding = 0")
    assert "router.sysctl.forwarding" in rules


def test_ipv6_maximum_paths_counts_the_nodes() -> None:
    rules = _lint_ipv6(frr="  maximum-paths 3=>  maximum-paths 1")
    assert "router.maximum-paths" in rules


def test_ipv6_pool_to_an_ipv4_only_session_is_still_caught() -> None:
    """The dualstack example with its IPv6 advertisement pointed at the IPv4 peers."""
    files = _rendered("dualstack")
    ads = files["cluster/bgpadvertisement.yaml"]
    files["cluster/bgpadvertisement.yaml"] = ads.replace("    - frr-a-v6\n", "    - frr-a\n")
    inputs, read = read_texts(files.items())
    report = lint_inputs(inputs, read)
    assert "metallb.pool.family-mismatch" in {f.rule for f in report.findings}


def _lint_hosted_b(networking: str) -> set[str]:
    """The dualstack example's rendered files, hosted-b's HostedCluster given `networking`."""
    files = _rendered("dualstack")
    path = "hostedcluster/hosted-b.yaml"
    files[path] = files[path].replace("spec:\n", f"spec:\n  networking:\n{networking}", 1)
    inputs, read = read_texts(files.items())
    plan = plan_site(load_site(SITES["dualstack"]).site)
    return {f.rule for f in lint_inputs(inputs, read, plan=plan).findings}


def test_hypershift_dual_stack_networks_hold_one_network_per_family() -> None:
    rules = _lint_hosted_b(
        "    clusterNetwork: [{cidr: 10.132.0.0/14}, {cidr: 10.136.0.0/14}]\n"
        "    serviceNetwork: [{cidr: 172.31.0.0/16}]\n"
    )
    assert "hypershift.crd.networking.family" in rules


def test_hypershift_service_and_cluster_networks_share_the_primary_family() -> None:
    rules = _lint_hosted_b(
        "    clusterNetwork: [{cidr: 10.132.0.0/14}, {cidr: 'fd01::/48'}]\n"
        "    serviceNetwork: [{cidr: 'fd02::/112'}, {cidr: 172.31.0.0/16}]\n"
    )
    assert "hypershift.crd.networking.family" in rules
    fine = _lint_hosted_b(
        "    clusterNetwork: [{cidr: 10.132.0.0/14}, {cidr: 'fd01::/48'}]\n"
        "    serviceNetwork: [{cidr: 172.31.0.0/16}, {cidr: 'fd02::/112'}]\n"
    )
    assert "hypershift.crd.networking.family" not in fine


def test_allowed_cidr_block_of_the_other_family_lets_nobody_in() -> None:
    rules = _lint_hosted_b("    apiServer: {allowedCIDRBlocks: [192.168.130.0/24]}\n")
    assert "cross.allowed-cidr.family" in rules
    fine = _lint_hosted_b("    apiServer: {allowedCIDRBlocks: ['2001:db8:130::/64']}\n")
    assert "cross.allowed-cidr.family" not in fine

"""IPv6-only and dual-stack sites through MetalLB's simulation in both BGP backends: every node's
frr.conf announces each VIP in its own family to the routers of that family, and real FRR
(`vtysh -C`) accepts every config, the routers' and the nodes'."""

from __future__ import annotations

from pathlib import Path

import pytest

from hcplb.converged import converged_site
from hcplb.metallb import simulate
from hcplb.metallb.objects import apiserver_service, node_object
from hcplb.plan import SitePlan, plan_site
from hcplb.render.secrets import Secrets
from hcplb.spec import load_site_text
from tests.conftest import EXAMPLES
from tests.test_metallb_allocation import advertisement, metallb_cr, peer, pool
from tests.test_metallb_conformance import vtysh_accepts

SITES = {
    "ipv6": EXAMPLES / "ipv6.yaml",
    "dualstack": EXAMPLES / "dualstack.yaml",
    "dualstack-sessions": Path(__file__).parent / "sites" / "dualstack-sessions.yaml",
}
BACKENDS = ("frr-k8s", "frr")


def plan_of(case: str, backend: str) -> SitePlan:
    text = SITES[case].read_text()
    text = text.replace(
        "  managementCluster:\n", f"  managementCluster:\n    bgpBackend: {backend}\n"
    )
    return plan_site(load_site_text(text, str(SITES[case])).site)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", list(SITES))
def test_every_node_frr_conf_is_accepted_and_announces_each_family(
    case: str, backend: str, tmp_path: Path
) -> None:
    plan = plan_of(case, backend)
    converged = converged_site(plan, Secrets())
    assert converged.problems == ()
    sim = converged.simulation
    assert sim is not None and sim.frr_configs
    for node, text in sim.frr_configs.items():
        (tmp_path / node).mkdir()
        vtysh_accepts(text, tmp_path / node)
        for c in plan.clusters:
            word = "ip" if c.family == 4 else "ipv6"
            host = f"{c.vip}/{32 if c.family == 4 else 128}"
            assert f"network {host}" in text, (node, host)
            assert any(
                line.startswith(f"{word} prefix-list") and line.endswith(f"permit {host}")
                for line in text.splitlines()
            ), (node, host)
        if case == "dualstack-sessions":
            assert "neighbor 2001:" not in text  # both families over the IPv4 sessions
    for router in converged.routers:
        for announcement in router.vips:
            assert len(announcement.announcers) == len(plan.nodes), announcement


def test_dual_stack_service_takes_the_one_family_its_pinned_pool_holds() -> None:
    """HyperShift's Service is PreferDualStack: on a dual-stack cluster it has both families,
    and MetalLB gives it the single VIP of its pinned pool."""
    converged = converged_site(plan_of("dualstack", "frr-k8s"), Secrets())
    assert converged.simulation is not None
    assert converged.simulation.allocations == {
        "hosted-hosted-a/kube-apiserver": ("10.0.2.20",),
        "hosted-hosted-b/kube-apiserver": ("2001:db8:2::10",),
    }


@pytest.mark.parametrize("backend", BACKENDS)
def test_ipv6_communities_and_local_pref_lists(backend: str, tmp_path: Path) -> None:
    """MetalLB's templates give IPv6 prefixes their own `ipv6 prefix-list`s for local-pref and
    communities (`<neighbor>-<value>-ipv6-...-prefixes`); FRR accepts them."""
    manifests = [
        metallb_cr(bgpBackend=backend),
        pool("p", "2001:db8:2::20/128"),
        peer("ibgp", "2001:db8:125::1", peer_asn=64513),
        advertisement("api", "p", communities=["64513:100", "large:64513:1:2"], localPref=200),
    ]
    service = apiserver_service("hosted-hosted", ip_families=["IPv6"])
    sim = simulate(manifests, [service], [node_object("master-0", "2001:db8:125::20", {})])
    text = sim.frr_configs["master-0"]
    for expected in (
        "ipv6 prefix-list 2001:db8:125::1-200-ipv6-localpref-prefixes seq 1 permit 2001:db8:2::20/128",
        "ipv6 prefix-list 2001:db8:125::1-64513:100-ipv6-community-prefixes seq 1 permit "
        "2001:db8:2::20/128",
        "  set local-preference 200",
        "  set large-community 64513:1:2 additive",
        "    neighbor 2001:db8:125::1 activate",
    ):
        assert expected in text, expected
    vtysh_accepts(text, tmp_path)


def test_expected_next_hops_are_the_nodes_addresses_of_the_vips_family() -> None:
    converged = converged_site(plan_of("dualstack", "frr-k8s"), Secrets())
    router = converged.routers[0]
    hops = {a.vip: sorted(n.address for n in a.announcers) for a in router.vips}
    assert hops == {
        "10.0.2.20": ["192.168.125.20", "192.168.125.21", "192.168.125.22"],
        "2001:db8:2::10": ["2001:db8:125::20", "2001:db8:125::21", "2001:db8:125::22"],
    }
    assert len(router.sessions) == 6  # an IPv4 and an IPv6 session per node

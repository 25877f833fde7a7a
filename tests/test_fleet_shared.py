"""Shared pool mode (`pools[].assignment: shared`): one IPAddressPool for every hosted control
plane, MetalLB picks the VIP, adding a cluster changes neither the router nor the pool."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from hcplb.errors import SpecError
from hcplb.metallb import apiserver_service, control_plane_namespace, node_object, simulate
from hcplb.plan import plan_site
from hcplb.render import render_site
from hcplb.render.cluster import cluster_manifests
from hcplb.render.secrets import Secrets
from hcplb.spec import load_site
from hcplb.spec.loader import load_site_text
from tests.conftest import EXAMPLES

SHARED = EXAMPLES / "fleet-shared.yaml"


def _site_text(clusters: int, *, extra_pool: str = "", extra_cluster: str = "") -> str:
    """The example's site with `clusters` hosted clusters in the shared pool, static DNS."""
    data: dict[str, Any] = yaml.safe_load(SHARED.read_text())
    data["spec"]["dns"] = {"zone": "fleet.lab"}
    data["spec"]["hostedClusters"] = [
        {"name": f"hc{i}", "namespace": "clusters", "baseDomain": "fleet.lab", "pool": "hcp-fleet"}
        for i in range(clusters)
    ]
    if extra_pool:
        data["spec"]["pools"].append(yaml.safe_load(extra_pool))
    if extra_cluster:
        data["spec"]["hostedClusters"].append(yaml.safe_load(extra_cluster))
    return yaml.safe_dump(data)


def _rendered(text: str) -> dict[str, str]:
    site = load_site_text(text).site
    return {f.path: f.content for f in render_site(site, Secrets()).files}


def test_router_and_pools_identical_with_1_and_50_clusters() -> None:
    one, fifty = _rendered(_site_text(1)), _rendered(_site_text(50))
    router = sorted(p for p in one if p.startswith("router/"))
    assert router and router == sorted(p for p in fifty if p.startswith("router/"))
    for path in router:
        assert one[path] == fifty[path], path
    for path in ("cluster/ipaddresspools.yaml", "cluster/bgpadvertisement.yaml"):
        assert one[path] == fifty[path], path
    pools = list(yaml.safe_load_all(one["cluster/ipaddresspools.yaml"]))
    assert [p["metadata"]["name"] for p in pools] == ["hcp-fleet"]
    allocation = pools[0]["spec"]["serviceAllocation"]
    assert allocation["namespaceSelectors"] == [
        {
            "matchExpressions": [
                {"key": "hypershift.openshift.io/hosted-control-plane", "operator": "Exists"}
            ]
        }
    ]
    assert allocation["serviceSelectors"] == [{"matchLabels": {"app": "kube-apiserver"}}]


def _nodes(site_plan: Any) -> list[dict[str, Any]]:
    return [node_object(n.name, n.address, dict(n.labels)) for n in site_plan.nodes]


def test_metallb_picks_the_plans_vips_in_creation_order() -> None:
    site_plan = plan_site(load_site_text(_site_text(5)).site)
    namespaces = [control_plane_namespace(c.control_plane_namespace) for c in site_plan.clusters]
    services = [apiserver_service(c.control_plane_namespace) for c in site_plan.clusters]
    manifests = cluster_manifests(site_plan, Secrets()) + namespaces
    sim = simulate(manifests, services, _nodes(site_plan))
    got = {k.split("/")[0]: v for k, v in sim.allocations.items()}
    assert got == {c.control_plane_namespace: (c.vip,) for c in site_plan.clusters}
    assert set(sim.pools.values()) == {"hcp-fleet"}
    assert [c.vip for c in site_plan.clusters][:2] == ["10.0.4.1", "10.0.4.2"]  # .0 skipped


def test_shared_pool_serves_only_control_plane_kube_apiservers() -> None:
    site_plan = plan_site(load_site_text(_site_text(1)).site)
    old_release = control_plane_namespace("clusters-old", value="")  # label value "" is selected
    plain = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}
    manifests = [
        *cluster_manifests(site_plan, Secrets()),
        control_plane_namespace("clusters-hc0"),
        old_release,
        plain,
    ]
    other = apiserver_service("clusters-hc0", name="other")
    other["metadata"]["labels"] = {"app": "web"}
    services = [
        apiserver_service("clusters-hc0"),
        apiserver_service("clusters-old"),
        apiserver_service("apps"),  # labelled app=kube-apiserver, not a control plane
        other,
    ]
    sim = simulate(manifests, services, _nodes(site_plan))
    assert sim.allocations == {
        "clusters-hc0/kube-apiserver": ("10.0.4.1",),
        "clusters-old/kube-apiserver": ("10.0.4.2",),
    }
    assert set(sim.unallocated) == {"apps/kube-apiserver", "clusters-hc0/other"}


def test_a_pinned_pool_wins_over_the_shared_pool_by_priority() -> None:
    text = _site_text(
        2,
        extra_pool="{name: fixed, addresses: [10.0.5.0/28]}",
        extra_cluster="{name: pinned, namespace: clusters, baseDomain: fleet.lab, vip: 10.0.5.5,"
        " pool: fixed}",
    )
    site_plan = plan_site(load_site_text(text).site)
    namespaces = [control_plane_namespace(c.control_plane_namespace) for c in site_plan.clusters]
    # the pinned cluster's Service comes first: it gets its own VIP, not the shared pool's
    ordered = sorted(site_plan.clusters, key=lambda c: c.shared)
    services = [apiserver_service(c.control_plane_namespace) for c in ordered]
    sim = simulate(
        cluster_manifests(site_plan, Secrets()) + namespaces, services, _nodes(site_plan)
    )
    assert sim.allocations["clusters-pinned/kube-apiserver"] == ("10.0.5.5",)
    assert sim.pools["clusters-pinned/kube-apiserver"] == "clusters-pinned-api"
    assert {sim.pools[f"clusters-hc{i}/kube-apiserver"] for i in range(2)} == {"hcp-fleet"}


@pytest.mark.parametrize(
    ("extra_cluster", "message"),
    [
        (
            "{name: x, namespace: clusters, baseDomain: fleet.lab, pool: hcp-fleet, vip: 10.0.4.9}",
            "pool hcp-fleet is shared: MetalLB picks the VIP",
        ),
        (
            "{name: x, namespace: clusters, baseDomain: fleet.lab, vip: 10.0.4.9}",
            "VIP 10.0.4.9 is inside shared pool hcp-fleet",
        ),
    ],
)
def test_fixed_vips_stay_out_of_shared_pools(extra_cluster: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_site_text(_site_text(1, extra_cluster=extra_cluster), "site.yaml")
    texts = [str(p) for p in caught.value.problems]
    assert any(message in t and "hostedClusters[1].vip" in t for t in texts), texts


def test_static_dns_with_a_shared_pool_is_a_warning() -> None:
    loaded = load_site_text(_site_text(2), "site.yaml")
    assert any("static DNS records assume" in str(w) for w in loaded.warnings)


def test_externaldns_needs_primary_tsig_and_zone() -> None:
    data = yaml.safe_load(SHARED.read_text())
    data["spec"]["dns"] = {"provider": "externaldns"}
    with pytest.raises(SpecError) as caught:
        load_site_text(yaml.safe_dump(data), "site.yaml")
    texts = " ".join(str(p) for p in caught.value.problems)
    for key in ("primary", "tsigKey", "zone"):
        assert f"needs dns.{key}" in texts


def test_the_example_loads_without_warnings(tmp_path: Path) -> None:
    assert load_site(SHARED).warnings == ()


def test_before_any_control_plane_namespace_exists_metallb_does_not_gate_by_namespace() -> None:
    """MetalLB's own rule (isPoolCompatibleWithService): namespaceSelectors that match no
    namespace leave the pool's namespace set empty, and an empty set gates nothing; only the
    service selector (app=kube-apiserver) still holds. docs/spec.md says so."""
    site_plan = plan_site(load_site_text(_site_text(1)).site)
    plain = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}
    web = apiserver_service("apps", name="web")
    web["metadata"]["labels"] = {"app": "web"}
    sim = simulate(
        [*cluster_manifests(site_plan, Secrets()), plain],
        [apiserver_service("apps"), web],
        _nodes(site_plan),
    )
    assert sim.allocations == {"apps/kube-apiserver": ("10.0.4.1",)}
    assert set(sim.unallocated) == {"apps/web"}

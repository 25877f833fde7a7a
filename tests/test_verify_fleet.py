"""`verify --hosted-clusters all`: the HostedClusters of the management cluster listed over the
fake Kubernetes API (exact requests), each one's VIP from its Service, probes grouped per
cluster. No packet leaves the process: no router target, no client vantage."""

from __future__ import annotations

from typing import Any

import pytest

from hcplb.errors import ProbeError
from hcplb.plan import plan_site
from hcplb.probes.expect import expect_site
from hcplb.probes.fleet import (
    SITE_GROUP,
    FleetCluster,
    cluster_summary,
    group_by_cluster,
    list_hosted_clusters,
    prepare_fleet,
    vip_probes,
)
from hcplb.probes.model import Report, Status, fail, passed
from hcplb.probes.sources import Prepared
from hcplb.probes.suite import VerifyTargets, verify
from hcplb.render.secrets import Secrets
from hcplb.spec import load_site
from tests.conftest import EXAMPLES
from tests.kubefake import KubeFake

LIST = "/apis/hypershift.openshift.io/v1beta1/hostedclusters"


def hostedcluster(namespace: str, name: str, domain: str = "fleet.lab") -> dict[str, Any]:
    return {
        "apiVersion": "hypershift.openshift.io/v1beta1",
        "kind": "HostedCluster",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "dns": {"baseDomain": domain},
            "services": [
                {
                    "service": "APIServer",
                    "servicePublishingStrategy": {
                        "type": "LoadBalancer",
                        "loadBalancer": {"hostname": f"api.{name}.{domain}"},
                    },
                }
            ],
        },
        "status": {"controlPlaneEndpoint": {"host": f"api.{name}.{domain}", "port": 6443}},
    }


def service(namespace: str, *ips: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kube-apiserver", "namespace": namespace},
        "spec": {"type": "LoadBalancer"},
        "status": {"loadBalancer": {"ingress": [{"ip": ip} for ip in ips]}},
    }


def fleet_fake() -> KubeFake:
    """Three HostedClusters: one of the spec (alpha), one created by GitOps (zeta), one pending."""
    items = [
        hostedcluster("tenants", "zeta"),
        hostedcluster("clusters", "alpha"),
        hostedcluster("clusters", "pending"),
    ]
    listing = {
        "apiVersion": "hypershift.openshift.io/v1beta1",
        "kind": "HostedClusterList",
        "metadata": {"resourceVersion": "7"},
        "items": items,
    }
    fake = KubeFake()
    fake.add("GET", LIST, json=listing)
    fake.add(
        "GET",
        "/api/v1/namespaces/clusters-alpha/services/kube-apiserver",
        json=service("clusters-alpha", "10.0.4.1"),
    )
    fake.add(
        "GET",
        "/api/v1/namespaces/tenants-zeta/services/kube-apiserver",
        json=service("tenants-zeta", "10.0.4.9"),
    )
    fake.add(
        "GET",
        "/api/v1/namespaces/clusters-pending/services/kube-apiserver",
        json=service("clusters-pending"),
    )
    return fake


def test_listing_reads_hostedclusters_then_each_service() -> None:
    fake = fleet_fake()
    clusters = list_hosted_clusters(fake.client())
    assert fake.calls()[0] == f"GET {LIST}"
    assert sorted(fake.calls()[1:]) == [
        "GET /api/v1/namespaces/clusters-alpha/services/kube-apiserver",
        "GET /api/v1/namespaces/clusters-pending/services/kube-apiserver",
        "GET /api/v1/namespaces/tenants-zeta/services/kube-apiserver",
    ]
    assert [(c.key, c.vips, c.api_name) for c in clusters] == [
        ("clusters/alpha", ("10.0.4.1",), "api.alpha.fleet.lab"),
        ("clusters/pending", (), "api.pending.fleet.lab"),
        ("tenants/zeta", ("10.0.4.9",), "api.zeta.fleet.lab"),
    ]


def test_a_cluster_without_the_hostedcluster_kind_is_a_clear_error() -> None:
    fake = KubeFake()  # every request is a 404 without details: the kind is missing
    with pytest.raises(ProbeError, match="no HostedCluster kind"):
        list_hosted_clusters(fake.client())


def test_vip_probes() -> None:
    clusters = [
        FleetCluster("a", "in", "d.lab", "api.in.d.lab", ("10.0.4.5",)),
        FleetCluster("a", "none", "d.lab", "api.none.d.lab"),
        FleetCluster("a", "out", "d.lab", "api.out.d.lab", ("10.9.9.9",)),
    ]
    probes = {p.id: p for p in vip_probes(clusters, ["10.0.4.0/24"])}
    assert probes["cluster/vip/a-in"].status is Status.pass_
    assert probes["cluster/vip/a-none"].status is Status.fail
    assert "no ingress IP" in probes["cluster/vip/a-none"].message
    assert "outside every pool" in probes["cluster/vip/a-out"].message


def test_grouping_per_cluster() -> None:
    alpha = FleetCluster("clusters", "alpha", "fleet.lab", "api.alpha.fleet.lab", ("10.0.4.1",))
    beta = FleetCluster("clusters", "alpha-b", "fleet.lab", "api.alpha-b.fleet.lab", ("10.0.4.2",))
    probes = [
        passed("router/frr-a/session/mgmt-0", "router", "", ""),
        passed("dns/10.0.0.53/api.alpha.fleet.lab", "dns", "", ""),
        passed("dns/10.0.0.53/api-int.alpha-b.fleet.lab", "dns", "", ""),
        fail("api/clusters-alpha/version", "api", "", "", "refused"),
        passed("api/clusters-alpha-b/version", "api", "", ""),
        passed("cluster/hostedcluster/clusters/alpha/apiserver", "cluster", "", ""),
        passed("cluster/service/clusters-alpha-b", "cluster", "", ""),
    ]
    groups = group_by_cluster([alpha, beta], probes)
    assert [p.id for p in groups["clusters/alpha"]] == [
        "dns/10.0.0.53/api.alpha.fleet.lab",
        "api/clusters-alpha/version",
        "cluster/hostedcluster/clusters/alpha/apiserver",
    ]
    assert [p.id for p in groups["clusters/alpha-b"]] == [
        "dns/10.0.0.53/api-int.alpha-b.fleet.lab",
        "api/clusters-alpha-b/version",
        "cluster/service/clusters-alpha-b",
    ]
    assert [p.id for p in groups[SITE_GROUP]] == ["router/frr-a/session/mgmt-0"]


def test_verify_all_hosted_clusters_grouped() -> None:
    plan = plan_site(load_site(EXAMPLES / "fleet-shared.yaml").site)
    expect = expect_site(plan, Secrets())
    fake = fleet_fake()
    prepared = Prepared(expect, VerifyTargets(kube=fake.client), plan=plan)
    fleet_prepared, clusters, extra = prepare_fleet(prepared)
    assert [c.key for c in fleet_prepared.expect.clusters] == ["clusters/alpha", "tenants/zeta"]
    report = verify(fleet_prepared.expect, fleet_prepared.targets, timeout=2)
    report = Report.of((*report.probes, *extra), report.duration_s)
    summary = {row["cluster"]: row for row in cluster_summary(clusters, report)}
    assert list(summary) == ["clusters/alpha", "clusters/pending", "tenants/zeta"]
    assert summary["clusters/alpha"]["vips"] == ["10.0.4.1"]
    assert summary["tenants/zeta"]["api"] == "api.zeta.fleet.lab"
    pending = summary["clusters/pending"]
    assert not pending["ok"] and pending["failed"] == ["cluster/vip/clusters-pending"]
    for key in ("clusters/alpha", "tenants/zeta"):
        ids = {p["id"] for p in summary[key]["probes"]}
        cp = key.replace("/", "-")
        assert {f"cluster/vip/{cp}", f"cluster/service/{cp}"} <= ids
        service_probe = next(
            p for p in summary[key]["probes"] if p["id"] == f"cluster/service/{cp}"
        )
        assert service_probe["status"] == "pass"


def test_cli_needs_a_kubeconfig_and_a_known_value() -> None:
    from typer.testing import CliRunner

    from hcplb.cli import app

    site = str(EXAMPLES / "fleet-shared.yaml")
    result = CliRunner().invoke(app, ["verify", site, "--hosted-clusters", "all"])
    assert result.exit_code != 0
    assert "--hosted-clusters all lists the HostedClusters" in result.stderr
    result = CliRunner().invoke(app, ["verify", site, "--hosted-clusters", "some"])
    assert "give spec or all" in result.stderr

"""hostedcluster/: golden files, valid against the HostedCluster CRD alone and merged into `hcp` output."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from ruamel.yaml import YAML

from hcplb.plan import plan_site
from hcplb.render.hostedcluster import (
    hostedcluster_manifest,
    hostedcluster_paths,
    hostedcluster_services,
    render_hostedcluster_files,
)
from hcplb.schemas import validate_manifest
from hcplb.spec import load_site
from tests.conftest import EXAMPLES, GOLDEN, UPSTREAM
from tests.render_cases import CASES, check_golden, load_case, render_case, set_secret_env, under


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    set_secret_env(monkeypatch)


@pytest.mark.parametrize("case", ["seed", "fleet", "secrets-dns", "ipv6", "dualstack"])
def test_golden(update_golden: bool, case: str) -> None:
    files = under(render_case(case), "hostedcluster/")
    check_golden(files, GOLDEN / "hostedcluster" / case, update_golden)


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_file_is_a_valid_partial_hostedcluster(case: str) -> None:
    plan, _ = load_case(case)
    files = render_hostedcluster_files(plan)
    assert [f.path for f in files] == hostedcluster_paths(plan)
    for f, cp in zip(files, plan.clusters, strict=True):
        doc = YAML(typ="safe").load(f.content)
        assert doc == hostedcluster_manifest(plan, cp)
        assert validate_manifest(doc, partial=True) == [], f.path
        assert "BEFORE creating it: spec.services is immutable" in f.content


def test_seed_services() -> None:
    plan, _ = load_case("seed")
    assert hostedcluster_services(plan, plan.clusters[0]) == {
        "services": [
            {
                "service": "APIServer",
                "servicePublishingStrategy": {
                    "type": "LoadBalancer",
                    "loadBalancer": {"hostname": "api.hosted.hypershift.lab"},
                },
            },
            {"service": "OAuthServer", "servicePublishingStrategy": {"type": "Route"}},
            {"service": "Konnectivity", "servicePublishingStrategy": {"type": "Route"}},
            {"service": "Ignition", "servicePublishingStrategy": {"type": "Route"}},
        ]
    }


def test_allowed_cidr_blocks_only_when_set_and_without_duplicates() -> None:
    plan, _ = load_case("secrets-dns")
    hosted, other = (hostedcluster_services(plan, cp) for cp in plan.clusters)
    assert hosted["networking"] == {
        "apiServer": {"allowedCIDRBlocks": ["192.168.130.0/24", "192.168.125.0/24"]}
    }
    assert "networking" not in other


def test_hostname_left_out_when_the_crd_would_refuse_it() -> None:
    site = load_site(EXAMPLES / "seed.yaml").site
    cluster = site.spec.hosted_clusters[0].model_copy(update={"base_domain": "lab.internal1"})
    spec = site.spec.model_copy(update={"hosted_clusters": [cluster]})
    plan = plan_site(site.model_copy(update={"spec": spec}))
    (f,) = render_hostedcluster_files(plan)
    doc = YAML(typ="safe").load(f.content)
    assert doc["spec"]["services"][0]["servicePublishingStrategy"] == {"type": "LoadBalancer"}
    assert validate_manifest(doc, partial=True) == []
    assert "kubeconfigs will use the VIP 10.0.2.20" in f.content


def test_same_name_in_two_namespaces_gets_two_files() -> None:
    site = load_site(EXAMPLES / "fleet.yaml").site
    clusters = [
        c.model_copy(update={"name": "alpha"}) if c.name == "gamma" else c
        for c in site.spec.hosted_clusters
    ]
    plan = plan_site(
        site.model_copy(update={"spec": site.spec.model_copy(update={"hosted_clusters": clusters})})
    )
    assert hostedcluster_paths(plan) == [
        "hostedcluster/clusters-alpha.yaml",
        "hostedcluster/beta.yaml",
        "hostedcluster/tenants-alpha.yaml",
    ]


RELEASE = "quay.io/openshift-release-dev/ocp-release:4.17.0-x86_64"


def _hcp_render(name: str) -> dict[str, Any]:
    path = UPSTREAM / "hypershift" / "cli-render-fixtures" / name
    docs = YAML(typ="safe").load_all(path.read_text())
    return next(d for d in docs if d and d.get("kind") == "HostedCluster")


@pytest.mark.parametrize(
    "fixture", ["agent-minimal.yaml", "kubevirt-minimal.yaml", "none-minimal.yaml"]
)
def test_merged_into_hcp_output_the_whole_hostedcluster_is_valid(fixture: str) -> None:
    """What `hcp create cluster --render` gives, with our fields merged in, passes the full CRD."""
    plan, _ = load_case("secrets-dns")
    original = _hcp_render(fixture)
    original.pop("status", None)
    original["spec"]["release"]["image"] = RELEASE  # the fixtures leave it empty
    # the fixtures' NodePort services carry a placeholder address the CRD refuses
    assert all(".nodePort.address:" in e for e in validate_manifest(original))
    merged = copy.deepcopy(original)
    fields = hostedcluster_services(plan, plan.clusters[0])
    merged["spec"]["services"] = fields["services"]
    merged["spec"]["networking"].update(fields["networking"])
    assert validate_manifest(merged) == []

"""README.md: golden runbooks; the guide's steps in order; every file it names exists; no secrets."""

from __future__ import annotations

import re

import pytest

from hcplb.render import Secrets, render_site
from hcplb.spec import LoadedSite
from tests.conftest import GOLDEN
from tests.render_cases import (
    CASES,
    TEST_PASSWORD,
    TEST_TSIG,
    check_golden,
    render_case,
    set_secret_env,
)

STEPS = [
    "## 0. Prerequisites",
    "## 1. Router (guide: FRR Router Installation and Configuration)",
    "## 2. MetalLB (guide: MetalLB BGP Setup)",
    "## 3. DNS (guide: DNS records and IPs)",
    "## 4. Hosted cluster (guide: Install the Hosted Cluster)",
    "## 5. Verify (guide: Verify the connection)",
]


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    set_secret_env(monkeypatch)


@pytest.mark.parametrize("case", ["seed", "fleet", "secrets-dns"])
def test_golden(update_golden: bool, case: str) -> None:
    readme = render_case(case).get("README.md").content
    check_golden({"README.md": readme}, GOLDEN / "runbook" / case, update_golden)


@pytest.mark.parametrize("case", sorted(CASES))
def test_steps_in_the_guides_order_and_every_named_file_exists(case: str) -> None:
    rendered = render_case(case)
    readme = rendered.get("README.md").content
    positions = [readme.index(step) for step in STEPS]
    assert positions == sorted(positions)
    named = set(re.findall(r"`((?:router|cluster|hostedcluster|dns)/[^`/ ]+(?:/[^` ]+)?)`", readme))
    paths = set(rendered.paths())
    dirs = {p.rsplit("/", 1)[0] + "/" for p in paths}
    assert named, "the runbook names no file"
    assert {n for n in named if n not in paths and n not in dirs} == set()
    for setup in (p for p in paths if p.endswith("/setup.sh")):
        assert f"`{setup}`" in readme
    for path in (p for p in paths if p.startswith(("cluster/", "hostedcluster/"))):
        assert f"`{path}`" in readme


def test_seed_runbook_has_this_sites_values() -> None:
    readme = render_case("seed").get("README.md").content
    for value in (
        "AS 64512",
        "router-id 192.168.125.1",
        "`openshift-operators`",
        "10.0.2.20",
        "`hosted-hosted-api`",
        "api-int.hosted.hypershift.lab",
        "oc -n openshift-operators wait metallb/metallb --for=condition=Available",
        "oc apply -k cluster/",
        "oc -n hosted-hosted get svc kube-apiserver",
        "ip route show 10.0.2.20   # 3 nexthop(s), one per node",
        "hcplb verify",
    ):
        assert value in readme, value


def test_runbook_names_where_secrets_come_from_but_not_their_values() -> None:
    rendered = render_case("secrets-dns")
    readme = rendered.get("README.md").content
    assert TEST_PASSWORD not in readme and TEST_TSIG not in readme
    assert "password from env:HCPLB_TEST_BGP_PASSWORD" in readme
    assert "nsupdate -k dns/tsig.key dns/nsupdate.txt" in readme
    assert "`cluster/bgp-password-secret.yaml`" in readme.split("## Secret files")[1]


def test_runbook_says_where_the_nodes_frr_lives_for_each_backend(seed: LoadedSite) -> None:
    mc = seed.site.spec.management_cluster.model_copy(update={"bgp_backend": "frr"})
    spec = seed.site.spec.model_copy(update={"management_cluster": mc})
    frr = {
        f.path: f.content
        for f in render_site(seed.site.model_copy(update={"spec": spec}), Secrets()).files
    }
    assert "bgpBackend: frr  #" in frr["cluster/metallb.yaml"]
    assert "MetalLB's speaker pods run FRR themselves" in frr["README.md"]
    assert "-l component=speaker --field-selector spec.nodeName=master-0" in frr["README.md"]
    default = {f.path: f.content for f in render_site(seed.site, Secrets()).files}
    assert "oc -n openshift-frr-k8s get frrconfigurations" in default["README.md"]

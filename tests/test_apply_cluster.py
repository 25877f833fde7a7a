"""`apply --cluster` over the fake Kubernetes API: the exact requests, dry run, conflicts, 404."""

from __future__ import annotations

from typing import Any

import pytest

from hcplb.apply.cluster import apply_cluster
from hcplb.errors import TargetError
from hcplb.plan import plan_site
from hcplb.render.cluster import cluster_manifests
from hcplb.render.secrets import Secrets
from hcplb.spec import load_site_text
from tests.conftest import EXAMPLES
from tests.kubefake import Answer, KubeFake, Recorded, conflict, not_found

NS = "openshift-operators"
CRD = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/metallbs.metallb.io"
METALLB = f"/apis/metallb.io/v1beta1/namespaces/{NS}/metallbs/metallb"
BFD = f"/apis/metallb.io/v1beta1/namespaces/{NS}/bfdprofiles/hcplb-bfd"
SECRET = f"/api/v1/namespaces/{NS}/secrets/hcplb-bgp-password"
POOL = f"/apis/metallb.io/v1beta1/namespaces/{NS}/ipaddresspools/hosted-hosted-api"
PEER = f"/apis/metallb.io/v1beta2/namespaces/{NS}/bgppeers/frr"
ADV = f"/apis/metallb.io/v1beta1/namespaces/{NS}/bgpadvertisements/hcplb-api"
REST = [BFD, SECRET, POOL, PEER, ADV]
APPLY = "fieldManager=hcplb"
DRY = "dryRun=All&fieldManager=hcplb"
AVAILABLE = {"conditions": [{"type": "Available", "status": "True"}]}
PROGRESSING = {"conditions": [{"type": "Available", "status": "False"}]}


@pytest.fixture
def manifests() -> list[dict[str, Any]]:
    """The seed's manifests with a BGP password (so the Secret is among them)."""
    text = (EXAMPLES / "seed.yaml").read_text()
    text = text.replace("# password: {env:", "password: {env:")
    site = load_site_text(text, "seed.yaml").site
    return cluster_manifests(plan_site(site), Secrets(bgp_password="s3cret-bgp"))


def echo(rv: str, status: dict[str, Any] | None = None) -> Any:
    """A PATCH answer: the applied object as stored, with a resourceVersion."""

    def answer(request: Recorded) -> Answer:
        body = dict(request.body)
        body["metadata"] = {**body["metadata"], "resourceVersion": rv}
        if status is not None:
            body["status"] = status
        return Answer(200, body)

    return answer


def stored(manifest: dict[str, Any], rv: str = "7", status: Any = None) -> dict[str, Any]:
    obj = {**manifest, "metadata": {**manifest["metadata"], "resourceVersion": rv}}
    if status is not None:
        obj["status"] = status
    return obj


CRD_BODY = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "metallbs.metallb.io"},
    "spec": {
        "group": "metallb.io",
        "names": {"kind": "MetalLB", "plural": "metallbs"},
        "scope": "Namespaced",
        "versions": [{"name": "v1beta1", "served": True, "storage": True}],
    },
}


def installed() -> KubeFake:
    return KubeFake(strict=True).add("GET", CRD, json=CRD_BODY)


def test_fresh_apply_request_sequence(manifests: list[dict[str, Any]]) -> None:
    fake = installed()
    metallb = manifests[0]
    fake.add(
        "GET",
        METALLB,
        answer=[
            not_found(METALLB),
            Answer(200, stored(metallb, "1", PROGRESSING)),
            Answer(200, stored(metallb, "2", AVAILABLE)),
        ],
    )
    fake.add("PATCH", METALLB, answer=echo("1"))
    for path in REST:
        fake.add("GET", path, answer=not_found(path))
        fake.add("PATCH", path, answer=echo("1"))
    report = apply_cluster(fake.client(field_manager="hcplb"), manifests, poll_interval=0)
    assert fake.calls() == [
        f"GET {CRD}",
        f"GET {METALLB}",
        f"PATCH {METALLB}?{APPLY}",
        f"GET {METALLB}",
        f"GET {METALLB}",
        *(f"GET {p}" for p in REST),
        *(f"PATCH {p}?{DRY}" for p in REST),
        *(f"PATCH {p}?{APPLY}" for p in REST),
    ]
    patches = [r for r in fake.requests if r.method == "PATCH"]
    assert all(r.content_type == "application/apply-patch+yaml" for r in patches)
    assert [r.body for r in patches if "dryRun" not in r.params] == manifests
    assert [o.describe() for o in report.objects] == [
        f"MetalLB {NS}/metallb created",
        f"BFDProfile {NS}/hcplb-bfd created",
        f"Secret {NS}/hcplb-bgp-password created",
        f"IPAddressPool {NS}/hosted-hosted-api created",
        f"BGPPeer {NS}/frr created",
        f"BGPAdvertisement {NS}/hcplb-api created",
    ]
    assert report.metallb_available and report.changed


def _everything_stored(fake: KubeFake, manifests: list[dict[str, Any]]) -> None:
    paths = [METALLB, *REST]
    for path, manifest in zip(paths, manifests, strict=True):
        status = AVAILABLE if manifest["kind"] == "MetalLB" else None
        fake.add("GET", path, json=stored(manifest, "7", status))
        fake.add("PATCH", path, answer=echo("7", status))


def test_second_apply_reports_unchanged(manifests: list[dict[str, Any]]) -> None:
    fake = installed()
    _everything_stored(fake, manifests)
    report = apply_cluster(fake.client(field_manager="hcplb"), manifests, poll_interval=0)
    assert not report.changed
    assert {o.action for o in report.objects} == {"unchanged"}
    assert fake.calls()[:3] == [f"GET {CRD}", f"GET {METALLB}", f"PATCH {METALLB}?{APPLY}"]


def test_dry_run_uses_the_servers_dry_run_only(manifests: list[dict[str, Any]]) -> None:
    fake = installed()
    _everything_stored(fake, manifests)
    changed = dict(manifests[3], spec={**manifests[3]["spec"], "addresses": ["10.0.2.21/32"]})
    fake.add("PATCH", POOL, json=stored(changed))
    report = apply_cluster(fake.client(field_manager="hcplb"), manifests, dry_run=True)
    assert all(r.params.get("dryRun") == "All" for r in fake.requests if r.method == "PATCH")
    assert fake.calls() == [
        f"GET {CRD}",
        f"GET {METALLB}",
        f"PATCH {METALLB}?{DRY}",
        *(f"GET {p}" for p in REST),
        *(f"PATCH {p}?{DRY}" for p in REST),
    ]
    assert [o.action for o in report.objects] == [
        "unchanged",
        "unchanged",
        "unchanged",
        "configured",
        "unchanged",
        "unchanged",
    ]


def test_conflict_is_reported_and_nothing_after_metallb_changes(
    manifests: list[dict[str, Any]],
) -> None:
    fake = installed()
    _everything_stored(fake, manifests)
    message = (
        'Apply failed with 1 conflict: conflict with "kubectl-edit" using '
        "metallb.io/v1beta1: .spec.addresses"
    )
    fake.add("PATCH", f"{POOL}?{DRY}", answer=conflict(message))
    with pytest.raises(TargetError) as info:
        apply_cluster(fake.client(field_manager="hcplb"), manifests, poll_interval=0)
    text = str(info.value)
    assert f"IPAddressPool {NS}/hosted-hosted-api: {message}" in text
    assert "--force-conflicts" in text
    assert not [c for c in fake.calls() if c.startswith("PATCH") and "dryRun" not in c][1:]


def test_force_conflicts_takes_the_fields_over(manifests: list[dict[str, Any]]) -> None:
    fake = installed()
    _everything_stored(fake, manifests)
    apply_cluster(
        fake.client(field_manager="hcplb"), manifests, force_conflicts=True, poll_interval=0
    )
    patches = [r for r in fake.requests if r.method == "PATCH"]
    assert patches and all(r.params.get("force") == "true" for r in patches)


def test_metallb_not_installed_is_a_clear_error(manifests: list[dict[str, Any]]) -> None:
    fake = KubeFake()  # every path 404: no CRD
    with pytest.raises(TargetError) as info:
        apply_cluster(fake.client(field_manager="hcplb"), manifests)
    assert str(info.value) == (
        "MetalLB is not installed on this cluster (the API has no MetalLB kind, CRD "
        "metallbs.metallb.io not found) (hint: install the MetalLB Operator first (OpenShift: "
        "OperatorHub > MetalLB Operator; elsewhere: "
        "https://metallb.io/installation/#using-the-metallb-operator))"
    )
    assert fake.calls() == [f"GET {CRD}"]


def test_metallb_never_available_times_out(manifests: list[dict[str, Any]]) -> None:
    fake = installed()
    fake.add("GET", METALLB, json=stored(manifests[0], "1", PROGRESSING))
    fake.add("PATCH", METALLB, answer=echo("1", PROGRESSING))
    with pytest.raises(
        TargetError, match=r"did not become Available within 0.05 s .*Available=False"
    ):
        apply_cluster(
            fake.client(field_manager="hcplb"),
            manifests,
            available_timeout=0.05,
            poll_interval=0.01,
        )
    assert not any(c.startswith("PATCH") and "bfd" in c for c in fake.calls())


def test_api_timeout_is_a_clear_error(manifests: list[dict[str, Any]]) -> None:
    fake = KubeFake().add("GET", CRD, timeout=True)
    with pytest.raises(
        TargetError,
        match=r"reading CRD metallbs.metallb.io: the Kubernetes API did not answer in time",
    ):
        apply_cluster(fake.client(field_manager="hcplb"), manifests)


def test_secret_value_never_in_errors(manifests: list[dict[str, Any]]) -> None:
    fake = installed()
    _everything_stored(fake, manifests)
    fake.add(
        "PATCH",
        f"{SECRET}?{DRY}",
        status=422,
        json={"kind": "Status", "code": 422, "reason": "Invalid", "message": "Secret is invalid"},
    )
    with pytest.raises(TargetError) as info:
        apply_cluster(fake.client(field_manager="hcplb"), manifests, poll_interval=0)
    assert "s3cret" not in str(info.value) and "czNjcmV0" not in str(info.value)
    assert "Secret openshift-operators/hcplb-bgp-password: 422 Invalid: Secret is invalid" in str(
        info.value
    )

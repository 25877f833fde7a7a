"""`hostedcluster check` over the fake Kubernetes API."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hcplb.errors import TargetError
from hcplb.hypershift.check import IMMUTABLE_HINT, check_hostedcluster
from hcplb.hypershift.patch import DesiredHostedCluster, desired_hostedclusters
from hcplb.plan import plan_site
from hcplb.spec import LoadedSite
from tests.kubefake import KubeFake

PATH = "/apis/hypershift.openshift.io/v1beta1/namespaces/hosted/hostedclusters/hosted"


@pytest.fixture
def desired(seed: LoadedSite) -> DesiredHostedCluster:
    return desired_hostedclusters(plan_site(seed.site))[0]


def live(desired: DesiredHostedCluster) -> dict[str, Any]:
    """The HostedCluster as the API returns it after creation from a patched manifest."""
    services = copy.deepcopy([dict(s) for s in desired.services])
    services.append({"service": "OIDC", "servicePublishingStrategy": {"type": "Route"}})
    return {
        "apiVersion": "hypershift.openshift.io/v1beta1",
        "kind": "HostedCluster",
        "metadata": {"name": "hosted", "namespace": "hosted", "resourceVersion": "9"},
        "spec": {
            "dns": {"baseDomain": "hypershift.lab"},
            "networking": {"networkType": "OVNKubernetes"},
            "services": services,
        },
        "status": {"controlPlaneEndpoint": {"host": "api.hosted.hypershift.lab", "port": 6443}},
    }


def test_matching_cluster_passes(desired: DesiredHostedCluster) -> None:
    fake = KubeFake(strict=True).add("GET", PATH, json=live(desired))
    report = check_hostedcluster(fake.client(), desired)
    assert report.ok and not report.must_recreate
    assert fake.calls() == [f"GET {PATH}"]
    assert [f.field for f in report.findings] == [
        "spec.services[APIServer]",
        "spec.services[OAuthServer]",
        "spec.services[Konnectivity]",
        "spec.services[Ignition]",
        "spec.networking.apiServer.allowedCIDRBlocks",
        "spec.dns.baseDomain",
        "status.controlPlaneEndpoint.host",
    ]


def test_nodeport_apiserver_must_be_recreated(desired: DesiredHostedCluster) -> None:
    obj = live(desired)
    obj["spec"]["services"][0]["servicePublishingStrategy"] = {
        "type": "NodePort",
        "nodePort": {"address": "192.168.125.20"},
    }
    fake = KubeFake().add("GET", PATH, json=obj)
    report = check_hostedcluster(fake.client(), desired)
    assert not report.ok and report.must_recreate
    bad = [f for f in report.findings if not f.ok]
    assert [(f.field, f.expected, f.observed, f.hint) for f in bad] == [
        (
            "spec.services[APIServer]",
            "LoadBalancer (hostname api.hosted.hypershift.lab)",
            "NodePort",
            IMMUTABLE_HINT,
        )
    ]
    assert "recreate the hosted cluster" in IMMUTABLE_HINT and "immutable" in IMMUTABLE_HINT


def test_allowed_cidr_blocks_differ_but_are_mutable(desired: DesiredHostedCluster) -> None:
    obj = live(desired)
    obj["spec"]["networking"]["apiServer"] = {"allowedCIDRBlocks": ["10.0.0.0/8"]}
    report = check_hostedcluster(KubeFake().add("GET", PATH, json=obj).client(), desired)
    assert not report.ok and not report.must_recreate
    (bad,) = [f for f in report.findings if not f.ok]
    assert bad.observed == "10.0.0.0/8" and bad.expected == "unset (all sources)"
    assert "can change on a live cluster" in bad.hint


def test_missing_hostedcluster(desired: DesiredHostedCluster) -> None:
    with pytest.raises(TargetError, match=r"^HostedCluster hosted/hosted does not exist"):
        check_hostedcluster(
            KubeFake()
            .add(
                "GET",
                PATH,
                status=404,
                json={
                    "kind": "Status",
                    "code": 404,
                    "reason": "NotFound",
                    "message": 'hostedclusters.hypershift.openshift.io "hosted" not found',
                    "details": {"name": "hosted"},
                },
            )
            .client(),
            desired,
        )


def test_no_hypershift_on_that_cluster(desired: DesiredHostedCluster) -> None:
    fake = KubeFake().add(
        "GET",
        PATH,
        status=404,
        json={
            "kind": "Status",
            "code": 404,
            "reason": "NotFound",
            "message": "the server could not find the requested resource",
        },
    )
    with pytest.raises(TargetError, match=r"no HostedCluster kind .*management cluster"):
        check_hostedcluster(fake.client(), desired)


def test_api_timeout(desired: DesiredHostedCluster) -> None:
    fake = KubeFake().add("GET", PATH, timeout=True)
    with pytest.raises(TargetError, match=r"did not answer in time"):
        check_hostedcluster(fake.client(), desired)


def test_verdict_says_the_cluster_can_no_longer_be_changed(desired: DesiredHostedCluster) -> None:
    obj = live(desired)
    obj["spec"]["services"][0]["servicePublishingStrategy"] = {"type": "NodePort"}
    report = check_hostedcluster(KubeFake().add("GET", PATH, json=obj).client(), desired)
    assert report.verdict() == (
        "hosted/hosted: can no longer be changed to what the site wants: the API server refuses "
        "any change to spec.services ('Services is immutable. Changes might result in "
        "unpredictable and disruptive behavior.'); recreate it from a manifest fixed with "
        "`hcplb hostedcluster patch`"
    )


def test_a_loadbalancer_without_the_hostname_can_be_kept(desired: DesiredHostedCluster) -> None:
    obj = live(desired)
    obj["spec"]["services"][0]["servicePublishingStrategy"] = {"type": "LoadBalancer"}
    report = check_hostedcluster(KubeFake().add("GET", PATH, json=obj).client(), desired)
    (bad,) = [f for f in report.findings if not f.ok]
    assert bad.hint.startswith("its API server is already a LoadBalancer Service")
    assert report.must_recreate


def test_ibmcloud_services_may_change(desired: DesiredHostedCluster) -> None:
    obj = live(desired)
    obj["spec"]["platform"] = {"type": "IBMCloud"}
    obj["spec"]["services"][0]["servicePublishingStrategy"] = {"type": "NodePort"}
    report = check_hostedcluster(KubeFake().add("GET", PATH, json=obj).client(), desired)
    assert not report.ok and not report.must_recreate
    assert "IBMCloud HostedClusters may change spec.services" in report.verdict()

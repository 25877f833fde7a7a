"""Cluster probes over the fake Kubernetes API: exact requests, healthy site, MetalLB not
installed (404 on the CRD), an API server that does not answer, and each broken object."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hcplb.metallb.frrk8s import manifest
from hcplb.plan import plan_site
from hcplb.probes.cluster import probe_cluster
from hcplb.probes.expect import SiteExpect, expect_site
from hcplb.probes.model import Probe, Status
from hcplb.render.secrets import Secrets
from hcplb.spec import LoadedSite
from tests.kubefake import KubeFake

NS = "openshift-operators"
CRD = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/metallbs.metallb.io"
METALLB = f"/apis/metallb.io/v1beta1/namespaces/{NS}/metallbs/metallb"
SPEAKER = f"/apis/apps/v1/namespaces/{NS}/daemonsets/speaker"
SESSIONS = "/apis/frrk8s.metallb.io/v1beta1/bgpsessionstates"
NODESTATES = "/apis/frrk8s.metallb.io/v1beta1/frrnodestates"
FRRCONFIGS = "/apis/frrk8s.metallb.io/v1beta1/frrconfigurations"
BFD = f"/apis/metallb.io/v1beta1/namespaces/{NS}/bfdprofiles/hcplb-bfd"
POOL = f"/apis/metallb.io/v1beta1/namespaces/{NS}/ipaddresspools/hosted-hosted-api"
PEER = f"/apis/metallb.io/v1beta2/namespaces/{NS}/bgppeers/frr"
ADV = f"/apis/metallb.io/v1beta1/namespaces/{NS}/bgpadvertisements/hcplb-api"
SVC = "/api/v1/namespaces/hosted-hosted/services/kube-apiserver"
CRD_BODY = {
    "kind": "CustomResourceDefinition",
    "apiVersion": "apiextensions.k8s.io/v1",
    "metadata": {"name": "metallbs.metallb.io"},
    "spec": {
        "group": "metallb.io",
        "names": {"kind": "MetalLB", "plural": "metallbs"},
        "scope": "Namespaced",
        "versions": [{"name": "v1beta1", "served": True, "storage": True}],
    },
}
DS_SPEC = {"selector": {"matchLabels": {"component": "speaker"}}, "template": {"metadata": {}}}
HC = "/apis/hypershift.openshift.io/v1beta1/namespaces/hosted/hostedclusters/hosted"


@pytest.fixture
def expect(seed: LoadedSite) -> SiteExpect:
    return expect_site(plan_site(seed.site), Secrets())


def live(manifest: dict[str, Any], **status: Any) -> dict[str, Any]:
    """The object as the API returns it: server defaults added, durations normalised."""
    obj = copy.deepcopy(manifest)
    obj["metadata"].update(resourceVersion="7", uid="u-1")
    spec = obj.get("spec") or {}
    if obj["kind"] == "BGPPeer":
        spec.update(holdTime="1m30s", port=179, ebgpMultiHop=False)
    if status:
        obj["status"] = status
    return obj


def service(ips: list[str], kind: str = "LoadBalancer") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kube-apiserver", "namespace": "hosted-hosted"},
        "spec": {"type": kind, "ports": [{"port": 6443}]},
        "status": {"loadBalancer": {"ingress": [{"ip": ip} for ip in ips]}},
    }


def hostedcluster(strategy: str = "LoadBalancer", host: str = "10.0.2.20") -> dict[str, Any]:
    return {
        "apiVersion": "hypershift.openshift.io/v1beta1",
        "kind": "HostedCluster",
        "metadata": {"name": "hosted", "namespace": "hosted"},
        "spec": {
            "services": [
                {"service": "APIServer", "servicePublishingStrategy": {"type": strategy}},
                {"service": "OAuthServer", "servicePublishingStrategy": {"type": "Route"}},
            ]
        },
        "status": {"controlPlaneEndpoint": {"host": host, "port": 6443}},
    }


NODES = ("master-0", "master-1", "master-2")


def listing(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "items": items}


def node_state(node: str, conversion: str = "success", reload: str = "success") -> dict[str, Any]:
    """An FRRNodeState as frr-k8s writes it (cluster scoped, named after the node)."""
    return {
        "apiVersion": "frrk8s.metallb.io/v1beta1",
        "kind": "FRRNodeState",
        "metadata": {"name": node, "resourceVersion": "3", "uid": f"n-{node}"},
        "spec": {},
        "status": {
            "lastConversionResult": conversion,
            "lastReloadResult": reload,
            "runningConfig": f"frr version 9.1\nhostname {node}\n",
        },
    }


def frr_configurations(expect: SiteExpect) -> list[dict[str, Any]]:
    """The FRRConfigurations MetalLB would have written, as the API returns them."""
    result = []
    for node in sorted(expect.frr_configurations):
        obj = manifest(copy.deepcopy(expect.frr_configurations[node]))
        obj["metadata"].update(resourceVersion="9", uid=f"c-{node}", generation=1)
        result.append(obj)
    return result


def healthy(expect: SiteExpect) -> KubeFake:
    fake = KubeFake(strict=True)
    fake.add("GET", CRD, json=CRD_BODY)
    manifests = {m["kind"]: m for m in expect.manifests}
    available = {"conditions": [{"type": "Available", "status": "True"}]}
    fake.add("GET", METALLB, json=live(manifests["MetalLB"], **available))
    fake.add(
        "GET",
        SPEAKER,
        json={
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "speaker", "namespace": NS},
            "spec": DS_SPEC,
            "status": {
                "numberReady": 3,
                "desiredNumberScheduled": 3,
                "currentNumberScheduled": 3,
                "numberMisscheduled": 0,
            },
        },
    )
    fake.add(
        "GET",
        SESSIONS,
        json={
            "apiVersion": "v1",
            "kind": "List",
            "items": [
                {
                    "apiVersion": "frrk8s.metallb.io/v1beta1",
                    "kind": "BGPSessionState",
                    "metadata": {"name": f"s-{n}", "namespace": "openshift-frr-k8s"},
                    "status": {
                        "node": n,
                        "peer": "192.168.125.1",
                        "bgpStatus": "Established",
                        "bfdStatus": "Up",
                    },
                }
                for n in ("master-0", "master-1", "master-2")
            ],
        },
    )
    fake.add("GET", NODESTATES, json=listing([node_state(n) for n in sorted(NODES)]))
    fake.add("GET", FRRCONFIGS, json=listing(frr_configurations(expect)))
    for path, kind in (
        (BFD, "BFDProfile"),
        (POOL, "IPAddressPool"),
        (PEER, "BGPPeer"),
        (ADV, "BGPAdvertisement"),
    ):
        fake.add("GET", path, json=live(manifests[kind]))
    fake.add("GET", SVC, json=service(["10.0.2.20"]))
    fake.add("GET", HC, json=hostedcluster())
    return fake


# What probe_cluster reports for the seed site, in order (without the frr-k8s sessions).
SEED_IDS = [
    "cluster/metallb/installed",
    "cluster/metallb/cr",
    "cluster/metallb/speakers",
    "cluster/bfdprofile/hcplb-bfd",
    "cluster/ipaddresspool/hosted-hosted-api",
    "cluster/bgppeer/frr",
    "cluster/bgpadvertisement/hcplb-api",
    "cluster/service/hosted-hosted",
    "cluster/hostedcluster/hosted/hosted/apiserver",
    "cluster/hostedcluster/hosted/hosted/endpoint",
]


def statuses(probes: list[Probe]) -> dict[str, str]:
    return {p.id: p.status.value for p in probes}


def test_healthy_cluster_passes_with_exact_requests(expect: SiteExpect) -> None:
    fake = healthy(expect)
    with fake.client() as client:
        probes = probe_cluster(client, expect)
    assert {p.id: p.status for p in probes if p.status is not Status.pass_} == {}
    assert [p.id for p in probes] == [
        *SEED_IDS,
        *(f"cluster/frrk8s/{n}/configuration" for n in NODES),
        *(f"cluster/frrk8s/{n}/state" for n in NODES),
        "cluster/bgpsession/master-0/frr",
        "cluster/bgpsession/master-1/frr",
        "cluster/bgpsession/master-2/frr",
    ]
    assert fake.calls()[0] == f"GET {CRD}"
    paths = (CRD, METALLB, SPEAKER, SESSIONS, NODESTATES, FRRCONFIGS, BFD, POOL, PEER, ADV)
    assert sorted(fake.calls()) == sorted(f"GET {p}" for p in (*paths, SVC, HC))
    assert all(r.method == "GET" for r in fake.requests)  # read only


def test_metallb_not_installed(expect: SiteExpect) -> None:
    fake = healthy(expect)
    fake.add(
        "GET",
        CRD,
        status=404,
        json={
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "message": 'customresourcedefinitions.apiextensions.k8s.io "metallbs.metallb.io" not found',
            "reason": "NotFound",
            "code": 404,
            "details": {
                "name": "metallbs.metallb.io",
                "group": "apiextensions.k8s.io",
                "kind": "customresourcedefinitions",
            },
        },
    )
    for path in (METALLB, BFD, POOL, PEER, ADV, SPEAKER):
        fake.add(
            "GET",
            path,
            status=404,
            json={
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "message": "the server could not find the requested resource",
                "reason": "NotFound",
                "code": 404,
                "details": {},
            },
        )
    with fake.client() as client:
        probes = probe_cluster(client, expect)
    got = statuses(probes)
    assert got["cluster/metallb/installed"] == "fail"
    installed = next(p for p in probes if p.id == "cluster/metallb/installed")
    assert installed.hint.startswith("MetalLB is not installed (no metallbs.metallb.io CRD)")
    for id in (
        "cluster/metallb/cr",
        "cluster/metallb/speakers",
        "cluster/ipaddresspool/hosted-hosted-api",
    ):
        assert got[id] == "skip"
    assert got["cluster/service/hosted-hosted"] == "pass"


def test_api_server_does_not_answer(expect: SiteExpect) -> None:
    fake = KubeFake(strict=True).add("GET", CRD, timeout=True)
    with fake.client() as client:
        probes = probe_cluster(client, expect)
    assert fake.calls() == [f"GET {CRD}"]  # one timeout, not one per object
    assert [p.id for p in probes] == SEED_IDS
    assert {p.status for p in probes} == {Status.fail}
    assert probes[0].message == "the API server did not answer in time"
    assert probes[0].hint.startswith("the Kubernetes API did not answer")


def test_api_server_refuses_connections(expect: SiteExpect) -> None:
    fake = KubeFake(strict=True).add("GET", CRD, connect_error=True)
    with fake.client() as client:
        probes = probe_cluster(client, expect)
    assert {p.status for p in probes} == {Status.fail}
    assert "ConnectError" in probes[0].message


def test_metallb_cr_missing_and_speakers_not_ready(expect: SiteExpect) -> None:
    fake = healthy(expect)
    fake.add(
        "GET",
        METALLB,
        status=404,
        json={
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "message": 'metallbs.metallb.io "metallb" not found',
            "reason": "NotFound",
            "code": 404,
            "details": {"name": "metallb", "kind": "metallbs"},
        },
    )
    fake.add(
        "GET",
        SPEAKER,
        json={
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "speaker", "namespace": NS},
            "spec": DS_SPEC,
            "status": {
                "numberReady": 2,
                "desiredNumberScheduled": 3,
                "currentNumberScheduled": 3,
                "numberMisscheduled": 0,
            },
        },
    )
    with fake.client() as client:
        probes = {p.id: p for p in probe_cluster(client, expect)}
    assert probes["cluster/metallb/cr"].status is Status.fail
    assert probes["cluster/metallb/cr"].hint.startswith("MetalLB CR missing")
    assert probes["cluster/metallb/speakers"].observed == "2/3 ready"


def test_service_without_ingress_and_with_another_ip(expect: SiteExpect) -> None:
    fake = healthy(expect)
    fake.add("GET", SVC, json=service([]))
    with fake.client() as client:
        probe = {p.id: p for p in probe_cluster(client, expect)}["cluster/service/hosted-hosted"]
    assert probe.status is Status.fail and probe.hint.startswith("Service without ingress IP")
    fake.add("GET", SVC, json=service(["10.0.2.99"]))
    with fake.client() as client:
        probe = {p.id: p for p in probe_cluster(client, expect)}["cluster/service/hosted-hosted"]
    assert probe.observed == "LoadBalancer, ingress 10.0.2.99"
    assert probe.hint.startswith("the Service got 10.0.2.99, not 10.0.2.20")


def test_hostedcluster_not_loadbalancer(expect: SiteExpect) -> None:
    fake = healthy(expect)
    fake.add("GET", HC, json=hostedcluster("NodePort", host="192.168.125.20"))
    fake.add("GET", SVC, json=service([], kind="NodePort"))
    with fake.client() as client:
        probes = {p.id: p for p in probe_cluster(client, expect)}
    api = probes["cluster/hostedcluster/hosted/hosted/apiserver"]
    assert api.status is Status.fail and api.observed == "APIServer: NodePort"
    assert "immutable" in api.hint
    assert probes["cluster/hostedcluster/hosted/hosted/endpoint"].status is Status.fail
    assert probes["cluster/service/hosted-hosted"].message == "the Service is NodePort"


def test_changed_pool_is_a_warning_and_missing_peer_a_failure(expect: SiteExpect) -> None:
    fake = healthy(expect)
    pool = live(next(m for m in expect.manifests if m["kind"] == "IPAddressPool"))
    pool["spec"]["addresses"] = ["10.0.2.21/32"]
    fake.add("GET", POOL, json=pool)
    fake.add(
        "GET",
        PEER,
        status=404,
        json={
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "message": 'bgppeers.metallb.io "frr" not found',
            "reason": "NotFound",
            "code": 404,
            "details": {"name": "frr", "kind": "bgppeers"},
        },
    )
    with fake.client() as client:
        probes = {p.id: p for p in probe_cluster(client, expect)}
    changed = probes["cluster/ipaddresspool/hosted-hosted-api"]
    assert (changed.status, changed.observed) == (Status.warn, "spec.addresses[0] differs")
    assert probes["cluster/bgppeer/frr"].status is Status.fail


def test_frr_k8s_session_down(expect: SiteExpect) -> None:
    fake = healthy(expect)
    fake.add(
        "GET",
        SESSIONS,
        json={
            "apiVersion": "v1",
            "kind": "List",
            "items": [
                {
                    "apiVersion": "frrk8s.metallb.io/v1beta1",
                    "kind": "BGPSessionState",
                    "metadata": {"name": "s", "namespace": "openshift-frr-k8s"},
                    "status": {
                        "node": "master-1",
                        "peer": "192.168.125.1",
                        "bgpStatus": "Active",
                        "bfdStatus": "Up",
                    },
                }
            ],
        },
    )
    with fake.client() as client:
        probes = {p.id: p for p in probe_cluster(client, expect)}
    down = probes["cluster/bgpsession/master-1/frr"]
    assert down.status is Status.fail and down.hint.startswith("TCP 179 from master-1 is blocked")


def test_no_frr_k8s(expect: SiteExpect) -> None:
    fake = healthy(expect)
    fake.add(
        "GET",
        SESSIONS,
        status=404,
        json={
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "message": "the server could not find the requested resource",
            "reason": "NotFound",
            "code": 404,
            "details": {},
        },
    )
    with fake.client() as client:
        probes = {p.id: p for p in probe_cluster(client, expect)}
    assert probes["cluster/bgpsessions"].status is Status.skip

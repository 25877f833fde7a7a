"""The fake Kubernetes transport itself: routing, recording, 404, timeouts, turns."""

from __future__ import annotations

import httpx2
import pytest
from lightkube import ApiError
from lightkube.resources.core_v1 import Service

from tests.kubefake import Answer, KubeFake

SVC = "/api/v1/namespaces/hosted-hosted/services/kube-apiserver"


def service(ip: str | None) -> dict[str, object]:
    ingress = [{"ip": ip}] if ip else []
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kube-apiserver", "namespace": "hosted-hosted"},
        "spec": {"type": "LoadBalancer"},
        "status": {"loadBalancer": {"ingress": ingress}},
    }


def test_routes_and_records_exact_requests() -> None:
    fake = KubeFake()
    fake.add("GET", SVC, json=service("10.0.2.20"))
    with fake.client() as client:
        svc = client.get(Service, "kube-apiserver", namespace="hosted-hosted")
    assert svc.status.loadBalancer.ingress[0].ip == "10.0.2.20"
    assert fake.calls() == [f"GET {SVC}"]
    assert fake.requests[0].headers["authorization"] == "Bearer fake-token"


def test_unrouted_path_is_kubernetes_404() -> None:
    fake = KubeFake()
    with fake.client() as client, pytest.raises(ApiError) as info:
        client.get(Service, "kube-apiserver", namespace="hosted-hosted")
    assert info.value.status.code == 404
    assert info.value.status.message == 'services "kube-apiserver" not found'


def test_strict_fails_on_unexpected_request() -> None:
    fake = KubeFake(strict=True)
    with fake.client() as client, pytest.raises(AssertionError, match="unexpected request GET"):
        client.get(Service, "kube-apiserver", namespace="hosted-hosted")


def test_timeout_and_turns_and_query_specific_routes() -> None:
    fake = KubeFake()
    fake.add("GET", SVC, answer=[Answer(json=service(None)), Answer(json=service("10.0.2.20"))])
    fake.add("GET", "/api/v1/namespaces/x/services", timeout=True)
    with fake.client() as client:
        first = client.get(Service, "kube-apiserver", namespace="hosted-hosted")
        second = client.get(Service, "kube-apiserver", namespace="hosted-hosted")
        third = client.get(Service, "kube-apiserver", namespace="hosted-hosted")
        with pytest.raises(httpx2.ReadTimeout):
            list(client.list(Service, namespace="x"))
    assert first.status.loadBalancer.ingress == []
    assert second.status.loadBalancer.ingress[0].ip == "10.0.2.20"
    assert third.status.loadBalancer.ingress[0].ip == "10.0.2.20"


def test_apply_body_is_parsed() -> None:
    fake = KubeFake()
    fake.add("PATCH", f"{SVC}?fieldManager=hcplb", json=service("10.0.2.20"))
    with fake.client(field_manager="hcplb") as client:
        client.apply(Service.from_dict(service(None)), namespace="hosted-hosted")
    req = fake.requests[0]
    assert req.line() == f"PATCH {SVC}?fieldManager=hcplb"
    assert req.content_type == "application/apply-patch+yaml"
    assert req.body["metadata"]["name"] == "kube-apiserver"

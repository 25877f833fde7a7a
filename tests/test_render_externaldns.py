"""externaldns/: ExternalDNS (RFC 2136) for `dns.provider: externaldns`, and the fleet example's
goldens (cluster/, externaldns/, hostedcluster/)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import yaml

from hcplb.errors import SpecError
from hcplb.render import render_site
from hcplb.render.externaldns import API_INT_TEMPLATE
from hcplb.render.secrets import Secrets, resolve_site_secrets
from hcplb.spec import load_site
from hcplb.spec.loader import load_site_text
from tests.conftest import EXAMPLES, GOLDEN
from tests.render_cases import check_golden

SHARED = EXAMPLES / "fleet-shared.yaml"
CANARY = base64.b64encode(b"hcplb-canary-tsig-for-externaldns").decode()


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("HCPLB_TSIG_SECRET", CANARY)
    site = load_site(SHARED).site
    files = render_site(site, resolve_site_secrets(site)).files
    return {f.path: f for f in files}


def _docs(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


@pytest.mark.parametrize("room", ["cluster", "externaldns", "hostedcluster"])
def test_golden(update_golden: bool, rendered: dict[str, Any], room: str) -> None:
    files = {
        path.removeprefix(f"{room}/"): f.content
        for path, f in rendered.items()
        if path.startswith(f"{room}/") and not f.secret
    }
    check_golden(files, GOLDEN / "fleet-shared" / room, update_golden)


def test_tsig_secret_only_in_the_0600_secret_file(rendered: dict[str, Any]) -> None:
    secret = rendered["externaldns/tsig-secret.yaml"]
    assert secret.mode == 0o600 and secret.secret
    (doc,) = _docs(secret.content)
    assert base64.b64decode(doc["data"]["tsig-secret"]).decode() == CANARY
    others = [p for p, f in rendered.items() if p != secret.path and CANARY in f.content]
    assert others == []
    assert not any(p.startswith("dns/") for p in rendered)  # ExternalDNS writes the records


def test_deployment_is_locked_down_and_reads_the_secret_from_the_secret(
    rendered: dict[str, Any],
) -> None:
    (deployment,) = _docs(rendered["externaldns/deployment.yaml"].content)
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "registry.k8s.io/external-dns/external-dns:v0.15.1"
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert container["resources"]["limits"]["memory"]
    assert container["env"] == [
        {
            "name": "EXTERNAL_DNS_RFC2136_TSIG_SECRET",
            "valueFrom": {
                "secretKeyRef": {"name": "hcplb-external-dns-tsig", "key": "tsig-secret"}
            },
        }
    ]
    args = container["args"]
    assert not any("tsig-secret=" in a for a in args)
    for wanted in (
        "--source=service",
        "--service-type-filter=LoadBalancer",
        "--label-filter=hypershift.openshift.io/control-plane-component=kube-apiserver",
        "--combine-fqdn-annotation",
        "--provider=rfc2136",
        "--rfc2136-host=192.168.130.53",
        "--rfc2136-zone=fleet.lab",
        "--rfc2136-tsig-keyname=hcplb-fleet",
        "--registry=txt",
        "--txt-owner-id=hcplb-fleet-shared",
        "--txt-prefix=hcplb-",
        "--domain-filter=fleet.lab",
        f"--fqdn-template={API_INT_TEMPLATE}",
    ):
        assert wanted in args


def test_rbac_is_read_only_and_never_secrets(rendered: dict[str, Any]) -> None:
    docs = _docs(rendered["externaldns/rbac.yaml"].content)
    (role,) = [d for d in docs if d["kind"] == "ClusterRole"]
    for rule in role["rules"]:
        assert rule["verbs"] == ["get", "list", "watch"]
        assert "secrets" not in rule["resources"]
    resources = {r for rule in role["rules"] for r in rule["resources"]}
    assert resources == {"services", "endpoints", "pods", "nodes", "endpointslices"}
    (binding,) = [d for d in docs if d["kind"] == "ClusterRoleBinding"]
    assert binding["subjects"][0]["namespace"] == "hcplb-external-dns"


def test_kustomization_lists_every_file_in_apply_order(rendered: dict[str, Any]) -> None:
    (kustomization,) = _docs(rendered["externaldns/kustomization.yaml"].content)
    files = [p for p in rendered if p.startswith("externaldns/") and "kustomization" not in p]
    assert [f"externaldns/{r}" for r in kustomization["resources"]] == files
    assert kustomization["resources"][-1] == "deployment.yaml"


def test_without_the_secret_value_no_secret_file() -> None:
    files = render_site(load_site(SHARED).site, Secrets()).files
    assert "externaldns/tsig-secret.yaml" not in {f.path for f in files}


@pytest.mark.parametrize(
    "image", ["registry.k8s.io/external-dns/external-dns", "example.com/edns:latest"]
)
def test_an_unpinned_image_is_a_spec_error(image: str) -> None:
    data = yaml.safe_load(SHARED.read_text())
    data["spec"]["dns"]["externalDns"]["image"] = image
    with pytest.raises(SpecError, match="is not pinned"):
        load_site_text(yaml.safe_dump(data), "site.yaml")


def test_a_digest_pins_the_image() -> None:
    data = yaml.safe_load(SHARED.read_text())
    image = "registry.k8s.io/external-dns/external-dns@sha256:" + "0" * 64
    data["spec"]["dns"]["externalDns"]["image"] = image
    assert load_site_text(yaml.safe_dump(data)).site.spec.dns.external_dns.image == image

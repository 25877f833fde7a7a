"""hcplb.schemas: strict validation against the packaged CRDs (unknown fields, types, CEL regexes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from hcplb import schemas
from hcplb.schemas import validate_manifest
from tests.conftest import UPSTREAM, data_files
from tests.render_cases import CASES, render_case, set_secret_env
from tests.upstream_sources import git_blob, read_sources

PACKAGED = Path(schemas.__file__).parent / "data" / "crds"


def peer(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "metallb.io/v1beta2",
        "kind": "BGPPeer",
        "metadata": {"name": "frr", "namespace": "metallb-system"},
        "spec": {"myASN": 64513, "peerASN": 64512, "peerAddress": "192.168.125.1", **spec},
    }


def test_valid_peer_has_no_errors() -> None:
    assert validate_manifest(peer(holdTime="90s", bfdProfile="hcplb-bfd")) == []


def test_unknown_field_is_rejected_with_a_suggestion() -> None:
    obj = peer()
    obj["spec"]["peerAdress"] = obj["spec"].pop("peerAddress")
    assert validate_manifest(obj) == [
        "BGPPeer metallb-system/frr: spec.peerAdress: unknown field (did you mean 'peerAddress'?)"
    ]


def test_unknown_field_in_a_list_item_lists_the_allowed_ones() -> None:
    obj = peer(nodeSelectors=[{"matchLabels": {"a": "b"}, "zzz": 1}])
    assert validate_manifest(obj) == [
        "BGPPeer metallb-system/frr: spec.nodeSelectors[0].zzz: unknown field "
        "(allowed: matchExpressions, matchLabels)"
    ]


def test_wrong_type_and_range() -> None:
    assert validate_manifest(peer(peerASN="64512", peerPort=99999)) == [
        'BGPPeer metallb-system/frr: spec.peerASN: must be of type integer, not "64512"',
        "BGPPeer metallb-system/frr: spec.peerPort: 99999 should be less than or equal to 16384",
    ]


def test_missing_required_field() -> None:
    obj = peer()
    del obj["spec"]["myASN"]
    assert validate_manifest(obj) == [
        "BGPPeer metallb-system/frr: spec.myASN: required field is missing"
    ]


def test_enum_uses_the_api_server_wording() -> None:
    obj = {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "MetalLB",
        "metadata": {"name": "metallb", "namespace": "metallb-system"},
        "spec": {"logLevel": "loud"},
    }
    (error,) = validate_manifest(obj)
    assert error.startswith(
        'MetalLB metallb-system/metallb: spec.logLevel: Unsupported value: "loud"'
    )


def test_metadata_is_checked_minimally() -> None:
    obj = peer()
    obj["metadata"]["lables"] = {}
    obj["metadata"]["name"] = "Not_A_Name"
    errors = validate_manifest(obj)
    assert any("metadata.lables: unknown field (did you mean 'labels'?)" in e for e in errors)
    assert any("metadata.name:" in e for e in errors)


def test_unknown_kind_and_unserved_version() -> None:
    assert validate_manifest({"apiVersion": "example.com/v1", "kind": "Thing"})[0].startswith(
        "Thing <unnamed>: no schema for example.com/v1 Thing"
    )
    assert validate_manifest(peer() | {"apiVersion": "metallb.io/v1"}) == [
        "BGPPeer metallb-system/frr: metallb.io/v1 is not a served version of BGPPeer "
        "(served: metallb.io/v1beta1, metallb.io/v1beta2)"
    ]


def test_secret_data_must_be_base64() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "n"},
        "type": "kubernetes.io/basic-auth",
        "data": {"password": "not base64!"},
    }
    (error,) = validate_manifest(secret)
    assert error.startswith('Secret n/s: data.password: "not base64!" should match')


def test_partial_hostedcluster_ignores_missing_fields_but_not_list_items() -> None:
    obj = {
        "apiVersion": "hypershift.openshift.io/v1beta1",
        "kind": "HostedCluster",
        "metadata": {"name": "hosted", "namespace": "hosted"},
        "spec": {"services": [{"service": "APIServer"}]},
    }
    assert validate_manifest(obj, partial=True) == [
        "HostedCluster hosted/hosted: spec.services[0].servicePublishingStrategy: "
        "required field is missing"
    ]
    errors = validate_manifest(obj)
    assert "HostedCluster hosted/hosted: spec.release: required field is missing" in errors


def test_cel_regex_rules_are_evaluated() -> None:
    obj = {
        "apiVersion": "hypershift.openshift.io/v1beta1",
        "kind": "HostedCluster",
        "metadata": {"name": "hosted", "namespace": "hosted"},
        "spec": {
            "services": [
                {
                    "service": "APIServer",
                    "servicePublishingStrategy": {
                        "type": "LoadBalancer",
                        "loadBalancer": {"hostname": "api.hosted.lab.123"},
                    },
                }
            ],
            "networking": {"apiServer": {"allowedCIDRBlocks": ["192.168.0.0/16", "nope"]}},
        },
    }
    assert validate_manifest(obj, partial=True) == [
        "HostedCluster hosted/hosted: spec.networking.apiServer.allowedCIDRBlocks[1]: cidr must be "
        "a valid IPv4 or IPv6 CIDR notation (e.g., 192.168.1.0/24 or 2001:db8::/64)",
        "HostedCluster hosted/hosted: spec.services[0].servicePublishingStrategy.loadBalancer."
        "hostname: hostname must be a valid domain name (e.g., example.com)",
    ]


def _suite_cases() -> list[tuple[str, dict[str, Any], str | None]]:
    yaml = YAML(typ="safe")
    yaml.allow_duplicate_keys = True  # the upstream suites repeat `onUpdate: []`
    cases = []
    for path in data_files(UPSTREAM / "hypershift" / "crd-tests", "*.yaml", 4):
        suite = yaml.load(path.read_text())
        for case in suite["tests"].get("onCreate") or []:
            obj = yaml.load(case["initial"])
            obj.setdefault("metadata", {"name": "t", "namespace": "clusters"})
            cases.append((case["name"], obj, case.get("expectedError")))
    return cases


def test_hypershift_crd_suites_no_false_positives() -> None:
    """Objects the real API server accepts pass; those it rejects for a rule we evaluate fail alike."""
    cases = _suite_cases()
    assert len(cases) > 50
    caught = 0
    for name, obj, expected in cases:
        errors = validate_manifest(obj)
        if expected is None:
            assert errors == [], name
        elif errors:
            assert any(expected in e for e in errors), (name, expected, errors)
            caught += 1
    assert caught >= 10


def test_packaged_crds_are_verbatim_copies() -> None:
    """Each CRD still hashes to the upstream blob SOURCES.md records (tests/test_upstream.py)."""
    sources = {s.file: s for s in read_sources(PACKAGED / "SOURCES.md")}
    for path in data_files(PACKAGED, "*.yaml", at_least=8):
        assert git_blob(path.read_bytes()) == sources[path.name].blob, path.name


@pytest.mark.parametrize("key", sorted(schemas._CRD_FILES))
def test_crd_table_matches_the_files(key: tuple[str, str]) -> None:
    crd = schemas._load_crd(schemas._CRD_FILES[key])
    assert (crd["spec"]["group"], crd["spec"]["names"]["kind"]) == key


@pytest.mark.parametrize("profile", ["hcplb", "guide"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_rendered_manifest_validates(
    monkeypatch: pytest.MonkeyPatch, case: str, profile: str
) -> None:
    """What `render` writes to cluster/ and hostedcluster/ passes the CRDs, unknown fields rejected."""
    set_secret_env(monkeypatch)
    rendered = render_case(case, profile)
    yaml = YAML(typ="safe")
    checked = 0
    for f in rendered.files:
        if f.path.startswith("cluster/") and f.path != "cluster/kustomization.yaml":
            for doc in yaml.load_all(f.content):
                assert validate_manifest(doc) == [], f.path
                checked += 1
        elif f.path.startswith("hostedcluster/"):
            assert validate_manifest(yaml.load(f.content), partial=True) == [], f.path
            checked += 1
    assert checked >= 4


def test_preserve_unknown_fields_is_honoured() -> None:
    obj = {
        "apiVersion": "hypershift.openshift.io/v1beta1",
        "kind": "HostedCluster",
        "metadata": {"name": "hosted", "namespace": "hosted"},
        "spec": {
            "operatorConfiguration": {
                "ingressOperator": {"endpointPublishingStrategy": {"anything": {"goes": 1}}}
            }
        },
    }
    assert validate_manifest(obj, partial=True) == []
    obj["spec"]["operatorConfiguration"]["ingressOperator"]["typo"] = True
    (error,) = validate_manifest(obj, partial=True)
    assert "spec.operatorConfiguration.ingressOperator.typo: unknown field" in error

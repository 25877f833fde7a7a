"""cluster/: golden files, the dicts equal the files, kustomize builds it, pools pinned, secrets kept."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from hcplb.plan import node_asn
from hcplb.render import render_site, write_rendered
from hcplb.render._yaml import dump
from hcplb.render.cluster import (
    PASSWORD_SECRET_FILE,
    PASSWORD_SECRET_NAME,
    cluster_manifests,
)
from hcplb.render.guide import guide_manifests
from hcplb.render.profile import manifests_of, parse_profile
from hcplb.runner import run
from tests.conftest import GOLDEN, need_tool
from tests.render_cases import (
    CASES,
    TEST_PASSWORD,
    TEST_TSIG,
    check_golden,
    load_case,
    render_case,
    set_secret_env,
    under,
)

GOLDEN_RENDERS = [
    ("seed", "seed", "hcplb"),
    ("fleet", "fleet", "hcplb"),
    ("secrets-dns", "secrets-dns", "hcplb"),
    ("per-node-asn", "per-node-asn", "hcplb"),
    ("seed-guide", "seed", "guide"),
    ("ipv6", "ipv6", "hcplb"),
    ("dualstack", "dualstack", "hcplb"),
    ("dualstack-sessions", "dualstack-sessions", "hcplb"),
]
ALL_RENDERS = [(case, profile) for case in CASES for profile in ("hcplb", "guide")]


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    set_secret_env(monkeypatch)


def _docs(text: str) -> list[dict[str, Any]]:
    return [d for d in YAML(typ="safe").load_all(text) if d is not None]


def _by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


@pytest.mark.parametrize(("golden", "case", "profile"), GOLDEN_RENDERS)
def test_golden(update_golden: bool, golden: str, case: str, profile: str) -> None:
    files = under(render_case(case, profile), "cluster/")
    check_golden(files, GOLDEN / "cluster" / golden, update_golden)


@pytest.mark.parametrize(("case", "profile"), ALL_RENDERS)
def test_files_hold_exactly_the_manifests_in_kustomization_order(case: str, profile: str) -> None:
    plan, secrets = load_case(case)
    rendered = render_site(plan.site, secrets, profile=parse_profile(profile))
    files = {f.path: f for f in rendered.files if f.path.startswith("cluster/")}
    # the alerts are applied on their own (they need OpenShift monitoring's PrometheusRule CRD,
    # not MetalLB): the runbook says `oc apply -f cluster/prometheusrule.yaml`
    files.pop("cluster/prometheusrule.yaml", None)
    kustomization = _docs(files.pop("cluster/kustomization.yaml").content)[0]
    assert kustomization["kind"] == "Kustomization"
    assert [f"cluster/{r}" for r in kustomization["resources"]] == list(files)
    from_files = [d for f in files.values() for d in _docs(f.content)]
    assert from_files == manifests_of(parse_profile(profile), plan, secrets)


@pytest.mark.parametrize(
    ("case", "profile"), [("seed", "hcplb"), ("secrets-dns", "hcplb"), ("seed", "guide")]
)
def test_kubectl_kustomize_builds_the_directory(tmp_path: Path, case: str, profile: str) -> None:
    kubectl = need_tool("kubectl")
    out = tmp_path / "out"
    write_rendered(render_case(case, profile), out)
    result = run([kubectl, "kustomize", str(out / "cluster")], timeout=60)
    assert result.rc == 0, result.stderr
    plan, secrets = load_case(case)
    built = {(d["kind"], d["metadata"]["name"]) for d in _docs(result.stdout)}
    assert built == {
        (d["kind"], d["metadata"]["name"])
        for d in manifests_of(parse_profile(profile), plan, secrets)
    }


def test_seed_pool_is_pinned_to_the_kube_apiserver_service() -> None:
    plan, secrets = load_case("seed")
    (pool,) = _by_kind(cluster_manifests(plan, secrets), "IPAddressPool")
    assert pool["metadata"] == {
        "name": "hosted-hosted-api",
        "namespace": "openshift-operators",
        "labels": {"app.kubernetes.io/managed-by": "hcplb", "hcplb.io/site": "hypershift-lab"},
    }
    assert pool["spec"]["addresses"] == ["10.0.2.20/32"]
    assert pool["spec"]["autoAssign"] is True
    assert pool["spec"]["serviceAllocation"] == {
        "priority": 1,
        "namespaces": ["hosted-hosted"],
        "serviceSelectors": [{"matchLabels": {"app": "kube-apiserver"}}],
    }


def test_fleet_has_one_pool_per_cluster_and_the_advertisement_names_them() -> None:
    plan, secrets = load_case("fleet")
    docs = cluster_manifests(plan, secrets)
    pools = _by_kind(docs, "IPAddressPool")
    assert [(p["metadata"]["name"], p["spec"]["addresses"]) for p in pools] == [
        (c.metallb_pool, [f"{c.vip}/32"]) for c in plan.clusters
    ]
    (adv,) = _by_kind(docs, "BGPAdvertisement")
    assert adv["spec"] == {
        "ipAddressPools": [c.metallb_pool for c in plan.clusters],
        "peers": ["frr-a", "frr-b"],
    }
    assert [p["spec"]["peerAddress"] for p in _by_kind(docs, "BGPPeer")] == [
        "192.168.125.1",
        "192.168.125.2",
    ]
    assert [d["metadata"]["name"] for d in _by_kind(docs, "MetalLB")] == ["metallb"]


def test_seed_peer_timers_bfd_and_no_password() -> None:
    plan, secrets = load_case("seed")
    docs = cluster_manifests(plan, secrets)
    (peer,) = _by_kind(docs, "BGPPeer")
    assert peer["apiVersion"] == "metallb.io/v1beta2"
    assert peer["spec"] == {
        "myASN": 64513,
        "peerASN": 64512,
        "peerAddress": "192.168.125.1",
        "holdTime": "90s",
        "keepaliveTime": "30s",
        "connectTime": "10s",
        "bfdProfile": "hcplb-bfd",
    }
    (bfd,) = _by_kind(docs, "BFDProfile")
    assert bfd["spec"]["receiveInterval"] == 50
    assert not _by_kind(docs, "Secret")


def test_no_bfd_means_no_profile_and_no_reference() -> None:
    plan, secrets = load_case("no-bfd")
    docs = cluster_manifests(plan, secrets)
    assert not _by_kind(docs, "BFDProfile")
    assert all("bfdProfile" not in p["spec"] for p in _by_kind(docs, "BGPPeer"))


def test_password_secret_and_reference() -> None:
    plan, secrets = load_case("secrets-dns")
    docs = cluster_manifests(plan, secrets)
    (secret,) = _by_kind(docs, "Secret")
    assert secret["type"] == "kubernetes.io/basic-auth"
    assert base64.b64decode(secret["data"]["password"]).decode() == TEST_PASSWORD
    (peer,) = _by_kind(docs, "BGPPeer")
    assert peer["spec"]["passwordSecret"] == {
        "name": PASSWORD_SECRET_NAME,
        "namespace": "metallb-system",
    }
    assert peer["spec"]["nodeSelectors"] == [
        {"matchLabels": {"node-role.kubernetes.io/master": ""}}
    ]
    assert (peer["spec"]["holdTime"], peer["spec"]["keepaliveTime"]) == ("9s", "3s")


@pytest.mark.parametrize("case", ["secrets-dns", "password"])
def test_secrets_appear_only_in_secret_files(tmp_path: Path, case: str) -> None:
    rendered = render_case(case)
    needles = [TEST_PASSWORD, base64.b64encode(TEST_PASSWORD.encode()).decode(), TEST_TSIG]
    secret_files = {f.path for f in rendered.files if f.secret}
    assert PASSWORD_SECRET_FILE in secret_files
    for f in rendered.files:
        if f.secret:
            assert f.mode == 0o600, f.path
        else:
            assert not [n for n in needles if n in f.content], f"a secret leaked into {f.path}"
    write_rendered(rendered, tmp_path / "out")
    for path in secret_files:
        assert (tmp_path / "out" / path).stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("case", ["per-node-asn", "mixed-asn"])
def test_per_node_asns_get_one_peer_per_router_and_asn(case: str) -> None:
    plan, secrets = load_case(case)
    peers = _by_kind(cluster_manifests(plan, secrets), "BGPPeer")
    asns = sorted({node_asn(plan.site, n) for n in plan.nodes})
    assert len(peers) == len(plan.routers) * len(asns)
    for node in plan.nodes:
        # MetalLB's FRR mode: the peers selecting one node must share one myASN
        selecting = [
            p
            for p in peers
            if node.name in p["spec"]["nodeSelectors"][0]["matchExpressions"][0]["values"]
        ]
        assert len(selecting) == len(plan.routers)
        assert {p["spec"]["myASN"] for p in selecting} == {node_asn(plan.site, node)}
    assert {p["spec"]["nodeSelectors"][0]["matchExpressions"][0]["key"] for p in peers} == {
        "kubernetes.io/hostname"
    }


def test_guide_profile_is_the_guides_literal_manifests() -> None:
    plan, _ = load_case("seed")
    docs = guide_manifests(plan)
    assert docs == [
        {
            "apiVersion": "metallb.io/v1beta1",
            "kind": "IPAddressPool",
            "metadata": {"name": "hcp-api-pool", "namespace": "openshift-operators"},
            "spec": {"addresses": ["10.0.2.20-10.0.2.20"], "autoAssign": True},
        },
        {
            "apiVersion": "metallb.io/v1beta2",
            "kind": "BGPPeer",
            "metadata": {"name": "upstream-router-peer", "namespace": "openshift-operators"},
            "spec": {"peerAddress": "192.168.125.1", "peerASN": 64512, "myASN": 64513},
        },
        {
            "apiVersion": "metallb.io/v1beta1",
            "kind": "BGPAdvertisement",
            "metadata": {"name": "hcp-api-bgp-adv", "namespace": "openshift-operators"},
            "spec": {"ipAddressPools": ["hcp-api-pool"]},
        },
    ]


def test_guide_profile_with_two_routers_names_each_peer() -> None:
    plan, _ = load_case("two-routers")
    peers = _by_kind(guide_manifests(plan), "BGPPeer")
    assert [p["metadata"]["name"] for p in peers] == [
        "upstream-router-peer-frr-a",
        "upstream-router-peer-frr-b",
    ]


def test_render_is_deterministic() -> None:
    assert render_case("fleet").files == render_case("fleet").files


# --- the YAML writer -------------------------------------------------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(max_size=20),
    st.sampled_from(
        [
            "yes",
            "No",
            "on",
            "Y",
            "n",
            "~",
            "null",
            "1:30",
            "0x1f",
            "1e3",
            "0o17",
            "2001-01-01",
            ".inf",
            "10.0.2.20",
            "10.0.2.0/24",
            "90s",
            "-",
            "- a",
            "a: b",
            "#x",
            "x #y",
            "",
            " lead",
            "trail ",
            "'q'",
            '"d"',
            "\t",
            "é",
            "💥",
            "\u2028",
            "\ufeff",
            "\x85",
            "a\nb",
        ]
    ),
)
_keys = st.one_of(st.text(min_size=1, max_size=10), st.sampled_from(["n", "on", "1", "a.b/c"]))
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(_keys, _values, max_size=5))
def test_yaml_writer_round_trips_in_yaml_1_1_and_1_2(doc: dict[str, Any]) -> None:
    text = dump(doc)
    for version in ((1, 1), (1, 2)):
        yaml = YAML(typ="safe")
        yaml.version = version
        assert (yaml.load(text) or {}) == doc, text

"""`hostedcluster patch`: the `hcp ... --render` fixtures and a hand-commented file, as goldens.

Besides the golden text, each case asserts the properties the goldens stand for: documents
other than the matching HostedCluster are byte for byte the same, every comment is kept (but
those on lines the patch removes), the order of every key hcplb does not set is kept, the
result is a valid HostedCluster, and patching again changes nothing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from hcplb.errors import SpecError
from hcplb.hypershift._yamledit import split_documents
from hcplb.hypershift.patch import (
    DesiredHostedCluster,
    desired_hostedclusters,
    patch_hostedcluster_file,
    patch_hostedcluster_text,
)
from hcplb.plan import plan_site
from hcplb.schemas import validate_manifest
from hcplb.spec import load_site_text
from tests.conftest import EXAMPLES, GOLDEN, UPSTREAM, data_files

FIXTURES = UPSTREAM / "hypershift" / "cli-render-fixtures"
GOLDEN_DIR = GOLDEN / "hostedcluster-patch"
CASES = [*(p.name for p in data_files(FIXTURES, "*.yaml", 3)), "commented.input.yaml"]
# comments that sit on lines the patch removes (a NodePort address that no longer exists)
DROPPED_COMMENTS = {"# a node address; goes away with the NodePort"}


def example_site_text() -> str:
    """The seed, with its hosted cluster renamed to the fixtures' clusters/example."""
    text = (EXAMPLES / "seed.yaml").read_text()
    text = text.replace(
        "name: hosted\n      namespace: hosted\n      baseDomain: hypershift.lab",
        "name: example\n      namespace: clusters\n      baseDomain: example.com",
    )
    return text.replace(
        "# allowedCIDRBlocks: [192.168.125.0/24]",
        "allowedCIDRBlocks: [192.168.125.0/24, 10.8.0.0/16]",
    )


def desired() -> tuple[DesiredHostedCluster, ...]:
    return desired_hostedclusters(plan_site(load_site_text(example_site_text(), "site.yaml").site))


def source(case: str) -> Path:
    return GOLDEN_DIR / case if case.endswith(".input.yaml") else FIXTURES / case


def golden_path(case: str) -> Path:
    return GOLDEN_DIR / case.replace(".input.yaml", ".yaml").replace(".yaml", ".patched.yaml")


def comments(text: str) -> set[str]:
    return {m.group(0).strip() for m in re.finditer(r"#[^\n]*", text)}


def key_orders(node: Any, path: str = "") -> dict[str, list[str]]:
    """Key order of every mapping, by path, leaving out what hcplb sets."""
    result: dict[str, list[str]] = {}
    if isinstance(node, dict):
        skip = {"spec.services", "spec.networking.apiServer"}
        keys = [k for k in node if f"{path}.{k}".lstrip(".") not in skip]
        result[path] = keys
        for key in keys:
            result.update(key_orders(node[key], f"{path}.{key}".lstrip(".")))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            result.update(key_orders(item, f"{path}[{index}]"))
    return result


def hostedcluster(text: str) -> dict[str, Any]:
    docs = [d for d in YAML(typ="safe").load_all(text) if d and d.get("kind") == "HostedCluster"]
    assert isinstance(docs[0], dict)
    return docs[0]


@pytest.mark.parametrize("case", CASES)
def test_patch_golden(case: str, update_golden: bool) -> None:
    original = source(case).read_text()
    result = patch_hostedcluster_text(original, desired(), file=case)
    golden = golden_path(case)
    if update_golden:
        golden.write_text(result.text)
    assert result.text == golden.read_text(), f"{golden} differs (run pytest --update-golden)"
    assert result.matched == ("clusters/example",)


@pytest.mark.parametrize("case", CASES)
def test_patch_keeps_everything_else(case: str) -> None:
    original = source(case).read_text()
    patched = patch_hostedcluster_text(original, desired(), file=case).text
    before, after = split_documents(original), split_documents(patched)
    assert len(before) == len(after)
    for old, new in zip(before, after, strict=True):
        if "kind: HostedCluster" in old.text and "name: example\n" in old.text:
            continue
        assert new.text == old.text
    assert comments(original) - DROPPED_COMMENTS <= comments(patched)
    old_doc, new_doc = hostedcluster(original), hostedcluster(patched)
    orders_before, orders_after = key_orders(old_doc), key_orders(new_doc)
    orders_after["spec.networking"] = [
        k for k in orders_after["spec.networking"] if k != "apiServer"
    ]
    assert orders_after == orders_before


@pytest.mark.parametrize("case", CASES)
def test_patched_hostedcluster_is_valid_and_has_the_site_values(case: str) -> None:
    original = source(case).read_text()
    patched = patch_hostedcluster_text(original, desired(), file=case).text
    doc = hostedcluster(patched)
    # The fixtures carry placeholders the CRD rejects (release.image "", nodePort fakeAddress);
    # the patch must add no problem of its own.
    assert set(validate_manifest(doc)) <= set(validate_manifest(hostedcluster(original)))
    services = {s["service"]: s["servicePublishingStrategy"] for s in doc["spec"]["services"]}
    assert services["APIServer"] == {
        "loadBalancer": {"hostname": "api.example.example.com"},
        "type": "LoadBalancer",
    }
    assert {services[n]["type"] for n in ("OAuthServer", "Konnectivity", "Ignition")} == {"Route"}
    assert doc["spec"]["networking"]["apiServer"]["allowedCIDRBlocks"] == [
        "192.168.125.0/24",
        "10.8.0.0/16",
    ]


@pytest.mark.parametrize("case", CASES)
def test_patch_is_idempotent(case: str) -> None:
    once = patch_hostedcluster_text(source(case).read_text(), desired(), file=case)
    twice = patch_hostedcluster_text(once.text, desired(), file=case)
    assert once.changed and not twice.changed
    assert twice.text == once.text


def test_removing_allowed_cidr_blocks_restores_the_original_shape() -> None:
    original = (GOLDEN_DIR / "commented.input.yaml").read_text()
    patched = patch_hostedcluster_text(original, desired()).text
    without = tuple(
        DesiredHostedCluster(d.namespace, d.name, d.base_domain, d.services) for d in desired()
    )
    result = patch_hostedcluster_text(patched, without)
    assert "apiServer" not in result.text
    assert "    # pod network\n    clusterNetwork:\n" in result.text
    assert result.changes == (
        "clusters/example: spec.networking.apiServer.allowedCIDRBlocks removed "
        '(was ["192.168.125.0/24", "10.8.0.0/16"])',
    )


def test_changes_and_notes_say_what_happened() -> None:
    result = patch_hostedcluster_text((FIXTURES / "agent-minimal.yaml").read_text(), desired())
    assert result.changes[0] == (
        "clusters/example: spec.services[APIServer].servicePublishingStrategy "
        '{"nodePort": {"address": "fakeAddress"}, "type": "NodePort"} -> '
        '{"type": "LoadBalancer", "loadBalancer": {"hostname": "api.example.example.com"}}'
    )
    assert result.notes == (
        "clusters/example: spec.services[OIDC] left as NodePort (hcplb does not manage it)",
    )


def test_no_matching_hostedcluster_is_a_located_error() -> None:
    seed_desired = desired_hostedclusters(
        plan_site(load_site_text((EXAMPLES / "seed.yaml").read_text(), "seed.yaml").site)
    )
    with pytest.raises(SpecError) as info:
        patch_hostedcluster_text(
            (FIXTURES / "agent-minimal.yaml").read_text(), seed_desired, file="hc.yaml"
        )
    assert str(info.value) == (
        "hc.yaml:1:1: error: no HostedCluster here matches the site (file has clusters/example; "
        "site has hosted/hosted) (hint: the HostedCluster's metadata.namespace/name must equal "
        "a hostedClusters entry's namespace/name)"
    )


def test_base_domain_mismatch_is_a_located_error() -> None:
    text = (
        (FIXTURES / "agent-minimal.yaml")
        .read_text()
        .replace("baseDomain: example.com", "baseDomain: example.org")
    )
    with pytest.raises(SpecError) as info:
        patch_hostedcluster_text(text, desired(), file="hc.yaml")
    assert str(info.value).startswith(
        "hc.yaml:40:17: error: spec.dns.baseDomain: clusters/example has baseDomain "
        "'example.org' but the site says 'example.com'"
    )


def test_file_is_replaced_atomically_and_only_when_changed(tmp_path: Path) -> None:
    path = tmp_path / "hc.yaml"
    path.write_text((FIXTURES / "agent-minimal.yaml").read_text())
    path.chmod(0o640)
    assert patch_hostedcluster_file(path, desired()).changed
    assert path.stat().st_mode & 0o777 == 0o640
    mtime = path.stat().st_mtime_ns
    assert not patch_hostedcluster_file(path, desired()).changed
    assert path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hc.yaml"]


def test_invalid_yaml_is_a_located_error() -> None:
    text = (FIXTURES / "agent-minimal.yaml").read_text().replace("  fips: false", "  fips: [false")
    with pytest.raises(SpecError, match=r"^hc.yaml:\d+:1: error: not valid YAML"):
        patch_hostedcluster_text(text, desired(), file="hc.yaml")

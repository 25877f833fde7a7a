"""HostedCluster rules: every case of HyperShift's CRD test suites for services, networking and DNS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from hcplb.lint.hypershift.rules import check_controller, check_crd, check_publishing, check_update
from hcplb.lint.k8s import Manifest, read_manifests

from .conftest import UPSTREAM, data_files

SUITES = UPSTREAM / "hypershift" / "crd-tests"
SUITE_NAMES = ("services", "networking", "dns")


def _load_suite(path: Path) -> dict[str, list[dict[str, Any]]]:
    """The suite's tests; the networking suite repeats `onUpdate:`, so each block is kept."""
    yaml = YAML(typ="safe")
    head, *updates = path.read_text().split("\n  onUpdate:\n")
    tests: dict[str, list[dict[str, Any]]] = yaml.load(head)["tests"]
    for block in updates:
        more = yaml.load("tests:\n  onUpdate:\n" + block)["tests"]["onUpdate"] or []
        tests.setdefault("onUpdate", []).extend(more)
    return tests


def _cases(phase: str) -> list[Any]:
    """onCreate cases, or onUpdate cases that have an `updated` object (the others, misfiled
    under onUpdate in the suite, are create cases)."""
    cases = []
    for name in SUITE_NAMES:
        (path,) = data_files(SUITES, f"stable.hostedclusters.{name}.testsuite.yaml", 1)
        tests = _load_suite(path)
        for block, items in tests.items():
            for case in items:
                update = block == "onUpdate" and "updated" in case
                if update == (phase == "onUpdate"):
                    cases.append(pytest.param(case, id=f"{name}: {case['name']}"))
    return cases


def _manifest(text: str, file: str = "case.yaml") -> Manifest:
    manifests, problems = read_manifests(text, file)
    assert not problems
    (manifest,) = manifests
    return manifest


@pytest.mark.parametrize("case", _cases("onCreate"))
def test_on_create(case: dict[str, Any]) -> None:
    findings = check_crd(_manifest(case["initial"]))
    messages = [f.message for f in findings]
    expected = case.get("expectedError")
    if expected:
        assert any(expected in m for m in messages), messages
        assert all(f.rule.startswith("hypershift.crd.") and f.line > 0 for f in findings)
    else:
        assert messages == []


@pytest.mark.parametrize("case", _cases("onUpdate"))
def test_on_update(case: dict[str, Any]) -> None:
    old, new = _manifest(case["initial"]), _manifest(case["updated"])
    assert check_crd(old) == []
    findings = check_update(old, new)
    expected = case.get("expectedError")
    if expected:
        assert any(expected in f.message for f in findings), [f.message for f in findings]
    else:
        assert findings == []


def test_suites_are_all_there() -> None:
    assert len(_cases("onCreate")) == 9 + 22 + 9 + 17
    assert len(_cases("onUpdate")) == 2 + 3 + 1


GUIDE_HC = """\
apiVersion: hypershift.openshift.io/v1beta1
kind: HostedCluster
metadata: {name: hosted, namespace: hosted}
spec:
  services:
  - service: APIServer
    servicePublishingStrategy:
      type: NodePort
      nodePort: {address: 192.168.125.20}
  - service: OAuthServer
    servicePublishingStrategy: {type: Route}
  - service: Konnectivity
    servicePublishingStrategy: {type: Route}
  - service: Ignition
    servicePublishingStrategy: {type: Route}
"""


def test_apiserver_must_be_a_loadbalancer() -> None:
    hc = _manifest(GUIDE_HC, "hc.yaml")
    (finding,) = check_publishing(hc)
    assert finding.rule == "hypershift.publish.loadbalancer"
    assert (finding.file, finding.line) == ("hc.yaml", 8)
    assert "NodePort, not LoadBalancer" in finding.message


def test_apiserver_missing() -> None:
    hc = _manifest(
        GUIDE_HC.split("  - service: APIServer")[0]
        + "  - service: OAuthServer\n    servicePublishingStrategy: {type: Route}\n"
    )
    (finding,) = check_publishing(hc)
    assert "does not publish the APIServer" in finding.message


def test_findings_point_at_the_field(tmp_path: Path) -> None:
    text = GUIDE_HC.replace("{address: 192.168.125.20}", "{address: '@foo'}")
    findings = check_crd(_manifest(text, "hc.yaml"))
    assert [(f.line, f.rule) for f in findings] == [(9, "hypershift.crd.services.address")]
    del tmp_path


def test_operator_side_rules() -> None:
    text = GUIDE_HC.replace(
        "  - service: OAuthServer\n    servicePublishingStrategy: {type: Route}",
        "  - service: OAuthServer\n    servicePublishingStrategy: {type: LoadBalancer}",
    ).replace(
        "  - service: Ignition\n    servicePublishingStrategy: {type: Route}",
        "  - service: Ignition\n    servicePublishingStrategy: {type: LoadBalancer}",
    )
    text = text.replace(
        "  - service: Konnectivity\n    servicePublishingStrategy: {type: Route}",
        "  - service: Konnectivity\n    servicePublishingStrategy: {type: Route, route: {hostname: a.example.com}}",
    )
    text += "  - service: OIDC\n    servicePublishingStrategy: {type: Route, route: {hostname: a.example.com}}\n"
    rules = sorted(f.rule for f in check_controller(_manifest(text)))
    assert rules == [
        "hypershift.controller.hostname",
        "hypershift.controller.ignition",
        "hypershift.controller.oauth",
    ]

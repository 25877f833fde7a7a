"""cluster/prometheusrule.yaml (golden: tests/golden/cluster/): schema-valid, and `promtool test rules` on synthetic speaker series:
each alert fires when it should (a node's session down, a VIP announced by nobody, ...) and
stays quiet when the site is healthy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from hcplb.plan import SitePlan
from hcplb.render.alerts import PROMETHEUS_RULE_FILE, prometheus_rule
from hcplb.runner import run
from hcplb.schemas import validate_manifest
from tests.conftest import need_tool
from tests.render_cases import load_case, render_case, set_secret_env

NAMES = (
    "HcplbBGPSessionDown",
    "HcplbBFDSessionDown",
    "HcplbVIPNotAnnounced",
    "HcplbAnnouncingNodesLow",
)


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    set_secret_env(monkeypatch)


@pytest.fixture(scope="module")
def promtool() -> str:
    return need_tool("promtool")


@pytest.mark.parametrize("case", ["seed", "fleet", "no-bfd", "per-node-asn"])
def test_rule_is_a_valid_prometheusrule_with_links_and_labels(case: str) -> None:
    plan, _ = load_case(case)
    rule = prometheus_rule(plan)
    assert validate_manifest(rule) == []
    rules = [r for g in rule["spec"]["groups"] for r in g["rules"]]
    for r in rules:
        assert r["annotations"]["summary"]
        assert r["annotations"]["runbook_url"] == f"README.md#{r['alert'].lower()}"
        assert "router" in r["labels"] or "hosted_cluster" in r["labels"]
    readme = render_case(case).get("README.md").content
    for name in {r["alert"] for r in rules}:
        assert f"### {name}\n" in readme
    assert ("HcplbBFDSessionDown" in {r["alert"] for r in rules}) == (plan.bfd is not None)
    clusters = {r["labels"].get("hosted_cluster") for r in rules} - {None}
    assert clusters == {f"{c.cluster.namespace}/{c.cluster.name}" for c in plan.clusters}


def test_guide_profile_has_no_alerts() -> None:
    assert PROMETHEUS_RULE_FILE not in render_case("seed", "guide").paths()


# --- promtool -------------------------------------------------------------------------------


def _series(
    plan: SitePlan, *, style: str, down: str | None = None, silent_vip: str | None = None
) -> list[dict[str, str]]:
    """What the speakers export: one pod per node, `down` node's sessions and prefixes at 0."""
    out = []
    prefix = "metallb" if style == "metallb" else "frrk8s"
    for router in plan.routers:
        peer = f"{router.address}:179" if style == "metallb" else router.address
        for node in plan.nodes:
            pod = f'pod="speaker-{node.name}", namespace="metallb-system", vrf="default"'
            up = "0" if node.name == down else "1"
            prefixes = "0" if node.name == down else str(len(plan.clusters))
            out += [
                {
                    "series": f'{prefix}_bgp_session_up{{peer="{peer}", {pod}}}',
                    "values": f"{up}x20",
                },
                {
                    "series": f'{prefix}_bgp_announced_prefixes_total{{peer="{peer}", {pod}}}',
                    "values": f"{prefixes}x20",
                },
            ]
            if plan.bfd is not None:
                out.append(
                    {
                        "series": f'{prefix}_bfd_session_up{{peer="{router.address}", {pod}}}',
                        "values": f"{up}x20",
                    }
                )
    for c in plan.clusters:
        for node in plan.nodes:
            on = "0" if node.name == down or c.vip == silent_vip else "1"
            labels = (
                f'service="{c.control_plane_namespace}/kube-apiserver", protocol="bgp", '
                f'node="{node.name}", ip="{c.vip}", pod="speaker-{node.name}"'
            )
            out.append({"series": f"metallb_speaker_announced{{{labels}}}", "values": f"{on}x20"})
    return out


def _alert(rule: dict[str, Any], labels: dict[str, str], value: str) -> dict[str, Any]:
    """What promtool should see: the rule's labels plus the series', templates filled in."""

    def fill(text: str) -> str:
        return text.replace("{{ $labels.pod }}", labels.get("pod", "")).replace(
            "{{ $value }}", value
        )

    return {
        "exp_labels": {**labels, **rule["labels"]},
        "exp_annotations": {k: fill(v) for k, v in rule["annotations"].items()},
    }


def _expected(
    plan: SitePlan, style: str, down: str | None, silent_vip: str | None
) -> dict[str, list[Any]]:
    rules = [r for g in prometheus_rule(plan)["spec"]["groups"] for r in g["rules"]]
    by: dict[str, list[Any]] = {name: [] for name in NAMES}
    nodes = len(plan.nodes)
    for r in rules:
        name = r["alert"]
        router = next((x for x in plan.routers if x.name == r["labels"].get("router")), None)
        if name in ("HcplbBGPSessionDown", "HcplbBFDSessionDown") and down and router:
            peer = (
                f"{router.address}:179"
                if style == "metallb" and name == "HcplbBGPSessionDown"
                else router.address
            )
            base = {
                "peer": peer,
                "pod": f"speaker-{down}",
                "namespace": "metallb-system",
                "vrf": "default",
            }
            by[name].append(_alert(r, base, "0"))
        if name == "HcplbAnnouncingNodesLow" and down:
            by[name].append(_alert(r, {}, str(nodes - 1)))
        if name == "HcplbVIPNotAnnounced" and silent_vip == r["labels"]["vip"]:
            by[name].append(_alert(r, {}, "0"))
    return by


def _promtool_test(
    promtool: str,
    tmp: Path,
    plan: SitePlan,
    cases: list[tuple[str, str | None, str | None]],
    *,
    claim_silent: str | None = None,
) -> None:
    """Run promtool on (exporter style, node down, VIP nobody announces) cases; `claim_silent`
    expects a VIP alert the series do not cause (to see the harness fail)."""
    rules_file = tmp / "rules.yaml"
    rules_file.write_text(yaml.safe_dump({"groups": prometheus_rule(plan)["spec"]["groups"]}))
    check = run([promtool, "check", "rules", str(rules_file)], timeout=60)
    assert check.ok, check.stdout + check.stderr
    tests = []
    for style, down, silent in cases:
        expected = _expected(plan, style, down, silent or claim_silent)
        tests.append(
            {
                "name": f"{style} down={down} silent={silent}",
                "interval": "1m",
                "input_series": _series(plan, style=style, down=down, silent_vip=silent),
                "alert_rule_test": [
                    {"eval_time": "10m", "alertname": name, "exp_alerts": expected[name]}
                    for name in NAMES
                ],
            }
        )
    test_file = tmp / "test.yaml"
    test_file.write_text(
        yaml.safe_dump(
            {"rule_files": [str(rules_file)], "evaluation_interval": "1m", "tests": tests}
        )
    )
    result = run([promtool, "test", "rules", str(test_file)], timeout=120)
    assert result.ok, result.stdout + result.stderr


@pytest.mark.parametrize("case", ["seed", "fleet", "no-bfd"])
def test_promtool_alerts_fire_when_they_should_and_only_then(
    promtool: str, tmp_path: Path, case: str
) -> None:
    plan, _ = load_case(case)
    first, vip = plan.nodes[0].name, plan.clusters[-1].vip
    _promtool_test(
        promtool,
        tmp_path,
        plan,
        [
            ("metallb", None, None),  # healthy: nothing fires
            ("frrk8s", None, None),
            ("metallb", first, None),  # a node down: its sessions, BFD, fewer announcing nodes
            ("frrk8s", first, None),
            ("metallb", None, vip),  # nobody announces one VIP
        ],
    )


def test_promtool_fails_when_an_expected_alert_does_not_fire(promtool: str, tmp_path: Path) -> None:
    plan, _ = load_case("seed")
    with pytest.raises(AssertionError, match="HcplbVIPNotAnnounced"):
        _promtool_test(
            promtool, tmp_path, plan, [("metallb", None, None)], claim_silent=plan.clusters[0].vip
        )

"""lint on PrometheusRule files: the alerts hcplb renders are what a user's rules are checked for."""

from __future__ import annotations

from pathlib import Path

from hcplb.lint.engine import lint_inputs, lint_paths, lint_site
from hcplb.lint.sources import read_texts
from tests.conftest import EXAMPLES

DATA = Path(__file__).resolve().parent / "data" / "alerts"


def _alert_findings(report_findings: tuple[object, ...]) -> list[str]:
    return [str(f) for f in report_findings if str(getattr(f, "rule", "")).startswith("alerts.")]


def test_the_rendered_rule_covers_every_alert() -> None:
    for site in ("seed.yaml", "fleet.yaml"):
        report = lint_site(EXAMPLES / site)
        assert _alert_findings(report.findings) == []
        assert not [f for f in report.findings if f.rule == "schema.invalid"]


def test_a_users_rules_missing_alerts_and_a_misspelt_metric() -> None:
    path = DATA / "user-rules.yaml"
    report = lint_paths([path])
    found = {(f.rule, f.line): f for f in report.findings if f.rule.startswith("alerts.")}
    unknown = found[("alerts.metric.unknown", 12)]
    assert "metallb_bgp_sessions_up" in unknown.message
    assert unknown.hint == "did you mean metallb_bgp_session_up?"
    missing = [f for f in report.findings if f.rule == "alerts.missing"]
    assert {f.line for f in missing} == {8}
    texts = " ".join(f.message + f.hint for f in missing)
    # the session alert counts as missing: its only metric does not exist
    # a recording rule on announced prefixes pages nobody: that alert is missing too
    for name in ("HcplbBGPSessionDown", "HcplbVIPNotAnnounced", "HcplbAnnouncingNodesLow"):
        assert name in texts
    # no BFD anywhere in these inputs: no BFD alert asked for
    assert "HcplbBFDSessionDown" not in texts
    assert ("alerts.annotations", 11) in found
    exact = found[("alerts.peer.port", 19)]
    assert 'MetalLB labels the peer ADDRESS:PORT ("192.168.125.1:179")' in exact.message
    assert exact.hint.startswith('match it with peer=~"192\\.168\\.125\\.1(:[0-9]+)?"')


def test_schema_errors_in_a_rule_are_located() -> None:
    text = (DATA / "user-rules.yaml").read_text().replace("for: 1m", "for: 1 minute")
    inputs, read = read_texts([("rules.yaml", text)])
    report = lint_inputs(inputs, read)
    schema = [f for f in report.findings if f.rule == "schema.invalid"]
    assert [(f.file, f.line) for f in schema] == [("rules.yaml", 13)]
    assert "1 minute" in schema[0].message


def test_no_rule_file_no_alert_findings() -> None:
    report = lint_paths([EXAMPLES / "seed.yaml"])
    assert _alert_findings(report.findings) == []

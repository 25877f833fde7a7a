"""Messages: nothing cut, every finding with a hint, `file:line` never split across lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hcplb.cli import app
from hcplb.lint.engine import lint_inputs, lint_paths
from hcplb.lint.sources import read_texts

from .conftest import ROOT

SET = ROOT / "tests" / "fixtures" / "realworld" / "openshift-operators"


@pytest.mark.parametrize("width", ["40", "80", "200"])
def test_the_text_report_never_splits_file_and_line(
    width: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", width)
    result = CliRunner().invoke(app, ["lint", str(SET)])
    report = lint_paths([SET])
    assert report.findings
    lines = result.output.splitlines()
    for f in report.findings:
        assert any(f.location in line for line in lines), (f.location, result.output)
    assert "…" not in result.output


def test_a_repeated_key_hints_at_a_missing_document_separator() -> None:
    text = (
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: a}\n"
        "spec: {addresses: [10.0.0.0/28]}\n"
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\n"
    )
    inputs, read = read_texts([("pools.yaml", text)])
    (dup,) = [f for f in lint_inputs(inputs, read).findings if f.rule == "read.yaml"]
    assert "`---`" in dup.hint


def test_show_running_config_banner_is_not_an_unknown_command(tmp_path: Path) -> None:
    conf = tmp_path / "running.conf"
    conf.write_text(
        "Building configuration...\n\nCurrent configuration:\n!\nfrr version 9.1\n"
        "router bgp 65010\n neighbor 10.0.0.2 remote-as 65011\n!\nend\n"
    )
    assert not [f for f in lint_paths([conf]).findings if f.rule == "frr.unknown"]

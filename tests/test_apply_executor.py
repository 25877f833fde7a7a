"""The apply executor over the fake Kubernetes API: one report per step, the CLI prints them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hcplb.apply.executor import Systems, execute, summary
from hcplb.apply.planner import ApplyOptions, plan_apply
from hcplb.cli import app
from hcplb.plan import plan_site
from hcplb.spec import load_site
from tests.conftest import EXAMPLES
from tests.kubefake import KubeFake
from tests.test_apply_cluster import POOL, _everything_stored, installed, stored


def _no_router(_step: object) -> Any:
    raise AssertionError("no router step in this plan")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HCPLB_BGP_PASSWORD", "s3cret-bgp")
    path = tmp_path / "seed.yaml"
    path.write_text(
        (EXAMPLES / "seed.yaml").read_text().replace("# password: {env:", "password: {env:")
    )
    return path


def _fake(site: Path) -> KubeFake:
    planned = plan_apply(
        plan_site(load_site(site).site), ApplyOptions(cluster=True), base_dir=site.parent
    )
    (step,) = planned.steps
    manifests = [dict(m) for m in step.manifests]  # type: ignore[union-attr]
    fake = installed()
    _everything_stored(fake, manifests)
    changed = dict(manifests[3], spec={**manifests[3]["spec"], "addresses": ["10.0.2.21/32"]})
    fake.add("PATCH", POOL, json=stored(changed))
    return fake


def test_dry_run_reports_each_object_the_same_way(site: Path) -> None:
    fake = _fake(site)
    planned = plan_apply(
        plan_site(load_site(site).site), ApplyOptions(cluster=True), base_dir=site.parent
    )
    systems = Systems(router=_no_router, kube=lambda: fake.client(field_manager="hcplb"))
    (report,) = execute(planned, systems, dry_run=True)
    assert report.system == "cluster"
    assert "IPAddressPool openshift-operators/hosted-hosted-api would configured" in report.changes
    assert "s3cret-bgp" not in repr(report)
    data = summary(planned, [report], dry_run=True)
    assert data["dry_run"] is True and data["site"] == "hypershift-lab"
    assert {o["kind"] for o in data["cluster"]} >= {"MetalLB", "IPAddressPool", "BGPPeer"}


def test_cli_prints_one_line_per_change(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _fake(site)
    monkeypatch.setattr(
        "hcplb.cli.apply_cmds.kube_client", lambda *_a, **_k: fake.client(field_manager="hcplb")
    )
    result = CliRunner().invoke(app, ["apply", str(site), "--cluster", "--dry-run"])
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("cluster: ")]
    assert "cluster: IPAddressPool openshift-operators/hosted-hosted-api would configured" in lines
    assert len(lines) == 6

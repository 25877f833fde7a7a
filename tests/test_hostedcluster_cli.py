"""`hcplb hostedcluster patch|check` from the command line."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

from typer.testing import CliRunner

from hcplb.cli import app
from tests.conftest import EXAMPLES, GOLDEN, UPSTREAM
from tests.test_hostedcluster_patch import example_site_text

FIXTURE = UPSTREAM / "hypershift" / "cli-render-fixtures" / "agent-minimal.yaml"


def site_file(tmp_path: Path) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(example_site_text())
    return path


def test_patch_writes_in_place_then_says_no_change(tmp_path: Path) -> None:
    target = tmp_path / "hc.yaml"
    shutil.copyfile(FIXTURE, target)
    site = site_file(tmp_path)
    first = CliRunner().invoke(app, ["hostedcluster", "patch", str(target), "--site", str(site)])
    assert first.exit_code == 0, first.output
    assert "spec.services[APIServer].servicePublishingStrategy" in first.output
    assert f"{target}: written" in first.output
    assert "note: clusters/example: spec.services[OIDC] left as NodePort" in first.output
    assert (
        target.read_text()
        == (GOLDEN / "hostedcluster-patch" / "agent-minimal.patched.yaml").read_text()
    )
    second = CliRunner().invoke(app, ["hostedcluster", "patch", str(target), "--site", str(site)])
    assert second.exit_code == 0 and f"{target}: no change" in second.output


def test_patch_dry_run_json_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "hc.yaml"
    shutil.copyfile(FIXTURE, target)
    args = [
        "hostedcluster",
        "patch",
        str(target),
        "--site",
        str(site_file(tmp_path)),
        "--dry-run",
        "-O",
        "json",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["changed"] and not data["written"] and data["matched"] == ["clusters/example"]
    assert target.read_text() == FIXTURE.read_text()


def test_patch_with_a_site_that_does_not_match_is_a_located_error(tmp_path: Path) -> None:
    target = tmp_path / "hc.yaml"
    shutil.copyfile(FIXTURE, target)
    result = CliRunner().invoke(
        app, ["hostedcluster", "patch", str(target), "--site", str(EXAMPLES / "seed.yaml")]
    )
    assert result.exit_code == 2
    assert result.output.startswith(
        f"{target}:1:1: error: no HostedCluster here matches the site (file has clusters/example; "
        "site has hosted/hosted)"
    )
    assert "Traceback" not in result.output


def test_check_with_an_unreachable_api_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: k, cluster: {{server: 'https://127.0.0.1:{port}', insecure-skip-tls-verify: true}}}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
    )
    args = [
        "hostedcluster",
        "check",
        "--site",
        str(EXAMPLES / "seed.yaml"),
        "--kubeconfig",
        str(kubeconfig),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert result.output.startswith(
        "reading HostedCluster hosted/hosted: cannot reach the Kubernetes API"
    )


def test_check_with_a_missing_kubeconfig(tmp_path: Path) -> None:
    args = [
        "hostedcluster",
        "check",
        "--site",
        str(EXAMPLES / "seed.yaml"),
        "--kubeconfig",
        str(tmp_path / "nope"),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert result.output.startswith(f"cannot use kubeconfig {tmp_path / 'nope'}")

"""`hcplb apply` from the command line: what it refuses, and how it says so (no traceback)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hcplb.cli import app
from tests.conftest import EXAMPLES

SEED = str(EXAMPLES / "seed.yaml")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["apply", *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output.strip()


def test_nothing_to_apply() -> None:
    assert run(SEED) == (1, "nothing to apply (hint: --router TARGET, --cluster and/or --dns)")


def test_dns_without_a_primary() -> None:
    assert run(SEED, "--dns") == (
        1,
        "no DNS primary: spec.dns.primary is not set (hint: set it, or pass --dns-server HOST[:PORT])",
    )


def test_dns_with_lab_is_refused_from_this_machine() -> None:
    code, text = run(SEED, "--lab", "x", "--dns")
    assert code == 1 and "run it from the lab's client: hcplb lab exec x client" in text


def test_unknown_router_target() -> None:
    code, text = run(SEED, "--router", "telnet://r1")
    assert code == 1 and text.startswith("unknown target 'telnet://r1'")


def test_ssh_without_known_hosts_entry(tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    code, text = run(SEED, "--router", "ssh://root@127.0.0.1:1", "--known-hosts", str(empty))
    assert code == 1 and text.startswith("ssh://root@127.0.0.1:1:")


def test_missing_secret_is_a_spec_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(
        (EXAMPLES / "seed.yaml").read_text().replace("# password: {env:", "password: {env:")
    )
    monkeypatch.delenv("HCPLB_BGP_PASSWORD", raising=False)
    code, text = run(str(site), "--router", "local")
    assert code == 2
    assert "spec.bgp.password: environment variable HCPLB_BGP_PASSWORD is not set" in text


def test_cluster_with_an_unreachable_api(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: k, cluster: {{server: 'https://127.0.0.1:{port}'}}}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
    )
    code, text = run(SEED, "--cluster", "--kubeconfig", str(kubeconfig))
    assert code == 1
    assert text.startswith("reading CRD metallbs.metallb.io: cannot reach the Kubernetes API")

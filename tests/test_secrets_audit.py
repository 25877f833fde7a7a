"""Secrets audit: a recognisable BGP password and TSIG secret never reach output, only their files.

Every CLI command that needs neither root nor a lab runs in-process with both secrets set
(`render`, `lint`, `import`, `verify SITE` without targets, `hostedcluster patch --dry-run`);
stdout, stderr and the `hcplb` log must not hold them (raw, base64 or decoded). Then the
redaction of text FRR echoes (frr-reload.py diffs, vtysh errors) and the reprs of objects
that carry a rendered frr.conf.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hcplb.apply.router import apply_router
from hcplb.cli import app
from hcplb.errors import TargetError
from hcplb.lint.frr.model import Neighbor
from hcplb.plan import plan_site
from hcplb.probes import vantage
from hcplb.probes.expect import expect_site
from hcplb.render import render_site, resolve_site_secrets
from hcplb.runner import Result
from hcplb.secrets import redact_config
from hcplb.spec import load_site
from hcplb.targets import Target
from tests.conftest import UPSTREAM

SITES = Path(__file__).resolve().parent / "sites"
SITE = SITES / "secrets-dns.yaml"
FIXTURE = UPSTREAM / "hypershift" / "cli-render-fixtures" / "agent-minimal.yaml"

# Not real secrets: recognisable canaries (the TSIG one is base64 of a recognisable text).
PASSWORD = "Canary-bgp-Q7x!#"
TSIG_PLAIN = b"canary-tsig-secret-Z9k"
TSIG = base64.b64encode(TSIG_PLAIN).decode()
NEEDLES = (PASSWORD, base64.b64encode(PASSWORD.encode()).decode(), TSIG, TSIG_PLAIN.decode())
SECRET_FILES = {"router/frr.conf", "cluster/bgp-password-secret.yaml", "dns/tsig.key"}


def _leaks(text: str) -> list[str]:
    return [n for n in NEEDLES if n in text]


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Both secrets in the environment; bug logs (handles_errors) go to tmp_path/tmp."""
    monkeypatch.setenv("HCPLB_TEST_BGP_PASSWORD", PASSWORD)
    monkeypatch.setenv("HCPLB_TEST_TSIG_SECRET", TSIG)
    bugs = tmp_path / "tmp"
    bugs.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(bugs))
    return bugs


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})
    text = result.output  # stdout and stderr, interleaved
    with contextlib.suppress(ValueError):  # and stderr alone, where the runner keeps it apart
        text += result.stderr
    assert not isinstance(result.exception, AssertionError | TypeError | KeyError), text
    return result.exit_code, text


def test_no_cli_output_holds_a_secret(
    secret_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    # verify from "this machine": record what would be sent instead of sending it (network rule)
    sent: list[Any] = []

    def no_packets(
        self: vantage.InProcess, tasks: Sequence[Any], *, timeout: float
    ) -> dict[str, Any]:
        sent.extend(tasks)
        return {}

    monkeypatch.setattr(vantage.InProcess, "run_tasks", no_packets)
    out = tmp_path / "out"
    hosted = tmp_path / "hostedcluster.yaml"
    shutil.copy(FIXTURE, hosted)
    patch_site = tmp_path / "site.yaml"
    patch_site.write_text(
        SITE.read_text().replace(
            "{name: hosted, namespace: hosted, baseDomain: hypershift.lab,",
            "{name: example, namespace: clusters, baseDomain: example.com,",
        )
    )
    imported = tmp_path / "imported.yaml"
    # each command with its exit code: 0 done/clean, 1 verify's probes failed (none answered)
    runs = [
        (0, "render", str(SITE), "-o", str(out), "-O", "json"),
        (0, "render", str(SITE), "-o", str(tmp_path / "out-table")),
        (0, "lint", str(out)),
        (0, "lint", str(out), "-O", "json"),
        (0, "lint", str(SITE)),
        (0, "lint", str(SITE), "-O", "json"),
        (0, "lint", str(SITE), str(out), "-O", "json"),
        (0, "import", str(out), "-o", "-"),
        (0, "import", str(out), "-o", str(imported)),
        (1, "verify", str(SITE)),
        (1, "verify", str(SITE), "-O", "json"),
        (0, "hostedcluster", "patch", str(hosted), "--site", str(patch_site), "--dry-run"),
        (0, "hostedcluster", "patch", str(hosted), "--site", str(patch_site), "--dry-run", "-O", "json"),
    ]  # fmt: skip
    for expected, *args in runs:
        code, text = _cli(*args)
        assert code == expected, (args, text)
        assert not _leaks(text), (args, _leaks(text))
    patched = _cli(*runs[-2][1:])[1]
    assert "spec.services" in patched and "dry run, not written" in patched  # it found the cluster
    assert hosted.read_text() == FIXTURE.read_text()
    assert not _leaks(imported.read_text())
    assert sent and not _leaks(repr(sent))  # the probes were asked for, none carries a secret
    assert not _leaks(caplog.text)
    assert not list(secret_env.glob("hcplb-bug-*"))


def test_secrets_only_in_the_secret_files_mode_0600(secret_env: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, text = _cli("render", str(SITE), "-o", str(out), "-O", "json")
    assert code == 0, text
    holders, modes = set(), {}
    for path in out.rglob("*"):
        if path.is_file():
            rel = path.relative_to(out).as_posix()
            modes[rel] = stat.S_IMODE(path.stat().st_mode)
            if _leaks(path.read_text()):
                holders.add(rel)
    assert holders == SECRET_FILES
    assert {p for p, m in modes.items() if m == 0o600} == SECRET_FILES
    assert all(m & 0o077 == 0 for p, m in modes.items() if p in SECRET_FILES)
    assert PASSWORD in (out / "router/frr.conf").read_text()
    assert TSIG in (out / "dns/tsig.key").read_text()
    assert not any(os.access(out / p, os.X_OK) for p in SECRET_FILES)


def test_reprs_do_not_show_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HCPLB_TEST_BGP_PASSWORD", PASSWORD)
    monkeypatch.setenv("HCPLB_TEST_TSIG_SECRET", TSIG)
    site = load_site(SITE).site
    secrets = resolve_site_secrets(site, base_dir=SITE.parent)
    rendered = render_site(site, secrets)
    frr = rendered.get("router/frr.conf")
    assert PASSWORD in frr.content
    expect = expect_site(plan_site(site), secrets, frr_confs={"frr": frr.content})
    neighbor = Neighbor("HCP-NODES", 3, "group", password=(PASSWORD, 3))
    for obj in (secrets, frr, rendered, expect, expect.routers[0], neighbor):
        assert not _leaks(repr(obj)), type(obj).__name__


def test_redact_config_hides_unknown_passwords() -> None:
    text = "line 3: % Unknown command: neighbor HCP password old-one x\nenable password p2"
    assert redact_config(text, [PASSWORD]) == (
        "line 3: % Unknown command: neighbor HCP password <redacted> x\nenable password <redacted>"
    )


class _Router(Target):
    """A router that already runs an older password and answers with canned FRR output."""

    name = "fake-router"

    def __init__(self, check_rc: int = 0) -> None:
        self.check_rc = check_rc

    def run(self, argv: Sequence[str], *, timeout: float, input: str | None = None) -> Result:
        joined = " ".join(argv)
        out, rc = "", 0
        if "frr-reload.py" in joined and "--test" not in joined:  # where is frr-reload.py?
            out = "/usr/lib/frr/frr-reload.py\n"
        elif argv[:2] == ["vtysh", "-C"] or tuple(argv[:2]) == ("vtysh", "-C"):
            rc = self.check_rc
            out = f"line 40: % Unknown command[25]:  neighbor HCP-NODES password {PASSWORD} x\n"
        elif "show running-config" in joined:
            out = "router bgp 64512\n neighbor HCP-NODES password old-secret-pw\n"
        elif "--test" in joined:
            out = (
                "\nLines To Delete\n===============\nrouter bgp 64512\n"
                " neighbor HCP-NODES password old-secret-pw\n"
                "\nLines To Add\n============\nrouter bgp 64512\n"
                f" neighbor HCP-NODES password {PASSWORD}\n"
            )
        return Result(tuple(argv), rc, out, "", 0.0)


def _router_case(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any, str]:
    monkeypatch.setenv("HCPLB_TEST_BGP_PASSWORD", PASSWORD)
    monkeypatch.setenv("HCPLB_TEST_TSIG_SECRET", TSIG)
    site = load_site(SITE).site
    rendered = render_site(site, resolve_site_secrets(site, base_dir=SITE.parent))
    plan = plan_site(site)
    return plan, plan.routers[0], rendered.get("router/frr.conf").content


def test_apply_dry_run_diff_hides_the_old_password_too(monkeypatch: pytest.MonkeyPatch) -> None:
    plan, router, conf = _router_case(monkeypatch)
    report = apply_router(_Router(), plan, router, conf, secrets=[PASSWORD], dry_run=True)
    shown = "\n".join(report.diff)
    assert "password <redacted>" in shown
    assert "old-secret-pw" not in shown and PASSWORD not in shown and not _leaks(repr(report))


def test_apply_rejected_config_error_hides_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    plan, router, conf = _router_case(monkeypatch)
    with pytest.raises(TargetError) as err:
        apply_router(_Router(check_rc=1), plan, router, conf, secrets=())
    assert "FRR rejects the new config" in str(err.value)
    assert PASSWORD not in str(err.value) and "password <redacted>" in str(err.value)

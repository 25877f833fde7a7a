"""Sites the cluster/hostedcluster/dns/runbook render tests share, and their golden-file check."""

from __future__ import annotations

import base64
import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest

from hcplb.plan import SitePlan, plan_site
from hcplb.render import RenderedSite, render_site
from hcplb.render.profile import parse_profile
from hcplb.render.secrets import Secrets, resolve_site_secrets
from hcplb.spec import load_site
from tests.conftest import EXAMPLES, GOLDEN

SITES = Path(__file__).resolve().parent / "sites"
CASES = {
    "seed": EXAMPLES / "seed.yaml",
    "fleet": EXAMPLES / "fleet.yaml",
    "secrets-dns": SITES / "secrets-dns.yaml",
    "per-node-asn": SITES / "per-node-asn.yaml",
    "mixed-asn": SITES / "mixed-asn.yaml",
    "two-routers": SITES / "two-routers.yaml",
    "no-bfd": SITES / "no-bfd.yaml",
    "ibgp": SITES / "ibgp.yaml",
    "dynamic": SITES / "dynamic.yaml",
    "password": SITES / "password.yaml",
    "ipv6": EXAMPLES / "ipv6.yaml",
    "dualstack": EXAMPLES / "dualstack.yaml",
    "dualstack-sessions": SITES / "dualstack-sessions.yaml",
}
PROFILES = ("hcplb", "guide")

# Not real secrets: values with characters that must be carried as they are.
TEST_PASSWORD = "hcplb-test-md5!#$x"
TEST_TSIG = base64.b64encode(b"hcplb-test-tsig-not-a-real-key!!").decode()


def set_secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HCPLB_TEST_BGP_PASSWORD", TEST_PASSWORD)
    monkeypatch.setenv("HCPLB_TEST_TSIG_SECRET", TEST_TSIG)
    monkeypatch.setenv("HCPLB_TSIG_SECRET", TEST_TSIG)  # examples/fleet-shared.yaml


def load_case(case: str) -> tuple[SitePlan, Secrets]:
    """The plan and resolved secrets of a case (set_secret_env first)."""
    site = load_site(CASES[case]).site
    return plan_site(site), resolve_site_secrets(site, base_dir=CASES[case].parent)


def render_case(case: str, profile: str = "hcplb") -> RenderedSite:
    site = load_site(CASES[case]).site
    secrets = resolve_site_secrets(site, base_dir=CASES[case].parent)
    return render_site(site, secrets, profile=parse_profile(profile))


def under(rendered: RenderedSite, prefix: str) -> dict[str, str]:
    """The rendered files whose path starts with prefix, keyed by the rest of the path."""
    return {
        f.path.removeprefix(prefix): f.content for f in rendered.files if f.path.startswith(prefix)
    }


def check_golden(files: Mapping[str, str], directory: Path, update: bool) -> None:
    """Byte-identical to tests/golden/...; `pytest --update-golden` rewrites the directory."""
    if update:
        shutil.rmtree(directory, ignore_errors=True)
        for name, content in files.items():
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            (directory / name).write_text(content, encoding="utf-8")
    on_disk = {
        str(p.relative_to(directory)): p.read_text(encoding="utf-8")
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }
    where = directory.relative_to(GOLDEN)
    assert sorted(on_disk) == sorted(files), f"{where}: file set differs (pytest --update-golden)"
    for name, content in files.items():
        assert content == on_disk[name], f"{where}/{name} differs (pytest --update-golden)"

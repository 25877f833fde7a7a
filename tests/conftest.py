"""Shared fixtures: the seed site, the upstream data in tests/upstream/, tool and lab gating.

No test reads outside the repository: upstream projects' files the tests compare against are in
tests/upstream/ (see its README.md), the CRDs in src/hcplb/data/crds/.

Under CI=true nothing that `make setup` installs may be missing: a test that needs such a tool,
root, or the lab's prerequisites fails instead of skipping (`need_tool`, `need_root`,
`missing`). A data folder that is missing or has the wrong number of files is a collection
error (`data_files`), so a test never shrinks to fewer cases.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

from hcplb.spec import LoadedSite, load_site

if TYPE_CHECKING:
    from hcplb.lab import Lab

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GOLDEN = Path(__file__).resolve().parent / "golden"
UPSTREAM = Path(__file__).resolve().parent / "upstream"
CRDS = ROOT / "src" / "hcplb" / "data" / "crds"
CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")

# Each tool a test needs, and the Debian package of APT_PACKAGES (Makefile) that brings it.
SETUP_TOOLS = {
    "vtysh": "frr",
    "named": "bind9",
    "named-checkzone": "bind9",  # bind9-utils, a dependency of bind9
    "sshd": "openssh-server",
    "ssh-keygen": "openssh-client",
    "kubectl": "kubernetes-client",
    "git": "git",
    "chromium": "chromium",
    "promtool": "prometheus",
    "strace": "strace",
    "dot": "graphviz",
    "stress-ng": "stress-ng",
    "tc": "iproute2",
}


class DataError(Exception):
    """A data folder of the tests is missing or incomplete (a collection error, not a skip)."""


def data_files(
    folder: Path, pattern: str, count: int | None = None, *, at_least: int = 1
) -> list[Path]:
    """The files of `folder` matching `pattern`, sorted: exactly `count` of them (upstream data,
    which changes only on refresh) or at least `at_least` (folders the team adds to), or
    DataError."""
    found = sorted(folder.glob(pattern))
    if len(found) != count if count is not None else len(found) < at_least:
        where = folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder
        state = "missing" if not folder.is_dir() else f"{len(found)} files match {pattern}"
        want = f"expected {count}" if count is not None else f"expected at least {at_least}"
        hint = " (see tests/upstream/README.md)" if folder.is_relative_to(UPSTREAM) else ""
        raise DataError(f"{where}: {state}, {want}{hint}")
    return found


def missing(reason: str) -> NoReturn:
    """Skip for `reason`; under CI=true fail, as CI must have what `make setup` installs."""
    if CI:
        pytest.fail(f"{reason} (CI=true: make setup must provide it)", pytrace=False)
    pytest.skip(reason)


def need_tool(tool: str) -> str:
    """The path of a tool `make setup` installs (see SETUP_TOOLS), or `missing`."""
    path = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/usr/bin")
    if path is None:
        missing(f"{tool} not installed (Debian {SETUP_TOOLS[tool]}; run make setup)")
    return path


def need_root(why: str) -> None:
    if os.geteuid() != 0:
        missing(f"{why} needs root")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite golden files")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def seed() -> LoadedSite:
    return load_site(EXAMPLES / "seed.yaml")


@functools.cache
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
    if reason is None or CI:
        return  # under CI, pytest_runtest_setup fails them instead
    for item in items:
        if "lab" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_runtest_setup(item: pytest.Item) -> None:
    reason = lab_ready()
    if CI and reason is not None and "lab" in item.keywords:
        pytest.fail(f"lab test cannot run under CI=true: {reason}", pytrace=False)


@contextlib.contextmanager
def running_lab(
    tmp_path_factory: pytest.TempPathFactory, site: Path, name: str, *, timeout: float = 90
) -> Iterator[Lab]:
    """A lab of `site` under a private labs directory, brought down afterwards (also after a
    failure); for module-scoped lab fixtures."""
    from hcplb.lab import down, up

    labs = tmp_path_factory.mktemp("labs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HCPLB_LAB_DIR", str(labs))
        try:
            yield up(site, name, timeout=timeout)
        finally:
            if (labs / name).exists():
                down(name)

"""The repository is self-contained: upstream data is inside it, with its provenance, and the
suite reads nothing beside the repository."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from hcplb.runner import run
from tests.conftest import CRDS, ROOT, SETUP_TOOLS, UPSTREAM, DataError, data_files, need_tool
from tests.upstream_sources import MANIFESTS, WRITTEN, git_blob, read_sources, refresh

NOT_LISTED = {"README.md", "SOURCES.md"}


@pytest.mark.parametrize("folder", [UPSTREAM, CRDS], ids=["tests-upstream", "data-crds"])
def test_every_file_has_its_row_and_verbatim_files_their_blob(folder: Path) -> None:
    sources = read_sources(MANIFESTS[folder])
    files = {
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and p.name not in NOT_LISTED and "__pycache__" not in p.parts
    }
    listed = {s.file for s in sources}
    # a new file needs its row: add it (any blob) and run make upstream-refresh, or write `-`
    # as its blob when it was written for hcplb (see tests/upstream/README.md, "Updating")
    assert sorted(files - listed) == [], f"files without a row in {MANIFESTS[folder].name}"
    assert sorted(listed - files) == [], f"rows without a file in {MANIFESTS[folder].name}"
    assert len(listed) == len(sources), "a file listed twice"
    changed = [
        s.file for s in sources if s.verbatim and git_blob((folder / s.file).read_bytes()) != s.blob
    ]
    assert changed == []
    for source in sources:
        assert re.fullmatch(r"[0-9a-f]{40}", source.revision), source.file
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", source.upstream), source.file
        assert source.licence.startswith("Apache-2.0"), source.file


def test_copied_golden_folders_are_whole() -> None:
    """The three golden folders as MetalLB/frr-k8s have them (the frr-k8s backend reads two)."""
    golden = UPSTREAM / "metallb" / "golden"
    assert len(data_files(golden / "frr", "*.golden", 10)) == 10
    assert len(data_files(golden / "frrk8s", "*.golden", 3)) == 3
    assert len(data_files(golden / "frr-k8s-internal", "*.golden", 4)) == 4


def test_a_missing_or_short_data_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="missing, expected 3"):
        data_files(tmp_path / "gone", "*.yaml", 3)
    (tmp_path / "a.yaml").write_text("")
    with pytest.raises(DataError, match=r"1 files match \*\.yaml, expected 3"):
        data_files(tmp_path, "*.yaml", 3)
    assert data_files(tmp_path, "*.yaml", 1) == [tmp_path / "a.yaml"]


def _git(repo: Path, *args: str) -> str:
    result = run([need_tool("git"), "-C", str(repo), *args], timeout=60)
    assert result.ok, result.stderr
    return result.stdout.strip()


TABLE = """\
# test data

| file | upstream | path | revision | git blob | licence |
|------|----------|------|----------|----------|---------|
| `copy.golden` | acme/up | `testdata/x.golden` | {rev} | {blob} | Apache-2.0 |
| `case.input.yaml` | acme/up | `x_test.go::TestX` | {rev} | - | Apache-2.0 (derived) |

Prose after the table stays.
"""


def test_refresh_copies_verbatim_files_and_flags_derived_ones(tmp_path: Path) -> None:
    up = tmp_path / "up"
    (up / "testdata").mkdir(parents=True)
    _git(up, "init", "-q")
    (up / "testdata" / "x.golden").write_text("old\n")
    (up / "x_test.go").write_text("package x\n")
    _git(up, "add", ".")
    _git(up, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "one")
    first = _git(up, "rev-parse", "HEAD")
    (up / "testdata" / "x.golden").write_text("new\n")
    (up / "x_test.go").write_text("package x // changed\n")
    _git(up, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "two")
    second = _git(up, "rev-parse", "HEAD")

    data = tmp_path / "data"
    data.mkdir()
    (data / "copy.golden").write_text("old\n")
    (data / "case.input.yaml").write_text("mine\n")
    manifest = data / "README.md"
    manifest.write_text(TABLE.format(rev=first, blob=git_blob(b"old\n")))

    notes = refresh(data, manifest, {"acme/up": up})

    assert notes == ["updated: copy.golden", "check by hand: case.input.yaml (x_test.go changed)"]
    assert (data / "copy.golden").read_text() == "new\n"
    assert (data / "case.input.yaml").read_text() == "mine\n"
    copy, derived = read_sources(manifest)
    assert (copy.revision, copy.blob) == (second, git_blob(b"new\n"))
    assert (derived.revision, derived.blob) == (first, WRITTEN)  # moved by hand, after review
    assert manifest.read_text().endswith("Prose after the table stays.\n")
    # nothing changed upstream: nothing to say, nothing rewritten
    assert refresh(data, manifest, {"acme/up": up}) == [
        "check by hand: case.input.yaml (x_test.go changed)"
    ]
    (data / "copy.golden").unlink()
    (data / "copy.golden").symlink_to(tmp_path / "elsewhere")
    manifest.write_text(TABLE.format(rev=first, blob=git_blob(b"old\n")))
    with pytest.raises(ValueError, match="symlink"):
        refresh(data, manifest, {"acme/up": up})
    assert not (tmp_path / "elsewhere").exists()


def test_setup_installs_every_tool_the_tests_need() -> None:
    """`need_tool` fails under CI=true: each tool's package must be one `make setup` installs."""
    makefile = (ROOT / "Makefile").read_text()
    packages = set(re.search(r"^APT_PACKAGES := (.*)$", makefile, re.M)[1].split())  # type: ignore[index]
    commands = dict(
        pair.split(":")
        for pair in re.search(r"^APT_COMMANDS := (.*)$", makefile, re.M)[1].split()  # type: ignore[index]
    )
    assert set(SETUP_TOOLS.values()) <= packages | set(commands.values())


# Spelled in pieces so this file does not find itself.
OUTSIDE = [re.escape("/work" + "/"), re.escape("shared" + "/reference"), r"\.\./" + "shared"]
OUTSIDE += [re.escape("ROOT" + ".parent"), re.escape("parent.parent" + ".parent")]


def test_no_test_benchmark_or_make_target_names_a_path_outside() -> None:
    texts = [ROOT / "Makefile", ROOT / ".ci" / "run", ROOT / "pyproject.toml"]
    for folder in ("tests", "benchmarks"):
        texts += [
            p for p in (ROOT / folder).rglob("*.py") if p.is_file() and "upstream" not in p.parts
        ]
    pattern = re.compile("|".join(OUTSIDE))
    hits = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in texts
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if pattern.search(line)
    ]
    assert hits == []


def _copy_of_the_repository(target: Path) -> Path:
    junk = shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "*.egg-info"
    )
    shutil.copytree(ROOT, target, ignore=junk, symlinks=True)
    return target


def _collect(root: Path) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    argv = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    result = run([*argv, str(root / "tests")], timeout=600, env=env)
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-3000:]
    ids = result.stdout.split("\n\n", 1)[0]  # the ids come first, then a blank line
    return [line for line in ids.splitlines() if "::" in line]


def _this_run(config: pytest.Config, items: list[pytest.Item]) -> list[str] | None:
    """The ids this run collected, when it collected the whole suite unfiltered (`make test`)."""
    start = config.invocation_params.dir
    whole = [(start / a).resolve() for a in config.args] in ([ROOT / "tests"], [ROOT])
    option = config.option
    filtered = option.keyword or option.markexpr or option.deselect or option.ignore
    filtered = filtered or getattr(option, "lf", False)  # the cache plugin's, when loaded
    return [item.nodeid for item in items] if whole and not filtered else None


@pytest.mark.slow
def test_a_copy_alone_in_an_empty_directory_collects_the_same_suite(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A clone with nothing beside it: same tests, and nothing found only beside the repo."""
    copy = _copy_of_the_repository(tmp_path / "hcplb")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hcplb"]
    here = _this_run(request.config, request.session.items) or _collect(ROOT)
    assert sorted(_collect(copy)) == sorted(here)

"""Writes never follow a symlink, never replace what hcplb did not write, and get exact modes
whatever the umask: `render -o`, `import -o` and the one atomic-write helper."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from hcplb.errors import FileError
from hcplb.fsutil import make_dir, read_limited, write_atomic
from hcplb.render.files import MARKER

from .gen import SEED
from .harness import assert_handled, hcplb

SECRET_SEED = SEED.replace("    # password: {env: HCPLB_BGP_PASSWORD}", "    password: {file: pw}")


def _site(tmp_path: Path, text: str = SEED) -> Path:
    spec = tmp_path / "site.yaml"
    spec.write_text(text)
    pw = tmp_path / "pw"
    pw.write_text("s3cret\n")
    pw.chmod(0o600)
    return spec


def _tree(root: Path) -> dict[str, int]:
    return {
        str(p.relative_to(root)): stat.S_IMODE(p.lstat().st_mode) for p in sorted(root.rglob("*"))
    }


# -- the helper ------------------------------------------------------------------------------


def test_write_atomic_refuses_a_symlink_and_leaves_its_target(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    link = tmp_path / "out.yaml"
    link.symlink_to(victim)
    with pytest.raises(FileError, match="symbolic link"):
        write_atomic(link, "evil\n")
    assert victim.read_text() == "precious\n"
    assert link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.yaml", "victim"]


@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_write_atomic_refuses_a_non_regular_target(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "t"
    os.mkfifo(target) if kind == "fifo" else target.mkdir()
    with pytest.raises(FileError, match="refusing to replace it"):
        write_atomic(target, "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t"]


@pytest.mark.parametrize("umask", [0o000, 0o077, 0o777])
def test_write_atomic_and_make_dir_modes_ignore_the_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        write_atomic(tmp_path / "secret", "x", mode=0o600)
        write_atomic(tmp_path / "public", "x", mode=0o644)
        make_dir(tmp_path / "a" / "b", 0o700)
    finally:
        os.umask(old)
    assert _tree(tmp_path) == {"a": 0o755, "a/b": 0o700, "public": 0o644, "secret": 0o600}


def test_write_atomic_without_replace_refuses_an_existing_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("old")
    with pytest.raises(FileError, match="exists"):
        write_atomic(tmp_path / "f", "new", replace=False)
    assert (tmp_path / "f").read_text() == "old"


def test_read_limited_refuses_fifo_device_and_oversize(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")  # opened without a writer: must not block
    with pytest.raises(FileError, match="a FIFO"):
        read_limited(tmp_path / "fifo", 100)
    with pytest.raises(FileError, match="character device"):
        read_limited(Path("/dev/zero"), 100)
    (tmp_path / "big").write_bytes(b"x" * 101)
    with pytest.raises(FileError, match="more than the limit of 100"):
        read_limited(tmp_path / "big", 100)
    assert read_limited(tmp_path / "big", 101) == b"x" * 101


# -- render -o -------------------------------------------------------------------------------


@pytest.mark.parametrize("umask", ["000", "077"])
def test_render_modes_whatever_the_umask(tmp_path: Path, umask: str) -> None:
    _site(tmp_path, SECRET_SEED)
    answer = hcplb("render", "site.yaml", "-o", "out", cwd=tmp_path, umask=int(umask, 8))
    assert answer.rc == 0, str(answer)
    tree = _tree(tmp_path / "out")
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755
    dirs = {p: m for p, m in tree.items() if (tmp_path / "out" / p).is_dir()}
    secret_dirs = {p for p, m in dirs.items() if m == 0o700}
    assert secret_dirs, f"a directory holding the password should be 0700: {dirs}"
    assert all(m in (0o755, 0o700) for m in dirs.values()), dirs
    files = {p: m for p, m in tree.items() if p not in dirs}
    assert all(m in (0o644, 0o600, 0o755, 0o700) for m in files.values()), files
    for p, m in files.items():
        if "s3cret" in (tmp_path / "out" / p).read_text():
            assert m == 0o600, p
            assert str(Path(p).parent) in secret_dirs


def test_render_force_never_replaces_a_directory_it_did_not_write(tmp_path: Path) -> None:
    _site(tmp_path)
    answer = hcplb("render", "site.yaml", "-o", ".", "--force", cwd=tmp_path)
    assert_handled(answer, rc=1)
    assert "not written by hcplb render" in answer.stderr
    assert (tmp_path / "site.yaml").read_text() == SEED


def test_render_force_never_replaces_the_specs_directory(tmp_path: Path) -> None:
    _site(tmp_path)
    assert hcplb("render", "site.yaml", "-o", "out", cwd=tmp_path).rc == 0
    (tmp_path / "site.yaml").rename(tmp_path / "out" / "site.yaml")
    answer = hcplb("render", "out/site.yaml", "-o", "out", "--force", cwd=tmp_path)
    assert_handled(answer, rc=1)
    assert "holds the spec" in answer.stderr
    assert (tmp_path / "out" / "site.yaml").read_text() == SEED


def test_render_force_replaces_its_own_output(tmp_path: Path) -> None:
    _site(tmp_path)
    assert hcplb("render", "site.yaml", "-o", "out", cwd=tmp_path).rc == 0
    assert (tmp_path / "out" / MARKER).is_file()
    answer = hcplb("render", "site.yaml", "-o", "out", "--force", cwd=tmp_path)
    assert answer.rc == 0, str(answer)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "pw", "site.yaml"]


def test_render_through_a_symlink_replaces_nothing(tmp_path: Path) -> None:
    _site(tmp_path)
    assert hcplb("render", "site.yaml", "-o", "real", cwd=tmp_path).rc == 0
    before = _tree(tmp_path / "real")
    (tmp_path / "out").symlink_to("real")
    for force in ((), ("--force",)):
        answer = hcplb("render", "site.yaml", "-o", "out", *force, cwd=tmp_path)
        assert_handled(answer, rc=1)
        assert "symbolic link" in answer.stderr
    assert (tmp_path / "out").is_symlink()
    assert _tree(tmp_path / "real") == before


def test_render_cleans_what_a_killed_render_left(tmp_path: Path) -> None:
    _site(tmp_path)
    for leftover in (".out.out.abc123", ".out.out.old"):
        (tmp_path / leftover / "router").mkdir(parents=True)
        (tmp_path / leftover / MARKER).write_text("")
        (tmp_path / leftover / "router" / "frr.conf").write_text("password s3cret\n")
    (tmp_path / ".out.out.notours").mkdir()  # no marker: not hcplb's, left alone
    answer = hcplb("render", "site.yaml", "-o", "out", cwd=tmp_path)
    assert answer.rc == 0, str(answer)
    hidden = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("."))
    assert hidden == [".out.out.notours"]


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("afile", "is a regular file, not a directory"),
        ("afile/below", "afile: is a regular file, not a directory"),
        ("/proc/hcplb-hostile", "cannot write"),
        ("/proc/self/hcplb-hostile", "cannot write"),
        ("/dev/null", "is a character device"),
    ],
)
def test_render_to_impossible_places_is_a_clear_error(
    tmp_path: Path, out: str, message: str
) -> None:
    _site(tmp_path)
    (tmp_path / "afile").write_text("keep\n")
    answer = hcplb("render", "site.yaml", "-o", out, cwd=tmp_path)
    assert_handled(answer, rc=1)
    assert message in answer.stderr, str(answer)
    assert (tmp_path / "afile").read_text() == "keep\n"


# -- import -o -------------------------------------------------------------------------------


def _rendered(tmp_path: Path) -> Path:
    _site(tmp_path)
    assert hcplb("render", "site.yaml", "-o", "out", cwd=tmp_path).rc == 0
    return tmp_path / "out"


def test_import_never_writes_through_a_symlink(tmp_path: Path) -> None:
    _rendered(tmp_path)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (tmp_path / "site2.yaml").symlink_to(victim)
    answer = hcplb("import", "out", "-o", "site2.yaml", "--force", cwd=tmp_path)
    assert_handled(answer, rc=1)
    assert "symbolic link" in answer.stderr
    assert victim.read_text() == "precious\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site2")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("out", "-o", "adir", "--force"), "is a directory"),
        (("out", "-o", "/missing/x"), "/missing: no such directory"),
        (("missing.conf", "-o", "new.yaml"), "no such file"),
        (("out", "-o", "existing.yaml"), "exists"),
    ],
)
def test_import_errors_are_clear(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    _rendered(tmp_path)
    (tmp_path / "adir").mkdir()
    (tmp_path / "existing.yaml").write_text("keep\n")
    answer = hcplb("import", *args, cwd=tmp_path)
    assert_handled(answer, rc=1)
    assert message in answer.stderr, str(answer)
    assert not (tmp_path / "new.yaml").exists()
    assert (tmp_path / "existing.yaml").read_text() == "keep\n"

"""Rendered files and writing them atomically (a failed render leaves no partial directory)."""

from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from hcplb.errors import FileError, RenderError
from hcplb.fsutil import describe_mode, make_dir, remove_tree, write_atomic


@dataclass(frozen=True)
class RenderedFile:
    """One output file: path relative to the output directory, text, mode, and whether it holds a secret."""

    path: str
    content: str = field(repr=False)  # a secret file holds the password or TSIG key
    mode: int = 0o644
    secret: bool = False
    kind: str = ""

    @property
    def size(self) -> int:
        return len(self.content.encode())


@dataclass(frozen=True)
class RenderedSite:
    files: tuple[RenderedFile, ...]

    def get(self, path: str) -> RenderedFile:
        for f in self.files:
            if f.path == path:
                return f
        raise KeyError(path)

    def paths(self) -> list[str]:
        return [f.path for f in self.files]


MARKER = ".hcplb-rendered"
_MARKER_TEXT = "This directory was written by `hcplb render`; --force may replace it.\n"


def _leftovers(out_dir: Path) -> list[Path]:
    """Hidden work directories of an earlier render of `out_dir` that was killed."""
    found = []
    for entry in out_dir.parent.glob(f".{out_dir.name}.out.*"):
        if not entry.is_symlink() and entry.is_dir() and (entry / MARKER).is_file():
            found.append(entry)
    return found


def _check_replaceable(out_dir: Path, force: bool, keep: Path | None) -> bool:
    """True when `out_dir` exists (as a directory hcplb may replace); RenderError otherwise."""
    try:
        st = os.lstat(out_dir)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise RenderError(f"{out_dir}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(st.st_mode):
        raise RenderError(
            f"{out_dir} is a symbolic link; hcplb never writes through one "
            "(hint: pass the directory it points to)"
        )
    if not stat.S_ISDIR(st.st_mode):
        raise RenderError(f"{out_dir} exists and is {describe_mode(st.st_mode)}, not a directory")
    if not any(out_dir.iterdir()):
        return True
    if not force:
        raise RenderError(f"{out_dir} exists and is not empty (hint: pass --force to replace it)")
    if not (out_dir / MARKER).is_file():
        raise RenderError(
            f"{out_dir} was not written by hcplb render; --force replaces only a rendered "
            "directory (hint: choose a new output directory)"
        )
    if keep is not None and keep.resolve().is_relative_to(out_dir.resolve()):
        raise RenderError(
            f"{out_dir} holds the spec being rendered ({keep}); refusing to replace it"
        )
    return True


def write_rendered(
    rendered: RenderedSite, out_dir: Path, *, force: bool = False, keep: Path | None = None
) -> None:
    """Write every file into a hidden sibling directory, then move it into place at once.

    An existing non-empty `out_dir` is replaced only with `force`, only when hcplb rendered it
    (its marker file), never when it holds `keep` (the spec) and never through a symlink. Each
    directory gets 0755, or 0700 when it holds a secret, whatever the umask. Work directories a
    killed render left behind are removed first; on failure `out_dir` is left as it was.
    """
    out_dir = Path(os.path.abspath(out_dir))
    try:
        make_dir(out_dir.parent)
    except FileError as exc:
        raise RenderError(f"cannot write {out_dir}: {exc}") from None
    exists = _check_replaceable(out_dir, force, keep)
    for leftover in _leftovers(out_dir):
        remove_tree(leftover)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.out.", dir=out_dir.parent))
    except OSError as exc:
        raise RenderError(f"cannot write {out_dir}: {exc.strerror or exc}") from None
    old = out_dir.with_name(f".{out_dir.name}.out.old")
    try:
        write_atomic(tmp / MARKER, _MARKER_TEXT)
        secret_dirs = {str(PurePosixPath(f.path).parent) for f in rendered.files if f.secret}
        for f in rendered.files:
            parent = PurePosixPath(f.path).parent
            for depth in range(1, len(parent.parts) + 1):
                rel = PurePosixPath(*parent.parts[:depth])
                make_dir(tmp / rel, 0o700 if str(rel) in secret_dirs else 0o755, parents=False)
            write_atomic(tmp / f.path, f.content, mode=f.mode, replace=False)
        os.chmod(tmp, 0o755)
        if exists:
            remove_tree(old)
            out_dir.rename(old)
            tmp.rename(out_dir)
            remove_tree(old)
        else:
            tmp.rename(out_dir)
    except (OSError, FileError) as exc:
        remove_tree(tmp)
        text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise RenderError(f"cannot write {out_dir}: {text}") from None
    except BaseException:
        remove_tree(tmp)
        raise

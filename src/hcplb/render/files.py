"""Rendered files and writing them atomically (a failed render leaves no partial directory)."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hcplb.errors import RenderError


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


def write_rendered(rendered: RenderedSite, out_dir: Path, *, force: bool = False) -> None:
    """Write every file into a temporary sibling directory, then move it into place at once.

    An existing `out_dir` is replaced only with `force` (or when empty); on any failure the
    temporary directory is removed and `out_dir` is left as it was.
    """
    out_dir = out_dir.resolve()
    if out_dir.exists() and any(out_dir.iterdir()) and not force:
        raise RenderError(f"{out_dir} exists and is not empty (hint: pass --force to replace it)")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        for f in rendered.files:
            target = tmp / f.path
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, f.mode)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(f.content)
            os.chmod(target, f.mode)
        os.chmod(tmp, 0o755)
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out_dir.rename(old)
            tmp.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out_dir)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RenderError(f"cannot write {out_dir}: {exc}") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

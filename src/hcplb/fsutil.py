"""Files hcplb reads and writes, safe against hostile paths (it often runs as root).

The one home for:
- `write_atomic`: a file replaced at once through a temporary created with O_EXCL|O_NOFOLLOW in
  the target's own directory; an existing symlink or non-regular file is refused, never followed;
- `make_dir`: a directory with an exact mode, whatever the umask;
- `read_limited`: a regular file read with a size limit, so a FIFO, /dev/zero or a 50 MB file
  fails at once instead of blocking or eating memory.

Errors are `FileError`s whose message names the path; callers turn them into located problems.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import secrets
import shutil
import stat
from pathlib import Path

from hcplb.errors import FileError

__all__ = [
    "FileError",
    "describe_mode",
    "make_dir",
    "owner_ids",
    "read_limited",
    "remove_tree",
    "write_atomic",
]

_KIND = {
    stat.S_IFREG: "a regular file",
    stat.S_IFDIR: "a directory",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFLNK: "a symbolic link",
}


def describe_mode(mode: int) -> str:
    """'a FIFO', 'a directory', ... for a st_mode that is not a regular file."""
    return _KIND.get(stat.S_IFMT(mode), "not a regular file")


def _strerror(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _open_dir(directory: Path) -> int:
    try:
        return os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise FileError(f"{directory}: no such directory") from None
    except NotADirectoryError:
        raise FileError(f"{directory}: not a directory") from None
    except OSError as exc:
        raise FileError(f"{directory}: {_strerror(exc)}") from None


def _existing(name: str, dir_fd: int) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def write_atomic(
    path: Path,
    data: str | bytes,
    *,
    mode: int = 0o644,
    replace: bool = True,
    owner: tuple[int, int] | None = None,
) -> None:
    """Write `path` at once: readers see the old file or the new one, never a part.

    A symlink or non-regular file at `path` is refused (never followed, never replaced); with
    `replace=False` any existing file is refused. The mode is exact (the umask does not apply);
    `owner` (uid, gid) is set on the temporary before it takes the name (a chown after could
    follow a link someone swapped in).
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        dir_fd = _open_dir(path.parent)
    except FileError as exc:
        raise FileError(f"cannot write {path}: {exc}") from None
    tmp = ""
    try:
        current = _existing(path.name, dir_fd)
        if current is not None:
            if not stat.S_ISREG(current.st_mode):
                raise FileError(
                    f"{path}: is {describe_mode(current.st_mode)}; refusing to replace it"
                )
            if not replace:
                raise FileError(f"{path}: exists (hint: pass --force to replace it)")
        tmp = f".{path.name[:200]}.{secrets.token_hex(6)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(tmp, flags, 0o600, dir_fd=dir_fd)
        try:
            if owner is not None:
                os.fchown(fd, *owner)
            os.fchmod(fd, mode)
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(tmp, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        tmp = ""
    except OSError as exc:
        raise FileError(f"{path}: cannot write: {_strerror(exc)}") from None
    finally:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)
        os.close(dir_fd)


def owner_ids(user: str) -> tuple[int, int]:
    """(uid, gid) of a system user and its group of the same name (e.g. frr)."""
    return pwd.getpwnam(user).pw_uid, grp.getgrnam(user).gr_gid


def make_dir(path: Path, mode: int = 0o755, *, parents: bool = True) -> None:
    """Create `path` (and missing parents) with exactly `mode`; an existing directory is
    left as it is, anything else at that name is refused."""
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise FileError(f"{path}: {_strerror(exc)}") from None
    if st is not None:
        # a symlink to a directory is fine as a parent (/var/run); only targets are never links
        if stat.S_ISDIR(st.st_mode) or (stat.S_ISLNK(st.st_mode) and os.path.isdir(path)):
            return
        raise FileError(f"{path}: is {describe_mode(st.st_mode)}, not a directory")
    if parents and path.parent != path:
        make_dir(path.parent, 0o755, parents=True)
    try:
        os.mkdir(path, 0o700)
        os.chmod(path, mode, follow_symlinks=False)
    except FileExistsError:
        if not os.path.isdir(path) or os.path.islink(path):
            raise FileError(f"{path}: appeared while creating it and is not a directory") from None
    except OSError as exc:
        raise FileError(f"{path}: cannot create directory: {_strerror(exc)}") from None


def read_limited(path: Path, limit: int) -> bytes:
    """The bytes of a regular file no larger than `limit`.

    Opened without blocking (a FIFO does not hang) and checked on the open descriptor (no race
    between the check and the read); a file that grows past the limit while read is refused too.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise FileError(f"{path}: no such file") from None
    except OSError as exc:
        raise FileError(f"{path}: cannot read: {_strerror(exc)}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileError(f"{path}: is {describe_mode(st.st_mode)}, not a regular file")
        if st.st_size > limit:
            raise FileError(f"{path}: is {st.st_size} bytes, more than the limit of {limit}")
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise FileError(f"{path}: grew past the limit of {limit} bytes while read")
        return b"".join(chunks)
    except OSError as exc:
        raise FileError(f"{path}: cannot read: {_strerror(exc)}") from None
    finally:
        os.close(fd)


def remove_tree(path: Path) -> None:
    """Remove a directory tree without following symlinks in it (best effort)."""
    try:
        st = os.lstat(path)
    except OSError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            os.unlink(path)

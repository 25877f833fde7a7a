"""One lock per lab name, so `lab up` and `lab down` of the same lab never run at once.

The lock is an `flock` on `<labs root>/.locks/<name>.lock`, outside the lab's directory (which
`down` removes); the holder writes "<pid> <action>" into it, so `down` can tell an `up` in
progress and stop it (SIGTERM to that pid: `up` then removes what it built and exits). The
kernel drops the lock when its holder dies, even by SIGKILL.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from hcplb.errors import LabError
from hcplb.fsutil import make_dir
from hcplb.lab.state import check_name, labs_root
from hcplb.settings import LAB_DOWN_WAIT

LOCKS_DIR = ".locks"


class Stopped(LabError):
    """`lab up` was stopped by `lab down` (SIGTERM) while it was building."""


@dataclass(frozen=True)
class Holder:
    pid: int
    action: str


def lock_path(name: str) -> Path:
    return labs_root() / LOCKS_DIR / f"{check_name(name)}.lock"


def _open(name: str) -> int:
    path = lock_path(name)
    make_dir(path.parent, 0o700)
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        return os.open(path, flags, 0o600)
    except OSError as exc:
        raise LabError(f"cannot open the lock of lab {name}: {path}: {exc.strerror}") from None


def _try(name: str, action: str) -> int | None:
    """The locked descriptor, or None when another process holds the lock."""
    while True:
        fd = _open(name)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        # a `down` may have unlinked the file between our open and our lock: lock the new one
        try:
            same = os.stat(lock_path(name)).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {action}\n".encode(), 0)
            return fd
        os.close(fd)


def holder(name: str) -> Holder | None:
    """Who holds the lab's lock (None when nobody does, or it is not written yet)."""
    try:
        text = lock_path(name).read_text(encoding="utf-8", errors="replace").split()
    except OSError:
        return None
    if len(text) != 2 or not text[0].isdigit():
        return None
    return Holder(int(text[0]), text[1])


def _release(name: str, fd: int, *, unlink: bool) -> None:
    if unlink or not (labs_root() / name).exists():
        with contextlib.suppress(OSError):
            os.unlink(lock_path(name))
    os.close(fd)


@contextlib.contextmanager
def locked(name: str, action: str, *, unlink: bool = False) -> Iterator[None]:
    """Hold lab `name`'s lock for `action`; LabError at once if another process holds it.

    The lock file is removed on release when the lab no longer exists (or with `unlink`)."""
    fd = _try(name, action)
    if fd is None:
        who = holder(name)
        busy = f"`lab {who.action}` (pid {who.pid})" if who else "another hcplb"
        raise LabError(
            f"lab {name} is busy: {busy} is working on it (hint: wait, or `hcplb lab down {name}`)"
        )
    try:
        yield
    finally:
        _release(name, fd, unlink=unlink)


@contextlib.contextmanager
def taken_over(name: str, action: str, *, wait: float = LAB_DOWN_WAIT) -> Iterator[Holder | None]:
    """Hold the lock, stopping an `up` that holds it: SIGTERM, then SIGKILL after `wait` s.

    Yields the `up` that was stopped, if any. An `up` left by SIGKILL leaves its processes and
    namespaces to the caller (`down` removes them from the journal and the namespaces).
    """
    stopped: Holder | None = None
    deadline = time.monotonic() + wait
    sent: set[tuple[int, signal.Signals]] = set()  # each signal once: up's cleanup runs once
    while True:
        fd = _try(name, action)
        if fd is not None:
            break
        who = holder(name)
        if who is not None and who.action == "up" and who.pid != os.getpid():
            sig = signal.SIGKILL if time.monotonic() > deadline else signal.SIGTERM
            if (who.pid, signal.SIGKILL) in sent and time.monotonic() > deadline + wait:
                raise LabError(f"lab {name}: `lab up` (pid {who.pid}) does not stop")
            if (who.pid, sig) not in sent:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(who.pid, sig)
                sent.add((who.pid, sig))
            stopped = who
        elif time.monotonic() > deadline + wait:
            busy = f"`lab {who.action}` (pid {who.pid})" if who else "another hcplb"
            raise LabError(f"lab {name} is busy: {busy} holds it")
        time.sleep(0.05)
    try:
        yield stopped
    finally:
        _release(name, fd, unlink=True)


_STOP_MESSAGE = "stopped by `hcplb lab down` while building; everything it built is removed"


class _Request:
    """Set by the SIGTERM handler; `checkpoint()` acts on it. A flag rather than an exception
    raised from the handler: that could land inside any `except` and be swallowed, or land in
    the middle of the cleanup itself."""

    stop = False


def checkpoint() -> None:
    """Raise `Stopped` when a `lab down` asked this build to stop (SIGTERM)."""
    if _Request.stop:
        raise Stopped(_STOP_MESSAGE)


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """A SIGTERM sets the stop request that `checkpoint()` turns into `Stopped`. Only in the
    main thread (signals are delivered there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(_signum: int, _frame: FrameType | None) -> None:
        _Request.stop = True

    _Request.stop = False
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        _Request.stop = False

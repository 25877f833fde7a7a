"""Lab processes: start them detached, recognise them by pid *and* command line, stop them.

A lab process is started as `ip netns exec ... enter ARGV`; every stage of that exec chain
keeps the same pid and has a command line ending with ARGV, so "pid alive and its
/proc/<pid>/cmdline ends with ARGV" identifies it even if the pid was reused since.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from hcplb.runner import child_env

# Children of this process, kept so they can be reaped (a zombie still has a /proc entry).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def spawn(argv: Sequence[str], *, log: Path) -> int:
    """Start argv in its own session with output appended to `log`; return its pid."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env=child_env(),
        )
    _CHILDREN[proc.pid] = proc
    return proc.pid


def cmdline(pid: int) -> tuple[str, ...] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return tuple(part.decode(errors="replace") for part in raw.split(b"\0")[:-1])


def alive(pid: int) -> bool:
    """Running (not a zombie, not gone)."""
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        del _CHILDREN[pid]
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X")


def is_ours(pid: int, argv: Sequence[str]) -> bool:
    """The pid is alive and still runs argv (its command line ends with it)."""
    line = cmdline(pid)
    if not line or not alive(pid):
        return False
    tail = tuple(argv)
    return line[-len(tail) :] == tail if tail else False


def stop(pids: Iterable[int], *, grace: float = 3.0) -> list[int]:
    """SIGTERM, wait up to `grace` s, then SIGKILL; returns the pids still alive after that."""
    pending = [p for p in set(pids) if alive(p)]
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        for pid in pending:
            with contextlib.suppress(ProcessLookupError):
                # a lab process leads its own session: its group holds what it forked
                if os.getpgid(pid) == pid:
                    os.killpg(pid, sig)
                else:
                    os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while pending and time.monotonic() < deadline:
            pending = [p for p in pending if alive(p)]
            if pending:
                time.sleep(0.02)
        if not pending:
            break
    return pending


def rss_kib(pid: int) -> int:
    """Resident memory of a process in KiB (0 when gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory_kib(pid: int) -> tuple[int, int]:
    """(PSS, RSS) of a process in KiB from /proc/PID/smaps_rollup ((0, 0) when gone).

    PSS (proportional set size) charges each shared page to its sharers in equal parts, so
    summing it over processes counts a library that 33 FRR daemons map once, not 33 times."""
    found = {"Pss:": 0, "Rss:": 0}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key = line.split(None, 1)[0] if line else ""
            if key in found:
                found[key] = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return 0, 0
    return found["Pss:"], found["Rss:"]


def exit_note(log: Path, lines: int = 3) -> str:
    """The last lines of a process log, for an error message."""
    try:
        tail = log.read_text(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return ""
    return " | ".join(tail)


def marked(variable: str) -> dict[int, str]:
    """pid -> value, for every running process whose environment sets `variable`.

    How lab processes are found after their namespace left `ip netns list` (the lab's
    `enter` script exports the marker). Needs root to read other users' environments.
    """
    prefix = f"{variable}=".encode()
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        for item in environ.split(b"\0"):
            if item.startswith(prefix):
                pid = int(entry.name)
                if alive(pid):
                    found[pid] = item[len(prefix) :].decode(errors="replace")
                break
    return found

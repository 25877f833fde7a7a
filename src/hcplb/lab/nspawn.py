"""Booted routers, low level: the systemd-nspawn command, entering a container, taking it apart.

A booted router (`lab up --router-host systemd`) is a Debian 12 that boots systemd inside the
router's lab namespace:

    mount -t overlay overlay -o lowerdir=IMAGE,upperdir=U,workdir=W <lab>/hosts/R/root
    systemd-nspawn --register=no --keep-unit --network-namespace-path=/run/netns/NS -b -D ...

Every router sees the cached image through its own overlay (copy-on-write: the 250 MB image is
never copied); its changes land in the upper directory inside the lab directory. The overlay's
mount point is journalled (`LabState.mounts`) before it is mounted and the nspawn process like
any lab process, so `lab down` unmounts and removes everything also after `lab up` was killed.
Commands run inside with `nsenter -t <container's systemd> -a`; that pid is looked up at each
call (the container's systemd is the nspawn process's child, and a reboot replaces it).

nspawn itself does not reboot a container: it exits with status 133 and leaves the restart to
its service manager. The lab has none, so the journalled process is a small supervisor, `sh -c`
restarting nspawn while it exits with 133 (`systemctl reboot` in the router works as on a
machine). Shutdown: SIGTERM to nspawn (the container powers off), then the supervisor ends.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import time
from collections.abc import Sequence
from pathlib import Path

from hcplb.errors import LabError
from hcplb.lab import procs
from hcplb.lab.state import LabState, ProcessRecord
from hcplb.runner import run

ROLE = "nspawn"
ROUTER_HOSTS = ("netns", "systemd")
SHUTDOWN_GRACE = 20.0
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_EXPORT_DIRS = (Path("/run/systemd/nspawn/unix-export"), Path("/run/systemd/nspawn/propagate"))


def machine_name(lab: str, router: str) -> str:
    """nspawn's machine name: unique per lab and router (it names files under /run)."""
    return f"hcplb-{lab}-{router}"[:64]


def nspawn_argv(*, netns: str, root: Path, router: str, machine: str) -> list[str]:
    return [
        "systemd-nspawn",
        "--register=no",  # no systemd on the machine to register with
        "--keep-unit",
        f"--network-namespace-path=/run/netns/{netns}",
        "--private-network",  # with the path: that namespace, and /proc/sys/net writable
        f"--machine={machine}",
        f"--hostname={router}",
        "--link-journal=no",  # never touch the machine's /var/log/journal
        "--resolv-conf=off",
        "--timezone=off",
        "--console=read-only",
        "--boot",
        f"--directory={root}",
    ]


REBOOT_STATUS = 133  # systemd-nspawn's exit status when the container asked for a reboot


def supervised_argv(netns: str, argv: Sequence[str]) -> list[str]:
    """argv run again each time it exits with the reboot status (see the module docstring).

    Between two boots the namespace's firewall is emptied, as a real reboot empties the
    kernel's: rules come back only if the router persisted them. (The namespace itself, its
    links, addresses and sysctls outlive the reboot.)"""
    flush = f"ip netns exec {shlex.quote(netns)} nft flush ruleset"
    script = f'while "$@"; [ $? -eq {REBOOT_STATUS} ]; do {flush}; done'
    return ["sh", "-c", script, "hcplb-nspawn-supervisor", *argv]


def overlay_argv(*, lower: Path, upper: Path, work: Path, merged: Path) -> list[str]:
    options = f"lowerdir={lower},upperdir={upper},workdir={work}"
    return ["mount", "-t", "overlay", "overlay", "-o", options, str(merged)]


def nspawn_record(state: LabState, router: str) -> ProcessRecord | None:
    records = [p for p in state.processes if p.host == router and p.role == ROLE]
    return records[-1] if records else None


def _children(pid: int) -> list[int]:
    children: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                children += [int(c) for c in (task / "children").read_text().split()]
    return [c for c in children if procs.alive(c)]


def nspawn_pid(supervisor: int) -> int | None:
    """The running systemd-nspawn under the supervisor (None between two boots)."""
    for child in _children(supervisor):
        line = procs.cmdline(child)
        if line and Path(line[0]).name == "systemd-nspawn":
            return child
    return None


def leader_pid(supervisor: int) -> int | None:
    """The container's PID 1 seen from here: the child of nspawn in another pid namespace."""
    nspawn = nspawn_pid(supervisor)
    if nspawn is None:
        return None
    for child in _children(nspawn):
        if _pid_namespace(child) != _pid_namespace(nspawn):
            return child
    return None


def _pid_namespace(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return ""


def leader_of(state: LabState, router: str) -> int:
    """The running container's PID 1 for `router`; LabError when the router is not booted."""
    record = nspawn_record(state, router)
    if record is None or record.pid is None or not procs.is_ours(record.pid, record.argv):
        raise LabError(
            f"router {router} of lab {state.name} is not running (its systemd-nspawn exited) "
            f"(hint: `hcplb lab status {state.name}`; `hcplb lab down {state.name}`)"
        )
    pid = leader_pid(record.pid)
    if pid is None:  # the supervisor is starting nspawn again
        raise LabError(f"router {router} of lab {state.name} is between boots; try again")
    return pid


def enter_argv(state: LabState, router: str, argv: Sequence[str]) -> list[str]:
    """argv run inside the booted router: all its namespaces, a clean root environment."""
    env = ["env", "-i", f"PATH={PATH}", "HOME=/root", "LANG=C.UTF-8"]
    if os.environ.get("TERM"):
        env.append(f"TERM={os.environ['TERM']}")
    return ["nsenter", "-t", str(leader_of(state, router)), "-a", "--", *env, *argv]


def shutdown(state: LabState) -> list[int]:
    """Power every booted router off (SIGTERM to its nspawn) and wait for the supervisors.

    Returns the supervisor and nspawn pids still alive after the grace period, for the
    caller to kill (nspawn runs outside the lab's namespaces, so no sweep finds it)."""
    supervisors = [
        p.pid
        for p in state.processes
        if p.role == ROLE and p.pid is not None and procs.is_ours(p.pid, p.argv)
    ]
    nspawns = [n for n in map(nspawn_pid, supervisors) if n is not None]
    for pid in nspawns:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + SHUTDOWN_GRACE
    pending = supervisors + nspawns
    while pending and time.monotonic() < deadline:
        pending = [p for p in pending if procs.alive(p)]
        if pending:
            time.sleep(0.1)
    return pending


def mounts_under(directory: Path) -> list[str]:
    """Mount points at or below `directory`, deepest first."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    points = [_unescape(line.split()[4]) for line in lines if len(line.split()) > 4]
    prefix = f"{directory}/"
    return sorted({p for p in points if p.startswith(prefix)}, key=len, reverse=True)


def _unescape(field: str) -> str:
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n")


def unmount(state: LabState | None, directory: Path) -> list[str]:
    """Unmount the lab's overlays (journalled ones and any other mount inside its directory)."""
    recorded = list(state.mounts) if state is not None else []
    present = mounts_under(directory)
    doomed = [m for m in present if m not in recorded] + [m for m in recorded if m in present]
    for point in doomed:
        result = run(["umount", point], timeout=30)
        if not result.ok:  # still busy: detach it, it goes when the last user does
            run(["umount", "--lazy", point], timeout=30)
    left = mounts_under(directory)
    if left:
        raise LabError(f"cannot unmount {left[0]}; not removing the lab directory")
    return doomed


def remove_runtime_files(state: LabState | None) -> None:
    """nspawn's per-machine directories under /run (left behind when nspawn was killed)."""
    if state is None:
        return
    for record in state.processes:
        if record.role != ROLE:
            continue
        machine = next((a.split("=", 1)[1] for a in record.argv if a.startswith("--machine=")), "")
        for parent in _EXPORT_DIRS:
            path = parent / machine
            if machine and path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)

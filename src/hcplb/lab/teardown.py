"""`remove()`: take a lab apart from its journal, also one whose build was killed half way.

Order: processes (recorded pids whose command line still matches, anything else living in the
lab's namespaces, and anything carrying the lab's marker in its environment, which finds a
process whose namespace `ip netns` no longer lists), then the namespaces (their links go with
them), then the directory. A missing, unreadable or corrupt journal, or a lab directory that
is a symlink, still lets everything findable be removed.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass

from hcplb.errors import LabError
from hcplb.fsutil import remove_tree
from hcplb.lab import netns, nspawn, procs
from hcplb.lab.hostfs import LAB_MARKER
from hcplb.lab.lock import taken_over
from hcplb.lab.state import (
    LabState,
    check_name,
    lab_dir,
    lab_names,
    labs_root,
    netns_prefix,
    read_state,
)


def _state(name: str) -> LabState | None:
    with contextlib.suppress(LabError):
        return read_state(name)
    return None


def remove(name: str) -> list[str]:
    """Remove every process, namespace, link and file of lab `name`; returns what was removed.

    The caller holds the lab's lock (`up` cleaning after itself, or `down`)."""
    directory = lab_dir(name)
    try:
        mode: int | None = os.lstat(directory).st_mode
    except FileNotFoundError:
        mode = None
    is_dir = mode is not None and stat.S_ISDIR(mode)
    state = _state(name) if is_dir else None
    prefix = netns_prefix(name)
    recorded = list(state.namespaces) if state is not None else []
    namespaces = recorded + [
        n for n in netns.namespaces() if n.startswith(prefix) and n not in recorded
    ]
    pids: set[int] = set()
    if state is not None:
        # booted routers power off cleanly; what did not in time is killed below
        pids |= set(nspawn.shutdown(state))
        pids |= {
            p.pid for p in state.processes if p.pid is not None and procs.is_ours(p.pid, p.argv)
        }
    for ns in namespaces:
        pids |= set(netns.pids_in(ns))
    pids |= {pid for pid, where in procs.marked(LAB_MARKER).items() if where == str(directory)}
    if mode is None and not pids and not namespaces:
        raise LabError(f"no lab named {name!r} under {directory.parent} (hint: `hcplb lab list`)")
    left = procs.stop(pids)
    if left:
        raise LabError(f"lab {name}: processes {sorted(left)} did not stop; not removing the lab")
    netns.delete_namespaces(namespaces)
    if is_dir:
        nspawn.unmount(state, directory)  # booted routers' overlays, before their files go
    nspawn.remove_runtime_files(state)
    if mode is not None:
        remove_tree(directory)  # a symlink is removed, never what it points to
    return [f"{len(pids)} processes", f"{len(namespaces)} namespaces", str(directory)]


def down(name: str) -> list[str]:
    """Remove lab `name`; an `up` still building it is stopped first (it removes what it
    built), and whatever it left is removed here."""
    check_name(name)
    with taken_over(name, "down") as stopped:
        if stopped is not None and not os.path.lexists(lab_dir(name)):
            return [f"stopped `lab up` (pid {stopped.pid}), which removed what it had built"]
        return remove(name)


@dataclass(frozen=True)
class Orphan:
    """Something of a lab that no lab directory under this labs root accounts for."""

    kind: str  # "namespace" or "process"
    what: str
    lab: str


def orphans() -> list[Orphan]:
    """Namespaces named after a lab with no directory here, and marked processes whose lab
    directory is gone (e.g. left by a `lab up` killed while `lab down` ran)."""
    known = set(lab_names())
    found = []
    for ns in netns.namespaces():
        if ns.startswith("hcplb-") and "." in ns:
            lab = ns.removeprefix("hcplb-").split(".", 1)[0]
            if lab not in known:
                found.append(Orphan("namespace", ns, lab))
    root = str(labs_root())
    for pid, where in sorted(procs.marked(LAB_MARKER).items()):
        if where.startswith(root + "/") and not os.path.isdir(where):
            found.append(Orphan("process", f"{pid} {' '.join(procs.cmdline(pid) or ())}", where))
    return found

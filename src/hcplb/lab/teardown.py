"""`remove()`: take a lab apart from its journal, also one whose build was killed half way.

Order: processes (recorded pids whose command line still matches, plus anything else living
in the lab's namespaces), then the namespaces (their links go with them), then the directory.
"""

from __future__ import annotations

import shutil

from hcplb.errors import LabError
from hcplb.lab import netns, nspawn, procs
from hcplb.lab.state import lab_dir, netns_prefix, read_state


def remove(name: str) -> list[str]:
    """Remove every process, namespace, link and file of lab `name`; returns what was removed."""
    directory = lab_dir(name)
    if not directory.is_dir():
        raise LabError(f"no lab named {name!r} under {directory.parent} (hint: `hcplb lab list`)")
    state = read_state(name)
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
    left = procs.stop(pids)
    if left:
        raise LabError(f"lab {name}: processes {sorted(left)} did not stop; not removing the lab")
    netns.delete_namespaces(namespaces)
    nspawn.unmount(state, directory)  # booted routers' overlays, before their files go
    nspawn.remove_runtime_files(state)
    shutil.rmtree(directory)
    return [f"{len(pids)} processes", f"{len(namespaces)} namespaces", str(directory)]

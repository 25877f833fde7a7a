"""The API stand-in of a lab: its config, its one process, and changes while it runs.

One process (`apiserver.py`) serves every node's HTTPS listeners on every VIP, each socket
made inside its node's namespace. Its config is `<lab>/apiserver.json`; a change is written
with the next generation, signalled with SIGHUP and waited for (`apiserver.json.applied`
holds the generation the process has applied), so when a call here returns, the listeners
are open or closed. `stop_node`/`start_node` close and reopen one node's listeners (the
`api-stop` fault); `set_cluster`/`remove_cluster` add and remove a VIP on every node.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from hcplb.errors import LabError
from hcplb.fsutil import write_atomic
from hcplb.lab import pki
from hcplb.lab.core import Lab
from hcplb.lab.procs import alive, exit_note
from hcplb.lab.topology import SWITCH
from hcplb.settings import LAB_SETUP_TIMEOUT

CONFIG = "apiserver.json"
ROLE = "apiserver"
PORT = 6443
SCRIPT = str(Path(__file__).with_name("apiserver.py"))
NETNS_DIR = "/run/netns"


def config_path(lab: Lab) -> Path:
    return lab.state_dir / CONFIG


def issue_cert(
    ca: pki.Ca, cluster: str, namespace: str, names: Sequence[str], vip: str
) -> pki.Issued:
    """The serving certificate of one hosted cluster's API (its names, the in-cluster names
    kube-apiserver also serves, and the VIP), next to the lab CA."""
    return pki.issue(
        ca,
        ca.cert_file.parent,
        namespace,
        dns_names=[*names, *pki.KUBERNETES_NAMES],
        ips=[vip],
    )


def listeners(
    lab: Lab, nodes: Iterable[str], vip: str, cluster: str, cert: pki.Issued
) -> list[dict[str, Any]]:
    """One listener per node for the VIP (kube-proxy: every node serves every VIP)."""
    return [
        {
            "node": node,
            "netns": f"{NETNS_DIR}/{lab.host(node).netns}",
            "address": vip,
            "port": PORT,
            "cert": str(cert.cert_file),
            "key": str(cert.key_file),
            "cluster": cluster,
        }
        for node in nodes
    ]


def write_config(lab: Lab, specs: Sequence[dict[str, Any]]) -> None:
    """The first config (generation 1), before the process starts."""
    _write(lab, {"generation": 1, "stopped": [], "listeners": list(specs)})


def start(lab: Lab) -> int:
    """Start the stand-in (as the switch host: it enters each node's namespace itself) and
    wait until it listens."""
    pid = lab.spawn(SWITCH, ROLE, [sys.executable, "-I", "-S", SCRIPT, str(config_path(lab))])
    _wait_applied(lab, _read(lab)["generation"], pid)
    return pid


def read_config(lab: Lab) -> dict[str, Any]:
    return _read(lab)


def stop_node(lab: Lab, node: str) -> None:
    """Close every listener of the node (its clients are refused, as by a stopped server)."""
    config = _read(lab)
    _change(lab, {**config, "stopped": sorted({*config["stopped"], node})})


def start_node(lab: Lab, node: str) -> None:
    """Reopen the node's listeners, with the certificate files as they are now."""
    config = _read(lab)
    _change(lab, {**config, "stopped": [n for n in config["stopped"] if n != node]})


def stopped_nodes(lab: Lab) -> list[str]:
    return list(_read(lab)["stopped"])


def set_cluster(lab: Lab, cluster: str, specs: Sequence[dict[str, Any]]) -> None:
    """Serve `cluster` with exactly these listeners (added, or replacing its old ones)."""
    config = _read(lab)
    kept = [s for s in config["listeners"] if s["cluster"] != cluster]
    _change(lab, {**config, "listeners": [*kept, *specs]})


def remove_cluster(lab: Lab, cluster: str) -> None:
    config = _read(lab)
    kept = [s for s in config["listeners"] if s["cluster"] != cluster]
    _change(lab, {**config, "listeners": kept})


def _read(lab: Lab) -> dict[str, Any]:
    try:
        config: dict[str, Any] = json.loads(config_path(lab).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LabError(f"lab {lab.name}: cannot read the API stand-in config: {exc}") from None
    return config


def _write(lab: Lab, config: dict[str, Any]) -> None:
    write_atomic(config_path(lab), json.dumps(config, indent=1))


def _change(lab: Lab, config: dict[str, Any]) -> None:
    generation = int(config["generation"]) + 1
    _write(lab, {**config, "generation": generation})
    running = [p.pid for p in lab.processes(SWITCH, ROLE) if p.pid is not None]
    if not running:
        raise LabError(
            f"lab {lab.name}: the API stand-in is not running (hint: `hcplb lab down "
            f"{lab.name}` and up again)"
        )
    os.kill(running[0], signal.SIGHUP)
    _wait_applied(lab, generation, running[0])


def _wait_applied(lab: Lab, generation: int, pid: int, timeout: float = LAB_SETUP_TIMEOUT) -> None:
    applied = config_path(lab).with_name(CONFIG + ".applied")
    deadline = time.monotonic() + timeout
    while True:
        try:
            if int(applied.read_text().strip() or 0) >= generation:
                return
        except (OSError, ValueError):
            pass
        if not alive(pid):
            log = lab.host_dir(SWITCH) / "log" / f"{ROLE}.log"
            raise LabError(f"lab {lab.name}: the API stand-in exited: {exit_note(log)}")
        if time.monotonic() > deadline:
            raise LabError(
                f"lab {lab.name}: the API stand-in did not apply its config within {timeout:g} s"
            )
        time.sleep(0.02)

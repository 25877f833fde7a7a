"""Faults on a running lab's node, and their exact undoing: fail, heal, drain.

    fail(lab, "master-0", "down")   # the node's switch port down: it vanishes from the network
    heal(lab, "master-0")           # undo every fault of that node, wait for full ECMP again
    drain(lab, "master-1")          # MetalLB's exclude label: withdraw, wait for the routers

Modes: `down` (bridge port down, as a pulled cable), `freeze` (SIGSTOP the node's FRR
daemons; the kernel keeps forwarding and the API stand-in keeps serving), `bgp-stop`
(SIGKILL bgpd, a crash), `api-stop` (the API stand-in closes the node's listeners, so its
clients are refused as by a stopped server). Only pids the lab recorded
are signalled. What was done is kept in `<lab>/faults.json` so that `heal` from another
process undoes exactly that: SIGCONT the same pids, respawn a daemon with its recorded argv
(with its part of the host's current frr.conf: the `-f` file rewritten, else `vtysh -b -d
bgpd`), put the port up, or reload the node's original frr.conf.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from hcplb.errors import LabError
from hcplb.fsutil import owner_ids, write_atomic
from hcplb.lab import converge, frr, pin, standin
from hcplb.lab.cluster import simulate_site
from hcplb.lab.core import Lab
from hcplb.lab.watch import FibWatch, announced_by, full_ecmp, open_connections, withdrawn
from hcplb.metallb import EXCLUDE_LABEL
from hcplb.render import resolve_site_secrets
from hcplb.runner import run
from hcplb.secrets import redact_config
from hcplb.settings import (
    COMMAND_TIMEOUT,
    CONVERGE_TIMEOUT,
    FRR_START_TIMEOUT,
)

__all__ = [
    "FRR_ROLES",
    "MODES",
    "Drained",
    "Fault",
    "Healed",
    "Mode",
    "drain",
    "drained_config",
    "fail",
    "faults_of",
    "heal",
    "load_node_config",
    "restore_config",
]

Mode = Literal["down", "freeze", "bgp-stop", "api-stop", "drain", "config"]
MODES: tuple[str, ...] = ("down", "freeze", "bgp-stop", "api-stop")
FRR_ROLES = ("zebra", "bgpd", "bfdd", "staticd")
FAULTS_FILE = "faults.json"
ORIGINALS_DIR = "faults"
_ROUTER_KINDS: tuple[converge.Kind, ...] = ("sessions", "routes")


@dataclass(frozen=True)
class Fault:
    """One fault in force: what was done to the node, when (Unix time), and what to undo."""

    node: str
    mode: str
    at: float
    pids: tuple[int, ...] = ()
    argv: tuple[str, ...] = ()
    detail: str = ""


@dataclass(frozen=True)
class Healed:
    node: str
    undone: tuple[str, ...]
    ecmp_s: float
    """from the start of the heal until every router's FIB had every nexthop again"""
    converged_s: float
    """... and every session was Established again (checked at a coarser interval)"""


@dataclass(frozen=True)
class Drained:
    node: str
    at: float
    """when the drained config started loading (Unix time)"""
    withdrawn_s: float
    """from loading the drained config until no router had the node as a nexthop"""
    routers: tuple[str, ...]
    open_connections: int
    """API connections the node still served then (they end on their own; new ones go elsewhere)"""


# -- the fault journal ---------------------------------------------------------------------


def _faults_path(lab: Lab) -> Path:
    return lab.state_dir / FAULTS_FILE


def _read(lab: Lab) -> list[Fault]:
    path = _faults_path(lab)
    if not path.exists():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    return [
        Fault(**{**f, "pids": tuple(f["pids"]), "argv": tuple(f["argv"])}) for f in data["faults"]
    ]


def _write(lab: Lab, faults: Sequence[Fault]) -> None:
    data = json.dumps({"faults": [asdict(f) for f in faults]}, indent=1)
    write_atomic(_faults_path(lab), data, mode=0o600)


def faults_of(lab: Lab, node: str | None = None) -> list[Fault]:
    """Faults in force (on `node`, or on every node)."""
    return [f for f in _read(lab) if node is None or f.node == node]


def _record(lab: Lab, fault: Fault) -> Fault:
    _write(lab, [*_read(lab), fault])
    return fault


# -- node FRR configuration ----------------------------------------------------------------


def _original(lab: Lab, node: str) -> Path:
    return lab.state_dir / ORIGINALS_DIR / f"{node}.frr.conf"


def load_node_config(lab: Lab, node: str, text: str) -> None:
    """Make `text` the node's /etc/frr/frr.conf and reload it into its running FRR.

    The first replacement keeps the lab's original for `heal`.
    """
    etc = lab.host_dir(node) / "etc/frr/frr.conf"
    original = _original(lab, node)
    if not original.exists():
        original.parent.mkdir(mode=0o700, exist_ok=True)
        shutil.copy2(etc, original)
    lab.reload_frr(node, text)


def restore_config(lab: Lab, node: str) -> bool:
    """Reload the node's original frr.conf if it was replaced; whether it was."""
    original = _original(lab, node)
    if not original.exists():
        return False
    load_node_config(lab, node, original.read_text())
    original.unlink()
    return True


def drained_config(lab: Lab, node: str) -> str:
    """The node's frr.conf once it carries MetalLB's exclude-from-external-load-balancers label."""
    secrets = resolve_site_secrets(lab.plan.site, base_dir=Path(lab.state.site_source).parent)
    view = simulate_site(
        lab.plan, secrets, profile=lab.state.profile, extra_labels={node: {EXCLUDE_LABEL: ""}}
    )
    configs = view.simulation.frr_configs
    if node not in configs:
        raise LabError(f"{node} runs no MetalLB speaker (speakerNodeSelector): nothing to drain")
    return configs[node]


# -- fail / drain / heal ---------------------------------------------------------------------


def _node(lab: Lab, node: str) -> None:
    if lab.host(node).role != "node":
        nodes = ", ".join(h.name for h in lab.topology.by_role("node"))
        raise LabError(f"{node} is not a node of lab {lab.name} (nodes: {nodes})")


def _port(lab: Lab, node: str, state: str) -> None:
    switch, port = lab.switch_port(node)
    result = run(
        ["ip", "-n", lab.host(switch).netns, "link", "set", port, state], timeout=COMMAND_TIMEOUT
    )
    if not result.ok:
        raise LabError(f"{node}: cannot set switch port {port} {state}: {result.stderr.strip()}")


def _signal(pids: Sequence[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def fail(lab: Lab, node: str, mode: str) -> Fault:
    """Inject one fault on a node now; LabError if the mode is unknown or already in force."""
    _node(lab, node)
    if mode not in MODES:
        raise LabError(f"unknown fault mode {mode!r} (modes: {', '.join(MODES)})")
    if any(f.mode == mode for f in faults_of(lab, node)):
        raise LabError(
            f"{node} already has fault {mode} (hint: `hcplb lab heal {lab.name} {node}`)"
        )
    if mode == "down":
        at = time.time()
        _port(lab, node, "down")
        return _record(lab, Fault(node, mode, at, detail=f"switch port {lab.switch_port(node)[1]}"))
    if mode == "api-stop":
        at = time.time()
        standin.stop_node(lab, node)
        return _record(lab, Fault(node, mode, at, detail="closed its API stand-in listeners"))
    roles = {"freeze": FRR_ROLES, "bgp-stop": ("bgpd",)}[mode]
    targets = [p for p in lab.processes(node) if p.role in roles and p.pid is not None]
    if not targets:
        raise LabError(f"{node}: no running {'/'.join(roles)} recorded by the lab")
    pids = tuple(p.pid for p in targets if p.pid is not None)
    at = time.time()
    if mode == "freeze":
        _signal(pids, signal.SIGSTOP)
        return _record(
            lab, Fault(node, mode, at, pids, detail="SIGSTOP " + ", ".join(p.role for p in targets))
        )
    _signal(pids, signal.SIGKILL)  # bgp-stop: a crash
    return _record(
        lab, Fault(node, mode, at, pids, targets[0].argv, detail=f"stopped {targets[0].role}")
    )


def drain(lab: Lab, node: str, *, timeout: float = 30.0, pinned: bool = False) -> Drained:
    """Withdraw the node's VIPs as MetalLB would for the exclude label; wait for the routers.

    LabError if a router still has the node as a nexthop after `timeout` s. Then the node may
    be stopped without breaking a new connection. `pinned`: each router's VIP routes are
    pinned first and the node merged out of them (hcplb.lab.pin), so no connection of another
    node moves; `heal` unpins.
    """
    _node(lab, node)
    if any(f.mode == "drain" for f in faults_of(lab, node)):
        raise LabError(f"{node} is already drained (hint: `hcplb lab heal {lab.name} {node}`)")
    text = drained_config(lab, node)
    detail = f"label {EXCLUDE_LABEL}"
    started = time.time()  # when the drain begins (pinning is its first step)
    if pinned:
        address = lab.host(node).primary_address
        for router, vips in sorted(announced_by(lab, node).items()):
            if vips:
                pin.pin(lab, router, address)
        detail += ", routes pinned"
    with FibWatch(lab) as watch:
        _record(lab, Fault(node, "drain", started, detail=detail))  # then MetalLB's rewrite
        load_node_config(lab, node, text)
        at = watch.wait(withdrawn(lab, node), after=started, timeout=timeout)
    if at is None:
        raise LabError(
            f"{node}: the router(s) still route to it {timeout:g} s after the drain "
            f"(hint: `hcplb lab exec {lab.name} <router> -- ip route`)"
        )
    routers = tuple(r for r, vips in announced_by(lab, node).items() if vips)
    return Drained(node, started, round(at - started, 3), routers, open_connections(lab, node))


def _undo(lab: Lab, fault: Fault) -> str:
    node = fault.node
    if fault.mode == "down":
        _port(lab, node, "up")
        return "switch port up"
    if fault.mode == "freeze":
        _signal(fault.pids, signal.SIGCONT)
        return "SIGCONT FRR daemons"
    if fault.mode == "bgp-stop":
        socket = lab.host_dir(node) / "run/frr/bgpd.vty"
        socket.unlink(missing_ok=True)  # the killed bgpd left its socket behind
        reads_file = "-f" in fault.argv
        if reads_file:  # started with `-f`: its part of today's frr.conf, not the one at lab up
            conf = (lab.host_dir(node) / "etc/frr/frr.conf").read_text()
            part = frr.split_config(conf, ["bgpd"])["bgpd"]
            write_atomic(socket.parent / "bgpd.conf", part, mode=0o640, owner=owner_ids("frr"))
        lab.spawn(node, "bgpd", fault.argv)
        frr.wait_sockets({socket.parent: [socket.name]}, timeout=FRR_START_TIMEOUT)
        if not reads_file:  # started without config, as at boot: frrinit.sh's way
            boot = lab.run(node, ["vtysh", "-b", "-d", "bgpd"], timeout=30)
            if not boot.ok:
                detail = redact_config(boot.stdout.strip(), ())[-200:]
                raise LabError(f"{node}: vtysh -b -d bgpd failed: {detail}")
        return "bgpd restarted"
    if fault.mode == "api-stop":
        standin.start_node(lab, node)
        return "API stand-in restarted"
    restore_config(lab, node)  # drain, config: the lab's own frr.conf back
    return "original frr.conf reloaded"


def heal(lab: Lab, node: str, *, timeout: float = CONVERGE_TIMEOUT) -> Healed:
    """Undo every fault of the node and wait until the routers have full ECMP and every session.

    Frozen daemons are thawed first (a respawned bgpd needs zebra), the rest latest first.
    """
    _node(lab, node)
    started = time.time()
    mine = faults_of(lab, node)
    order = [f for f in mine if f.mode == "freeze"] + [
        f for f in reversed(mine) if f.mode != "freeze"
    ]
    undone: list[str] = []
    with FibWatch(lab) as watch:
        for fault in order:
            undone.append(_undo(lab, fault))
            _write(lab, [f for f in _read(lab) if f != fault])
        if _original(lab, node).exists():  # a replaced config without a recorded fault
            undone.append(_undo(lab, Fault(node, "config", time.time())))
        ecmp = watch.wait(full_ecmp(lab), after=started, timeout=timeout)
    if ecmp is not None:  # zebra's routes are whole again: a pinned drain's table can go
        undone += [f"{r}: unpinned" for r in lab.expect.routes if pin.unpin(lab, r)]
    left = max(timeout - (time.time() - started), 0.0)
    result = converge.wait(lab, lab.expect, timeout=left, kinds=_ROUTER_KINDS)
    if ecmp is None or not result.ok:
        bad = "; ".join(f"{c.kind} on {c.host}: {c.detail}" for c in result.failing())
        raise LabError(f"{node}: not back to full ECMP {timeout:g} s after heal: {bad}")
    return Healed(node, tuple(undone), round(ecmp - started, 3), round(time.time() - started, 3))

"""Faults on a running lab's node, and their exact undoing: fail, heal, drain.

    fail(lab, "master-0", "down")   # the node's switch port down: it vanishes from the network
    heal(lab, "master-0")           # undo every fault of that node, wait for full ECMP again
    drain(lab, "master-1")          # MetalLB's exclude label: withdraw, wait for the routers

Modes: `down` (bridge port down, as a pulled cable), `freeze` (SIGSTOP the node's FRR
daemons; the kernel keeps forwarding and the API stand-in keeps serving), `bgp-stop`
(SIGKILL bgpd, a crash), `api-stop` (stop the API stand-in). Only pids the lab recorded
are signalled. What was done is kept in `<lab>/faults.json` so that `heal` from another
process undoes exactly that: SIGCONT the same pids, respawn a daemon with its recorded argv
(and load its part of frr.conf with `vtysh -b -d bgpd`), put the port up, or reload the
node's original frr.conf.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from hcplb.errors import LabError
from hcplb.lab import converge, frr, procs
from hcplb.lab.core import Lab
from hcplb.lab.netns import routes as parse_routes
from hcplb.metallb import EXCLUDE_LABEL, apiserver_service, node_object, simulate
from hcplb.render import resolve_site_secrets
from hcplb.render.cluster import cluster_manifests
from hcplb.runner import run

__all__ = [
    "FRR_ROLES",
    "MODES",
    "Drained",
    "Fault",
    "Healed",
    "Mode",
    "announced_by",
    "bfd_down",
    "drain",
    "drained_config",
    "fail",
    "faults_of",
    "full_ecmp",
    "heal",
    "load_node_config",
    "nexthops",
    "restore_config",
    "wait_nexthops",
    "wait_ready",
    "withdrawn",
]

Mode = Literal["down", "freeze", "bgp-stop", "api-stop", "drain", "config"]
MODES: tuple[str, ...] = ("down", "freeze", "bgp-stop", "api-stop")
FRR_ROLES = ("zebra", "bgpd", "bfdd", "staticd")
FAULTS_FILE = "faults.json"
ORIGINALS_DIR = "faults"
POLL_S = 0.02
RELOAD = "/usr/lib/frr/frr-reload.py"
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
    withdrawn_s: float
    """from loading the drained config until no router had the node as a nexthop"""
    routers: tuple[str, ...]


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
    path = _faults_path(lab)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"faults": [asdict(f) for f in faults]}, indent=1))
    os.replace(tmp, path)


def faults_of(lab: Lab, node: str | None = None) -> list[Fault]:
    """Faults in force (on `node`, or on every node)."""
    return [f for f in _read(lab) if node is None or f.node == node]


def _record(lab: Lab, fault: Fault) -> Fault:
    _write(lab, [*_read(lab), fault])
    return fault


# -- looking at the routers ----------------------------------------------------------------


def nexthops(lab: Lab) -> dict[str, dict[str, set[str]]]:
    """router -> VIP/32 -> nexthop addresses in its kernel FIB (BGP routes), read with `ip -n`."""
    table: dict[str, dict[str, set[str]]] = {}
    for router in lab.expect.routes:
        result = run(
            ["ip", "-n", lab.host(router).netns, "-j", "route", "show", "proto", "bgp"], timeout=5
        )
        table[router] = parse_routes(result) if result.ok else {}
    return table


def _expected(lab: Lab) -> dict[str, dict[str, set[str]]]:
    return {
        r: {(v if "/" in v else f"{v}/32"): set(h) for v, h in vips.items()}
        for r, vips in lab.expect.routes.items()
    }


def announced_by(lab: Lab, node: str) -> dict[str, set[str]]:
    """router -> VIPs/32 for which a converged router has this node as a nexthop."""
    address = lab.host(node).primary_address
    return {
        r: {v for v, hops in vips.items() if address in hops} for r, vips in _expected(lab).items()
    }


def wait_nexthops(
    lab: Lab,
    done: Callable[[dict[str, dict[str, set[str]]]], bool],
    *,
    timeout: float,
    interval: float = POLL_S,
) -> float | None:
    """Poll every router's FIB until `done(table)`; seconds it took, None after `timeout`."""
    start = time.monotonic()
    while True:
        if done(nexthops(lab)):
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            return None
        time.sleep(interval)


def withdrawn(lab: Lab, node: str) -> Callable[[dict[str, dict[str, set[str]]]], bool]:
    """A predicate: no router has the node as a nexthop for any VIP any more."""
    address = lab.host(node).primary_address
    return lambda table: all(
        address not in hops for vips in table.values() for hops in vips.values()
    )


def full_ecmp(lab: Lab) -> Callable[[dict[str, dict[str, set[str]]]], bool]:
    """A predicate: every router has exactly the converged nexthops for every VIP."""
    expected = _expected(lab)
    return lambda table: all(
        table.get(r, {}).get(v) == hops for r, vips in expected.items() for v, hops in vips.items()
    )


def bfd_down(lab: Lab) -> list[str]:
    """`router: peer` of every expected BFD session that is not up (none without BFD)."""
    if lab.plan.bfd is None or lab.state.profile != "hcplb":
        return []
    missing = []
    for router, peers in lab.expect.sessions.items():
        result = lab.run(router, ["vtysh", "-c", "show bfd peers json"], timeout=10)
        try:
            status = {p.get("peer"): p.get("status") for p in json.loads(result.stdout)}
        except (json.JSONDecodeError, AttributeError):
            status = {}
        missing += [f"{router}: {peer}" for peer in peers if status.get(peer) != "up"]
    return missing


def wait_ready(lab: Lab, *, timeout: float = 60.0) -> float:
    """Wait for full ECMP and every BFD session up (BFD comes up after BGP); LabError if not.

    A fault injected before BFD is up would be detected by the hold timer, not by BFD.
    """
    started = time.monotonic()
    while True:
        ecmp = full_ecmp(lab)(nexthops(lab))
        missing = bfd_down(lab) if ecmp else ["ECMP"]
        if not missing:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise LabError(
                f"lab {lab.name} not ready after {timeout:g} s: {', '.join(missing)} not up"
            )
        time.sleep(0.2)


# -- node FRR configuration ----------------------------------------------------------------


def _original(lab: Lab, node: str) -> Path:
    return lab.state_dir / ORIGINALS_DIR / f"{node}.frr.conf"


def load_node_config(lab: Lab, node: str, text: str) -> None:
    """Make `text` the node's /etc/frr/frr.conf and reload it into its running FRR.

    The first replacement keeps the lab's original for `heal`. frr-reload.py is given the
    file FRR boots from, so it does not `write memory` over it.
    """
    etc = lab.host_dir(node) / "etc/frr/frr.conf"
    original = _original(lab, node)
    if not original.exists():
        original.parent.mkdir(mode=0o700, exist_ok=True)
        shutil.copy2(etc, original)
    etc.write_text(text)
    etc.chmod(0o640)
    shutil.chown(etc, "frr", "frr")
    result = lab.run(node, [RELOAD, "--reload", "/etc/frr/frr.conf"], timeout=60)
    if not result.ok:
        last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:]
        raise LabError(f"{node}: frr-reload.py failed: {' '.join(last)}")


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
    plan = lab.plan
    secrets = resolve_site_secrets(plan.site, base_dir=Path(lab.state.site_source).parent)
    services = [
        apiserver_service(
            c.control_plane_namespace, allowed_cidr_blocks=c.cluster.allowed_cidr_blocks
        )
        for c in plan.clusters
    ]
    nodes = [
        node_object(
            n.name, n.address, {**n.labels, **({EXCLUDE_LABEL: ""} if n.name == node else {})}
        )
        for n in plan.nodes
    ]
    sim = simulate(cluster_manifests(plan, secrets, lab.state.profile), services, nodes)
    if node not in sim.frr_configs:
        raise LabError(f"{node} runs no MetalLB speaker (speakerNodeSelector): nothing to drain")
    return sim.frr_configs[node]


# -- fail / drain / heal ---------------------------------------------------------------------


def _node(lab: Lab, node: str) -> None:
    if lab.host(node).role != "node":
        nodes = ", ".join(h.name for h in lab.topology.by_role("node"))
        raise LabError(f"{node} is not a node of lab {lab.name} (nodes: {nodes})")


def _port(lab: Lab, node: str, state: str) -> None:
    switch, port = lab.switch_port(node)
    result = run(["ip", "-n", lab.host(switch).netns, "link", "set", port, state], timeout=10)
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
    roles = {"freeze": FRR_ROLES, "bgp-stop": ("bgpd",), "api-stop": ("apiserver",)}[mode]
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
    if mode == "bgp-stop":
        _signal(pids, signal.SIGKILL)
    else:
        left = procs.stop(pids)
        if left:
            raise LabError(f"{node}: API stand-in {left} did not stop")
    return _record(
        lab, Fault(node, mode, at, pids, targets[0].argv, detail=f"stopped {targets[0].role}")
    )


def drain(lab: Lab, node: str, *, timeout: float = 30.0) -> Drained:
    """Withdraw the node's VIPs as MetalLB would for the exclude label; wait for the routers.

    LabError if a router still has the node as a nexthop after `timeout` s. Then the node may
    be stopped without breaking a new connection.
    """
    _node(lab, node)
    if any(f.mode == "drain" for f in faults_of(lab, node)):
        raise LabError(f"{node} is already drained (hint: `hcplb lab heal {lab.name} {node}`)")
    text = drained_config(lab, node)
    started = time.monotonic()
    _record(lab, Fault(node, "drain", time.time(), detail=f"label {EXCLUDE_LABEL}"))
    load_node_config(lab, node, text)
    remaining = timeout - (time.monotonic() - started)
    waited = wait_nexthops(lab, withdrawn(lab, node), timeout=max(remaining, 0.0))
    if waited is None:
        raise LabError(
            f"{node}: the router(s) still route to it {timeout:g} s after the drain "
            f"(hint: `hcplb lab exec {lab.name} <router> -- ip route`)"
        )
    routers = tuple(r for r, vips in announced_by(lab, node).items() if vips)
    return Drained(node, round(time.monotonic() - started, 3), routers)


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
        lab.spawn(node, "bgpd", fault.argv)
        frr.wait_sockets({socket.parent: [socket.name]}, timeout=15)
        # bgpd starts without config, as at boot: load its part of frr.conf (frrinit.sh's way)
        boot = lab.run(node, ["vtysh", "-b", "-d", "bgpd"], timeout=30)
        if not boot.ok:
            raise LabError(f"{node}: vtysh -b -d bgpd failed: {boot.stdout.strip()[-200:]}")
        return "bgpd restarted"
    if fault.mode == "api-stop":
        lab.spawn(node, "apiserver", fault.argv)
        return "API stand-in restarted"
    restore_config(lab, node)  # drain, config: the lab's own frr.conf back
    return "original frr.conf reloaded"


def heal(lab: Lab, node: str, *, timeout: float = 60.0) -> Healed:
    """Undo every fault of the node and wait until the routers have full ECMP and every session.

    Frozen daemons are thawed first (a respawned bgpd needs zebra), the rest latest first.
    """
    _node(lab, node)
    started = time.monotonic()
    mine = faults_of(lab, node)
    order = [f for f in mine if f.mode == "freeze"] + [
        f for f in reversed(mine) if f.mode != "freeze"
    ]
    undone: list[str] = []
    for fault in order:
        undone.append(_undo(lab, fault))
        _write(lab, [f for f in _read(lab) if f != fault])
    if _original(lab, node).exists():  # a replaced config without a recorded fault
        undone.append(_undo(lab, Fault(node, "config", time.time())))
    left = max(timeout - (time.monotonic() - started), 0.0)
    ecmp = wait_nexthops(lab, full_ecmp(lab), timeout=left)
    ecmp_s = time.monotonic() - started
    left = max(timeout - (time.monotonic() - started), 0.0)
    result = converge.wait(lab, lab.expect, timeout=left, since=started, kinds=_ROUTER_KINDS)
    if ecmp is None or not result.ok:
        bad = "; ".join(f"{c.kind} on {c.host}: {c.detail}" for c in result.failing())
        raise LabError(f"{node}: not back to full ECMP {timeout:g} s after heal: {bad}")
    return Healed(node, tuple(undone), round(ecmp_s, 3), round(result.seconds, 3))

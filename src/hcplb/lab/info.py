"""`status()` and `list_labs()`: what labs exist, what runs in them, and whether they converged."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from hcplb.errors import LabError
from hcplb.lab import converge, procs
from hcplb.lab.core import Lab
from hcplb.lab.state import LabState, lab_dir, lab_names, labs_root, read_state
from hcplb.lab.topology import host_prefix


@dataclass(frozen=True)
class ProcessStatus:
    role: str
    pid: int | None
    running: bool
    rss_kib: int


@dataclass(frozen=True)
class HostStatus:
    name: str
    role: str
    netns: str
    addresses: tuple[str, ...]
    processes: tuple[ProcessStatus, ...]


@dataclass(frozen=True)
class LabStatus:
    name: str
    phase: str
    profile: str
    bare: bool
    state_dir: str
    converge_seconds: float | None
    hosts: tuple[HostStatus, ...]
    checks: tuple[converge.Condition, ...]
    router_host: str = "netns"
    """netns (FRR started by hcplb) or systemd (a booted Debian 12 runs the router)"""

    @property
    def converged(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["converged"] = self.converged
        return data


@dataclass(frozen=True)
class LabSummary:
    name: str
    phase: str
    profile: str
    hosts: int
    running: int
    recorded: int
    state_dir: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def phase_of(state: LabState | None) -> str:
    """building / up / failed, or `interrupted` when the building process is gone."""
    if state is None:
        return "interrupted"
    if state.phase == "building" and (
        state.builder_pid is None or not procs.alive(state.builder_pid)
    ):
        return "interrupted"
    return state.phase


def status(name: str, *, probe: bool = True) -> LabStatus:
    """Hosts, processes (alive or not, memory) and, with `probe`, a fresh round of checks."""
    lab = Lab.open(name)
    hosts = []
    for host in lab.hosts:
        records = [p for p in lab.state.processes if p.host == host.name]
        running = {p.pid for p in lab.processes(host.name)}
        hosts.append(
            HostStatus(
                host.name,
                host.role,
                host.netns,
                tuple(a for i in host.interfaces for a in i.addresses)
                + tuple(host_prefix(v) for v in host.loopbacks),
                tuple(
                    ProcessStatus(
                        p.role,
                        p.pid,
                        p.pid in running,
                        procs.rss_kib(p.pid) if p.pid in running and p.pid else 0,
                    )
                    for p in records
                ),
            )
        )
    checks: tuple[converge.Condition, ...] = ()
    if probe and lab.state.expect is not None:
        kinds: tuple[converge.Kind, ...] = ("dns",) if lab.state.bare else converge.ALL_KINDS
        checks = converge.probe(lab, lab.expect, kinds=kinds)
    return LabStatus(
        lab.name,
        phase_of(lab.state),
        lab.state.profile,
        lab.state.bare,
        str(lab.state_dir),
        lab.state.converge_seconds,
        tuple(hosts),
        checks,
        lab.state.router_host,
    )


def list_labs() -> list[LabSummary]:
    """Every lab directory under the labs root, complete or not."""
    result = []
    for name in lab_names():
        try:
            state = read_state(name)
        except LabError:  # a corrupt journal: still listed, `lab down` still removes it
            result.append(LabSummary(name, "corrupt", "", 0, 0, 0, str(lab_dir(name))))
            continue
        recorded = [p for p in state.processes if p.pid is not None] if state else []
        running = sum(1 for p in recorded if p.pid is not None and procs.is_ours(p.pid, p.argv))
        result.append(
            LabSummary(
                name,
                phase_of(state),
                state.profile if state else "",
                len(state.namespaces) if state else 0,
                running,
                len(recorded),
                str(lab_dir(name)),
            )
        )
    return result


__all__ = ["HostStatus", "LabStatus", "LabSummary", "labs_root", "list_labs", "status"]

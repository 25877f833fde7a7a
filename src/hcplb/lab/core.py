"""`Lab`: one running lab, opened from its directory; runs commands and processes as its hosts."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from hcplb.errors import LabError
from hcplb.fsutil import owner_ids, write_atomic
from hcplb.lab import frr, nspawn, procs
from hcplb.lab.cluster import lab_plan
from hcplb.lab.hostfs import ENTER, host_dir, wrap
from hcplb.lab.state import Expectations, Journal, LabState, ProcessRecord, lab_dir, read_state
from hcplb.lab.topology import Host, Topology, build_topology
from hcplb.plan import SitePlan
from hcplb.runner import Result, run
from hcplb.secrets import redact_config
from hcplb.settings import (
    FRR_BOOT_TIMEOUT,
    FRR_CONF,
    FRR_RELOAD,
    FRR_RUN,
    FRR_START_TIMEOUT,
    RELOAD_TIMEOUT,
)
from hcplb.spec import load_site

SITE_FILE = "site.yaml"
RENDER_DIR = "render"
CA_FILE = "pki/ca.pem"
TSIG_FILE = "tsig.key"
NODE_ALWAYS = ("zebra",)  # MetalLB's speaker container: zebra, bgpd, bfdd (no staticd)


class Lab:
    """A lab on this machine. Get one from `hcplb.lab.up(...)` or `Lab.open(name)`."""

    def __init__(self, state_dir: Path, state: LabState, plan: SitePlan) -> None:
        self.state_dir = state_dir
        self.plan = plan
        self._journal: Journal | None = None
        self._state = state
        self.topology: Topology = build_topology(
            plan, state.name, state.lab_id, vips_by_node=state.vips
        )

    @classmethod
    def open(cls, name: str) -> Lab:
        """The lab called `name`; LabError if it does not exist or never got past its start."""
        state = read_state(name)
        directory = lab_dir(name)
        if state is None or not (directory / SITE_FILE).exists():
            raise LabError(
                f"lab {name!r} is incomplete (its build was interrupted) "
                f"(hint: `hcplb lab down {name}`)"
            )
        site = load_site(directory / SITE_FILE).site
        return cls(directory, state, lab_plan(site, state.clusters))

    @property
    def name(self) -> str:
        return self.state.name

    @property
    def state(self) -> LabState:
        return self._journal.state if self._journal is not None else self._state

    @property
    def hosts(self) -> tuple[Host, ...]:
        return self.topology.hosts

    def host(self, name: str) -> Host:
        return self.topology.host(name)

    @property
    def site_file(self) -> Path:
        return self.state_dir / SITE_FILE

    @property
    def render_dir(self) -> Path:
        return self.state_dir / RENDER_DIR

    @property
    def ca_file(self) -> Path:
        return self.state_dir / CA_FILE

    @property
    def tsig_file(self) -> Path:
        return self.state_dir / TSIG_FILE

    @property
    def expect(self) -> Expectations:
        if self.state.expect is None:
            raise LabError(f"lab {self.name} has no recorded expectations (incomplete build)")
        return self.state.expect

    def switch_port(self, host: str) -> tuple[str, str]:
        """(switch host, port name) of the host's first interface: `ip link set PORT down`
        run on the switch takes the host off its network as a pulled cable would."""
        return self.topology.switch.name, self.host(host).interfaces[0].port

    def booted(self, host: str) -> bool:
        """The host is a booted router (`--router-host systemd`): systemd runs its FRR."""
        return self.state.router_host == "systemd" and self.host(host).role == "router"

    def host_dir(self, host: str) -> Path:
        """The lab directory holding this host's private /etc/frr, /run/frr, logs, ..."""
        return host_dir(self.state_dir, self.host(host).name)

    # -- running things as a host ------------------------------------------------------------

    def argv(self, host: str, argv: Sequence[str]) -> list[str]:
        """The full command line that runs argv as `host` (its netns and its filesystem view)."""
        h = self.host(host)
        if self.booted(h.name):
            return nspawn.enter_argv(self.state, h.name, argv)
        return wrap(h.netns, self.host_dir(h.name) / ENTER, argv)

    def run(
        self, host: str, argv: Sequence[str], *, timeout: float, input: str | None = None
    ) -> Result:
        """Run argv as `host` and wait for it (hcplb.runner.run: never raises on exit codes)."""
        return run(self.argv(host, argv), timeout=timeout, input=input)

    def spawn(self, host: str, role: str, argv: Sequence[str]) -> int:
        """Start a long-running process as `host`; recorded in the journal before it starts."""
        return self.spawn_all([(host, role, argv)])[0]

    def spawn_all(self, specs: Sequence[tuple[str, str, Sequence[str]]]) -> list[int]:
        """Start several (host, role, argv) processes: all recorded first, in one journal write."""
        records = [
            ProcessRecord(
                host=host,
                role=role,
                argv=tuple(argv),
                log=str(self.host_dir(host) / "log" / f"{role}.log"),
            )
            for host, role, argv in specs
        ]
        journal = self.journal()
        indexes = journal.add_processes(records)
        pids: dict[int, int] = {}
        try:
            for i, r in zip(indexes, records, strict=True):
                pids[i] = procs.spawn(self.argv(r.host, r.argv), log=Path(r.log))
        finally:
            journal.set_pids(pids)
        return list(pids.values())

    def processes(self, host: str | None = None, role: str | None = None) -> list[ProcessRecord]:
        """Recorded processes that are still running (pid alive with the recorded command line)."""
        return [
            p
            for p in self.state.processes
            if p.pid is not None
            and (host is None or p.host == host)
            and (role is None or p.role == role)
            and procs.is_ours(p.pid, p.argv)
        ]

    def stop(self, host: str, roles: Sequence[str] | None = None) -> None:
        """Stop the host's recorded processes (those with one of `roles`, default all)."""
        doomed = [p.pid for p in self.processes(host) if roles is None or p.role in roles]
        left = procs.stop(p for p in doomed if p is not None)
        if left:
            raise LabError(f"{host}: processes {left} did not stop")

    # -- FRR ---------------------------------------------------------------------------------

    def start_frr(self, hosts: Sequence[str]) -> None:
        """Start FRR on each host as frrinit.sh would: `spawn_frr`, then `boot_frr`."""
        self.spawn_frr(hosts)
        self.boot_frr(hosts)

    def spawn_frr(self, hosts: Sequence[str], *, read_config: bool = False) -> None:
        """Start the daemons each host's /etc/frr/daemons enables, zebra first and the others
        once it listens (a bgpd that meets zebra late keeps its peers Idle for seconds).

        With `read_config` each daemon reads its part of /etc/frr/frr.conf when it starts
        (`frr.split_config`, kept in the host's /run/frr) and no `boot_frr` follows."""
        plans: dict[str, tuple[list[frr.Daemon], str]] = {}
        for name in hosts:
            etc = self.host_dir(name) / "etc/frr"
            daemons_text = (etc / "daemons").read_text()
            conf = (etc / "frr.conf").read_text()
            profile = frr.profile_of(daemons_text, conf)
            always = NODE_ALWAYS if self.host(name).role == "node" else frr.ALWAYS
            plans[name] = (frr.daemons_to_run(daemons_text, always=always), profile)
            run_dir = self.host_dir(name) / "run/frr"
            frr.clear_run_dir(run_dir)
            if read_config:
                for daemon, part in frr.split_config(
                    conf, [d.name for d in plans[name][0]]
                ).items():
                    write_atomic(
                        run_dir / f"{daemon}.conf", part, mode=0o640, owner=owner_ids("frr")
                    )

        def config(daemon: frr.Daemon) -> str | None:
            return f"{FRR_RUN}/{daemon.name}.conf" if read_config else None

        for zebra in (True, False):
            self.spawn_all(
                [
                    (name, d.name, frr.daemon_argv(d, profile=profile, config=config(d)))
                    for name, (daemons, profile) in plans.items()
                    for d in daemons
                    if (d.name == "zebra") == zebra
                ]
            )
            sockets = {
                self.host_dir(name) / "run/frr": (
                    ["zserv.api"]
                    if zebra
                    else [f"{d.name}.vty" for d in daemons if d.name != "zebra"] + ["zebra.vty"]
                )
                for name, (daemons, _profile) in plans.items()
            }
            frr.wait_sockets(sockets, timeout=FRR_START_TIMEOUT)

    def listening(self, host: str, port: int) -> bool:
        """Whether a process of the host listens on TCP `port` (`ss` in its namespace)."""
        result = self.run(host, ["ss", "-Hltn", f"sport = :{port}"], timeout=5)
        return result.ok and bool(result.stdout.strip())

    def wait_listening(self, hosts: Sequence[str], port: int, *, timeout: float) -> None:
        """Poll until every host listens on TCP `port`, else a LabError naming the first not."""
        deadline = time.monotonic() + timeout
        waiting = list(hosts)
        while waiting:
            waiting = [h for h in waiting if not self.listening(h, port)]
            if waiting and time.monotonic() > deadline:
                raise LabError(f"{waiting[0]} does not listen on TCP {port} after {timeout:g} s")
            if waiting:
                time.sleep(0.02)

    def boot_frr(self, hosts: Sequence[str]) -> None:
        """`vtysh -b` on each host: load /etc/frr/frr.conf into its running daemons."""
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(self._boot_frr, hosts))
        failed = [
            f"{h}: {redact_config(r.stdout.strip() or r.stderr.strip(), ())}"  # vtysh echoes lines
            for h, r in zip(hosts, results, strict=True)
            if not r.ok
        ]
        if failed:
            raise LabError("vtysh -b could not load frr.conf: " + "; ".join(failed))

    def _boot_frr(self, host: str) -> Result:
        return self.run(host, ["vtysh", "-b"], timeout=FRR_BOOT_TIMEOUT)

    def reload_frr(self, host: str, text: str) -> None:
        """Make `text` the host's /etc/frr/frr.conf and apply it to its running FRR with
        frr-reload.py (given the file FRR boots from, so it does not `write memory` over it)."""
        etc = self.host_dir(host) / "etc/frr/frr.conf"
        write_atomic(etc, text, mode=0o640, owner=owner_ids("frr"))
        result = self.run(host, [FRR_RELOAD, "--reload", FRR_CONF], timeout=RELOAD_TIMEOUT)
        if not result.ok:
            last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:]
            raise LabError(f"{host}: frr-reload.py failed: {redact_config(' '.join(last), ())}")

    def restart_frr(self, host: str) -> None:
        """Stop the host's FRR daemons and start them again from its /etc/frr (after apply)."""
        roles = [*frr.ORDER, "watchfrr"]
        self.stop(host, roles)
        self.start_frr([host])

    # -- journal -----------------------------------------------------------------------------

    def journal(self) -> Journal:
        if self._journal is None:
            self._journal = Journal(self.state_dir, self.state)
        return self._journal

    def record(self, **changes: object) -> None:
        self._state = self.journal().update(**changes)

    def refresh(self) -> None:
        """Re-read the journal (another hcplb process may have changed the lab)."""
        state = read_state(self.name)
        if state is not None:
            self._state = state
            self._journal = None

    def age(self) -> float:
        return time.time() - self.state.created

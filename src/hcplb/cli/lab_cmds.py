"""`hcplb lab up|down|status|list|exec` and `hcplb demo`."""

from __future__ import annotations

import os
import time
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.status import Status
from rich.table import Table

from hcplb.cli._output import (
    OutputFormat,
    OutputOption,
    console,
    err_console,
    handles_errors,
    number_between,
    print_json,
)
from hcplb.cli.lab_cluster_cmds import cluster_app
from hcplb.cli.lab_image_cmds import image_app
from hcplb.errors import EXIT_FAILED
from hcplb.lab import Condition, Lab, LabStatus, down, list_labs, orphans, status, up
from hcplb.lab.demo import DemoResult, run_demo
from hcplb.render.profile import Profile
from hcplb.settings import CONVERGE_TIMEOUT

lab_app = typer.Typer(
    help="The rehearsal lab: a whole site on this machine (network namespaces; needs root).",
    no_args_is_help=True,
)
lab_app.add_typer(image_app, name="image")
lab_app.add_typer(cluster_app, name="cluster")


class RouterHostChoice(StrEnum):
    netns = "netns"
    systemd = "systemd"


def _summary(checks: tuple[Condition, ...]) -> str:
    parts: dict[str, list[int]] = {}
    for c in checks:
        done, total = parts.setdefault(c.kind, [0, 0])
        parts[c.kind] = [done + c.done, total + c.total]
    return " · ".join(f"{kind} {done}/{total}" for kind, (done, total) in parts.items())


class _Progress:
    """A spinner with the phase and the convergence counts (plain lines when not a terminal)."""

    def __init__(self, out: Console) -> None:
        self.out = out
        self.status: Status | None = out.status("starting") if out.is_terminal else None
        self.started = time.monotonic()

    def __enter__(self) -> _Progress:
        if self.status is not None:
            self.status.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.status is not None:
            self.status.stop()

    def phase(self, text: str) -> None:
        self.out.print(f"[dim]{time.monotonic() - self.started:5.1f} s[/] {text}", highlight=False)

    def checks(self, elapsed: float, checks: tuple[Condition, ...]) -> None:
        text = f"converging {elapsed:4.1f} s: {_summary(checks)}"
        if self.status is not None:
            self.status.update(text)


@lab_app.command("up")
@handles_errors
def lab_up(
    site: Path = typer.Argument(..., help="site spec (YAML)"),
    name: str = typer.Option(None, "--name", help="lab name (default: the site's name)"),
    bare: bool = typer.Option(False, "--bare", help="routers run FRR without the site's config"),
    profile: Profile = typer.Option(
        Profile.hcplb, "--profile", help="hcplb, or the guide's literal config"
    ),
    timeout: float = typer.Option(
        CONVERGE_TIMEOUT,
        "--timeout",
        help="seconds to wait for convergence",
        callback=number_between(1, 3600),
    ),
    router_host: RouterHostChoice = typer.Option(
        RouterHostChoice.netns,
        "--router-host",
        help="netns: FRR started by hcplb; systemd: a booted Debian 12 runs setup.sh "
        "(needs `hcplb lab image build` once)",
    ),
) -> None:
    """Build the site's lab and wait until it converged; prints the time it took."""
    started = time.monotonic()
    with _Progress(err_console) as progress:
        lab = up(
            site,
            name,
            bare=bare,
            profile=profile,
            router_host=router_host.value,
            timeout=timeout,
            on_phase=progress.phase,
            on_checks=progress.checks,
        )
    total = time.monotonic() - started
    what = "DNS answers (bare: routers await `hcplb apply`)" if bare else "converged"
    console.print(
        f"lab [bold]{lab.name}[/] is up: {what} in {lab.state.converge_seconds:.1f} s "
        f"after the routers started ({total:.1f} s in all)",
        highlight=False,
    )
    console.print(
        f"  try: hcplb lab exec {lab.name} {lab.plan.routers[0].name} -- vtysh -c 'show ip bgp summary'",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    cluster = lab.plan.clusters[0]
    console.print(
        f"       hcplb lab exec {lab.name} client -- curl https://{cluster.api_name}:6443/version",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


@lab_app.command("down")
@handles_errors
def lab_down(name: str = typer.Argument(..., help="lab name")) -> None:
    """Remove the lab: every process, namespace, link and file (also of a half-built lab)."""
    started = time.monotonic()
    down(name)
    console.print(f"lab {name} removed in {time.monotonic() - started:.1f} s", highlight=False)


def _status_table(st: LabStatus) -> Table:
    table = Table(
        title=f"lab {st.name}: {st.phase} ({st.profile}{', bare' if st.bare else ''}, "
        f"router host {st.router_host})"
    )
    for column in ("host", "role", "addresses", "processes"):
        table.add_column(column)
    for host in st.hosts:
        procs = " ".join(f"{p.role}{'' if p.running else '[red](dead)[/]'}" for p in host.processes)
        table.add_row(host.name, host.role, "\n".join(host.addresses), procs)
    return table


@lab_app.command("status")
@handles_errors
def lab_status(
    name: str = typer.Argument(..., help="lab name"),
    output: OutputFormat = OutputOption,
) -> None:
    """Hosts, processes and a fresh round of convergence checks (exit 1 if not converged)."""
    st = status(name)
    if output is OutputFormat.json:
        print_json(st.to_json())
    else:
        console.print(_status_table(st))
        checks = Table(title="checks")
        for column in ("check", "on", "", "detail"):
            checks.add_column(column)
        for c in st.checks:
            checks.add_row(c.kind, c.host, "[green]ok[/]" if c.ok else "[red]no[/]", c.detail)
        console.print(checks)
        if st.converge_seconds is not None:
            console.print(
                f"converged in {st.converge_seconds:.1f} s when it came up", highlight=False
            )
    if st.checks and not st.converged:
        raise typer.Exit(EXIT_FAILED)


@lab_app.command("list")
@handles_errors
def lab_list(
    output: OutputFormat = OutputOption,
    show_orphans: bool = typer.Option(
        False, "--orphans", help="namespaces and processes of labs whose directory is gone"
    ),
) -> None:
    """Every lab on this machine (under $HCPLB_LAB_DIR or /var/lib/hcplb/labs)."""
    if show_orphans:
        found = orphans()
        if output is OutputFormat.json:
            print_json([asdict(o) for o in found])
            return
        for o in found:
            console.print(f"{o.kind} {o.what} (lab {o.lab})", markup=False, highlight=False)
        if found:
            err_console.print(
                "remove them with `hcplb lab down NAME` for each lab named", markup=False
            )
        return
    labs = list_labs()
    if output is OutputFormat.json:
        print_json([s.to_json() for s in labs])
        return
    table = Table(title="labs")
    for column in ("name", "phase", "profile", "namespaces", "processes", "directory"):
        table.add_column(column)
    for s in labs:
        table.add_row(
            s.name, s.phase, s.profile, str(s.hosts), f"{s.running}/{s.recorded}", s.state_dir
        )
    console.print(table)


@lab_app.command(
    "exec",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
@handles_errors
def lab_exec(
    name: str = typer.Argument(..., help="lab name"),
    host: str = typer.Argument(..., help="host: a router, a node, client, dns or lan"),
    command: list[str] = typer.Argument(..., help="command to run (after --)"),
) -> None:
    """Run a command as a lab host: its namespace, its /etc/frr, /etc/resolv.conf, ..."""
    argv = Lab.open(name).argv(host, command)
    os.execvp(argv[0], argv)


def _print_demo(result: DemoResult) -> None:
    how = (
        "MetalLB writes FRRConfigurations, frr-k8s renders each node's frr.conf"
        if result.backend == "frr-k8s"
        else "MetalLB's speakers run FRR themselves"
    )
    console.print(f"rehearsing MetalLB bgpBackend [bold]{result.backend}[/]: {how}\n")
    for shown in result.shown:
        prompt = f"[bold]{shown.host}$[/] "
        console.print(prompt + shown.command.replace("[", "\\["), highlight=False)
        console.print(shown.output, markup=False, highlight=False, soft_wrap=True)
        if not shown.ok:
            console.print("[red]^ not what the guide shows[/]")
        console.print()
    down_text = (
        f", down {result.down_seconds:.1f} s" if result.down_seconds is not None else " (kept)"
    )
    console.print(
        f"demo: lab up {result.up_seconds:.1f} s (converged {result.converge_seconds:.1f} s after "
        f"the routers started), checks {result.check_seconds:.1f} s{down_text}; "
        f"[bold]{_process_seconds():.1f} s wall[/] since `hcplb demo` started",
        highlight=False,
        soft_wrap=True,
    )


def _process_seconds() -> float:
    """Seconds since this process started (interpreter start-up and imports included).

    The start is in clock ticks since boot, so it is compared with CLOCK_BOOTTIME (not with
    the wall clock and /proc/stat's btime, which is whole seconds: up to 1 s off)."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        return time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


@handles_errors
def demo(
    keep: bool = typer.Option(False, "--keep", help="keep the lab running afterwards"),
) -> None:
    """The guide's lab (the seed site) on this machine, checked as the guide checks it."""
    with _Progress(err_console) as progress:
        result = run_demo(keep=keep, on_phase=progress.phase, on_checks=progress.checks)
    _print_demo(result)
    if keep:
        console.print(
            f"kept: hcplb lab status {result.lab}; hcplb lab down {result.lab}", highlight=False
        )
    if not result.ok:
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    app.add_typer(lab_app, name="lab")
    app.command()(demo)

"""`hcplb lab fail|heal|drain` (added to the lab group) and `hcplb bench
failover|withdrawal|security` (`bench stability` lives in stability_cmds)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from hcplb.cli._output import (
    OutputFormat,
    OutputOption,
    console,
    handles_errors,
    number_between,
    print_json,
    say,
)
from hcplb.cli.lab_cmds import lab_app
from hcplb.render.profile import Profile
from hcplb.settings import CONVERGE_TIMEOUT

if TYPE_CHECKING:
    from hcplb.bench.failover import FailoverReport

bench_app = typer.Typer(
    help="Benchmarks in a lab: failover under load and attacks on the router, per profile.",
    no_args_is_help=True,
)


class FaultMode(StrEnum):
    down = "down"
    freeze = "freeze"
    bgp_stop = "bgp-stop"
    api_stop = "api-stop"


class FailoverMode(StrEnum):
    down = "down"
    freeze = "freeze"
    drain = "drain"


# -- lab fail / heal / drain ---------------------------------------------------------------


@handles_errors
def lab_fail(
    name: str = typer.Argument(..., help="lab name"),
    node: str = typer.Argument(..., help="a node of the lab"),
    mode: FaultMode = typer.Option(..., "--mode", help="down, freeze, bgp-stop or api-stop"),
    output: OutputFormat = OutputOption,
) -> None:
    """Break a node: port down, FRR frozen (SIGSTOP), bgpd killed, or its API stand-in stopped."""
    from hcplb.lab import Lab
    from hcplb.lab.faults import fail

    fault = fail(Lab.open(name), node, mode.value)
    if output is OutputFormat.json:
        print_json({"lab": name, "node": node, "mode": fault.mode, "at": fault.at,
                    "detail": fault.detail})  # fmt: skip
        return
    console.print(f"{node}: {fault.mode} ({fault.detail})", highlight=False, markup=False)
    console.print(f"  undo: hcplb lab heal {name} {node}", highlight=False, markup=False)


@handles_errors
def lab_heal(
    name: str = typer.Argument(..., help="lab name"),
    node: str = typer.Argument(..., help="a node of the lab"),
    timeout: float = typer.Option(
        CONVERGE_TIMEOUT,
        "--timeout",
        help="seconds to wait for full ECMP",
        callback=number_between(0.1, 3600),
    ),
    output: OutputFormat = OutputOption,
) -> None:
    """Undo every fault and drain of a node exactly; wait until the routers have full ECMP."""
    from hcplb.lab import Lab
    from hcplb.lab.faults import heal

    healed = heal(Lab.open(name), node, timeout=timeout)
    if output is OutputFormat.json:
        print_json({"lab": name, "node": node, "undone": list(healed.undone),
                    "ecmp_s": healed.ecmp_s, "converged_s": healed.converged_s})  # fmt: skip
        return
    what = ", ".join(healed.undone) or "nothing to undo"
    console.print(
        f"{node}: {what}; full ECMP after {healed.ecmp_s:.2f} s, every session up after "
        f"{healed.converged_s:.2f} s",
        highlight=False,
        markup=False,
    )


@handles_errors
def lab_drain(
    name: str = typer.Argument(..., help="lab name"),
    node: str = typer.Argument(..., help="a node of the lab"),
    timeout: float = typer.Option(
        30.0,
        "--timeout",
        help="seconds to wait for the routers",
        callback=number_between(0.1, 3600),
    ),
    pinned: bool = typer.Option(
        False,
        "--pin",
        help="pin the routers' VIP routes first and merge the node out: no other node's "
        "connection moves (heal unpins)",
    ),
    output: OutputFormat = OutputOption,
) -> None:
    """Drain a node as MetalLB does for the exclude-from-external-load-balancers label."""
    from hcplb.lab import Lab
    from hcplb.lab.faults import drain

    drained = drain(Lab.open(name), node, timeout=timeout, pinned=pinned)
    if output is OutputFormat.json:
        print_json({"lab": name, "node": node, "withdrawn_s": drained.withdrawn_s,
                    "routers": list(drained.routers), "open_connections": drained.open_connections,
                    "may_stop": True})  # fmt: skip
        return
    routers = ", ".join(drained.routers) or "no router"
    console.print(
        f"{node} drained: {routers} removed its nexthop after {drained.withdrawn_s:.2f} s; "
        "the node may be stopped now",
        highlight=False,
        markup=False,
    )
    if drained.open_connections:
        console.print(
            f"  {drained.open_connections} API connection(s) still open on {node}: no new ones "
            "arrive; wait for them to end (or let their clients reconnect)",
            highlight=False,
            markup=False,
        )
    console.print(f"  undo: hcplb lab heal {name} {node}", highlight=False, markup=False)


# -- bench failover / security -------------------------------------------------------------


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"
    return str(value)


@bench_app.command("failover")
@handles_errors
def bench_failover(
    site: Path = typer.Argument(..., help="site spec (YAML)"),
    mode: FailoverMode = typer.Option(..., "--mode", help="down, freeze or drain"),
    runs: int = typer.Option(3, "--runs", min=1, max=1000, help="runs on the same lab"),
    profile: Profile = typer.Option(Profile.hcplb, "--profile", help="hcplb or the guide's"),
    max_wait: float = typer.Option(
        240.0,
        "--max-wait",
        help="give up waiting for the withdrawal after this many seconds",
        callback=number_between(1, 3600),
    ),
    rate: float = typer.Option(
        200.0,
        "--rate",
        help="new HTTPS connections per second",
        callback=number_between(1, 10000, unit="connections per second"),
    ),
    node: str = typer.Option(
        None, "--node", help="the node to fail (default: the one serving the client most)"
    ),
    hold: float = typer.Option(
        0.0,
        "--hold",
        help="keep each connection open this many seconds (keep-alive), then ask again",
        callback=number_between(0, 60),
    ),
    pinned: bool = typer.Option(
        False, "--pin", help="drain: pin the routers' VIP routes first (no other node's flow moves)"
    ),
    plot: Path = typer.Option(None, "--plot", help="write a PNG of outcomes over time"),
    report_file: Path = typer.Option(
        None, "--report", help="write one HTML page: figures, plot, the site's picture"
    ),
    output: OutputFormat = OutputOption,
) -> None:
    """A node fails under load: withdrawal time, failed requests, recovery; min/median/max."""
    from hcplb.bench.failover import run_failover

    report = run_failover(
        site, mode=mode.value, runs=runs, profile=profile, max_wait=max_wait,
        rate=rate, node=node, hold=hold, pinned=pinned, plot=plot, progress=say,
    )  # fmt: skip
    data = report.as_json()
    if report_file is not None:
        _failover_page(report, site, report_file, plot)
    if output is OutputFormat.json:
        print_json(data)
        return
    table = Table(
        title=f"{site.name}: {mode.value} on {report.runs[0].node}, {profile.value} profile, "
        f"{rate:g} new connections/s"
    )
    for column in ("figure", "min", "median", "max"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    for key, label in (
        ("withdrawal_s", "nexthop withdrawn after (s)"),
        ("failed_requests", "failed requests"),
        ("longest_failure_window_s", "longest failure window (s)"),
        ("recovery_s", "full ECMP after heal (s)"),
    ):
        figures = data[key]
        table.add_row(label, *(_fmt(figures[k]) for k in ("min", "median", "max")))
    in_flight = sum(r.in_flight for r in report.runs)
    table.add_row(
        "resets per 1000 in-flight connections",
        "", _fmt(data["resets_per_1000_in_flight"]), f"({in_flight} in flight at a FIB change)",
    )  # fmt: skip
    table.add_row(
        "... of connections on other nodes", "", _fmt(data["resets_elsewhere_per_1000_in_flight"]),
        "",
    )  # fmt: skip
    console.print(table)
    outside = sum(r.failed_outside_window for r in report.runs)
    console.print(
        f"{len(report.runs)} run(s); failures outside the fault→withdrawal window: {outside}; "
        f"machine load {report.load_before} → {report.load_after}",
        highlight=False,
    )
    if report.bounded:
        console.print(
            f"[yellow]bounded:[/] a router still had the nexthop after --max-wait {max_wait:g} s; "
            "the withdrawal figures are lower bounds",
            highlight=False,
        )
    if plot is not None:
        console.print(f"plot: {plot}", highlight=False)


def _failover_page(report: FailoverReport, site: Path, path: Path, plot: Path | None) -> None:
    """The HTML page of a failover benchmark (the plot is drawn again if not kept)."""
    import tempfile

    from hcplb.bench.failover import plot_runs
    from hcplb.plan import plan_site
    from hcplb.report.bench import failover_html
    from hcplb.report.page import write_page
    from hcplb.spec import load_site

    if plot is not None:
        png = plot.read_bytes()
    else:
        with tempfile.TemporaryDirectory(prefix="hcplb-plot-") as tmp:
            png = plot_runs(report, Path(tmp) / "plot.png").read_bytes()
    plan = plan_site(load_site(site).site)
    title = f"{site.name}: failover ({report.mode}), {report.profile} profile"
    write_page(path, failover_html(report.as_json(), title=title, plot_png=png, plan=plan))
    say(f"report: {path}")


@bench_app.command("withdrawal")
@handles_errors
def bench_withdrawal(
    site: Path = typer.Argument(..., help="site spec (YAML)"),
    runs: int = typer.Option(5, "--runs", min=1, max=1000, help="node failures on the same lab"),
    profile: Profile = typer.Option(Profile.hcplb, "--profile", help="hcplb or the guide's"),
    node: str = typer.Option(None, "--node", help="the node to fail (default: each in turn)"),
    tweak: list[str] = typer.Option(
        [], "--tweak", help="a router change to measure against the rendered config (repeatable)"
    ),
    output: OutputFormat = OutputOption,
) -> None:
    """Where the time goes after a node dies: BFD, bgpd, zebra, kernel; median/p95 per stage."""
    from hcplb.bench.withdrawal import run_withdrawal

    report = run_withdrawal(
        site, runs=runs, profile=profile, node=node, tweaks=tuple(tweak), progress=say
    )
    data = report.as_json()
    if output is OutputFormat.json:
        print_json(data)
        return
    title = f"{site.name}: withdrawal path, {profile.value} profile"
    table = Table(title=title + (f" + {', '.join(tweak)}" if tweak else ""))
    for column in ("stage", "median ms", "p95 ms", "max ms", "n", "what"):
        table.add_column(column, justify="right" if "ms" in column or column == "n" else "left")
    whats = {s["name"]: s["what"] for s in data["stages"]}
    whats |= {"after-bfd": "from BFD down to the FIB change", "total": "from the fault"}
    for name, fig in data["figures"].items():
        cells = (_fmt(fig[k]) for k in ("median_ms", "p95_ms", "max_ms", "n"))
        table.add_row(name, *cells, whats.get(name, ""))
    console.print(table)
    console.print(
        f"{len(report.runs)} run(s); machine load {report.load_before} → {report.load_after}",
        highlight=False,
    )


@bench_app.command("security")
@handles_errors
def bench_security(
    site: Path = typer.Argument(..., help="site spec (YAML)"),
    profile: Profile = typer.Option(None, "--profile", help="one profile (default: both)"),
    output: OutputFormat = OutputOption,
) -> None:
    """Attacks from the machine network on the router: accepted or rejected, with evidence."""
    from hcplb.bench.security import run_security

    profiles = (profile,) if profile is not None else tuple(Profile)
    report = run_security(site, profiles=profiles, progress=say)
    data = report.as_json()
    if output is OutputFormat.json:
        print_json(data)
        return
    table = Table(title=f"{site.name}: attacks on the router", show_lines=True)
    table.add_column("attack")
    for p in profiles:
        table.add_column(p)
    table.add_column("evidence")
    for row in data["attacks"]:
        verdicts = [
            f"[red]{row[p]}[/]" if row.get(p) == "accepted" else f"[green]{row.get(p, '-')}[/]"
            for p in profiles
        ]
        evidence = "\n".join(f"{p}: {row['evidence'].get(p, '-')}" for p in profiles)
        table.add_row(f"{row['id']}\n[dim]{row.get('title', '')}[/]", *verdicts, evidence)
    console.print(table)


def register(app: typer.Typer) -> None:
    from hcplb.cli.stability_cmds import bench_stability

    bench_app.command("stability")(bench_stability)
    lab_app.command("fail")(lab_fail)
    lab_app.command("heal")(lab_heal)
    lab_app.command("drain")(lab_drain)
    app.add_typer(bench_app, name="bench")

"""`hcplb bench stability`: BFD profiles side by side under load, flaps counted (bench_cmds
registers it in the bench group)."""

from __future__ import annotations

import shlex
import sys
from enum import StrEnum
from pathlib import Path

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


class StabilityLoad(StrEnum):
    cpu = "cpu"
    loss = "loss"
    both = "both"
    none = "none"


@handles_errors
def bench_stability(
    site: Path = typer.Argument(..., help="site spec (YAML)"),
    minutes: float = typer.Option(
        10.0,
        "--minutes",
        help="how long every lab runs under load",
        callback=number_between(0.05, 24 * 60, unit="minutes"),
    ),
    load: StabilityLoad = typer.Option(
        StabilityLoad.both,
        "--load",
        help="cpu (stress-ng on every core), loss (netem on the lab's links), both or none",
    ),
    profiles: str = typer.Option(
        "300x3,100x3,50x3,spec",
        "--profiles",
        help="BFD profiles INTERVALxMULTIPLIER (ms), comma separated; spec = the site's own",
    ),
    loss: float = typer.Option(
        1.0,
        "--loss",
        help="netem packet loss (%) per direction",
        callback=number_between(0, 100, unit="percent"),
    ),
    jitter: float = typer.Option(
        2.0,
        "--jitter",
        help="netem delay and jitter (ms): DELAY +- DELAY (without sch_netem: none)",
        callback=number_between(0, 1000, unit="ms"),
    ),
    seconds: float = typer.Option(
        None,
        "--seconds",
        hidden=True,
        help="overrides --minutes",
        callback=number_between(1, 86400),
    ),
    output: OutputFormat = OutputOption,
) -> None:
    """Run one lab per BFD profile under load; count BFD downs, BGP resets, withdrawn nexthops."""
    from hcplb.bench.stability import run_stability
    from hcplb.lab.impair import Impairment

    window = seconds if seconds is not None else minutes * 60
    command = shlex.join(["hcplb", *sys.argv[1:]])
    report = run_stability(
        site, seconds=window, load=load.value, profiles=profiles,
        impairment=Impairment(loss_pct=loss, delay_ms=jitter, jitter_ms=jitter),
        command=command, progress=say,
    )  # fmt: skip
    data = report.as_json()
    if output is OutputFormat.json:
        print_json(data)
        return
    lost = data["loss"]
    how = {"cpu": "stress-ng on every core", "none": "no load"}.get(load.value, "")
    if lost:
        lossy = f"{lost['loss_pct']:g} % loss ({lost['method']}"
        lossy += (
            f", {lost['delay_ms']:g} +- {lost['jitter_ms']:g} ms)" if lost["jitter_ms"] else ")"
        )
        how = f"stress-ng on every core and {lossy}" if load.value == "both" else lossy
    span = f"{window / 60:g} min" if window % 60 == 0 else f"{window:g} s"
    table = Table(title=f"{site.name}: {span}, {how}")
    dropped = any(row["dropped_packets"] is not None for row in data["profiles"])
    columns = ["BFD profile", "detection", "BFD downs", "BGP resets", "withdrawals"]
    for column in [*columns, *(["packets dropped"] if dropped else [])]:
        table.add_column(column, justify="left" if column == "BFD profile" else "right")
    for row in data["profiles"]:
        style = "green" if row["flaps"] == 0 else "red"
        table.add_row(
            row["profile"], f"{row['detection_ms']} ms",
            *(f"[{style}]{row[k]}[/]" for k in ("bfd_downs", "bgp_resets", "withdrawals")),
            *([str(row["dropped_packets"] or 0)] if dropped else []),
        )  # fmt: skip
    console.print(table)
    chosen = data["fastest_without_flaps"] or "none (every profile flapped)"
    prov = data["provenance"]
    console.print(
        f"fastest without flaps: {chosen}; machine load {prov['load_before']} → "
        f"{prov['load_after']}",
        highlight=False,
        markup=False,
    )

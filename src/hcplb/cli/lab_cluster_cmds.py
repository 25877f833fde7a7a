"""`hcplb lab cluster add|remove`: hosted clusters that come and go on a running lab."""

from __future__ import annotations

import typer

from hcplb.cli._output import (
    OutputFormat,
    OutputOption,
    console,
    err_console,
    handles_errors,
    print_json,
)
from hcplb.errors import LabError
from hcplb.lab import Lab, list_labs
from hcplb.lab.fleet import Change, add, remove
from hcplb.lab.lock import locked

cluster_app = typer.Typer(
    help="Hosted clusters that come and go on a running lab (a shared pool; routers untouched).",
    no_args_is_help=True,
)

LabOption = typer.Option(None, "--lab", help="the lab (default: the only one on this machine)")


def _lab_name(name: str | None) -> str:
    if name is not None:
        return name
    labs = [s.name for s in list_labs()]
    if len(labs) == 1:
        return labs[0]
    raise LabError(
        "no lab is running (hint: `hcplb lab up SITE` first)"
        if not labs
        else f"several labs run ({', '.join(labs)}) (hint: --lab NAME)"
    )


def _show(change: Change, verb: str, output: OutputFormat) -> None:
    c = change.cluster
    if output == OutputFormat.json:
        print_json(
            {
                "cluster": c.name,
                "namespace": c.namespace,
                "pool": c.pool,
                "vip": c.vip,
                "action": verb,
                "steps": list(change.steps),
                "seconds": round(change.seconds, 3),
            }
        )
        return
    console.print(
        f"{c.namespace}/{c.name} {verb}: VIP {c.vip} (pool {c.pool}), "
        f"{'verified' if verb == 'added' else 'withdrawn'} in {change.seconds:.2f} s",
        highlight=False,
    )


@cluster_app.command("add")
@handles_errors
def cluster_add(
    name: str = typer.Argument(..., help="hosted cluster name"),
    namespace: str = typer.Option(..., "--namespace", help="the HostedCluster's namespace"),
    pool: str | None = typer.Option(None, "--pool", help="a shared pool (default: the only one)"),
    lab: str | None = LabOption,
    output: OutputFormat = OutputOption,
) -> None:
    """MetalLB gives it a VIP from the shared pool, the API stand-in answers, ExternalDNS-style
    records are written, the speakers announce it; waits until it is verified."""
    lab_name = _lab_name(lab)
    with locked(lab_name, "cluster add"):
        change = add(
            Lab.open(lab_name),
            name,
            namespace,
            pool=pool,
            on_step=lambda text: err_console.print(f"[dim]{text}[/]", highlight=False),
        )
    _show(change, "added", output)


@cluster_app.command("remove")
@handles_errors
def cluster_remove(
    name: str = typer.Argument(..., help="a hosted cluster `lab cluster add` added"),
    lab: str | None = LabOption,
    output: OutputFormat = OutputOption,
) -> None:
    """Its records, listeners and announcements go; waits until the routers withdraw the VIP."""
    lab_name = _lab_name(lab)
    with locked(lab_name, "cluster remove"):
        change = remove(Lab.open(lab_name), name)
    _show(change, "removed", output)

"""`hcplb apply` and `hcplb hostedcluster patch|check`.

`apply` works system by system, in the order that lets each confirm its own change: the
cluster (MetalLB speakers then dial the routers), each router (commit-confirmed: its sessions
must come up), then DNS (names point at a VIP that answers). It stops at the first system
that fails; each system is left either changed and confirmed or as it was.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from hcplb.apply.cluster import apply_cluster
from hcplb.apply.dns import apply_dns
from hcplb.apply.preflight import in_lab, prepare_host
from hcplb.apply.router import apply_router
from hcplb.cli._output import (
    OutputFormat,
    OutputOption,
    console,
    err_console,
    handles_errors,
    print_json,
)
from hcplb.errors import EXIT_FAILED, TargetError
from hcplb.hypershift.check import check_hostedcluster
from hcplb.hypershift.patch import desired_hostedclusters, patch_hostedcluster_file
from hcplb.plan import SitePlan, plan_site
from hcplb.render import render_site
from hcplb.render.cluster import cluster_manifests
from hcplb.render.router import router_dir
from hcplb.render.secrets import Secrets
from hcplb.secrets import resolve_secret
from hcplb.settings import CONVERGE_TIMEOUT
from hcplb.spec import load_site
from hcplb.spec.models import Router, Site
from hcplb.targets import LabTarget, Target, open_target
from hcplb.targets.kube import kube_client

hostedcluster_app = typer.Typer(
    name="hostedcluster",
    help="Put the site's publishing strategy into a HostedCluster, or check a live one.",
    no_args_is_help=True,
)


def _secrets(site: Site, base: Path, *, password: bool, tsig: bool) -> Secrets:
    """Only the secrets this run needs (a router-only apply needs no TSIG key)."""
    spec = site.spec
    return Secrets(
        resolve_secret(spec.bgp.password, field="spec.bgp.password", base_dir=base)
        if password and spec.bgp.password
        else None,
        resolve_secret(spec.dns.tsig_key.secret, field="spec.dns.tsigKey.secret", base_dir=base)
        if tsig and spec.dns.tsig_key
        else None,
    )


def _say(text: str) -> None:
    err_console.print(text, markup=False, highlight=False)


def _router_targets(
    plan: SitePlan, specs: list[str], lab: str | None, ssh: dict[str, Any]
) -> list[tuple[Router, Target, bool]]:
    """(site router, target, persist boot files) for each --router."""
    routers = {r.name: r for r in plan.routers}
    result = []
    for spec in specs:
        name, sep, where = spec.partition("=")
        if not sep:
            name, where = "", spec
        if lab is not None:
            from hcplb.lab import Lab

            name = name or where
            target: Target = LabTarget(Lab.open(lab), where)
        else:
            target = open_target(where, **ssh) if where.startswith("ssh://") else open_target(where)
        if not name:
            if len(routers) == 1:
                name = next(iter(routers))
            else:
                by_address = [
                    r.name
                    for r in plan.routers
                    if f"@{r.address}" in where or f"//{r.address}" in where
                ]
                if len(by_address) != 1:
                    raise TargetError(
                        f"which router is {where}? the site has {', '.join(routers)} "
                        "(hint: --router NAME=TARGET)"
                    )
                name = by_address[0]
        if name not in routers:
            raise TargetError(f"the site has no router {name!r} (it has {', '.join(routers)})")
        persist = lab is None and in_lab(target) is None
        result.append((routers[name], target, persist))
    return result


def _apply_router(
    plan: SitePlan,
    secrets: Secrets,
    router: Router,
    target: Target,
    persist: bool,
    *,
    yes: bool,
    dry_run: bool,
    confirm_timeout: float,
) -> dict[str, Any]:
    rendered = render_site(plan.site, secrets)
    checks, fixed = prepare_host(
        target, plan, router, rendered, fix=yes and not dry_run, persist=persist, progress=_say
    )
    missing = [c for c in checks if not c.ok]
    report: dict[str, Any] = {
        "router": router.name,
        "target": str(target),
        "preflight": [
            {
                "id": c.id,
                "ok": c.ok,
                "observed": c.observed,
                "expected": c.expected,
                "fix": [s.what for s in c.fix] if not c.ok else [],
            }
            for c in checks
        ],
        "fixed": fixed,
    }
    if missing and not dry_run:
        lines = [
            f"{c.id}: {c.observed} (wanted {c.expected}; --yes: {', '.join(s.what for s in c.fix)})"
            for c in missing
        ]
        raise TargetError(
            f"router {router.name} ({target}) is not ready:\n  "
            + "\n  ".join(lines)
            + "\n(hint: pass --yes to fix these the way router/setup.sh does)"
        )
    if any(c.id == "frr-installed" and not c.ok for c in checks):
        report.update(changed=None, diff=[], message="FRR is not installed: no diff")
        return report
    frr_conf = rendered.get(f"{router_dir(plan, router)}/frr.conf").content
    result = apply_router(
        target,
        plan,
        router,
        frr_conf,
        secrets=secrets.values(),
        dry_run=dry_run,
        confirm_timeout=confirm_timeout,
        progress=_say,
    )
    report.update(
        changed=result.changed,
        diff=list(result.diff),
        message=result.message,
        converged_s=result.converged_s,
    )
    return report


@handles_errors
def apply(
    site: Path = typer.Argument(..., help="site spec (YAML)"),
    router: list[str] = typer.Option(
        [],
        "--router",
        help="local | ssh://user@host[:port] | NAME=TARGET; with --lab: the lab host (repeatable)",
    ),
    lab: str | None = typer.Option(
        None, "--lab", help="apply to routers of this lab (--router names its host)"
    ),
    dns: bool = typer.Option(
        False, "--dns", help="update the api/api-int records on the zone's primary (RFC 2136, TSIG)"
    ),
    dns_server: str | None = typer.Option(
        None, "--dns-server", help="HOST[:PORT] instead of spec.dns.primary"
    ),
    cluster: bool = typer.Option(
        False, "--cluster", help="server-side apply the MetalLB manifests"
    ),
    kubeconfig: Path | None = typer.Option(
        None, "--kubeconfig", help="kubeconfig of the management cluster"
    ),
    context: str | None = typer.Option(None, "--context", help="kubeconfig context"),
    dry_run: bool = typer.Option(False, "--dry-run", help="show what would change; change nothing"),
    yes: bool = typer.Option(False, "--yes", "-y", help="fix a router's missing host preparation"),
    force_conflicts: bool = typer.Option(
        False, "--force-conflicts", help="take over fields another manager owns"
    ),
    confirm_timeout: float = typer.Option(
        CONVERGE_TIMEOUT,
        "--confirm-timeout",
        help="seconds a router has to converge before it is rolled back (0: no confirmation)",
    ),
    ssh_key: list[Path] = typer.Option(
        [], "--ssh-key", help="SSH private key (repeatable; default: ssh-agent and ~/.ssh)"
    ),
    known_hosts: Path | None = typer.Option(
        None, "--known-hosts", help="known_hosts file (default ~/.ssh/known_hosts)"
    ),
    output: OutputFormat = OutputOption,
) -> None:
    """Push the site to the cluster, the router(s) and DNS, safely (see --help of each option)."""
    if not (router or dns or cluster):
        raise TargetError("nothing to apply (hint: --router TARGET, --cluster and/or --dns)")
    if lab is not None and dns:
        raise TargetError(
            "--dns with --lab would send updates from this machine into the lab "
            f"(hint: run it from the lab's client: hcplb lab exec {lab} client -- hcplb apply ... --dns)"
        )
    loaded = load_site(site)
    plan = plan_site(loaded.site)
    secrets = _secrets(loaded.site, site.parent, password=bool(router or cluster), tsig=dns)
    ssh: dict[str, Any] = {}
    if ssh_key:
        ssh["client_keys"] = [str(k) for k in ssh_key]
    if known_hosts:
        ssh["known_hosts"] = str(known_hosts)
    summary: dict[str, Any] = {"site": loaded.site.name, "dry_run": dry_run}
    if cluster:
        client = kube_client(kubeconfig, context)
        report = apply_cluster(
            client,
            cluster_manifests(plan, secrets),
            dry_run=dry_run,
            force_conflicts=force_conflicts,
            progress=_say,
        )
        summary["cluster"] = [asdict(o) for o in report.objects]
    if router:
        summary["routers"] = []
        for site_router, target, persist in _router_targets(plan, router, lab, ssh):
            with target:
                summary["routers"].append(
                    _apply_router(
                        plan,
                        secrets,
                        site_router,
                        target,
                        persist,
                        yes=yes,
                        dry_run=dry_run,
                        confirm_timeout=confirm_timeout,
                    )
                )
    if dns:
        host, port = _host_port(dns_server)
        dns_report = apply_dns(plan, secrets.tsig_secret, server=host, port=port, dry_run=dry_run)
        summary["dns"] = {
            "server": dns_report.server,
            "changes": [c.describe() for c in dns_report.changes],
            "checked": list(dns_report.checked),
        }
    if output is OutputFormat.json:
        print_json(summary)
    else:
        _print_summary(summary)


def _host_port(text: str | None) -> tuple[str | None, int]:
    if not text:
        return None, 53
    host, sep, port = text.rpartition(":")
    if sep and port.isdigit() and "]" not in port:
        return host.strip("[]"), int(port)
    return text, 53


def _print_summary(summary: dict[str, Any]) -> None:
    verb = "would " if summary["dry_run"] else ""
    for obj in summary.get("cluster", []):
        console.print(
            f"cluster: {obj['kind']} {obj['namespace']}/{obj['name']} {verb}{obj['action']}",
            highlight=False,
        )
    for router in summary.get("routers", []):
        name = router["router"]
        for check in router["preflight"]:
            if not check["ok"]:
                console.print(
                    f"router {name}: {check['id']}: {check['observed']} -> --yes would: {', '.join(check['fix'])}",
                    highlight=False,
                )
        for step in router["fixed"]:
            console.print(f"router {name}: fixed {step}", highlight=False, soft_wrap=True)
        for line in router["diff"]:
            console.print(f"router {name}: {line}", markup=False, highlight=False, soft_wrap=True)
        console.print(f"router {name}: {router['message']}", highlight=False, soft_wrap=True)
    if "dns" in summary:
        dns = summary["dns"]
        for line in dns["changes"] or ["no change"]:
            console.print(
                f"dns {dns['server']}: {verb if dns['changes'] else ''}{line}", highlight=False
            )
        for line in dns["checked"]:
            console.print(f"dns {dns['server']}: read back {line}", highlight=False, soft_wrap=True)


@handles_errors
def patch(
    file: Path = typer.Argument(
        ..., help="HostedCluster YAML (multi-document is fine), edited in place"
    ),
    site: Path = typer.Option(..., "--site", help="site spec (YAML)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="show the changes, write nothing"),
    output: OutputFormat = OutputOption,
) -> None:
    """Set spec.services and allowedCIDRBlocks of the site's hosted clusters, keeping comments."""
    desired = desired_hostedclusters(plan_site(load_site(site).site))
    result = patch_hostedcluster_file(file, desired, write=not dry_run)
    if output is OutputFormat.json:
        print_json(
            {
                "file": str(file),
                "changed": result.changed,
                "written": result.changed and not dry_run,
                "changes": list(result.changes),
                "matched": list(result.matched),
                "skipped": list(result.skipped),
                "notes": list(result.notes),
            }
        )
        return
    for line in result.changes:
        console.print(line, markup=False, highlight=False)
    for line in result.notes:
        err_console.print(f"note: {line}", markup=False, highlight=False)
    for ident in result.skipped:
        err_console.print(
            f"note: {ident} is not in the site: left as it was", markup=False, highlight=False
        )
    if not result.changed:
        console.print(f"{file}: no change", highlight=False)
    elif dry_run:
        console.print(f"{file}: dry run, not written", highlight=False)
    else:
        console.print(f"{file}: written", highlight=False)


@handles_errors
def check(
    site: Path = typer.Option(..., "--site", help="site spec (YAML)"),
    kubeconfig: Path | None = typer.Option(
        None, "--kubeconfig", help="kubeconfig of the management cluster"
    ),
    context: str | None = typer.Option(None, "--context", help="kubeconfig context"),
    output: OutputFormat = OutputOption,
) -> None:
    """Compare each live HostedCluster of the site with what the site wants (read only)."""
    client = kube_client(kubeconfig, context)
    reports = [
        check_hostedcluster(client, d)
        for d in desired_hostedclusters(plan_site(load_site(site).site))
    ]
    if output is OutputFormat.json:
        print_json(
            {
                "ok": all(r.ok for r in reports),
                "clusters": [
                    {
                        "cluster": r.cluster,
                        "ok": r.ok,
                        "must_recreate": r.must_recreate,
                        "findings": [asdict(f) for f in r.findings],
                    }
                    for r in reports
                ],
            }
        )
    else:
        for report in reports:
            table = Table(title=f"HostedCluster {report.cluster}")
            for column in ("field", "status", "expected", "observed", "hint"):
                table.add_column(column)
            for f in report.findings:
                table.add_row(f.field, "ok" if f.ok else "DIFFERS", f.expected, f.observed, f.hint)
            console.print(table)
            if report.must_recreate:
                console.print(
                    f"{report.cluster}: spec.services is immutable; this hosted cluster must be "
                    "recreated to publish its API through MetalLB",
                    highlight=False,
                )
    if not all(r.ok for r in reports):
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    app.command()(apply)
    hostedcluster_app.command()(patch)
    hostedcluster_app.command()(check)
    app.add_typer(hostedcluster_app)

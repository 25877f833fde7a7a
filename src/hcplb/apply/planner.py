"""What `hcplb apply` will do, in which order, from one render of the site (no I/O but secrets).

The order lets each system confirm its own change: the cluster first (MetalLB's speakers then
dial the routers), each router (commit-confirmed: its sessions must come up), then DNS (names
point at a VIP that answers). `hcplb.apply.executor` carries the steps out, or with
`dry_run` shows each one's diff, the same way for all three.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hcplb.errors import TargetError
from hcplb.plan import SitePlan
from hcplb.render import render_site
from hcplb.render.cluster import cluster_manifests
from hcplb.render.files import RenderedSite
from hcplb.render.router import router_dir
from hcplb.render.secrets import Secrets
from hcplb.secrets import resolve_secret
from hcplb.spec.models import Router
from hcplb.targets.routers import parse_router_options

__all__ = [
    "ApplyOptions",
    "ApplyPlan",
    "ClusterStep",
    "DnsStep",
    "RouterStep",
    "Step",
    "needed_secrets",
    "parse_host_port",
    "plan_apply",
]


@dataclass(frozen=True)
class ApplyOptions:
    """What was asked for: which systems, and where the routers and the DNS primary are."""

    routers: tuple[str, ...] = ()
    lab: str | None = None
    """the routers are hosts of this lab (`--router` names the host)"""
    dns: bool = False
    dns_server: str | None = None
    cluster: bool = False


@dataclass(frozen=True)
class ClusterStep:
    """Server-side apply of the MetalLB objects."""

    manifests: tuple[Mapping[str, Any], ...]
    system: str = "cluster"


@dataclass(frozen=True)
class RouterStep:
    """One router's host preparation and commit-confirmed FRR change."""

    router: Router
    target: str
    """`local`, `ssh://...`, or the lab host"""
    lab: str | None
    frr_conf: str
    system: str = "router"

    def __repr__(self) -> str:  # frr_conf may hold the BGP password
        return f"RouterStep(router={self.router.name!r}, target={self.target!r})"


@dataclass(frozen=True)
class DnsStep:
    """RFC 2136 updates of the api/api-int records on the zone's primary."""

    server: str | None
    """None: spec.dns.primary"""
    port: int
    system: str = "dns"


Step = ClusterStep | RouterStep | DnsStep


@dataclass(frozen=True)
class ApplyPlan:
    site: SitePlan
    secrets: Secrets
    rendered: RenderedSite
    steps: tuple[Step, ...]


def needed_secrets(plan: SitePlan, options: ApplyOptions, base_dir: Path) -> Secrets:
    """Only the secrets this apply needs (a router-only apply needs no TSIG key)."""
    spec = plan.site.spec
    password = bool(options.routers or options.cluster) and spec.bgp.password is not None
    tsig = options.dns and spec.dns.tsig_key is not None
    return Secrets(
        resolve_secret(spec.bgp.password, field="spec.bgp.password", base_dir=base_dir)
        if password and spec.bgp.password
        else None,
        resolve_secret(spec.dns.tsig_key.secret, field="spec.dns.tsigKey.secret", base_dir=base_dir)
        if tsig and spec.dns.tsig_key
        else None,
    )


def parse_host_port(text: str | None) -> tuple[str | None, int]:
    """`HOST[:PORT]` (IPv6 in brackets) of --dns-server; port 53 by default."""
    if not text:
        return None, 53
    host, sep, port = text.rpartition(":")
    if sep and port.isdigit() and "]" not in port:
        return host.strip("[]"), int(port)
    return text, 53


def _check(options: ApplyOptions) -> None:
    if not (options.routers or options.dns or options.cluster):
        raise TargetError("nothing to apply (hint: --router TARGET, --cluster and/or --dns)")
    if options.lab is not None and options.dns:
        raise TargetError(
            "--dns with --lab would send updates from this machine into the lab (hint: run it "
            f"from the lab's client: hcplb lab exec {options.lab} client -- hcplb apply ... --dns)"
        )


def plan_apply(plan: SitePlan, options: ApplyOptions, *, base_dir: Path) -> ApplyPlan:
    """The steps of this apply, cluster, routers, DNS, from one render of the site.

    Refuses what cannot be applied before any secret is read (relative secret files are
    under `base_dir`, the site spec's directory).
    """
    _check(options)
    targets = parse_router_options(options.routers, plan.routers, lab=options.lab is not None)
    secrets = needed_secrets(plan, options, base_dir)
    rendered = render_site(plan.site, secrets)
    steps: list[Step] = []
    if options.cluster:
        steps.append(ClusterStep(tuple(cluster_manifests(plan, secrets))))
    for option in targets:
        frr_conf = rendered.get(f"{router_dir(plan, option.router)}/frr.conf").content
        steps.append(RouterStep(option.router, option.target, options.lab, frr_conf))
    if options.dns:
        steps.append(DnsStep(*parse_host_port(options.dns_server)))
    return ApplyPlan(plan, secrets, rendered, tuple(steps))

"""router/: FRR config and host preparation for each router.

Per router: `frr.conf`, `daemons`, `90-hcplb.conf` (sysctl), the firewall file(s) of its
flavour and `setup.sh`, in `router/`, or in `router/<name>/` when the site has several.
With a BGP password, frr.conf is the only file that holds it: secret, mode 0600.
"""

from __future__ import annotations

from hcplb.errors import RenderError
from hcplb.plan import SitePlan
from hcplb.render.files import RenderedFile
from hcplb.render.firewall import (
    firewall_filenames,
    render_firewalld_script,
    render_iptables_rules,
    render_nft_equivalent,
)
from hcplb.render.frr import render_frr_conf, render_guide_frr_conf
from hcplb.render.host import (
    SYSCTL_FILENAME,
    render_daemons,
    render_setup_script,
    render_sysctl,
)
from hcplb.render.secrets import Secrets
from hcplb.spec.models import Router

__all__ = ["render_router_files", "router_dir"]

_PROFILES = ("hcplb", "guide")


def router_dir(plan: SitePlan, router: Router) -> str:
    """Where a router's files go: `router`, or `router/<name>` when there are several."""
    return "router" if len(plan.routers) == 1 else f"router/{router.name}"


def _password(plan: SitePlan, secrets: Secrets, profile: str) -> str | None:
    if profile == "guide" or plan.site.spec.bgp.password is None:
        return None
    if not secrets.bgp_password:
        raise RenderError(
            f"spec.bgp.password refers to {plan.site.spec.bgp.password.describe()} "
            "but no password was resolved"
        )
    return secrets.bgp_password


def _firewall_file(plan: SitePlan, router: Router, name: str, profile: str) -> RenderedFile:
    if name == "iptables.rules":
        text = render_iptables_rules(plan, router, family=4, profile=profile)
    elif name == "ip6tables.rules":
        text = render_iptables_rules(plan, router, family=6, profile=profile)
    elif name == "hcplb.nft":
        text = render_nft_equivalent(plan, router, profile=profile)
    else:
        return RenderedFile(
            f"{router_dir(plan, router)}/{name}",
            render_firewalld_script(plan, router, profile=profile),
            mode=0o755,
            kind="firewall",
        )
    return RenderedFile(f"{router_dir(plan, router)}/{name}", text, kind="firewall")


def render_router_files(
    plan: SitePlan, secrets: Secrets, *, profile: str = "hcplb"
) -> list[RenderedFile]:
    """Every router's files, router by router in spec order."""
    if profile not in _PROFILES:
        raise RenderError(f"unknown render profile {profile!r} (known: {', '.join(_PROFILES)})")
    password = _password(plan, secrets, profile)
    files: list[RenderedFile] = []
    for router in plan.routers:
        base = router_dir(plan, router)
        if profile == "guide":
            frr = RenderedFile(f"{base}/frr.conf", render_guide_frr_conf(plan, router), kind="frr")
        else:
            text = render_frr_conf(plan, router, password=password)
            secret = password is not None
            frr = RenderedFile(
                f"{base}/frr.conf", text, mode=0o600 if secret else 0o644, secret=secret, kind="frr"
            )
        files += [
            frr,
            RenderedFile(f"{base}/daemons", render_daemons(plan, profile=profile), kind="daemons"),
            RenderedFile(
                f"{base}/{SYSCTL_FILENAME}",
                render_sysctl(plan, router, profile=profile),
                kind="sysctl",
            ),
        ]
        files += [
            _firewall_file(plan, router, name, profile)
            for name in firewall_filenames(router, profile=profile)
        ]
        files.append(
            RenderedFile(
                f"{base}/setup.sh",
                render_setup_script(plan, router, profile=profile),
                mode=0o755,
                kind="script",
            )
        )
    return files

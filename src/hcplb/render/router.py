"""router/: FRR config and host preparation for each router.

Per router: `frr.conf`, `daemons`, `90-hcplb.conf` (sysctl), the firewall file(s) of its
flavour and `setup.sh`, in `router/`, or in `router/<name>/` when the site has several.
With a BGP password, frr.conf is the only file that holds it: secret, mode 0600.
"""

from __future__ import annotations

from hcplb.errors import RenderError
from hcplb.plan import SitePlan
from hcplb.render.drain import DRAIN_SCRIPT, render_drain_script
from hcplb.render.files import RenderedFile
from hcplb.render.firewall import (
    firewall_filenames,
    render_firewalld_script,
    render_iptables_rules,
    render_nft_equivalent,
)
from hcplb.render.frr import render_frr_conf
from hcplb.render.host import SYSCTL_FILENAME, render_daemons, render_sysctl
from hcplb.render.hostprep import render_setup_script
from hcplb.render.secrets import Secrets
from hcplb.spec.models import Router

__all__ = ["render_router_files", "router_dir"]


def router_dir(plan: SitePlan, router: Router) -> str:
    """Where a router's files go: `router`, or `router/<name>` when there are several."""
    return "router" if len(plan.routers) == 1 else f"router/{router.name}"


def _password(plan: SitePlan, secrets: Secrets) -> str | None:
    if plan.site.spec.bgp.password is None:
        return None
    if not secrets.bgp_password:
        raise RenderError(
            f"spec.bgp.password refers to {plan.site.spec.bgp.password.describe()} "
            "but no password was resolved"
        )
    return secrets.bgp_password


def _firewall_file(plan: SitePlan, router: Router, name: str) -> RenderedFile:
    if name == "iptables.rules":
        text = render_iptables_rules(plan, router, family=4)
    elif name == "ip6tables.rules":
        text = render_iptables_rules(plan, router, family=6)
    elif name == "hcplb.nft":
        text = render_nft_equivalent(plan, router)
    else:
        return RenderedFile(
            f"{router_dir(plan, router)}/{name}",
            render_firewalld_script(plan, router),
            mode=0o755,
            kind="firewall",
        )
    return RenderedFile(f"{router_dir(plan, router)}/{name}", text, kind="firewall")


def render_router_files(plan: SitePlan, secrets: Secrets) -> list[RenderedFile]:
    """Every router's files, router by router in spec order."""
    password = _password(plan, secrets)
    secret = password is not None
    files: list[RenderedFile] = []
    for router in plan.routers:
        base = router_dir(plan, router)
        text = render_frr_conf(plan, router, password=password)
        files += [
            RenderedFile(
                f"{base}/frr.conf", text, mode=0o600 if secret else 0o644, secret=secret, kind="frr"
            ),
            RenderedFile(f"{base}/daemons", render_daemons(plan), kind="daemons"),
            RenderedFile(f"{base}/{SYSCTL_FILENAME}", render_sysctl(plan, router), kind="sysctl"),
        ]
        files += [_firewall_file(plan, router, name) for name in firewall_filenames(router)]
        files.append(
            RenderedFile(
                f"{base}/setup.sh",
                render_setup_script(plan, router),
                mode=0o755,
                kind="script",
            )
        )
        files.append(
            RenderedFile(
                f"{base}/{DRAIN_SCRIPT}",
                render_drain_script(plan, router),
                mode=0o755,
                kind="script",
            )
        )
    return files

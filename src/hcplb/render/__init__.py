"""Render every artifact of a site: router, host prep, MetalLB, alerts, HostedCluster, DNS,
the topology picture and the runbook.

    render_site(site, secrets) reads top to bottom, one call per artifact family.
`profile="guide"` renders the guide's literal configuration instead (for benchmarks only).
"""

from __future__ import annotations

from typing import Literal

from hcplb.plan import plan_site
from hcplb.render.alerts import render_alert_files
from hcplb.render.cluster import render_cluster_files
from hcplb.render.dns import render_dns_files
from hcplb.render.files import RenderedFile, RenderedSite, write_rendered
from hcplb.render.hostedcluster import render_hostedcluster_files
from hcplb.render.router import render_router_files
from hcplb.render.runbook import render_runbook
from hcplb.render.secrets import Secrets, resolve_site_secrets
from hcplb.render.topology import render_topology
from hcplb.spec.models import Site

Profile = Literal["hcplb", "guide"]

__all__ = [
    "Profile",
    "RenderedFile",
    "RenderedSite",
    "Secrets",
    "render_site",
    "resolve_site_secrets",
    "write_rendered",
]


def render_site(site: Site, secrets: Secrets, *, profile: Profile = "hcplb") -> RenderedSite:
    """Every output file of the site, in a stable order."""
    plan = plan_site(site)
    files: list[RenderedFile] = []
    # router/: frr.conf, daemons, sysctl, firewall and setup.sh per router
    files += render_router_files(plan, secrets, profile=profile)
    # cluster/: the MetalLB CR, pools, BFD profile, peers, advertisements, password Secret
    files += render_cluster_files(plan, secrets, profile=profile)
    # cluster/prometheusrule.yaml: alerts on the speakers' session and announcement metrics
    files += render_alert_files(plan, profile=profile)
    # hostedcluster/<name>.yaml: spec.services (+ allowedCIDRBlocks) to put in before creation
    files += render_hostedcluster_files(plan)
    # dns/: zone snippet, nsupdate script, /etc/hosts lines
    files += render_dns_files(plan, secrets)
    # topology.svg: routers, nodes, sessions, VIPs and names, drawn by Graphviz
    files.append(render_topology(plan))
    # README.md: this site's runbook, pointing at the files above
    files.append(render_runbook(plan, tuple(files)))
    return RenderedSite(tuple(files))

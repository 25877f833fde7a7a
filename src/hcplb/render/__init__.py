"""Render every artifact of a site: router, host prep, MetalLB, alerts, HostedCluster, DNS,
the topology picture and the runbook.

    render_site(site, secrets) reads top to bottom, one call per artifact family.
`profile=Profile.guide` renders the guide's literal configuration instead (labs and
benchmarks only: `hcplb.render.guide`).
"""

from __future__ import annotations

from hcplb.plan import plan_site
from hcplb.render.alerts import render_alert_files
from hcplb.render.cluster import render_cluster_files
from hcplb.render.dns import render_dns_files
from hcplb.render.externaldns import render_externaldns_files
from hcplb.render.files import RenderedFile, RenderedSite, write_rendered
from hcplb.render.guide import render_guide_cluster_files, render_guide_router_files
from hcplb.render.hostedcluster import render_hostedcluster_files
from hcplb.render.profile import Profile, parse_profile
from hcplb.render.router import render_router_files
from hcplb.render.runbook import render_runbook
from hcplb.render.secrets import Secrets, resolve_site_secrets
from hcplb.render.topology import render_topology
from hcplb.spec.models import Site

__all__ = [
    "Profile",
    "RenderedFile",
    "RenderedSite",
    "Secrets",
    "parse_profile",
    "render_site",
    "resolve_site_secrets",
    "write_rendered",
]


def render_site(site: Site, secrets: Secrets, *, profile: Profile = Profile.hcplb) -> RenderedSite:
    """Every output file of the site, in a stable order."""
    plan = plan_site(site)
    guide = parse_profile(profile) is Profile.guide
    files: list[RenderedFile] = []
    # router/: frr.conf, daemons, sysctl, firewall and setup.sh per router
    files += render_guide_router_files(plan) if guide else render_router_files(plan, secrets)
    # cluster/: the MetalLB CR, pools, BFD profile, peers, advertisements, password Secret
    files += render_guide_cluster_files(plan) if guide else render_cluster_files(plan, secrets)
    # cluster/prometheusrule.yaml: alerts on the speakers' session and announcement metrics
    # (the guide has none)
    files += [] if guide else render_alert_files(plan)
    # hostedcluster/<name>.yaml: spec.services (+ allowedCIDRBlocks) to put in before creation
    files += render_hostedcluster_files(plan)
    # dns/: zone snippet, nsupdate script, /etc/hosts lines; or externaldns/: ExternalDNS
    # (RFC 2136) writing the records from the kube-apiserver Services
    if site.spec.dns.provider == "externaldns":
        files += render_externaldns_files(plan, secrets)
    else:
        files += render_dns_files(plan, secrets)
    # topology.svg: routers, nodes, sessions, VIPs and names, drawn by Graphviz
    files.append(render_topology(plan))
    # README.md: this site's runbook, pointing at the files above
    files.append(render_runbook(plan, tuple(files)))
    return RenderedSite(tuple(files))

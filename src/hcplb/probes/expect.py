"""What verify expects of a site: the converged state plus the configuration it checks.

The converged state (sessions, prefixes, nexthops, DNS answers, API URLs) is
`hcplb.converged`'s, the same the lab waits for and apply confirms; verify adds what it checks
beyond convergence: BFD timers, sysctl settings and the rendered frr.conf (config drift).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hcplb.converged import HostedApi, RouterState, converged_site
from hcplb.plan import SitePlan
from hcplb.render.profile import Profile, sysctl_settings_of
from hcplb.render.secrets import Secrets
from hcplb.spec.models import Bfd

__all__ = ["RouterExpect", "SiteExpect", "expect_site"]


@dataclass(frozen=True)
class RouterExpect(RouterState):
    """A converged router plus the configuration verify compares it with."""

    bfd: Bfd | None = None
    sysctl: tuple[tuple[str, str], ...] = ()
    frr_conf: str | None = field(default=None, repr=False)  # holds the BGP password
    """the rendered frr.conf to compare the running one with (None: not checked)"""


@dataclass(frozen=True)
class SiteExpect:
    name: str
    routers: tuple[RouterExpect, ...]
    clusters: tuple[HostedApi, ...]
    metallb_namespace: str
    manifests: tuple[dict[str, Any], ...] = field(repr=False)
    notes: tuple[str, ...] = ()
    bgp_backend: str = "frr-k8s"
    frr_configurations: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    """node -> the FRRConfiguration MetalLB writes for it (frr-k8s backend)"""


def expect_site(
    plan: SitePlan,
    secrets: Secrets,
    *,
    profile: Profile = Profile.hcplb,
    frr_confs: dict[str, str] | None = None,
) -> SiteExpect:
    """Expectations for `plan`; `frr_confs` maps router name to its rendered frr.conf."""
    converged = converged_site(plan, secrets, profile=profile)
    routers = tuple(
        RouterExpect(
            name=r.name,
            asn=r.asn,
            address=r.address,
            sessions=r.sessions,
            vips=r.vips,
            bfd=plan.bfd if profile is not Profile.guide else None,
            sysctl=sysctl_settings_of(profile, plan.families),
            frr_conf=(frr_confs or {}).get(r.name),
        )
        for r in converged.routers
    )
    return SiteExpect(
        name=converged.site,
        routers=routers,
        clusters=converged.apis,
        metallb_namespace=plan.site.spec.management_cluster.metallb_namespace,
        manifests=converged.manifests,
        notes=converged.problems + converged.notes,
        bgp_backend=plan.site.spec.management_cluster.bgp_backend,
        frr_configurations=(
            dict(converged.simulation.frr_configurations) if converged.simulation else {}
        ),
    )

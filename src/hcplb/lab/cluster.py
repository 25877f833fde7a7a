"""The management cluster's side of the lab: what MetalLB does with the rendered manifests.

`hcplb.converged` runs MetalLB's model over the rendered manifests, one kube-apiserver Service
per hosted cluster and a Node per spec node; its speakers decide each node's frr.conf and the
VIPs the nodes serve, and its converged state is what the lab waits for (stored in the journal
as `Expectations`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from hcplb.converged import Converged, converged_site
from hcplb.errors import LabError
from hcplb.lab.state import Expectations, LabCluster
from hcplb.metallb import Simulation
from hcplb.plan import SitePlan, plan_site
from hcplb.render.profile import Profile
from hcplb.render.secrets import Secrets
from hcplb.spec.models import HostedCluster, Site


@dataclass(frozen=True)
class ClusterView:
    """The simulation plus what the lab derives from it."""

    simulation: Simulation
    vips: tuple[str, ...]
    """every allocated VIP; each node binds all of them (kube-proxy, externalTrafficPolicy Cluster)"""
    expect: Expectations


def simulate_site(
    plan: SitePlan,
    secrets: Secrets,
    *,
    profile: Profile,
    extra_labels: Mapping[str, Mapping[str, str]] | None = None,
) -> ClusterView:
    """Run MetalLB over the site's rendered manifests; LabError when it would not publish a VIP.

    `extra_labels` adds labels to some nodes (node -> labels), e.g. the exclude label of a drain.
    """
    converged = converged_site(plan, secrets, profile=profile, extra_labels=extra_labels)
    sim = converged.simulation
    if converged.problems or sim is None:
        raise LabError(converged.problems[0] if converged.problems else "MetalLB would run nothing")
    vips = tuple(sorted({ip for ips in sim.allocations.values() for ip in ips}))
    return ClusterView(sim, vips, expectations(converged))


def expectations(converged: Converged) -> Expectations:
    """The converged state as the lab's journal keeps it (router host -> addresses)."""
    return Expectations(
        sessions={r.name: sorted(n.address for n in r.sessions) for r in converged.routers},
        routes={r.name: {p: list(hops) for p, hops in r.routes.items()} for r in converged.routers},
        names=converged.names,
        urls=list(converged.urls),
    )


def lab_site(site: Site, clusters: Sequence[LabCluster]) -> Site:
    """The site with the hosted clusters added to the running lab after its spec's own."""
    added = [
        HostedCluster.model_validate(
            {"name": c.name, "namespace": c.namespace, "baseDomain": c.base_domain, "pool": c.pool}
        )
        for c in clusters
    ]
    spec = site.spec.model_copy(update={"hosted_clusters": [*site.spec.hosted_clusters, *added]})
    return site.model_copy(update={"spec": spec})


def lab_plan(site: Site, clusters: Sequence[LabCluster]) -> SitePlan:
    """The running lab's plan: the spec's clusters and the added ones, each shared-pool cluster
    holding the VIP MetalLB gave it (an added cluster with no `vip` yet gets none: MetalLB
    picks one for it). Without added clusters, the spec's plan as it is."""
    plan = plan_site(lab_site(site, clusters))
    if not clusters:
        return plan
    given = {(c.namespace, c.name): c.vip for c in clusters}
    return replace(
        plan,
        clusters=tuple(
            replace(
                c,
                vip=given.get((c.cluster.namespace, c.cluster.name)) or c.vip,
                held=c.shared and given.get((c.cluster.namespace, c.cluster.name)) != "",
            )
            for c in plan.clusters
        ),
    )

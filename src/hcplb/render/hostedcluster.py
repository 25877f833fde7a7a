"""hostedcluster/: the HostedCluster spec.services block. (stub: being written)"""

from __future__ import annotations

from hcplb.plan import SitePlan
from hcplb.render.files import RenderedFile


def render_hostedcluster_files(plan: SitePlan) -> list[RenderedFile]:
    return []

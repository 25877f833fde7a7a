"""cluster/: MetalLB manifests. (stub: being written)"""

from __future__ import annotations

from hcplb.plan import SitePlan
from hcplb.render.files import RenderedFile
from hcplb.render.secrets import Secrets


def render_cluster_files(
    plan: SitePlan, secrets: Secrets, *, profile: str = "hcplb"
) -> list[RenderedFile]:
    return []

"""router/: FRR config and host preparation for each router. (stub: being written)"""

from __future__ import annotations

from hcplb.plan import SitePlan
from hcplb.render.files import RenderedFile
from hcplb.render.secrets import Secrets


def render_router_files(
    plan: SitePlan, secrets: Secrets, *, profile: str = "hcplb"
) -> list[RenderedFile]:
    return []

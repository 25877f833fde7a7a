"""README.md: the site's runbook. (stub: being written)"""

from __future__ import annotations

from hcplb.plan import SitePlan
from hcplb.render.files import RenderedFile


def render_runbook(plan: SitePlan, files: tuple[RenderedFile, ...]) -> RenderedFile:
    return RenderedFile("README.md", f"# {plan.site.name}\n", kind="runbook")

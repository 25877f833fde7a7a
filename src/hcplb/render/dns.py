"""dns/: zone snippet, nsupdate script, /etc/hosts lines. (stub: being written)"""

from __future__ import annotations

from hcplb.plan import SitePlan
from hcplb.render.files import RenderedFile
from hcplb.render.secrets import Secrets


def render_dns_files(plan: SitePlan, secrets: Secrets) -> list[RenderedFile]:
    return []

"""`verify --lab NAME`: the probes run inside the lab's hosts (routers, client) with its CA."""

from __future__ import annotations

from pathlib import Path

from hcplb.lab.core import Lab
from hcplb.plan import plan_site
from hcplb.probes.expect import expect_site
from hcplb.probes.sources import Prepared, kube_factory, rendered_frr, site_secrets
from hcplb.probes.suite import VerifyTargets
from hcplb.probes.vantage import OnTarget
from hcplb.render.profile import Profile
from hcplb.render.router import router_dir
from hcplb.settings import PROBE_TIMEOUT
from hcplb.spec import load_site
from hcplb.targets import LabTarget, Target

__all__ = ["LAB_ATTEMPTS", "prepare_lab"]

LAB_ATTEMPTS = 8
"""API connections tried before the API counts as unreachable (ECMP may hit a stopped node)"""


def prepare_lab(
    name: str,
    *,
    site: Path | None = None,
    kubeconfig: Path | None = None,
    context: str | None = None,
    timeout: float = PROBE_TIMEOUT,
) -> Prepared:
    """Probe lab `name`: routers inside their hosts, DNS and API from its client host."""
    lab = Lab.open(name)
    notes: list[str] = []
    if site is not None:
        plan = plan_site(load_site(site).site)
        secrets, note = site_secrets(plan, site.parent)
        profile = Profile.hcplb
        frr = rendered_frr(plan, secrets, profile) if not note else None
    else:
        plan = lab.plan
        secrets, note = site_secrets(plan, Path(lab.state.site_source).parent)
        profile = lab.state.profile
        frr = {}
        for r in plan.routers:
            path = lab.render_dir / router_dir(plan, r) / "frr.conf"
            if path.exists():
                frr[r.name] = path.read_text(encoding="utf-8")
    notes += [note] if note else []
    expect = expect_site(plan, secrets, profile=profile, frr_confs=frr or None)
    routers: dict[str, Target] = {r.name: LabTarget(lab, r.name) for r in plan.routers}
    targets = VerifyTargets(
        routers=routers,
        vantage=OnTarget(LabTarget(lab, "client")),
        # every family the lab DNS answers on: a dual-stack site's names over IPv4 and IPv6
        resolvers=lab.host("dns").addresses("client"),
        ca_pem=lab.ca_file.read_text(encoding="utf-8"),
        kube=kube_factory(kubeconfig, context, timeout),
        spread=True,
        attempts=LAB_ATTEMPTS,
    )
    return Prepared(
        expect, targets, tuple(secrets.values()), tuple(notes + list(expect.notes)), plan=plan
    )

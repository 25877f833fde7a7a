"""What `verify` runs against: a live site (`prepare_live`), or a lab (`hcplb.lab.verification`).

Both return the expectations, the targets and the secret values to keep out of the output;
`Prepared.close()` releases connections (SSH).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import lightkube

from hcplb.errors import HcplbError, ProbeError
from hcplb.plan import SitePlan, plan_site
from hcplb.probes.expect import SiteExpect, expect_site
from hcplb.probes.suite import VerifyTargets
from hcplb.probes.vantage import InProcess
from hcplb.render import Secrets, render_site, resolve_site_secrets
from hcplb.render.profile import Profile
from hcplb.render.router import router_dir
from hcplb.settings import PROBE_TIMEOUT
from hcplb.spec import load_site
from hcplb.targets import Target, open_target
from hcplb.targets.routers import parse_router_options

__all__ = [
    "Prepared",
    "kube_factory",
    "prepare_live",
    "rendered_frr",
    "site_secrets",
]


@dataclass
class Prepared:
    expect: SiteExpect
    targets: VerifyTargets
    secrets: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    owned: list[Target] = field(default_factory=list)
    plan: SitePlan | None = None
    """the site probed (reports draw its topology)"""

    def close(self) -> None:
        for target in self.owned:
            with contextlib.suppress(Exception):
                target.close()


def site_secrets(plan: SitePlan, base_dir: Path | None) -> tuple[Secrets, str]:
    try:
        return resolve_site_secrets(plan.site, base_dir=base_dir), ""
    except HcplbError as exc:
        return Secrets(), f"secrets not resolved ({exc.lines()[0]}): config drift not checked"


def rendered_frr(plan: SitePlan, secrets: Secrets, profile: Profile) -> dict[str, str] | None:
    try:
        rendered = render_site(plan.site, secrets, profile=profile)
    except HcplbError:
        return None
    return {r.name: rendered.get(f"{router_dir(plan, r)}/frr.conf").content for r in plan.routers}


def kube_factory(
    kubeconfig: Path | None, context: str | None, timeout: float
) -> Callable[[], lightkube.Client] | None:
    if kubeconfig is None:
        return None
    from hcplb.targets.kube import kube_client  # lightkube config parsing only when asked for

    return lambda: kube_client(kubeconfig, context, timeout=timeout)


def prepare_live(
    site: Path,
    *,
    routers: Sequence[str] = (),
    kubeconfig: Path | None = None,
    context: str | None = None,
    resolvers: Sequence[str] = (),
    ca_file: Path | None = None,
    timeout: float = PROBE_TIMEOUT,
    known_hosts: Path | None = None,
    ssh_keys: Sequence[Path] = (),
) -> Prepared:
    """Probe a live site: routers through local/SSH targets, DNS and API from this machine."""
    loaded = load_site(site)
    plan = plan_site(loaded.site)
    secrets, note = site_secrets(plan, site.parent)
    frr = None if note else rendered_frr(plan, secrets, Profile.hcplb)
    expect = expect_site(plan, secrets, frr_confs=frr)
    specs = {o.router.name: o.target for o in parse_router_options(routers, plan.routers)}
    owned: list[Target] = []
    ssh_options: dict[str, object] = {"connect_timeout": timeout}
    if known_hosts is not None:
        ssh_options["known_hosts"] = known_hosts
    if ssh_keys:
        ssh_options["client_keys"] = [str(k) for k in ssh_keys]
    for spec in specs.values():
        owned.append(
            open_target(spec, **ssh_options) if spec.startswith("ssh://") else open_target(spec)
        )
    ca_pem = None
    if ca_file is not None:
        try:
            ca_pem = ca_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ProbeError(f"--ca-file {ca_file}: {exc.strerror}") from None
    targets = VerifyTargets(
        routers=dict(zip(specs, owned, strict=True)),
        vantage=InProcess(),
        resolvers=tuple(resolvers),
        ca_pem=ca_pem,
        kube=kube_factory(kubeconfig, context, timeout),
    )
    notes = ([note] if note else []) + list(expect.notes)
    return Prepared(expect, targets, tuple(secrets.values()), tuple(notes), owned, plan=plan)

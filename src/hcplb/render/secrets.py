"""The secret values a render needs, resolved once from the spec's references."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hcplb.errors import SpecError
from hcplb.secrets import resolve_secret
from hcplb.spec.loader import LoadedSite
from hcplb.spec.models import Site


@dataclass(frozen=True)
class Secrets:
    bgp_password: str | None = None
    tsig_secret: str | None = None

    def values(self) -> list[str]:
        return [v for v in (self.bgp_password, self.tsig_secret) if v]

    def __repr__(self) -> str:  # never print values
        return (
            f"Secrets(bgp_password={'set' if self.bgp_password else None}, "
            f"tsig_secret={'set' if self.tsig_secret else None})"
        )


def resolve_site_secrets(site: Site | LoadedSite, *, base_dir: Path | None = None) -> Secrets:
    """Read the BGP password and TSIG secret the site refers to (SpecError if unreadable;
    given a LoadedSite, its problems point at the spec's line that refers to the secret)."""
    if isinstance(site, LoadedSite):
        try:
            return resolve_site_secrets(site.site, base_dir=base_dir)
        except SpecError as exc:
            raise SpecError(site.place(exc.problems)) from None
    spec = site.spec
    password = (
        resolve_secret(spec.bgp.password, field="spec.bgp.password", base_dir=base_dir)
        if spec.bgp.password
        else None
    )
    tsig = (
        resolve_secret(spec.dns.tsig_key.secret, field="spec.dns.tsigKey.secret", base_dir=base_dir)
        if spec.dns.tsig_key
        else None
    )
    return Secrets(password, tsig)

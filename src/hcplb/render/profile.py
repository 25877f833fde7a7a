"""Which configuration a lab or a benchmark runs: hcplb's, or the guide's literal one.

`hcplb` is what `render` always writes. `guide` is the how-to guide's configuration with the
site's values (`hcplb.render.guide`), kept only so benchmarks can measure the difference.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from hcplb.errors import RenderError
from hcplb.plan import SitePlan
from hcplb.render.cluster import cluster_manifests
from hcplb.render.guide import GUIDE_SYSCTL, guide_manifests, guide_netns_host_commands
from hcplb.render.host import HostCommand, netns_host_commands, sysctl_settings
from hcplb.render.secrets import Secrets
from hcplb.spec.models import Router

__all__ = [
    "Profile",
    "manifests_of",
    "netns_host_commands_of",
    "parse_profile",
    "sysctl_settings_of",
]


class Profile(StrEnum):
    hcplb = "hcplb"
    guide = "guide"


def parse_profile(value: str) -> Profile:
    """`value` as a Profile; RenderError naming the known ones (never a silent default)."""
    try:
        return Profile(value)
    except ValueError:
        known = ", ".join(p.value for p in Profile)
        raise RenderError(f"unknown profile {value!r} (known: {known})") from None


def manifests_of(profile: Profile, plan: SitePlan, secrets: Secrets) -> list[dict[str, Any]]:
    """The MetalLB objects a cluster of this profile holds (for the lab and the probes)."""
    if parse_profile(profile) is Profile.guide:
        return guide_manifests(plan)
    return cluster_manifests(plan, secrets)


def sysctl_settings_of(
    profile: Profile, families: tuple[int, ...] = (4,)
) -> tuple[tuple[str, str], ...]:
    """The kernel settings a router of this profile has (on a site of these IP families)."""
    if parse_profile(profile) is Profile.guide:
        return GUIDE_SYSCTL
    return sysctl_settings(families)


def netns_host_commands_of(
    profile: Profile, plan: SitePlan, router: Router
) -> tuple[HostCommand, ...]:
    """The commands that prepare a lab namespace as a router of this profile."""
    if parse_profile(profile) is Profile.guide:
        return guide_netns_host_commands(plan, router)
    return netns_host_commands(plan, router)

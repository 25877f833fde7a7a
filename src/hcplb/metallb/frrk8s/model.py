"""frr-k8s's per-node configuration model: what its controller builds from the merged
FRRConfigurations and its template turns into frr.conf (frr-k8s `internal/frr.Config`).

Names follow frr-k8s: a neighbor's ID is its address (or interface) plus `-<vrf>`; its
route-maps are `<ID>-in` / `<ID>-out`; families are `ipv4`, `ipv6` or `dual`.
"""

from __future__ import annotations

import ipaddress
import struct
import zlib
from dataclasses import dataclass, replace

from hcplb.metallb import _frrtext as frrtext
from hcplb.metallb.frr import BfdProfile, SessionOptions

__all__ = [
    "AllowedIn",
    "AllowedOut",
    "BfdProfile",
    "FrrK8sConfig",
    "IncomingFilter",
    "NeighborConfig",
    "PrefixList",
    "RouterConfig",
    "without_ipv4",
]


@dataclass(frozen=True)
class IncomingFilter:
    """One accepted (or always-blocked) prefix, with optional `le` / `ge` lengths (0 = unset)."""

    family: str  # ipv4 | ipv6
    prefix: str
    le: int = 0
    ge: int = 0

    @property
    def matcher(self) -> str:
        return (f" le {self.le}" if self.le else "") + (f" ge {self.ge}" if self.ge else "")

    @property
    def frr_family(self) -> str:
        return "ipv6" if self.family == "ipv6" else "ip"


@dataclass(frozen=True)
class PrefixList:
    """A prefix-list that sets a local preference or a community on what it matches.

    `community` is `N:N` or `large:N:N:N`; exactly one of `local_pref` / `community` is set.
    """

    name: str
    family: str  # ip | ipv6 (FRR's words)
    prefixes: frozenset[str]
    local_pref: int | None = None
    community: str = ""

    @property
    def set_statement(self) -> str:
        if self.local_pref is not None:
            return frrtext.local_pref_statement(self.local_pref)
        return frrtext.community_statement(self.community)

    @property
    def key(self) -> str:
        """frr-k8s's merge key: one list per (value, family) per neighbor."""
        value = str(self.local_pref) if self.local_pref is not None else self.community
        return f"{value}-{self.family}"


@dataclass(frozen=True)
class AllowedOut:
    """What a neighbor is sent: prefixes per family (in order), next hops, and modifiers."""

    prefixes_v4: tuple[str, ...] = ()
    prefixes_v6: tuple[str, ...] = ()
    next_hop_v4: str = ""
    next_hop_v6: str = ""
    local_pref: tuple[PrefixList, ...] = ()
    communities: tuple[PrefixList, ...] = ()

    @property
    def prefix_lists(self) -> tuple[PrefixList, ...]:
        """Every modifier list, sorted by name (the template's order)."""
        return tuple(sorted(self.local_pref + self.communities, key=lambda p: p.name))


@dataclass(frozen=True)
class AllowedIn:
    """What a neighbor is accepted from: everything, or the listed filters (v4, then v6)."""

    all: bool = False
    prefixes_v4: tuple[IncomingFilter, ...] = ()
    prefixes_v6: tuple[IncomingFilter, ...] = ()

    @property
    def filters(self) -> tuple[IncomingFilter, ...]:
        return self.prefixes_v4 + self.prefixes_v6


@dataclass(frozen=True)
class NeighborConfig(SessionOptions):
    """One BGP neighbor of one router (the shared options by keyword)."""

    family: str  # ipv4 | ipv6 | dual
    asn: str  # a number, `internal` or `external`
    addr: str = ""
    iface: str = ""
    name: str = ""
    src_addr: str = ""
    port: int | None = None
    vrf: str = ""
    incoming: AllowedIn = AllowedIn()
    outgoing: AllowedOut = AllowedOut()
    always_block: tuple[IncomingFilter, ...] = ()
    address_families: tuple[str, ...] = ()

    @property
    def peer(self) -> str:
        return self.iface or self.addr

    @property
    def id(self) -> str:
        return self.peer + (f"-{self.vrf}" if self.vrf else "")


@dataclass(frozen=True)
class RouterConfig:
    """One `router bgp` block (one per VRF)."""

    my_asn: int
    router_id: str = ""
    vrf: str = ""
    neighbors: tuple[NeighborConfig, ...] = ()
    prefixes_v4: tuple[str, ...] = ()
    prefixes_v6: tuple[str, ...] = ()
    import_vrfs: tuple[str, ...] = ()


@dataclass(frozen=True)
class FrrK8sConfig:
    """A node's whole configuration; `log_level` is FRR's word (`informational`, ...)."""

    hostname: str
    log_level: str = "informational"
    routers: tuple[RouterConfig, ...] = ()
    bfd_profiles: tuple[BfdProfile, ...] = ()
    extra_config: str = ""


def without_ipv4(config: FrrK8sConfig) -> FrrK8sConfig:
    """The config on a node without an IPv4 address: frr-k8s gives every router without a
    router ID one made from the hostname (its CRC-32, little endian, as an IPv4 address)."""
    crc = zlib.crc32(config.hostname.encode())
    fallback = str(ipaddress.IPv4Address(struct.pack("<I", crc)))
    return replace(
        config,
        routers=tuple(r if r.router_id else replace(r, router_id=fallback) for r in config.routers),
    )

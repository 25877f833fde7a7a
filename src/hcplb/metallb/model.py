"""MetalLB's configuration once parsed: pools, peers, advertisements, BFD profiles, the MetalLB CR.

These mirror MetalLB's `internal/config` types after `config.For`: selectors parsed, node
selectors of advertisements resolved to node names, passwords read from their Secrets.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property

from hcplb.errors import MetallbError
from hcplb.gotext import parse_duration
from hcplb.metallb.adv_rules import AdvertisementTraits
from hcplb.metallb.frr import BfdProfile
from hcplb.metallb.peer_rules import peer_identifier
from hcplb.metallb.selectors import LabelSelector
from hcplb.metallb.validation import (
    DEFAULT_AGGREGATION_V4,
    DEFAULT_AGGREGATION_V6,
    DEFAULT_PORT,
)

__all__ = [
    "BgpAdvertisement",
    "MetallbConfig",
    "Network",
    "Peer",
    "Pool",
    "ServiceAllocation",
    "go_duration",
]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def go_duration(value: object, where: str) -> float:
    """Seconds in a Go duration string (`metav1.Duration`: "90s", "1m30s", "500ms")."""
    text = None if isinstance(value, bool) or not isinstance(value, str | int | float) else value
    seconds = parse_duration(str(text)) if text is not None else None
    if seconds is None:
        raise MetallbError(f"{where}: {value!r} is not a duration (examples: 90s, 1m30s)")
    return seconds


@dataclass(frozen=True)
class ServiceAllocation:
    """An IPAddressPool's `serviceAllocation`: which Services it serves, and how eagerly."""

    priority: int = 0
    namespaces: frozenset[str] = frozenset()
    service_selectors: tuple[LabelSelector, ...] = ()

    def serves(self, namespace: str, labels: Mapping[str, str]) -> bool:
        """MetalLB's isPoolCompatibleWithService (the namespace and service selector gates)."""
        if self.namespaces and namespace not in self.namespaces:
            return False
        if self.service_selectors:
            return any(s.matches(labels) for s in self.service_selectors)
        return True


@dataclass(frozen=True)
class Pool:
    """An IPAddressPool: its CIDRs (ranges summarized), per spec entry, in spec order."""

    name: str
    entries: tuple[tuple[str, tuple[Network, ...]], ...]
    auto_assign: bool = True
    avoid_buggy_ips: bool = False
    allocation: ServiceAllocation | None = None
    labels: Mapping[str, str] = field(default_factory=dict)

    @cached_property
    def cidrs(self) -> tuple[Network, ...]:
        return tuple(net for _, nets in self.entries for net in nets)

    def owns(self, address: Address) -> bool:
        """The address is in this pool (and not a .0/.255 when the pool avoids those)."""
        if self.avoid_buggy_ips and buggy(address):
            return False
        return any(address in net for net in self.cidrs)


def buggy(address: Address) -> bool:
    """An IPv4 address ending in .0 or .255 (some CPE firmwares drop traffic to those)."""
    return address.version == 4 and int(address) % 256 in (0, 255)


@dataclass(frozen=True)
class Peer:
    """A BGPPeer (v1beta2) after parsing; timers in seconds, derived as MetalLB derives them."""

    name: str
    my_asn: int
    asn: int = 0
    dynamic_asn: str = ""
    address: str = ""
    interface: str = ""
    source_address: str = ""
    port: int = DEFAULT_PORT
    hold_time: float | None = None
    keepalive_time: float | None = None
    connect_time: float | None = None
    router_id: str = ""
    node_selectors: tuple[LabelSelector, ...] = ()
    password: str = field(default="", repr=False)
    bfd_profile: str = ""
    graceful_restart: bool = False
    ebgp_multihop: bool = False
    vrf: str = ""
    dual_stack_address_family: bool = False
    local_asn: int = 0

    @property
    def identifier(self) -> str:
        """FRR mode's PeerIdentifier: address or interface, plus `-vrf`."""
        return peer_identifier(self.address, self.interface, self.vrf)


@dataclass(frozen=True)
class BgpAdvertisement:
    """A BGPAdvertisement after parsing: communities resolved, node selectors resolved to names."""

    name: str
    pools: frozenset[str]
    aggregation_length: int = DEFAULT_AGGREGATION_V4
    aggregation_length_v6: int = DEFAULT_AGGREGATION_V6
    local_pref: int = 0
    communities: tuple[str, ...] = ()
    nodes: frozenset[str] = frozenset()
    peers: tuple[str, ...] = ()
    service_selectors: tuple[LabelSelector, ...] = ()

    @property
    def traits(self) -> AdvertisementTraits:
        return AdvertisementTraits(
            self.local_pref,
            self.aggregation_length,
            self.aggregation_length_v6,
            frozenset(self.peers),
        )

    def aggregate(self, address: Address) -> str:
        """The prefix announced for `address`: masked to this advertisement's length."""
        length = self.aggregation_length if address.version == 4 else self.aggregation_length_v6
        return _masked(address, length)


@cache
def _masked(address: Address, length: int) -> str:
    return str(ipaddress.ip_network((address, length), strict=False))


@dataclass(frozen=True)
class MetallbConfig:
    """The whole parsed MetalLB configuration of one cluster, plus the MetalLB CR's settings."""

    namespace: str
    log_level: str = "info"
    speaker_node_selector: Mapping[str, str] = field(default_factory=dict)
    load_balancer_class: str = ""
    bgp_backend: str = "frr"
    pools: tuple[Pool, ...] = ()
    peers: tuple[Peer, ...] = ()
    advertisements: tuple[BgpAdvertisement, ...] = ()
    bfd_profiles: tuple[BfdProfile, ...] = ()

    def pool(self, name: str) -> Pool | None:
        return next((p for p in self.pools if p.name == name), None)

    def pool_for(self, addresses: tuple[Address, ...]) -> Pool | None:
        """The pool that owns every address (pools never overlap, so at most one)."""
        return next((p for p in self.pools if all(p.owns(a) for a in addresses)), None)

    def advertisements_of(self, pool: Pool) -> tuple[BgpAdvertisement, ...]:
        return tuple(a for a in self.advertisements if pool.name in a.pools)

"""What lint knows about an FRR config: BGP instances, neighbors, policies, BFD profiles.

Frozen models; `parse.parse_frr` builds them line by line with `dataclasses.replace`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from hcplb.lint.findings import Finding, Where, error, warning

Net = ipaddress.IPv4Network | ipaddress.IPv6Network
Located = tuple[str, int]  # (value, line)


def parse_asn(text: str) -> int | None:
    if not text.isdigit():
        return None
    value = int(text)
    return value if 1 <= value <= 4294967295 else None


@dataclass(frozen=True)
class PrefixEntry:
    """One `ip prefix-list` line; `network` None means `any`."""

    seq: int
    action: str
    network: Net | None
    ge: int | None
    le: int | None
    line: int

    def length_range(self) -> tuple[int, int]:
        if self.network is None:
            return 0, 128
        plen, top = self.network.prefixlen, self.network.max_prefixlen
        if self.ge is None and self.le is None:
            return plen, plen
        return (self.ge if self.ge is not None else plen), (self.le if self.le is not None else top)

    def matches(self, net: Net) -> bool:
        if self.network is None:
            return True
        base = self.network
        if net.version != base.version or net.prefixlen < base.prefixlen:
            return False
        shift = base.max_prefixlen - base.prefixlen
        if int(net.network_address) >> shift != int(base.network_address) >> shift:
            return False
        low, high = self.length_range()
        return low <= net.prefixlen <= high


def parse_prefix_entry(rest: list[str], family: int, seq: int, line: int) -> PrefixEntry | str:
    """A prefix-list entry from `permit|deny PREFIX|any [ge N] [le N]`, or what is wrong."""
    if rest[0] not in ("permit", "deny") or len(rest) < 2:
        return f"expected permit|deny and a prefix, got {' '.join(rest)!r}"
    action = rest[0]
    if rest[1] == "any":
        return PrefixEntry(seq, action, None, None, None, line)
    try:
        network = ipaddress.ip_network(rest[1], strict=False)
    except ValueError:
        return f"{rest[1]!r} is not a prefix"
    if network.version != family:
        return f"{rest[1]} is not an IPv{family} prefix"
    bounds: dict[str, int] = {}
    words = rest[2:]
    while len(words) >= 2 and words[0] in ("ge", "le"):
        if not words[1].isdigit() or int(words[1]) > network.max_prefixlen:
            return f"{words[0]} {words[1]!r} is not a prefix length"
        bounds[words[0]] = int(words[1])
        words = words[2:]
    if words:
        return f"unexpected {' '.join(words)!r}"
    ge, le = bounds.get("ge"), bounds.get("le")
    plen = network.prefixlen
    if (ge is not None and plen > ge) or (le is not None and plen > le) or (ge and le and ge > le):
        return f"invalid prefix range for {network}: make sure len <= ge <= le"
    return PrefixEntry(seq, action, network, ge, le, line)


@dataclass(frozen=True)
class RouteMapEntry:
    action: str
    seq: int
    line: int
    matches: tuple[tuple[str, ...], ...] = ()
    flow: bool = False  # call / continue / on-match: evaluation is not first-match only


@dataclass(frozen=True)
class BfdProfile:
    name: str
    line: int
    receive_interval: int | None = None
    transmit_interval: int | None = None
    detect_multiplier: int | None = None
    minimum_ttl: int | None = None
    echo_mode: bool = False
    passive_mode: bool = False


@dataclass(frozen=True)
class NeighborAf:
    """Per-address-family settings of one neighbor or peer-group."""

    activate: bool | None = None
    activate_line: int = 0
    filters: Mapping[str, Located] = field(default_factory=dict, hash=False)
    maximum_prefix: Located | None = None


@dataclass(frozen=True)
class Neighbor:
    """A neighbor (address or interface) or a peer-group, as written (before inheritance)."""

    name: str
    line: int
    kind: str  # address | interface | group
    remote_as: Located | None = None
    peer_group: Located | None = None
    password: Located | None = field(default=None, repr=False)
    bfd: int = 0  # line of `neighbor X bfd`, 0 if none
    bfd_profile: Located | None = None
    timers: tuple[int, int] | None = None
    port: int | None = None
    ebgp_multihop: bool = False
    shutdown: bool = False
    description: str = ""
    afs: Mapping[str, NeighborAf] = field(default_factory=dict, hash=False)

    def af(self, name: str) -> NeighborAf:
        return self.afs.get(name, NeighborAf())


@dataclass(frozen=True)
class AfConfig:
    maximum_paths: tuple[int, int] | None = None  # (value, line)
    maximum_paths_ibgp: tuple[int, int] | None = None


@dataclass(frozen=True)
class BgpInstance:
    asn: int
    line: int
    vrf: str | None = None
    router_id: str | None = None
    router_id_line: int = 0
    ebgp_requires_policy: bool = True  # FRR >= 7.4 default (RFC 8212)
    ebgp_requires_policy_line: int = 0
    default_ipv4_unicast: bool = True
    multipath_relax: bool = False
    multipath_relax_line: int = 0
    listen_ranges: tuple[tuple[Net, str, int], ...] = ()
    listen_limit: int | None = None
    timers: tuple[int, int] | None = None
    neighbors: Mapping[str, Neighbor] = field(default_factory=dict, hash=False)
    afs: Mapping[str, AfConfig] = field(default_factory=dict, hash=False)

    def effective(self, name: str) -> Neighbor:
        """The neighbor with its peer-group's settings filled in where it has none."""
        own = self.neighbors[name]
        group = self.neighbors.get(own.peer_group[0]) if own.peer_group else None
        if group is None:
            return own
        afs = dict(group.afs)
        for af_name, af in own.afs.items():
            base = afs.get(af_name, NeighborAf())
            afs[af_name] = NeighborAf(
                activate=af.activate if af.activate is not None else base.activate,
                activate_line=af.activate_line or base.activate_line,
                filters={**base.filters, **af.filters},
                maximum_prefix=af.maximum_prefix or base.maximum_prefix,
            )
        return replace(
            own,
            remote_as=own.remote_as or group.remote_as,
            password=own.password or group.password,
            bfd=own.bfd or group.bfd,
            bfd_profile=own.bfd_profile or group.bfd_profile,
            timers=own.timers or group.timers,
            port=own.port or group.port,
            ebgp_multihop=own.ebgp_multihop or group.ebgp_multihop,
            shutdown=own.shutdown or group.shutdown,
            afs=afs,
        )

    def sessions(self) -> list[Neighbor]:
        """Explicit neighbors (not peer-groups), with inheritance applied."""
        return [self.effective(n) for n, nb in self.neighbors.items() if nb.kind != "group"]

    def group(self, name: str) -> Neighbor | None:
        nb = self.neighbors.get(name)
        return nb if nb is not None and nb.kind == "group" else None

    def activated(self, nb: Neighbor, af: str = "ipv4 unicast") -> bool:
        flag = nb.af(af).activate
        if flag is not None:
            return flag
        return af == "ipv4 unicast" and self.default_ipv4_unicast

    def remote_asn(self, nb: Neighbor) -> int | str | None:
        """A number, 'internal', 'external', or None when not set."""
        if nb.remote_as is None:
            return None
        value = nb.remote_as[0]
        if value == "internal":
            return self.asn
        return parse_asn(value) if value.isdigit() else value

    def is_ibgp(self, nb: Neighbor) -> bool:
        return self.remote_asn(nb) == self.asn


@dataclass(frozen=True)
class FrrConfig:
    """One router's config file."""

    file: str
    defaults: str | None = None
    defaults_line: int = 0
    hostname: str | None = None
    hostname_line: int = 0
    bgp: tuple[BgpInstance, ...] = ()
    route_maps: Mapping[str, tuple[RouteMapEntry, ...]] = field(default_factory=dict, hash=False)
    prefix_lists: Mapping[tuple[int, str], tuple[PrefixEntry, ...]] = field(
        default_factory=dict, hash=False
    )
    bfd_profiles: Mapping[str, BfdProfile] = field(default_factory=dict, hash=False)
    addresses: tuple[tuple[str, int], ...] = ()

    @property
    def main_bgp(self) -> BgpInstance | None:
        return next((b for b in self.bgp if b.vrf is None), None)

    def speaker_side(self) -> bool:
        """A MetalLB / frr-k8s speaker's own running-config (a node's), not an upstream router's.

        Speakers name their per-neighbor policy after the neighbor: `ip prefix-list
        <neighbor>-pl-ipv4` (the VIPs, `le 32`) and route-maps `<neighbor>-in` / `<neighbor>-out`.
        """
        bgp = self.main_bgp
        if bgp is None:
            return False
        lists = {name for _family, name in self.prefix_lists}
        for nb in bgp.neighbors:
            if f"{nb}-pl-ipv4" in lists or f"{nb}-pl-ipv6" in lists:
                return True
            if f"{nb}-in" in self.route_maps and f"{nb}-out" in self.route_maps:
                return True
        return False

    def router_addresses(self) -> set[str]:
        """Addresses the nodes may dial to reach this router: router-ids and interface addresses."""
        found = {addr for addr, _ in self.addresses}
        found |= {b.router_id for b in self.bgp if b.router_id}
        return found

    def name(self) -> str:
        """hostname, else the BGP router-id, else the file."""
        bgp = self.main_bgp
        return self.hostname or (bgp.router_id if bgp and bgp.router_id else None) or self.file


def check_references(config: FrrConfig) -> list[Finding]:
    """Names used but never defined: route-maps, prefix-lists, BFD profiles, listen groups."""
    found: list[Finding] = []
    for bgp in config.bgp:
        for nb in bgp.neighbors.values():
            for af in nb.afs.values():
                for what, (name, line) in af.filters.items():
                    kind = what.split()[0]
                    defined = (
                        name in config.route_maps
                        if kind == "route-map"
                        else any(key[1] == name for key in config.prefix_lists)
                        if kind == "prefix-list"
                        else True
                    )
                    if not defined:
                        found.append(
                            error(
                                Where(config.file, line),
                                "frr.undefined",
                                f"{kind} {name} is used by neighbor {nb.name} but never defined: "
                                "FRR denies every route through it",
                                f"define {kind} {name}, or remove the reference",
                            )
                        )
            if nb.bfd_profile and nb.bfd_profile[0] not in config.bfd_profiles:
                found.append(
                    warning(
                        Where(config.file, nb.bfd_profile[1]),
                        "frr.undefined",
                        f"BFD profile {nb.bfd_profile[0]} is not defined in a `bfd` block",
                        "add `bfd` / `profile NAME` with the intervals the nodes use",
                    )
                )
        for _net, group, line in bgp.listen_ranges:
            if bgp.group(group) is None:
                found.append(
                    error(
                        Where(config.file, line),
                        "frr.undefined",
                        f"listen range uses peer-group {group}, which does not exist",
                        f"create it first: neighbor {group} peer-group",
                    )
                )
    for entries in config.route_maps.values():
        for entry in entries:
            for match in entry.matches:
                if len(match) >= 4 and match[1] == "address" and match[2] == "prefix-list":
                    family = 4 if match[0] == "ip" else 6
                    if (family, match[3]) not in config.prefix_lists:
                        found.append(
                            warning(
                                Where(config.file, entry.line),
                                "frr.undefined",
                                f"prefix-list {match[3]} is not defined: this entry never matches",
                                f"define ip prefix-list {match[3]}",
                            )
                        )
    return found

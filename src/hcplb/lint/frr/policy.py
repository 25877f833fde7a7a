"""Evaluate a router's inbound policy for one prefix, the way bgpd would (first match wins).

Only prefix-list matches are understood; a route-map entry that matches on anything else
(communities, AS paths, access-lists) makes the answer "maybe".
"""

from __future__ import annotations

from typing import Literal

from hcplb.lint.frr.model import BgpInstance, FrrConfig, Neighbor, Net, RouteMapEntry

Verdict = Literal["permit", "deny", "maybe"]

INBOUND = ("route-map in", "prefix-list in", "distribute-list in", "filter-list in")
OUTBOUND = ("route-map out", "prefix-list out", "distribute-list out", "filter-list out")


def prefix_list_verdict(config: FrrConfig, name: str, net: Net) -> Verdict:
    """bgpd denies through a prefix-list that does not exist, and at the end of every list."""
    entries = config.prefix_lists.get((net.version, name))
    if entries is None:
        return "deny"
    for entry in entries:
        if entry.matches(net):
            return "permit" if entry.action == "permit" else "deny"
    return "deny"


def _entry_matches(config: FrrConfig, entry: RouteMapEntry, net: Net) -> bool | None:
    result: bool | None = True
    for match in entry.matches:
        if len(match) >= 4 and match[1] == "address" and match[2] == "prefix-list":
            family = 4 if match[0] == "ip" else 6
            if family != net.version:
                return False
            if prefix_list_verdict(config, match[3], net) != "permit":
                return False
        else:
            result = None
    return result


def route_map_verdict(config: FrrConfig, name: str, net: Net) -> Verdict:
    """A route-map that does not exist denies everything (bgpd's inbound behaviour)."""
    entries = config.route_maps.get(name)
    if entries is None:
        return "deny"
    for entry in entries:
        matched = _entry_matches(config, entry, net)
        if matched is False:
            continue
        if matched is None or entry.flow:
            return "maybe"
        return "permit" if entry.action == "permit" else "deny"
    return "deny"


def has_policy(nb: Neighbor, direction: tuple[str, ...], af: str = "ipv4 unicast") -> bool:
    return any(key in nb.af(af).filters for key in direction)


def inbound_verdict(config: FrrConfig, nb: Neighbor, net: Net, af: str = "ipv4 unicast") -> Verdict:
    """Whether the neighbor's inbound filters accept `net` (all of them must)."""
    verdicts: list[Verdict] = []
    filters = nb.af(af).filters
    if "route-map in" in filters:
        verdicts.append(route_map_verdict(config, filters["route-map in"][0], net))
    if "prefix-list in" in filters:
        verdicts.append(prefix_list_verdict(config, filters["prefix-list in"][0], net))
    if "distribute-list in" in filters or "filter-list in" in filters:
        verdicts.append("maybe")
    if "deny" in verdicts:
        return "deny"
    if "maybe" in verdicts:
        return "maybe"
    return "permit"


def policy_lines(
    nb: Neighbor, bgp: BgpInstance, direction: tuple[str, ...], af: str = "ipv4 unicast"
) -> int:
    """Where to point at for the neighbor's policy: its filter line, else its definition."""
    filters = nb.af(af).filters
    for key in direction:
        if key in filters:
            return filters[key][1]
    return nb.line or bgp.line

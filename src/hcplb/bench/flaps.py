"""What counts as a flap in a running lab, read from the routers: BFD downs, BGP resets,
withdrawn nexthops.

    before = snapshot(lab)
    with FibWatch(lab, interval=0.1) as watch:
        ...                                  # the measured window
    counts = count_flaps(before, snapshot(lab), watch.changes)

BFD downs are the routers' `session-down` counters (`show bfd peers counters json`); BGP
resets the routers' `connectionsDropped` (`show bgp neighbors json`); withdrawals every
nexthop that left a VIP's set in a router's FIB while watching (a healthy site never loses
one). Counters are differences over the window, summed over every router and peer.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hcplb.frrjson import parse_answer, parse_bfd_counters, parse_bgp_neighbors
from hcplb.lab import Lab
from hcplb.lab.watch import Table
from hcplb.settings import COMMAND_TIMEOUT

__all__ = ["Flaps", "Snapshot", "count_flaps", "lost_nexthops", "snapshot"]

Peer = tuple[str, str]
"""(router, peer address)"""


@dataclass(frozen=True)
class Snapshot:
    """The routers' counters at one instant: (router, peer) -> count."""

    bfd_down: Mapping[Peer, int]
    bgp_dropped: Mapping[Peer, int]


@dataclass(frozen=True)
class Flaps:
    bfd_downs: int
    bgp_resets: int
    withdrawals: int
    """nexthops that left a VIP's ECMP set on a router (one per router, VIP and nexthop)"""
    peers: tuple[str, ...] = ()
    """`router: peer` of every session that had a BFD down or a BGP reset"""
    bfd_downs_before: int = 0
    """BFD downs from the lab's start to the window's (bring-up: not counted as flaps)"""

    @property
    def total(self) -> int:
        return self.bfd_downs + self.bgp_resets + self.withdrawals

    def as_json(self) -> dict[str, Any]:
        return {
            "bfd_downs": self.bfd_downs,
            "bgp_resets": self.bgp_resets,
            "withdrawals": self.withdrawals,
            "flaps": self.total,
            "peers": list(self.peers),
            "bfd_downs_before_window": self.bfd_downs_before,
        }


def _vtysh_json(lab: Lab, router: str, command: str) -> Any:
    return parse_answer(
        lab.run(router, ["vtysh", "-c", command], timeout=COMMAND_TIMEOUT).stdout
    ).data


def snapshot(lab: Lab) -> Snapshot:
    """Every router's BFD and BGP counters for its expected peers, now."""
    bfd: dict[Peer, int] = {}
    dropped: dict[Peer, int] = {}
    for router, peers in lab.expect.sessions.items():
        counters = parse_bfd_counters(_vtysh_json(lab, router, "show bfd peers counters json"))
        neighbors = parse_bgp_neighbors(_vtysh_json(lab, router, "show bgp neighbors json"))
        for peer in peers:
            if peer in counters:
                bfd[(router, peer)] = counters[peer].session_down
            if peer in neighbors:
                dropped[(router, peer)] = neighbors[peer].connections_dropped
    return Snapshot(bfd, dropped)


def _delta(before: Mapping[Peer, int], after: Mapping[Peer, int]) -> dict[Peer, int]:
    """Per peer, how much the counter grew; a counter that went back (its daemon restarted or
    the session was recreated) counts from zero."""
    return {
        peer: (value - before[peer] if peer in before and value >= before[peer] else value)
        for peer, value in after.items()
    }


def lost_nexthops(changes: Sequence[tuple[float, Table]]) -> int:
    """How many nexthops left a VIP's set from one FIB table to the next."""
    lost = 0
    for (_, old), (_, new) in itertools.pairwise(changes):
        for router, vips in old.items():
            for vip, hops in vips.items():
                lost += len(hops - new.get(router, {}).get(vip, set()))
    return lost


def count_flaps(before: Snapshot, after: Snapshot, changes: Sequence[tuple[float, Table]]) -> Flaps:
    """The flaps of a window from its two snapshots and the FIB changes seen in between."""
    bfd = _delta(before.bfd_down, after.bfd_down)
    resets = _delta(before.bgp_dropped, after.bgp_dropped)
    hit = sorted({f"{r}: {p}" for (r, p), n in (*bfd.items(), *resets.items()) if n > 0})
    return Flaps(
        bfd_downs=sum(bfd.values()),
        bgp_resets=sum(resets.values()),
        withdrawals=lost_nexthops(changes),
        peers=tuple(hit),
        bfd_downs_before=sum(before.bfd_down.values()),
    )

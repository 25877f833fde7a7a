"""A drain that moves no other node's connections: the router's VIP route pinned, then merged.

Linux picks an ECMP nexthop by hash-threshold: the flow hash space is cut into one region per
nexthop, in the route's nexthop order, sized by weight. When zebra replaces a VIP's route
after a node leaves, the regions are cut again and flows of the nodes that stay move too
(measured with `ip route get` on 512 flows of the seed lab: 84 of 314 survivors' flows moved
when the first of three nodes left, 92 of 374 when the last did, none for the middle one).
A kernel resilient nexthop group would keep them, but moving the route onto one is itself a
rehash (345 of 512 flows moved), and FRR 8.4 cannot program one for BGP routes.

So, before the node is drained, each router's VIP route is pinned: the same nexthops, in
zebra's order and with its weights, in a table of hcplb's own that a rule looks up first
(same hash, same regions: no flow moves), and the leaving node's weight is merged into its
neighbour's: only the leaving node's region changes hands. zebra's own route (main table)
follows the drain as always but is not used while pinned. `unpin` removes rule and table
once zebra's route is the one wanted again (the node is back): no flow moves either if the
layouts match. While pinned, the router does not follow a second node's failure (the table
is static): keep the window short.

Not zebra's objects: a nexthop object (`ip nexthop`) of another protocol is taken over by
zebra 8.4 and reinstalled when deleted, so the pinned route carries its nexthops inline.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from hcplb.errors import LabError
from hcplb.lab.core import Lab
from hcplb.lab.topology import CLIENT
from hcplb.runner import run
from hcplb.settings import COMMAND_TIMEOUT

__all__ = [
    "PIN_PREF",
    "PIN_TABLE",
    "Hop",
    "flow_hops",
    "merge_out",
    "pin",
    "pinned",
    "route_hops",
    "unpin",
]

PIN_TABLE = 26723
"""hcplb's routing table on a router while a drain is pinned ("hc")"""
PIN_PREF = 26723
"""the rule's priority: before `main` (32766)"""
PIN_PROTO = "77"


@dataclass(frozen=True)
class Hop:
    gateway: str
    dev: str
    weight: int = 1


def merge_out(hops: Sequence[Hop], leaving: str) -> tuple[Hop, ...]:
    """The hops without `leaving`, its weight added to a neighbour's (the next one, else the
    one before): every other hop keeps its region of the hash space."""
    index = next((i for i, h in enumerate(hops) if h.gateway == leaving), None)
    if index is None or len(hops) < 2:
        return tuple(hops)
    heir = index + 1 if index + 1 < len(hops) else index - 1
    gone = hops[index]
    return tuple(
        Hop(h.gateway, h.dev, h.weight + (gone.weight if i == heir else 0))
        for i, h in enumerate(hops)
        if i != index
    )


def _ip(lab: Lab, router: str, *args: str) -> str:
    result = run(["ip", "-n", lab.host(router).netns, *args], timeout=COMMAND_TIMEOUT)
    if not result.ok:
        raise LabError(f"{router}: ip {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def route_hops(lab: Lab, router: str, vip: str, *, table: str = "main") -> tuple[Hop, ...]:
    """The nexthops of the router's route to `vip`, in the kernel's order, with weights."""
    data = json.loads(_ip(lab, router, "-j", "route", "show", vip, "table", table) or "[]")
    if not data:
        return ()
    route = data[0]
    if "nexthops" in route:
        return tuple(
            Hop(h["gateway"], h["dev"], int(h.get("weight", 1))) for h in route["nexthops"]
        )
    return (Hop(route["gateway"], route["dev"]),) if "gateway" in route else ()


def _route_argv(vip: str, hops: Sequence[Hop]) -> list[str]:
    argv = ["route", "replace", vip, "table", str(PIN_TABLE), "proto", PIN_PROTO]
    for h in hops:
        argv += ["nexthop", "via", h.gateway, "dev", h.dev, "weight", str(h.weight)]
    return argv


def pin(lab: Lab, router: str, vip: str, leaving: str) -> tuple[Hop, ...]:
    """Pin the router's route to `vip` as it is, then merge `leaving` out; the hops left.

    Nothing is pinned when `leaving` is the only nexthop (no other node's flow to keep).
    """
    hops = route_hops(lab, router, vip)
    if not any(h.gateway == leaving for h in hops):
        raise LabError(f"{router}: {leaving} is not a nexthop of {vip}: nothing to pin")
    if len(hops) < 2:
        return ()
    _ip(lab, router, *_route_argv(vip, hops))
    if not pinned(lab, router):
        _ip(lab, router, "rule", "add", "to", vip, "lookup", str(PIN_TABLE), "pref", str(PIN_PREF))
    merged = merge_out(hops, leaving)
    _ip(lab, router, *_route_argv(vip, merged))
    return merged


def pinned(lab: Lab, router: str) -> bool:
    data = json.loads(_ip(lab, router, "-j", "rule", "show", "pref", str(PIN_PREF)) or "[]")
    return bool(data)


def unpin(lab: Lab, router: str) -> bool:
    """Remove hcplb's rule and table from the router; whether there were any."""
    had = pinned(lab, router)
    while pinned(lab, router):
        _ip(lab, router, "rule", "del", "pref", str(PIN_PREF))
    flush = ["ip", "-n", lab.host(router).netns, "route", "flush", "table", str(PIN_TABLE)]
    result = run(flush, timeout=COMMAND_TIMEOUT)
    if not result.ok and "does not exist" not in result.stderr:  # never pinned: no table
        raise LabError(f"{router}: ip route flush table {PIN_TABLE}: {result.stderr.strip()}")
    return had


def flow_hops(
    lab: Lab, router: str, vip: str, ports: Sequence[int], *, dport: int = 6443
) -> dict[int, str]:
    """The nexthop the router's kernel picks for the client's TCP flows to `vip` from each
    source port (`ip route get`, the forwarding decision itself: no packet is sent)."""
    client = lab.host(CLIENT).primary_address
    route = json.loads(_ip(lab, router, "-j", "route", "get", client) or "[]")
    if not route:
        raise LabError(f"{router}: no route back to the client {client}")
    iif = route[0]["dev"]
    address = vip.split("/")[0]
    batch = "".join(
        f"route get {address} from {client} iif {iif} ipproto tcp sport {p} dport {dport}\n"
        for p in ports
    )
    result = run(
        ["ip", "-n", lab.host(router).netns, "-j", "-batch", "-"],
        timeout=COMMAND_TIMEOUT * 4,
        input=batch,
    )
    if not result.ok:
        raise LabError(f"{router}: ip route get: {result.stderr.strip()}")
    answers = [json.loads(line)[0] for line in result.stdout.splitlines() if line.strip()]
    return {p: a.get("gateway", a.get("dev", "?")) for p, a in zip(ports, answers, strict=True)}

"""The `[no] neighbor NAME ...` commands of `router bgp`, applied to frozen BGP models."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from hcplb.lint.frr.model import BgpInstance, Neighbor, NeighborAf, parse_asn

# FRR 8-10 `neighbor` options: a word not here is a typo (vtysh -C rejects it).
NEIGHBOR_OPTIONS = frozenset(
    "activate addpath-rx-paths-limit addpath-tx-all-paths addpath-tx-bestpath-per-AS "  # noqa: SIM905
    "addpath-tx-paths advertisement-interval aigp allowas-in as-override as-loop-detection "
    "attribute-unchanged bfd capability default-originate description disable-addpath-rx "
    "disable-connected-check disable-link-bw-encoding-ieee distribute-list "
    "dont-capability-negotiate ebgp-multihop enforce-first-as extended-optional-parameters "
    "filter-list graceful-restart graceful-restart-disable graceful-restart-helper interface "
    "local-as local-role maximum-prefix maximum-prefix-out next-hop-self oad "
    "override-capability passive password path-attribute peer-group port prefix-list "
    "remote-as remove-private-AS role route-map route-reflector-client route-server-client "
    "send-community sender-as-path-loop-detection shutdown soft-reconfiguration solo "
    "strict-capability-match tcp-mss timers ttl-security unsuppress-map update-source "
    "weight accept-own orf".split()
)
_AF_FILTERS = ("route-map", "prefix-list", "filter-list", "distribute-list")


def apply_neighbor(
    bgp: BgpInstance,
    name: str,
    rest: list[str],
    af: str,
    line: int,
    *,
    negate: bool = False,
    bgp_level: bool = False,
) -> BgpInstance | str:
    """Apply one `[no] neighbor NAME ...` command; a string says what is wrong."""
    neighbors = dict(bgp.neighbors)
    current = neighbors.get(name)
    if not rest:
        if negate:
            neighbors.pop(name, None)
            return replace(bgp, neighbors=neighbors)
        return "incomplete command"
    kind = "address"
    try:
        ipaddress.ip_address(name)
    except ValueError:
        kind = (
            "interface"
            if rest[0] == "interface" or (current and current.kind == "interface")
            else "group"
        )
    if rest[0] == "peer-group" and len(rest) == 1:
        if negate:
            neighbors.pop(name, None)
        elif current is None:
            neighbors[name] = Neighbor(name, line, "group")
        return replace(bgp, neighbors=neighbors)
    if rest[0] == "interface":
        current = current or Neighbor(name, line, "interface")
        neighbors[name] = current
        rest = rest[1:]
        if not rest:
            return replace(bgp, neighbors=neighbors)
    cmd, args = rest[0], rest[1:]
    if current is None:
        if cmd == "remote-as" or (cmd == "peer-group" and args):
            current = Neighbor(name, line, kind)
        elif negate:
            return bgp
        else:
            return "is not defined yet (FRR: specify remote-as or peer-group commands first)"
    updated = _neighbor_command(bgp, current, cmd, args, af, line, negate)
    if isinstance(updated, str):
        return updated
    neighbors[name] = updated
    return replace(bgp, neighbors=neighbors)


def _neighbor_command(
    bgp: BgpInstance, nb: Neighbor, cmd: str, args: list[str], af: str, line: int, negate: bool
) -> Neighbor | str:
    if cmd == "remote-as":
        if not args or (args[0] not in ("internal", "external") and parse_asn(args[0]) is None):
            return f"remote-as {' '.join(args)!r} is not an AS number, internal or external"
        return replace(nb, remote_as=(args[0], line))
    if cmd == "peer-group":
        if not args or bgp.group(args[0]) is None:
            group = args[0] if args else ""
            return f"peer-group {group!r} does not exist (create it first: neighbor {group} peer-group)"
        return replace(nb, peer_group=(args[0], line))
    if cmd == "password":
        return replace(nb, password=None if negate else (" ".join(args), line))
    if cmd == "bfd":
        if negate:
            return replace(nb, bfd=0, bfd_profile=None)
        if args[:1] == ["profile"] and len(args) >= 2:
            return replace(nb, bfd=nb.bfd or line, bfd_profile=(args[1], line))
        return replace(nb, bfd=line)
    if cmd == "timers":
        if args[:1] == ["connect"]:
            return nb
        if len(args) < 2 or not all(a.isdigit() for a in args[:2]):
            return f"timers {' '.join(args)!r}: expected KEEPALIVE HOLD"
        return replace(nb, timers=(int(args[0]), int(args[1])))
    if cmd == "port":
        if not args or not args[0].isdigit() or not 0 < int(args[0]) < 65536:
            return f"port {' '.join(args)!r} is not a TCP port"
        return replace(nb, port=int(args[0]))
    if cmd == "ebgp-multihop":
        return replace(nb, ebgp_multihop=not negate)
    if cmd == "shutdown":
        return replace(nb, shutdown=not negate)
    if cmd == "description":
        return replace(nb, description="" if negate else " ".join(args))
    if cmd == "activate":
        return _with_af(nb, af, activate=not negate, activate_line=line)
    if cmd in _AF_FILTERS:
        if len(args) < 2 or args[1] not in ("in", "out"):
            return f"{cmd} needs a name and in|out"
        filters = dict(nb.af(af).filters)
        if negate:
            filters.pop(f"{cmd} {args[1]}", None)
        else:
            filters[f"{cmd} {args[1]}"] = (args[0], line)
        return _with_af(nb, af, filters=filters)
    if cmd == "maximum-prefix":
        if not args or not args[0].isdigit():
            return "maximum-prefix needs a number"
        return _with_af(nb, af, maximum_prefix=(args[0], line))
    return nb


def _with_af(nb: Neighbor, af: str, **changes: object) -> Neighbor:
    afs = dict(nb.afs)
    afs[af] = replace(afs.get(af, NeighborAf()), **changes)  # type: ignore[arg-type]
    return replace(nb, afs=afs)

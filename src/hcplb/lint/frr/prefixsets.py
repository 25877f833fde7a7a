"""Prefix sets: one prefix per class that a set of prefix-list entries and networks cannot tell
apart, so that "does this policy accept anything outside the pools?" is decided exactly.
"""

from __future__ import annotations

import ipaddress

from hcplb.lint.frr.model import Net, PrefixEntry

__all__ = ["prefix_classes"]


def _uncovered(net: Net, holes: list[Net], length: int) -> Net | None:
    """One /length prefix inside `net` that lies inside none of `holes` (all /length or shorter)."""
    if any(net.subnet_of(h) for h in holes):  # type: ignore[arg-type]
        return None
    inner = [h for h in holes if h.subnet_of(net)]  # type: ignore[arg-type]
    if net.prefixlen == length or not inner:
        return ipaddress.ip_network(f"{net.network_address}/{length}")
    for half in net.subnets():
        found = _uncovered(half, inner, length)
        if found is not None:
            return found
    return None


def prefix_classes(bounds: set[Net], entries: list[PrefixEntry], family: int = 4) -> list[Net]:
    """One prefix of `family` of each class that the prefix-lists and the pools cannot tell
    apart.

    Two prefixes of the same length that lie inside the same networks of `bounds` get the same
    verdict from every entry and the same answer to "inside a pool?", and an entry's answer
    changes with the length only at its ge/le bounds: so testing one prefix per (length band,
    innermost network) decides prefix-set containment exactly, whatever the addresses are.
    """
    everything = ipaddress.ip_network("0.0.0.0/0" if family == 4 else "::/0")
    bits = everything.max_prefixlen
    nets = {n for n in bounds if n.version == family} | {everything}
    lengths = {0, bits} | {n.prefixlen for n in nets}
    for entry in entries:
        if entry.network is not None and entry.network.version == family:
            low, high = entry.length_range()
            lengths |= {low, min(high, bits), min(high + 1, bits), max(low - 1, 0)}
    found: list[Net] = []
    for length in sorted(lengths):
        short = [n for n in nets if n.prefixlen <= length]
        for net in short:
            holes = [h for h in short if h != net and h.subnet_of(net)]  # type: ignore[arg-type]
            candidate = _uncovered(net, holes, length)
            if candidate is not None:
                found.append(candidate)
    return found

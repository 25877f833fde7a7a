"""Address arithmetic of MetalLB-style pools (CIDRs and first-last ranges)."""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Iterator

from hcplb.spec.models import Pool

__all__ = ["pool_addresses", "pool_networks", "pool_size", "pool_usable_count"]


def pool_networks(entries: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The CIDRs covering a MetalLB pool's entries (ranges summarized, as MetalLB does)."""
    nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for entry in entries:
        if "-" in entry:
            first_text, _, last_text = entry.partition("-")
            first = ipaddress.ip_address(first_text)
            last = ipaddress.ip_address(last_text)
            nets.extend(ipaddress.summarize_address_range(first, last))
        else:
            nets.append(ipaddress.ip_network(entry))
    return nets


def _skipped(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    return net.version == 4 and net.prefixlen < 31


def _count_mod(first: int, last: int, residue: int) -> int:
    """How many x in [first, last] have x % 256 == residue."""
    return (last - residue) // 256 - (first - 1 - residue) // 256


def pool_usable_count(pool: Pool, taken: Collection[str] = (), family: int | None = None) -> int:
    """How many addresses `pool_addresses` yields that are not in `taken`, by arithmetic: an
    IPv6 /64 or an IPv4 /0 is counted as fast as a /32. `family` (4 or 6) counts only those."""
    count = 0
    for net in pool_networks(pool.addresses):
        if family is not None and net.version != family:
            continue
        first, last = int(net.network_address), int(net.broadcast_address)
        count += net.num_addresses
        if _skipped(net):
            count -= _count_mod(first, last, 0) + _count_mod(first, last, 255)
        for text in taken:
            addr = ipaddress.ip_address(text)
            if addr in net and not (_skipped(net) and int(addr) % 256 in (0, 255)):
                count -= 1
    return count


def pool_addresses(
    pool: Pool, family: int | None = None
) -> Iterator[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Every usable address of a pool (of one `family`) in order; skips .0 and .255 of IPv4
    CIDRs wider than /31."""
    for net in pool_networks(pool.addresses):
        if family is not None and net.version != family:
            continue
        for addr in net:
            if _skipped(net) and int(addr) % 256 in (0, 255):
                continue
            yield addr


def pool_size(pool: Pool) -> int:
    return sum(net.num_addresses for net in pool_networks(pool.addresses))

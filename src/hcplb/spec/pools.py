"""Address arithmetic of MetalLB-style pools (CIDRs and first-last ranges)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from hcplb.spec.models import Pool

__all__ = ["pool_addresses", "pool_networks", "pool_size"]


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


def pool_addresses(pool: Pool) -> Iterator[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Every usable address of a pool in order; skips .0 and .255 of CIDRs wider than /31."""
    for net in pool_networks(pool.addresses):
        for addr in net:
            if net.prefixlen < 31 and net.version == 4 and int(addr) % 256 in (0, 255):
                continue
            yield addr


def pool_size(pool: Pool) -> int:
    return sum(net.num_addresses for net in pool_networks(pool.addresses))

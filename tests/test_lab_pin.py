"""Merging a leaving nexthop out of a pinned route keeps every other nexthop's hash region."""

from __future__ import annotations

from fractions import Fraction

from hcplb.lab.pin import Hop, merge_out


def _regions(hops: tuple[Hop, ...]) -> dict[str, tuple[Fraction, Fraction]]:
    """Linux hash-threshold: the hash space cut in nexthop order, sized by weight."""
    total, start, out = sum(h.weight for h in hops), Fraction(0), {}
    for h in hops:
        end = start + Fraction(h.weight, total)
        out[h.gateway] = (start, end)
        start = end
    return out


def _covers(new: tuple[Fraction, Fraction], old: tuple[Fraction, Fraction]) -> bool:
    return new[0] <= old[0] and old[1] <= new[1]


def test_every_staying_hop_keeps_its_region_whichever_leaves() -> None:
    for count in (2, 3, 4, 7):
        hops = tuple(Hop(f"10.0.0.{i}", "eth0", 1 + i % 2) for i in range(count))
        before = _regions(hops)
        for leaving in hops:
            merged = merge_out(hops, leaving.gateway)
            after = _regions(merged)
            assert leaving.gateway not in after
            assert sum(h.weight for h in merged) == sum(h.weight for h in hops)
            for gateway, region in after.items():
                assert _covers(region, before[gateway]), (count, leaving, gateway)


def test_the_heir_is_the_next_hop_else_the_one_before() -> None:
    hops = (Hop("a", "eth0"), Hop("b", "eth0"), Hop("c", "eth0"))
    assert merge_out(hops, "b") == (Hop("a", "eth0"), Hop("c", "eth0", 2))
    assert merge_out(hops, "c") == (Hop("a", "eth0"), Hop("b", "eth0", 2))
    assert merge_out(hops, "x") == hops
    assert merge_out(hops[:1], "a") == hops[:1]

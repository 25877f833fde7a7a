"""MetalLB's rules on BGPAdvertisements and Communities, with MetalLB's messages.

Aggregation lengths (the CRD's rules, then the parser's, then per pool entry), communities as
`community.New` reads them, LOCAL_PREF compatibility of two advertisements of one pool, and
BFD echo towards IPv6 pools. Used by the simulator (`config`, `speaker`) and by lint.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from dataclasses import dataclass

from hcplb.gotext import q, q_int
from hcplb.metallb.validation import (
    Violation,
)

__all__ = [
    "MAX_COMMUNITIES",
    "AdvertisementTraits",
    "aggregation",
    "aggregation_vs_entry",
    "bfd_echo_with_ipv6",
    "canonical_community",
    "community_problem",
    "local_pref_compatible",
    "local_pref_conflict",
    "local_pref_conflict_at_runtime",
]

MAX_COMMUNITIES = 63

Net = ipaddress.IPv4Network | ipaddress.IPv6Network


def aggregation(v4: int | None, v6: int | None, service_selectors: bool) -> list[Violation]:
    """An advertisement's aggregation lengths: the CRD's rules, then MetalLB's parser's."""
    found: list[Violation] = []
    if service_selectors and ((v4 is not None and v4 != 32) or (v6 is not None and v6 != 128)):
        found.append(
            Violation(
                "serviceSelectors",
                "adv.svcsel.vs.agg",
                "serviceSelectors and aggregationLength are mutually exclusive, can only be used "
                "together with default aggregationLength (32) and aggregationLengthV6 (128)",
            )
        )
    if v4 is not None and v4 < 1:
        found.append(
            Violation(
                "aggregationLength",
                "adv.agg.v4.min",
                f"spec.aggregationLength: Invalid value: {v4}: spec.aggregationLength in body "
                "should be greater than or equal to 1",
            )
        )
    if v4 is not None and v4 > 32:
        found.append(
            Violation(
                "aggregationLength",
                "adv.agg.v4.max",
                f"invalid aggregation length {q_int(v4)} for IPv4",
            )
        )
    if v6 is not None and v6 > 128:
        found.append(
            Violation(
                "aggregationLengthV6",
                "adv.agg.v6.max",
                f"invalid aggregation length {q_int(v6)} for IPv6",
            )
        )
    return found


def aggregation_vs_entry(v4: int, v6: int, entry: str, nets: list[Net]) -> Violation | None:
    """validateBGPAdvPerPool: the aggregation length is not shorter than a pool entry's
    shortest prefix (the message prints the IPv4 length, also for IPv6 entries)."""
    if not nets:
        return None
    v6_entry = nets[0].version == 6
    lowest = min(n.prefixlen for n in nets)
    if (v6 if v6_entry else v4) >= lowest:
        return None
    return Violation(
        "aggregationLengthV6" if v6_entry else "aggregationLength",
        "adv.agg.vs.pool",
        f"invalid aggregation length {v4}: prefix {lowest} in this pool is more specific than "
        f"the aggregation length for addresses {entry}",
    )


@dataclass(frozen=True)
class AdvertisementTraits:
    """What MetalLB compares between two BGPAdvertisements of one pool."""

    local_pref: int
    aggregation_length: int
    aggregation_length_v6: int
    peers: frozenset[str]


def local_pref_compatible(
    new: AdvertisementTraits,
    old: AdvertisementTraits,
    families: Collection[int],
    share_nodes: bool,
) -> bool:
    """Two advertisements of a pool may set different LOCAL_PREFs only if they never produce
    the same BGP update: other aggregation lengths (for the families the pool has), disjoint
    peers, or disjoint nodes."""
    if new.local_pref == old.local_pref or not families:
        return True
    v4_differs = new.aggregation_length != old.aggregation_length
    v6_differs = new.aggregation_length_v6 != old.aggregation_length_v6
    if (v4_differs and 6 not in families) or (v6_differs and 4 not in families):
        return True
    if v4_differs and v6_differs:
        return True
    if new.peers and old.peers and not new.peers & old.peers:
        return True
    return not share_nodes


def local_pref_conflict(new: int, old: int) -> str:
    """MetalLB's parse error for incompatible LOCAL_PREFs (its spelling kept)."""
    return (
        f"invalid local preference {new}: local preferernce {old} was already set for the same "
        "type of BGP update. Check existing BGP advertisements with common pools and aggregation "
        "lengths"
    )


def local_pref_conflict_at_runtime(
    first: str, second: str, first_pref: int, second_pref: int
) -> str:
    """The speaker's reason for not announcing a Service two such advertisements select."""
    return (
        f"advertisements '{first}' and '{second}' have conflicting LOCAL_PREF "
        f"({first_pref} vs {second_pref})"
    )


def bfd_echo_with_ipv6(pool: str, advertisement: str, peer: str) -> str:
    """MetalLB's error for an IPv6 pool announced to a peer whose BFD profile has echo mode."""
    return (
        f"pool {pool} has bgpadvertisement {advertisement} which references peer {peer} which "
        "has bfd echo enabled, which is not possible"
    )


def community_problem(value: str) -> tuple[str | None, bool]:
    """(problem, transient) for one community string, as MetalLB's community.New says it.

    Transient: neither N:N nor large:N:N:N, so MetalLB takes it for a Community alias that may
    be created later and retries.
    """
    parts = value.split(":")
    if len(parts) not in (2, 4):
        return f"invalid community format: {value}", True
    if len(parts) == 4 and parts[0] != "large":
        return (
            "invalid community value: invalid marker for large community, expected community to "
            f"be of format large:<uint32>:<uint32>:<uint32> but got {q(value)} instead"
        ), False
    bits = 16 if len(parts) == 2 else 32
    for part in parts if len(parts) == 2 else parts[1:]:
        if not part.isdigit() or not part.isascii():
            err = f"strconv.ParseUint: parsing {q(part)}: invalid syntax"
        elif int(part) >= 2**bits:
            err = f"strconv.ParseUint: parsing {q(part)}: value out of range"
        else:
            continue
        return (
            f"invalid community value: invalid section {q(part)} of community {q(value)}, "
            f"err: {q(err)}"
        ), False
    return None, False


def canonical_community(value: str) -> str:
    """A valid community in canonical form (`N:N` or `large:N:N:N`, leading zeros dropped)."""
    parts = value.split(":")
    if len(parts) == 2:
        return ":".join(str(int(p)) for p in parts)
    return "large:" + ":".join(str(int(p)) for p in parts[1:])

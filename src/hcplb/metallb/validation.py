"""MetalLB's validation rules with MetalLB's own messages: the one home for lint and the simulator.

Each rule reads raw manifest values and returns what MetalLB would say, never raising: the
simulator (`config.parse_config`) raises the first message as MetalLB's `config.For` stops at
its first error; lint reports every one at its line. A `Violation` names the field under `spec`
and the rule id of validation-rules.yaml (lint prefixes `metallb.`).

Formatting follows Go: `%q` of a Duration is its String() ("1500ms" -> "1.5s", nil -> <nil>),
`%q` of an integer is a quoted rune (33 -> '!'), see `hcplb.gotext`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from dataclasses import dataclass

from hcplb.gotext import format_duration, ip16, parse_cidr, parse_duration, parse_ip, q, q_int

__all__ = [
    "BASIC_AUTH",
    "BFD_RANGES",
    "DEFAULT_AGGREGATION_V4",
    "DEFAULT_AGGREGATION_V6",
    "DEFAULT_PORT",
    "MAX_COMMUNITIES",
    "MISSING_NAME",
    "UINT32",
    "AdvertisementTraits",
    "Violation",
    "aggregation",
    "bfd_echo_with_ipv6",
    "bfd_range",
    "community_problem",
    "crd_range",
    "duplicate_name",
    "duplicate_object",
    "duration",
    "local_pref_compatible",
    "local_pref_conflict",
    "local_pref_conflict_at_runtime",
    "pool_entry",
    "secret_not_found",
    "secret_type_mismatch",
    "secret_without_password",
    "timers",
]

UINT32 = 4294967295
# MetalLB's defaults for fields a manifest leaves out.
DEFAULT_PORT = 179
DEFAULT_AGGREGATION_V4 = 32
DEFAULT_AGGREGATION_V6 = 128
BASIC_AUTH = "kubernetes.io/basic-auth"
MAX_COMMUNITIES = 63
# BFDProfile fields and their ranges (CRD and bfdIntFromConfig agree).
BFD_RANGES: dict[str, tuple[int, int]] = {
    "detectMultiplier": (2, 255),
    "receiveInterval": (10, 60000),
    "transmitInterval": (10, 60000),
    "echoInterval": (10, 60000),
    "minimumTtl": (1, 254),
}

Net = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Violation:
    """One broken rule: the field under `spec`, the rule id, MetalLB's message."""

    field: str
    rule: str
    message: str


def duration(raw: object, key: str) -> tuple[float | None, Violation | None]:
    """A metav1.Duration field in seconds (None when absent), or Go's parse error."""
    if raw is None:
        return None, None
    value = parse_duration(raw) if isinstance(raw, str) else None
    if value is None:
        return None, Violation(key, "duration.invalid", f"time: invalid duration {q(str(raw))}")
    return value, None


def timers(
    hold_raw: object, keepalive_raw: object
) -> tuple[float | None, float | None, list[Violation]]:
    """MetalLB's parseTimers: (hold, keepalive) in seconds as derived, and what is wrong.

    Only holdTime: keepalive = hold/3; only keepaliveTime: hold = 3*keepalive; neither: FRR's
    defaults (None, None). The messages print the given values as Go durations (<nil> if unset).
    """
    hold, bad_hold = duration(hold_raw, "holdTime")
    keep, bad_keep = duration(keepalive_raw, "keepaliveTime")
    bad = [v for v in (bad_hold, bad_keep) if v is not None]
    if bad or (hold is None and keep is None):
        return None, None, bad
    eff_hold = hold if hold is not None else 3 * (keep or 0.0)
    eff_keep = keep if keep is not None else eff_hold / 3
    ht = q(format_duration(hold)) if hold is not None else "<nil>"
    ka = q(format_duration(keep)) if keep is not None else "<nil>"
    rounded = int(eff_hold)
    if rounded != 0 and rounded < 3:
        field = "holdTime" if hold is not None else "keepaliveTime"
        message = f"invalid BGPPeer timers: invalid hold time {ht}: must be 0 or >=3s"
        return None, None, [Violation(field, "peer.timers.holdtime", message)]
    if eff_keep > eff_hold:
        message = (
            f"invalid BGPPeer timers: invalid keepaliveTime {ka}, must be lower than holdTime {ht}"
        )
        return None, None, [Violation("keepaliveTime", "peer.timers.keepalive", message)]
    return eff_hold, eff_keep, []


def crd_range(key: str, value: int, low: int, high: int) -> str | None:
    """The API server's message for an integer outside the CRD's minimum/maximum."""
    if low <= value <= high:
        return None
    edge = f"greater than or equal to {low}" if value < low else f"less than or equal to {high}"
    return f"spec.{key}: Invalid value: {value}: spec.{key} in body should be {edge}"


def bfd_range(value: int, low: int, high: int) -> str | None:
    """bfdIntFromConfig's message for a BFD profile value outside its range."""
    if low <= value <= high:
        return None
    return f"invalid value {value}, must be in {low}-{high} range"


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


def pool_entry(entry: str, pool: str) -> tuple[list[Net], str | None]:
    """An IPAddressPool entry's CIDRs (ranges summarized), or MetalLB's error for it.

    A range mixing IPv4 and IPv6 passes MetalLB's checks and yields no CIDR.
    """
    prefix = f"invalid CIDR {q(entry)} in pool {q(pool)}: "
    if "-" not in entry:
        net = parse_cidr(entry)
        if net is None:
            return [], prefix + f"invalid CIDR {q(entry)}"
        return [net], None
    first_text, last_text = entry.split("-", 1)
    first, last = parse_ip(first_text.strip()), parse_ip(last_text.strip())
    where = f"invalid IP range {q(entry)}: "
    if first is None:
        return [], prefix + where + f"invalid start IP {q(first_text)}"
    if last is None:
        return [], prefix + where + f"invalid end IP {q(last_text)}"
    if ip16(first) > ip16(last):
        return [], prefix + where + f"start IP {q(str(first))} is after the end IP {q(str(last))}"
    if first.version != last.version:
        return [], None
    return list(ipaddress.summarize_address_range(first, last)), None


# MetalLB's messages for an object without a name (other kinds: hcplb's own).
MISSING_NAME = {"IPAddressPool": "missing pool name", "BFDProfile": "missing bfd profile name"}


def duplicate_name(kind: str, name: str) -> str | None:
    """MetalLB's message for a second object of `kind` named `name` (None: MetalLB has none)."""
    if kind == "IPAddressPool":
        return f"duplicate definition of pool {q(name)}"
    if kind == "BFDProfile":
        return f"found duplicate bfd profile name {name}"
    return None


def duplicate_object(kind: str, name: str, first: int, second: int) -> str | None:
    """MetalLB's message for two identical objects (1-based positions among their kind)."""
    if kind == "BGPAdvertisement":
        return (
            f"duplicate definition of bgpadvertisements. advertisement {first} and {second} "
            "are equal"
        )
    if kind == "BGPPeer":
        return f"peer {name} already exists"
    return None


def secret_not_found(namespace: str, name: str) -> str:
    """MetalLB's (transient) message for a peer whose password Secret does not exist yet."""
    return f"secret ref not found for peer config {q(namespace)}/{q(name)}"


def secret_type_mismatch(namespace: str, name: str) -> str:
    """MetalLB's message for a password Secret that is not kubernetes.io/basic-auth (its
    trailing space included)."""
    return f"secret type mismatch on {q(namespace)}/{q(name)}, type {q(BASIC_AUTH)} is expected "


def secret_without_password(namespace: str, name: str) -> str:
    """MetalLB's message for a password Secret without a `password` key."""
    return f"password not specified in the secret {q(namespace)}/{q(name)}"

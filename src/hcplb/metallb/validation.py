"""MetalLB's validation rules with MetalLB's own messages: the one home for lint and the simulator.

Here: durations and timers, CRD ranges, BFD ranges, pool entries, names and duplicates, Secrets;
rules on BGPPeers are in `peer_rules`, on BGPAdvertisements and Communities in `adv_rules`.

Each rule reads raw manifest values and returns what MetalLB would say, never raising: the
simulator (`config.parse_config`) raises the first message as MetalLB's `config.For` stops at
its first error; lint reports every one at its line. A `Violation` names the field under `spec`
and the rule id of validation-rules.yaml (lint prefixes `metallb.`).

Formatting follows Go: `%q` of a Duration is its String() ("1500ms" -> "1.5s", nil -> <nil>),
`%q` of an integer is a quoted rune (33 -> '!'), see `hcplb.gotext`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from hcplb.gotext import format_duration, ip16, parse_cidr, parse_duration, parse_ip, q

__all__ = [
    "BASIC_AUTH",
    "BFD_RANGES",
    "CR_NAME",
    "DEFAULT_AGGREGATION_V4",
    "DEFAULT_AGGREGATION_V6",
    "DEFAULT_PORT",
    "MISSING_NAME",
    "NAMESPACES_DUPLICATE",
    "POOL_EMPTY",
    "UINT32",
    "Violation",
    "bfd_range",
    "crd_range",
    "duplicate_name",
    "duplicate_object",
    "duplicate_value",
    "duration",
    "pool_entry",
    "pool_overlap",
    "secret_not_found",
    "secret_type_mismatch",
    "secret_without_password",
    "timers",
    "wrong_namespace",
]

UINT32 = 4294967295
# MetalLB's defaults for fields a manifest leaves out.
DEFAULT_PORT = 179
DEFAULT_AGGREGATION_V4 = 32
DEFAULT_AGGREGATION_V6 = 128
BASIC_AUTH = "kubernetes.io/basic-auth"
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


# The operator's condition message for a MetalLB CR not named `metallb`.
CR_NAME = "MetalLB resource name must be 'metallb'"
POOL_EMPTY = "pool has no prefixes defined"
NAMESPACES_DUPLICATE = "duplicate definition in namespaces field"


def wrong_namespace(namespace: str) -> str:
    """The webhook's message for a configuration object outside MetalLB's namespace."""
    return f"resource must be created in {namespace} namespace"


def pool_overlap(cidr: str, pool: str, other: str) -> str:
    """MetalLB's message for a pool CIDR overlapping one defined before (in any pool)."""
    return f"CIDR {q(cidr)} in pool {q(pool)} overlaps with already defined CIDR {q(other)}"


def duplicate_value(label: str, value: str) -> str:
    """validateDuplicate's message for a list holding `value` twice."""
    return f"duplicate definition of {label} {q(value)}"


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

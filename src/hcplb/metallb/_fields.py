"""Typed reads of manifest fields, each failure a MetallbError naming the object and field."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from hcplb.errors import MetallbError
from hcplb.metallb.adv_rules import canonical_community, community_problem
from hcplb.metallb.frr import BfdProfile
from hcplb.metallb.model import Network
from hcplb.metallb.validation import (
    BFD_RANGES,
    bfd_range,
    duplicate_value,
    pool_entry,
)

__all__ = [
    "Fields",
    "object_name",
    "parse_community",
    "parse_pool_entry",
]


def object_name(obj: Mapping[str, Any]) -> str:
    """`Kind namespace/name` for messages."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    name = meta.get("name", "<unnamed>")
    return f"{obj.get('kind', '<no kind>')} {ns + '/' if ns else ''}{name}"


class Fields:
    """A mapping read with types checked; `where` prefixes every error (e.g. `BGPPeer ns/x spec`)."""

    def __init__(self, raw: Any, where: str) -> None:
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            raise MetallbError(f"{where}: expected a mapping, got {type(raw).__name__}")
        self.raw: Mapping[str, Any] = raw
        self.where = where

    def at(self, key: str) -> str:
        return f"{self.where}.{key}"

    def has(self, key: str) -> bool:
        return self.raw.get(key) is not None

    def text(self, key: str, default: str = "") -> str:
        value = self.raw.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise MetallbError(f"{self.at(key)}: expected a string, got {value!r}")
        return value

    def integer(
        self, key: str, default: int = 0, *, lo: int | None = None, hi: int | None = None
    ) -> int:
        value = self.raw.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise MetallbError(f"{self.at(key)}: expected an integer, got {value!r}")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise MetallbError(f"{self.at(key)}: {value} is outside {lo}..{hi}")
        return value

    def opt_int(self, key: str, *, lo: int, hi: int) -> int | None:
        """An optional integer in [lo, hi], with MetalLB's BFD range message."""
        if not self.has(key):
            return None
        value = self.integer(key)
        problem = bfd_range(value, lo, hi)
        if problem:
            raise MetallbError(f"{self.at(key)}: {problem}")
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.raw.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise MetallbError(f"{self.at(key)}: expected true or false, got {value!r}")
        return value

    def items(self, key: str) -> list[Any]:
        value = self.raw.get(key)
        if value is None:
            return []
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise MetallbError(f"{self.at(key)}: expected a list, got {value!r}")
        return list(value)

    def texts(self, key: str, *, unique: str = "") -> list[str]:
        """A list of strings; with `unique`, MetalLB's 'duplicate definition of <unique>' check."""
        values = self.items(key)
        for v in values:
            if not isinstance(v, str):
                raise MetallbError(f"{self.at(key)}: expected strings, got {v!r}")
        if unique:
            seen: set[str] = set()
            for v in values:
                if v in seen:
                    raise MetallbError(f"{self.where}: {duplicate_value(unique, v)}")
                seen.add(v)
        return values

    def only(self, allowed: Collection[str]) -> None:
        """Reject keys outside `allowed`, naming them all (sorted)."""
        unknown = sorted(set(self.raw) - set(allowed))
        if unknown:
            raise MetallbError(f"{self.where}: unknown field(s) {', '.join(unknown)}")

    def sub(self, key: str) -> Fields:
        return Fields(self.raw.get(key), self.at(key))


def parse_pool_entry(entry: str, pool: str) -> tuple[Network, ...]:
    """An IPAddressPool address entry: a CIDR (host bits allowed) or a range, summarized."""
    nets, problem = pool_entry(entry, pool)
    if problem:
        raise MetallbError(problem)
    return tuple(nets)


def parse_community(text: str) -> str:
    """A community in canonical form (`N:N` or `large:N:N:N`), with MetalLB's errors."""
    problem, _ = community_problem(text)
    if problem:
        raise MetallbError(problem)
    return canonical_community(text)


def parse_bfd_profile(f: Fields, name: str) -> BfdProfile:
    """A BFD profile's fields, with the CRD's ranges (a BFDProfile spec or a corpus entry)."""
    values = {key: f.opt_int(key, lo=low, hi=high) for key, (low, high) in BFD_RANGES.items()}
    return BfdProfile(
        name=name,
        receive_interval=values["receiveInterval"],
        transmit_interval=values["transmitInterval"],
        detect_multiplier=values["detectMultiplier"],
        echo_interval=values["echoInterval"],
        echo_mode=f.flag("echoMode"),
        passive_mode=f.flag("passiveMode"),
        minimum_ttl=values["minimumTtl"],
    )

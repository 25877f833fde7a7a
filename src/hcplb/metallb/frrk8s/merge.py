"""frr-k8s's merge of router and neighbor configurations (its controller's merge.go).

Every router is merged with itself before use, so even a single FRRConfiguration is
normalised: neighbors deduplicated by ID and sorted by it, prefixes sorted, and a neighbor's
values equal to BGP's defaults (port 179, hold 180 s, keepalive 60 s, connect 60 s) dropped.
Two routers of one VRF (from several FRRConfigurations for the node) merge into one; their
neighbors merge field by field, and anything that would have to pick a side is an error.
"""

from __future__ import annotations

from dataclasses import replace

from hcplb.errors import MetallbError
from hcplb.metallb.frrk8s.model import (
    AllowedIn,
    AllowedOut,
    IncomingFilter,
    NeighborConfig,
    PrefixList,
    RouterConfig,
)

__all__ = ["DEFAULTS", "merge_routers", "normalise_router"]

DEFAULTS = {"port": 179, "hold_time": 180, "keepalive_time": 60, "connect_time": 60}


def _same(a: int | None, b: int | None, default: int) -> bool:
    return (default if a is None else a) == (default if b is None else b)


def _check_neighbors(a: NeighborConfig, b: NeighborConfig) -> None:
    key = a.id
    checks = (
        (a.asn != b.asn, "multiple asns specified"),
        (not _same(a.port, b.port, 179), "multiple ports specified"),
        (a.src_addr != b.src_addr, "multiple source addresses specified"),
        (a.password != b.password, "multiple passwords specified"),
        (
            bool(a.bfd_profile and b.bfd_profile and a.bfd_profile != b.bfd_profile),
            "multiple bfd profiles specified",
        ),
        (a.ebgp_multihop != b.ebgp_multihop, "conflicting ebgp-multihop specified"),
        (a.family != b.family, "conflicting advertiseDualStack specified"),
        (not _same(a.hold_time, b.hold_time, 180), "multiple hold times specified"),
        (not _same(a.keepalive_time, b.keepalive_time, 60), "multiple keepalive times specified"),
        (not _same(a.connect_time, b.connect_time, 60), "multiple connect times specified"),
        (a.local_asn != b.local_asn, "multiple localASNs specified"),
    )
    for failed, message in checks:
        if failed:
            raise MetallbError(f"{message} for {key}")


def _merge_next_hop(a: str, b: str, family: str) -> str:
    if not a or a == b:
        return b or a
    if not b:
        return a
    raise MetallbError(f"{family} next hop: multiple next hops ({a} != {b}) specified")


def _merge_lists(a: tuple[PrefixList, ...], b: tuple[PrefixList, ...]) -> tuple[PrefixList, ...]:
    merged: dict[str, PrefixList] = {p.key: p for p in a}
    for p in b:
        old = merged.get(p.key)
        merged[p.key] = p if old is None else replace(old, prefixes=old.prefixes | p.prefixes)
    return tuple(merged[k] for k in sorted(merged))


def _merge_out(a: AllowedOut, b: AllowedOut) -> AllowedOut:
    pref_of: dict[str, int | None] = {}
    for pl in a.local_pref:
        pref_of.update(dict.fromkeys(pl.prefixes, pl.local_pref))
    for pl in b.local_pref:
        for prefix in sorted(pl.prefixes):
            if prefix in pref_of and pref_of[prefix] != pl.local_pref:
                raise MetallbError(
                    f"multiple local prefs ({pref_of[prefix]} != {pl.local_pref}) "
                    f"specified for prefix {prefix}"
                )
    return AllowedOut(
        prefixes_v4=tuple(sorted(set(a.prefixes_v4) | set(b.prefixes_v4))),
        prefixes_v6=tuple(sorted(set(a.prefixes_v6) | set(b.prefixes_v6))),
        next_hop_v4=_merge_next_hop(a.next_hop_v4, b.next_hop_v4, "ipv4"),
        next_hop_v6=_merge_next_hop(a.next_hop_v6, b.next_hop_v6, "ipv6"),
        local_pref=_merge_lists(a.local_pref, b.local_pref),
        communities=_merge_lists(a.communities, b.communities),
    )


def _merge_filters(
    a: tuple[IncomingFilter, ...], b: tuple[IncomingFilter, ...]
) -> tuple[IncomingFilter, ...]:
    merged = {f"{f.prefix}{f.le}{f.ge}": f for f in a + b}
    return tuple(merged[k] for k in sorted(merged))


def _merge_in(a: AllowedIn, b: AllowedIn) -> AllowedIn:
    if a.all or b.all:
        return AllowedIn(all=True)
    return AllowedIn(
        prefixes_v4=_merge_filters(a.prefixes_v4, b.prefixes_v4),
        prefixes_v6=_merge_filters(a.prefixes_v6, b.prefixes_v6),
    )


def _without_defaults(n: NeighborConfig) -> NeighborConfig:
    changes = {k: None for k, v in DEFAULTS.items() if getattr(n, k) == v}
    return replace(n, **changes) if changes else n  # type: ignore[arg-type]


def _merge_neighbor(dest: NeighborConfig, src: NeighborConfig) -> NeighborConfig:
    _check_neighbors(dest, src)
    try:
        outgoing = _merge_out(dest.outgoing, src.outgoing)
    except MetallbError as exc:
        raise MetallbError(
            f"could not merge outgoing for neighbor {src.addr} vrf {src.vrf}, err: {exc}"
        ) from None
    return _without_defaults(
        replace(
            dest,
            bfd_profile=dest.bfd_profile or src.bfd_profile,
            outgoing=outgoing,
            incoming=_merge_in(dest.incoming, src.incoming),
            address_families=tuple(sorted(set(dest.address_families + src.address_families))),
        )
    )


def merge_routers(a: RouterConfig, b: RouterConfig) -> RouterConfig:
    """Two routers of one VRF as one; MetallbError where frr-k8s refuses to merge them."""
    if a.vrf != b.vrf:
        raise MetallbError(f"different VRFs specified ({a.vrf} != {b.vrf})")
    if a.my_asn != b.my_asn:
        raise MetallbError(
            f"different asns ({a.my_asn} != {b.my_asn}) specified for same vrf: {a.vrf}"
        )
    if a.router_id and b.router_id and a.router_id != b.router_id:
        raise MetallbError(
            f"different router ids ({a.router_id} != {b.router_id}) specified for same vrf: {a.vrf}"
        )
    neighbors: dict[str, NeighborConfig] = {}
    for n in a.neighbors + b.neighbors:
        neighbors[n.id] = n if n.id not in neighbors else _merge_neighbor(neighbors[n.id], n)
    return RouterConfig(
        my_asn=a.my_asn,
        router_id=a.router_id or b.router_id,
        vrf=a.vrf,
        neighbors=tuple(neighbors[k] for k in sorted(neighbors)),
        prefixes_v4=tuple(sorted(set(a.prefixes_v4 + b.prefixes_v4))),
        prefixes_v6=tuple(sorted(set(a.prefixes_v6 + b.prefixes_v6))),
        import_vrfs=tuple(sorted(set(a.import_vrfs + b.import_vrfs))),
    )


def normalise_router(r: RouterConfig) -> RouterConfig:
    """The router merged with itself, as frr-k8s validates (and so rewrites) each one."""
    return merge_routers(r, r)

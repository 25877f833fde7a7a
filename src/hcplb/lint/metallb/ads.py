"""MetalLB rules on BGPAdvertisements and Communities, with MetalLB's messages.

Advertisements are attached to pools in file order, as MetalLB's `config.For` does, so the
aggregation-length and local-preference checks see the same pairs MetalLB sees.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from hcplb import gotext
from hcplb.lint.facts import NodeFact
from hcplb.lint.findings import Finding, error, warning
from hcplb.lint.k8s import Manifest
from hcplb.lint.metallb.pools import Pool, read_pools, selected_pools
from hcplb.lint.metallb.view import MetallbView, selector_findings
from hcplb.metallb.adv_rules import (
    MAX_COMMUNITIES,
    AdvertisementTraits,
    aggregation,
    aggregation_vs_entry,
    bfd_echo_with_ipv6,
    community_problem,
    local_pref_compatible,
    local_pref_conflict,
    local_pref_conflict_at_runtime,
)
from hcplb.metallb.selectors import selects
from hcplb.metallb.validation import (
    DEFAULT_AGGREGATION_V4,
    DEFAULT_AGGREGATION_V6,
    duplicate_object,
    duplicate_value,
)

_DUP_RULES = {
    "ipAddressPools": ("metallb.adv.dup.pools", "ipAddressPools"),
    "communities": ("metallb.adv.dup.community", "community"),
    "peers": ("metallb.adv.dup.peers", "peers"),
}


def _duplicates(ad: Manifest) -> Iterator[Finding]:
    for key, (rule, label) in _DUP_RULES.items():
        values = [str(v) for v in ad.items("spec", key)]
        dup = next((i for i, v in enumerate(values) if v in values[:i]), None)
        if dup is not None:
            yield error(
                ad.where("spec", key, dup),
                rule,
                duplicate_value(label, values[dup]),
            )
    for key in ("ipAddressPoolSelectors", "nodeSelectors", "serviceSelectors"):
        yield from selector_findings(ad, ("spec", key), key, "metallb.adv.dup.selectors")


def _aggregation(ad: Manifest) -> Iterator[Finding]:
    v4, v6 = ad.integer("spec", "aggregationLength"), ad.integer("spec", "aggregationLengthV6")
    for v in aggregation(v4, v6, bool(ad.items("spec", "serviceSelectors"))):
        yield error(ad.where("spec", v.field), f"metallb.{v.rule}", v.message)


def _communities(view: MetallbView, ads: Sequence[Manifest]) -> Iterator[Finding]:
    aliases: set[str] = set()
    for cr in view.in_namespace(view.communities):
        for i, item in enumerate(cr.items("spec", "communities")):
            if not isinstance(item, dict):
                continue
            name, value = str(item.get("name", "")), str(item.get("value", ""))
            problem, _ = community_problem(value)
            if problem:
                yield error(
                    cr.where("spec", "communities", i),
                    "metallb.community.parse",
                    f"parsing community {gotext.q(name)}: {problem}",
                )
            if name in aliases:
                yield error(
                    cr.where("spec", "communities", i),
                    "metallb.community.dup",
                    f"duplicate definition of community {gotext.q(name)}",
                )
            aliases.add(name)
    for ad in ads:
        values = [str(c) for c in ad.items("spec", "communities")]
        for i, value in enumerate(values):
            if value in aliases:
                continue
            problem, transient = community_problem(value)
            if problem and transient:
                yield warning(
                    ad.where("spec", "communities", i),
                    "metallb.adv.community.format",
                    problem,
                    "neither N:N, large:N:N:N nor a Community alias; MetalLB retries in case the "
                    "alias is created later",
                )
            elif problem:
                rule = (
                    "metallb.adv.community.large"
                    if "marker" in problem
                    else "metallb.adv.community.value"
                )
                yield error(
                    ad.where("spec", "communities", i),
                    rule,
                    f"invalid community {gotext.q(value)} in BGP advertisement: {problem}",
                )
        if len(set(values)) > MAX_COMMUNITIES:
            yield error(
                ad.where("spec", "communities"),
                "metallb.adv.community.max",
                f"max supported communities is {MAX_COMMUNITIES}, got {len(set(values))}",
            )


def ad_nodes(ad: Manifest, nodes: Sequence[NodeFact]) -> set[str]:
    selectors = ad.items("spec", "nodeSelectors")
    return {
        n.name
        for n in nodes
        if (not selectors) or (not n.inferred and selects(selectors, n.labels))
    }


def _int(ad: Manifest, key: str, default: int) -> int:
    value = ad.integer("spec", key)
    return default if value is None else value


def _traits(ad: Manifest) -> AdvertisementTraits:
    return AdvertisementTraits(
        local_pref=_int(ad, "localPref", 0),
        aggregation_length=_int(ad, "aggregationLength", DEFAULT_AGGREGATION_V4),
        aggregation_length_v6=_int(ad, "aggregationLengthV6", DEFAULT_AGGREGATION_V6),
        peers=frozenset(str(p) for p in ad.items("spec", "peers")),
    )


def _compatible(new: Manifest, old: Manifest, pool: Pool, nodes: Sequence[NodeFact]) -> bool:
    a, b = _traits(new), _traits(old)
    if a.local_pref == b.local_pref:
        return True  # the node sets below cost a selector walk each
    return local_pref_compatible(
        a, b, pool.families(), bool(ad_nodes(new, nodes) & ad_nodes(old, nodes))
    )


def _per_pool(ad: Manifest, pool: Pool, nodes: Sequence[NodeFact]) -> Iterator[Finding]:
    traits = _traits(ad)
    for entry, nets in pool.entries:
        v = aggregation_vs_entry(
            traits.aggregation_length, traits.aggregation_length_v6, entry, nets
        )
        if v is not None:
            yield error(ad.where("spec", v.field), f"metallb.{v.rule}", v.message)
    if ad.items("spec", "serviceSelectors"):
        for old in pool.ads:
            pref, old_pref = traits.local_pref, _traits(old).local_pref
            if old.items("spec", "serviceSelectors") and pref != old_pref:
                yield warning(
                    ad.where("spec", "localPref"),
                    "metallb.adv.localpref.runtime",
                    local_pref_conflict_at_runtime(old.name, ad.name, old_pref, pref),
                    "a Service both select is then not announced (reason conflictingAdvertisements)",
                )
        return
    for old in pool.ads:
        if old.items("spec", "serviceSelectors"):
            continue
        if not _compatible(ad, old, pool, nodes):
            yield error(
                ad.where("spec", "localPref"),
                "metallb.adv.localpref.conflict",
                local_pref_conflict(traits.local_pref, _traits(old).local_pref),
            )


def _peers_of(ad: Manifest, view: MetallbView) -> list[Manifest]:
    names = [str(p) for p in ad.items("spec", "peers")]
    peers = view.in_namespace(view.peers)
    return peers if not names else [p for p in peers if p.name in names]


def _families(view: MetallbView, ad: Manifest, pool: Pool) -> Iterator[Finding]:
    profiles = {b.name: b for b in view.in_namespace(view.bfd_profiles)}
    for peer in _peers_of(ad, view):
        profile = profiles.get(peer.text("spec", "bfdProfile") or "")
        if 6 in pool.families() and profile is not None and profile.flag("spec", "echoMode"):
            yield error(
                ad.where(),
                "metallb.adv.bfdecho.v6",
                bfd_echo_with_ipv6(pool.manifest.name, ad.name, peer.name),
            )
        address = gotext.parse_ip(peer.text("spec", "peerAddress"))
        if address is None or peer.flag("spec", "dualStackAddressFamily"):
            continue
        other = 6 if address.version == 4 else 4
        if other in pool.families():
            yield error(
                peer.where("spec", "peerAddress"),
                "metallb.pool.family-mismatch",
                f"pool {pool.manifest.name} has IPv{other} addresses but peer {peer.name} is an "
                f"IPv{address.version} session without dualStackAddressFamily: those VIPs are never "
                "announced to it",
                "set dualStackAddressFamily: true on the BGPPeer, or add a peer of that family",
            )


def _native_v6(
    view: MetallbView, ads: Sequence[Manifest], pools: dict[str, Pool]
) -> Iterator[Finding]:
    if view.backend != "native" or not ads:
        return
    chosen: dict[str, Pool] = {}
    for ad in ads:
        for manifest in selected_pools(ad, [p.manifest for p in pools.values()]):
            chosen[manifest.name] = pools[manifest.name]
    for pool in chosen.values():
        v6 = next((n for n in pool.nets if n.version == 6), None)
        if v6 is not None:
            yield error(
                pool.manifest.where("spec", "addresses"),
                "metallb.native.rejects",
                f"pool {gotext.q(pool.manifest.name)} has ipv6 CIDR {v6}, native bgp mode does not support ipv6",
            )


def check_pools(view: MetallbView, nodes: Sequence[NodeFact]) -> list[Finding]:
    pools, found = read_pools(view)
    ads = view.in_namespace(view.advertisements)
    for ad in ads:
        found += _duplicates(ad)
        found += _aggregation(ad)
    for i, ad in enumerate(ads):
        for j, other in enumerate(ads[i + 1 :], start=i + 1):
            if dict(ad.body) == dict(other.body):
                found.append(
                    error(
                        other.where(),
                        "metallb.adv.duplicate",
                        duplicate_object(ad.kind, ad.name, i + 1, j + 1) or "",
                    )
                )
    found += _communities(view, ads)
    peer_names = {p.name for p in view.in_namespace(view.peers)}
    for ad in ads:
        for i, name in enumerate(ad.items("spec", "ipAddressPools")):
            if str(name) not in pools:
                found.append(
                    error(
                        ad.where("spec", "ipAddressPools", i),
                        "metallb.adv.pool.unknown",
                        f"BGPAdvertisement {ad.name} names pool {name}, which does not exist: "
                        "MetalLB silently skips it",
                        "fix the pool name",
                    )
                )
        for i, name in enumerate(ad.items("spec", "peers")):
            if str(name) not in peer_names:
                found.append(
                    error(
                        ad.where("spec", "peers", i),
                        "metallb.adv.peer.unknown",
                        f"BGPAdvertisement {ad.name} names BGPPeer {name}, which does not exist",
                        "fix the peer name: the advertisement is sent to no one",
                    )
                )
        for manifest in selected_pools(ad, [p.manifest for p in pools.values()]):
            pool = pools[manifest.name]
            found += _per_pool(ad, pool, nodes)
            found += _families(view, ad, pool)
            pool.ads.append(ad)
    found += _native_v6(view, ads, pools)
    return found

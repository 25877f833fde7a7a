"""Parse MetalLB manifests into a MetallbConfig, rejecting what MetalLB's config parser rejects.

Follows `config.For` in MetalLB's FRR mode: BFD profiles, peers (passwords from Secrets),
communities, pools, BGP advertisements, then the FRR-mode peer compatibility checks. Errors
carry MetalLB's own message prefixed with the object (`BGPPeer ns/name: ...`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hcplb.errors import MetallbError
from hcplb.metallb._fields import (
    Fields,
    object_name,
    parse_bfd_profile,
    parse_community,
    parse_pool_entry,
)
from hcplb.metallb.adv_rules import (
    aggregation,
    aggregation_vs_entry,
    bfd_echo_with_ipv6,
    local_pref_compatible,
    local_pref_conflict,
)
from hcplb.metallb.frr import BfdProfile
from hcplb.metallb.model import (
    BgpAdvertisement,
    MetallbConfig,
    Network,
    Peer,
    Pool,
    ServiceAllocation,
)
from hcplb.metallb.objects import CONFIG_KINDS, DEFAULT_NAMESPACE
from hcplb.metallb.peers import check_frr_peers, parse_peer
from hcplb.metallb.selectors import EVERYTHING, LabelSelector, chosen, matches_any, parse_selectors
from hcplb.metallb.validation import (
    CR_NAME,
    DEFAULT_AGGREGATION_V4,
    DEFAULT_AGGREGATION_V6,
    MISSING_NAME,
    NAMESPACES_DUPLICATE,
    POOL_EMPTY,
    duplicate_name,
    duplicate_object,
    pool_overlap,
    wrong_namespace,
)

__all__ = ["CONFIG_KINDS", "Parsed", "compatible_local_pref", "parse_config"]


@dataclass(frozen=True)
class Parsed:
    """The parsed configuration, or why MetalLB runs nothing; notes are silent oddities."""

    config: MetallbConfig | None
    reason: str = ""
    notes: tuple[str, ...] = ()


def parse_config(
    manifests: Sequence[Mapping[str, Any]],
    nodes: Mapping[str, Mapping[str, str]],
    namespaces: Mapping[str, Mapping[str, str]],
) -> Parsed:
    """MetalLB's view of `manifests`; `nodes` and `namespaces` map names to labels."""
    crs = [m for m in manifests if m.get("kind") == "MetalLB"]
    if not crs:
        return Parsed(None, "no MetalLB resource: the operator deploys no controller or speaker")
    cr = next((c for c in crs if (c.get("metadata") or {}).get("name") == "metallb"), None)
    if cr is None:
        return Parsed(None, CR_NAME)
    ns = (cr.get("metadata") or {}).get("namespace") or DEFAULT_NAMESPACE
    spec = Fields(cr.get("spec"), f"{object_name(cr)} spec")
    backend = spec.text("bgpBackend", "frr") or "frr"
    if backend == "native":
        raise MetallbError(
            f"{spec.at('bgpBackend')}: hcplb models MetalLB's FRR and frr-k8s modes only"
        )
    log_level = spec.text("logLevel", "info") or "info"
    speaker_selector = {str(k): str(v) for k, v in spec.sub("nodeSelector").raw.items()}

    objs: dict[str, list[Mapping[str, Any]]] = {k: [] for k in CONFIG_KINDS}
    secrets: dict[str, Mapping[str, Any]] = {}
    for m in manifests:
        kind = m.get("kind")
        obj_ns = (m.get("metadata") or {}).get("namespace") or ns
        if kind in CONFIG_KINDS:
            if obj_ns != ns:
                raise MetallbError(f"{object_name(m)}: {wrong_namespace(ns)}")
            _admit(m, objs[str(kind)])
            objs[str(kind)].append(m)
        elif kind == "Secret" and obj_ns == ns:
            secrets[(m.get("metadata") or {}).get("name", "")] = m

    notes: list[str] = []
    bfd = _bfd_profiles(objs["BFDProfile"])
    peers = tuple(parse_peer(p, secrets, {b.name for b in bfd}) for p in objs["BGPPeer"])
    communities = _communities(objs["Community"])
    pools = _pools(objs["IPAddressPool"], namespaces)
    ads = tuple(
        _advertisement(a, pools, communities, nodes, notes) for a in objs["BGPAdvertisement"]
    )
    _check_advertisements(ads, pools)
    check_frr_peers(peers, nodes)
    _check_bfd_echo_v6(pools, ads, peers, bfd)
    known_peers = {p.name for p in peers}
    for ad in ads:
        for name in ad.peers:
            if name not in known_peers:
                notes.append(
                    f"BGPAdvertisement {ad.name} names peer {name!r}, which does not exist"
                )
    return Parsed(
        MetallbConfig(
            namespace=ns,
            log_level=log_level,
            speaker_node_selector=speaker_selector,
            load_balancer_class=spec.text("loadBalancerClass"),
            bgp_backend=backend,
            pools=pools,
            peers=peers,
            advertisements=ads,
            bfd_profiles=bfd,
        ),
        notes=tuple(notes),
    )


def _admit(obj: Mapping[str, Any], earlier: Sequence[Mapping[str, Any]]) -> None:
    """A config object may join the others of its kind: it has a name, and no other has it
    (MetalLB's messages where it has them, hcplb's otherwise)."""
    kind = str(obj.get("kind"))
    name = (obj.get("metadata") or {}).get("name")
    if not isinstance(name, str) or not name:
        raise MetallbError(f"{object_name(obj)}: {MISSING_NAME.get(kind, 'missing metadata.name')}")
    for i, other in enumerate(earlier):
        if (other.get("metadata") or {}).get("name") != name:
            continue
        same = dict(other) == dict(obj)
        message = (duplicate_object(kind, name, i + 1, len(earlier) + 1) if same else None) or (
            duplicate_name(kind, name)
        )
        raise MetallbError(f"{object_name(obj)}: {message or 'defined twice'}")


def _name(obj: Mapping[str, Any]) -> str:
    name = (obj.get("metadata") or {}).get("name")
    if not isinstance(name, str) or not name:
        raise MetallbError(f"{object_name(obj)}: missing metadata.name")
    return name


def _bfd_profiles(objs: list[Mapping[str, Any]]) -> tuple[BfdProfile, ...]:
    profiles: dict[str, BfdProfile] = {}
    for obj in objs:
        name = _name(obj)
        f = Fields(obj.get("spec"), f"{object_name(obj)} spec")
        profiles[name] = parse_bfd_profile(f, name)
    return tuple(profiles[k] for k in sorted(profiles))


def _communities(objs: list[Mapping[str, Any]]) -> dict[str, str]:
    aliases: dict[str, str] = {}
    for obj in objs:
        f = Fields(obj.get("spec"), f"{object_name(obj)} spec")
        for i, entry in enumerate(f.items("communities")):
            e = Fields(entry, f.at(f"communities[{i}]"))
            alias = e.text("name")
            try:
                value = parse_community(e.text("value"))
            except MetallbError as exc:
                raise MetallbError(
                    f'{object_name(obj)}: parsing community "{alias}": {exc}'
                ) from None
            if alias in aliases:
                raise MetallbError(
                    f'{object_name(obj)}: duplicate definition of community "{alias}"'
                )
            aliases[alias] = value
    return aliases


def _pools(
    objs: list[Mapping[str, Any]], namespaces: Mapping[str, Mapping[str, str]]
) -> tuple[Pool, ...]:
    pools: list[Pool] = []
    seen: list[tuple[Network, str]] = []
    for obj in objs:
        name = _name(obj)
        where = object_name(obj)
        f = Fields(obj.get("spec"), f"{where} spec")
        addresses = f.texts("addresses")
        if not addresses:
            raise MetallbError(f"{where}: parsing address pool {name}: {POOL_EMPTY}")
        entries: list[tuple[str, tuple[Network, ...]]] = []
        for entry in addresses:
            try:
                nets = parse_pool_entry(entry, name)
            except MetallbError as exc:
                raise MetallbError(f"{where}: parsing address pool {name}: {exc}") from None
            for net in nets:
                for other, _ in seen:
                    if net.version == other.version and net.overlaps(other):
                        raise MetallbError(f"{where}: {pool_overlap(str(net), name, str(other))}")
                seen.append((net, name))
            entries.append((entry, nets))
        labels = (obj.get("metadata") or {}).get("labels") or {}
        pools.append(
            Pool(
                name=name,
                entries=tuple(entries),
                auto_assign=f.flag("autoAssign", True),
                avoid_buggy_ips=f.flag("avoidBuggyIPs"),
                allocation=_service_allocation(f, namespaces),
                labels={str(k): str(v) for k, v in labels.items()},
            )
        )
    return tuple(pools)


def _service_allocation(
    spec: Fields, namespaces: Mapping[str, Mapping[str, str]]
) -> ServiceAllocation | None:
    if not spec.has("serviceAllocation"):
        return None
    f = spec.sub("serviceAllocation")
    names = f.texts("namespaces", unique="")
    if len(set(names)) != len(names):
        raise MetallbError(f"{f.where}: {NAMESPACES_DUPLICATE}")
    ns_selectors = _selectors(f, "namespaceSelectors")
    svc_selectors = _selectors(f, "serviceSelectors")
    priority = f.integer("priority")
    if not names and not ns_selectors and not svc_selectors:
        return ServiceAllocation(priority, frozenset(), (EVERYTHING,))
    selected = {
        n for n, labels in namespaces.items() if any(s.matches(labels) for s in ns_selectors)
    }
    return ServiceAllocation(priority, frozenset(names) | selected, svc_selectors)


def _selectors(f: Fields, key: str) -> tuple[LabelSelector, ...]:
    return parse_selectors(f.items(key), key)


def _advertisement(
    obj: Mapping[str, Any],
    pools: tuple[Pool, ...],
    communities: Mapping[str, str],
    nodes: Mapping[str, Mapping[str, str]],
    notes: list[str],
) -> BgpAdvertisement:
    name = _name(obj)
    where = object_name(obj)
    f = Fields(obj.get("spec"), f"{where} spec")
    pool_names = f.texts("ipAddressPools", unique="ipAddressPools")
    _selectors(f, "ipAddressPoolSelectors")  # MetalLB's checks; chosen() reads them raw
    node_selectors = _selectors(f, "nodeSelectors")
    service_selectors = _selectors(f, "serviceSelectors")
    peers = f.texts("peers", unique="peers")
    raw_communities = f.texts("communities", unique="community")
    agg = f.integer("aggregationLength", DEFAULT_AGGREGATION_V4)
    agg6 = f.integer("aggregationLengthV6", DEFAULT_AGGREGATION_V6)
    for problem in aggregation(
        agg if f.has("aggregationLength") else None,
        agg6 if f.has("aggregationLengthV6") else None,
        bool(service_selectors),
    ):
        raise MetallbError(f"{where}: {problem.message}")
    values: list[str] = []
    for c in raw_communities:
        try:
            values.append(communities[c] if c in communities else parse_community(c))
        except MetallbError as exc:
            raise MetallbError(
                f'{where}: invalid community "{c}" in BGP advertisement: {exc}'
            ) from None
    known = {p.name for p in pools}
    for missing in sorted(set(pool_names) - known):
        notes.append(f"{where} names IPAddressPool {missing!r}, which does not exist")
    selected = {
        p.name
        for p in chosen(
            pool_names, f.items("ipAddressPoolSelectors"), pools, _pool_name, _pool_labels
        )
    }
    ad = BgpAdvertisement(
        name=name,
        pools=frozenset(selected),
        aggregation_length=agg,
        aggregation_length_v6=agg6,
        local_pref=f.integer("localPref", lo=0, hi=2**32 - 1),
        communities=tuple(sorted(set(values))),
        nodes=frozenset(n for n, labels in nodes.items() if matches_any(node_selectors, labels)),
        peers=tuple(peers),
        service_selectors=service_selectors,
    )
    for pool in pools:
        if pool.name in ad.pools:
            _check_aggregation(ad, pool, where)
    return ad


def _pool_name(pool: Pool) -> str:
    return pool.name


def _pool_labels(pool: Pool) -> Mapping[str, str]:
    return pool.labels


def _check_aggregation(ad: BgpAdvertisement, pool: Pool, where: str) -> None:
    for entry, nets in pool.entries:
        problem = aggregation_vs_entry(
            ad.aggregation_length, ad.aggregation_length_v6, entry, list(nets)
        )
        if problem is not None:
            raise MetallbError(f"{where}: {problem.message}")


def _check_advertisements(ads: tuple[BgpAdvertisement, ...], pools: tuple[Pool, ...]) -> None:
    for pool in pools:
        mine = [a for a in ads if pool.name in a.pools and not a.service_selectors]
        for i, ad in enumerate(mine):
            for other in mine[:i]:
                if not compatible_local_pref(ad, other, pool):
                    message = local_pref_conflict(ad.local_pref, other.local_pref)
                    raise MetallbError(f"BGPAdvertisement {ad.name}: {message}")


def compatible_local_pref(a: BgpAdvertisement, b: BgpAdvertisement, pool: Pool) -> bool:
    """MetalLB's rule on the LOCAL_PREFs of two advertisements of `pool`."""
    families = {nets[0].version for _, nets in pool.entries if nets}
    return local_pref_compatible(a.traits, b.traits, families, bool(a.nodes & b.nodes))


def _check_bfd_echo_v6(
    pools: tuple[Pool, ...],
    ads: tuple[BgpAdvertisement, ...],
    peers: tuple[Peer, ...],
    bfd: tuple[BfdProfile, ...],
) -> None:
    echo = {b.name for b in bfd if b.echo_mode}
    for pool in pools:
        if not any(n.version == 6 for n in pool.cidrs):
            continue
        for ad in ads:
            if pool.name not in ad.pools:
                continue
            for peer in peers:
                if (not ad.peers or peer.name in ad.peers) and peer.bfd_profile in echo:
                    raise MetallbError(bfd_echo_with_ipv6(pool.name, ad.name, peer.name))

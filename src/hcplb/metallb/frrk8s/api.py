"""What frr-k8s's controller makes of the FRRConfigurations that select a node (its
api_to_config.go): one FrrK8sConfig, ready for render_frrk8s.

    config = node_config(objects, node_labels={"kubernetes.io/hostname": "master-0"},
                         hostname="master-0", secrets={"bgp-auth": secret})

Errors are the controller's (it then keeps the node's previous frr.conf), prefixed with the
object and field they come from. `always_block` is frr-k8s's `--always-block` list (the
cluster's pod and service networks): never accepted from any neighbor.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from hcplb.errors import MetallbError
from hcplb.metallb._fields import Fields, object_name, parse_bfd_profile, parse_community
from hcplb.metallb.frr import BfdProfile
from hcplb.metallb.frrk8s.merge import merge_routers, normalise_router
from hcplb.metallb.frrk8s.model import (
    AllowedIn,
    AllowedOut,
    FrrK8sConfig,
    IncomingFilter,
    NeighborConfig,
    PrefixList,
    RouterConfig,
)
from hcplb.metallb.model import go_duration
from hcplb.metallb.peers import secret_password
from hcplb.metallb.selectors import parse_selector
from hcplb.metallb.validation import BASIC_AUTH

__all__ = ["family_of", "node_config", "selects"]


def family_of(prefix: str) -> str:
    """`ipv4` / `ipv6` of an address or prefix, `unknown` if it is neither."""
    try:
        return f"ipv{ipaddress.ip_interface(prefix).version}"
    except ValueError:
        return "unknown"


def selects(obj: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Whether an FRRConfiguration's spec.nodeSelector picks a node (empty: every node)."""
    spec = obj.get("spec") or {}
    where = f"{object_name(obj)} spec.nodeSelector"
    return parse_selector(spec.get("nodeSelector") or None, where).matches(labels)


def _seconds(f: Fields, key: str) -> float | None:
    return go_duration(f.raw[key], f.at(key)) if f.has(key) else None


def _timers(f: Fields) -> tuple[int | None, int | None]:
    hold, keepalive = _seconds(f, "holdTime"), _seconds(f, "keepaliveTime")
    if (hold is None) != (keepalive is None):
        raise MetallbError(
            f"{f.where}: one of KeepaliveTime/HoldTime specified, both must be set or none"
        )
    if hold is None or keepalive is None:
        return None, None
    if int(hold) != 0 and int(hold) < 3:
        raise MetallbError(f"{f.at('holdTime')}: invalid hold time {f.raw['holdTime']!r}: "
                           "must be 0 or >=3s")  # fmt: skip
    if keepalive > hold:
        raise MetallbError(
            f"{f.at('keepaliveTime')}: invalid keepaliveTime {f.raw['keepaliveTime']!r}, "
            f"must be lower than holdTime {f.raw['holdTime']!r}"
        )
    return int(hold), int(keepalive)


def _password(f: Fields, secrets: Mapping[str, Mapping[str, Any]]) -> str:
    ref = f.sub("passwordSecret").text("name")
    plain = f.text("password")
    if plain and ref:
        raise MetallbError(f"{f.where}: specifies both cleartext password and secret ref")
    if not ref:
        return plain
    secret = secrets.get(ref)
    if secret is None:
        raise MetallbError(
            f"{f.at('passwordSecret')}: secret {ref} not found in frr-k8s's namespace "
            "(frr-k8s retries until it exists)"
        )
    if secret.get("type") != BASIC_AUTH:
        raise MetallbError(f"{object_name(secret)}: secret type mismatch, type {BASIC_AUTH!r} "
                           "is expected")  # fmt: skip
    password = secret_password(secret)
    if password is None:
        raise MetallbError(f"{object_name(secret)}: password field not specified in the secret")
    return password


def _family(f: Fields) -> str:
    if f.text("interface") or f.flag("dualStackAddressFamily"):
        return "dual"
    family = family_of(f.text("address"))
    if family == "unknown":
        raise MetallbError(f"{f.at('address')}: failed to find ipfamily for {f.text('address')}")
    return family


def _has(n: NeighborConfig, family: str) -> bool:
    return n.family in (family, "dual")


def _modifiers(
    n: NeighborConfig, adv: Fields, allowed: Mapping[str, set[str]], local_pref: bool
) -> tuple[PrefixList, ...]:
    key = "withLocalPref" if local_pref else "withCommunity"
    lists: dict[str, PrefixList] = {}
    for family in ("ipv4", "ipv6") if n.family == "dual" else (n.family,):
        word = "ipv6" if family == "ipv6" else "ip"
        for i, raw in enumerate(adv.items(key)):
            e = Fields(raw, adv.at(f"{key}[{i}]"))
            if local_pref:
                pref: int | None = e.integer("localPref", lo=0, hi=2**32 - 1)
                value, community, kind = str(pref), "", "localpref"
            else:
                pref, community, kind = None, parse_community(e.text("community")), "community"
                value = community
            lkey = f"{value}-{word}"
            if lkey in lists:
                what = f"local preference {pref}" if local_pref else f"community {community}"
                raise MetallbError(f"{e.where}: {what} is already defined")
            prefixes = [p for p in e.texts("prefixes") if family_of(p) == family]
            if not prefixes:
                continue
            for p in prefixes:
                if p not in allowed[family]:
                    raise MetallbError(f"{e.where}: prefix {p} is not advertised to the neighbor")
            if len(set(prefixes)) != len(prefixes):
                raise MetallbError(f"{e.where}: a prefix is listed twice")
            name = f"{n.id}-{value}-{word}-{kind}-prefixes"
            lists[lkey] = PrefixList(name, word, frozenset(prefixes), pref, community)
    return tuple(lists[k] for k in sorted(lists))


def _outgoing(n: NeighborConfig, adv: Fields, router_prefixes: Sequence[str]) -> AllowedOut:
    allowed = adv.sub("allowed")
    everything = allowed.text("mode") == "all"
    wanted = router_prefixes if everything else allowed.texts("prefixes")
    for p in [] if everything else wanted:
        if family_of(p) == "unknown":
            raise MetallbError(f"{allowed.at('prefixes')}: unknown ipfamily for {p}")
        if not _has(n, family_of(p)):
            raise MetallbError(f"{allowed.at('prefixes')}: prefix {p} is not compatible with "
                               f"the ipfamily {n.family}")  # fmt: skip
        if p not in router_prefixes:
            raise MetallbError(f"{allowed.at('prefixes')}: trying to advertise non configured "
                               f"prefix {p} to neighbor {n.name}, vrf {n.vrf}")  # fmt: skip
    per_family = {fam: {p for p in wanted if family_of(p) == fam} for fam in ("ipv4", "ipv6")}
    next_hop = adv.sub("nextHop")
    hops = {"ipv4": next_hop.text("ipv4"), "ipv6": next_hop.text("ipv6")}
    for fam, hop in hops.items():
        if hop and (family_of(hop) != fam or "/" in hop):
            raise MetallbError(f"{next_hop.at(fam)}: invalid {fam} next hop {hop!r}")
        if hop and not _has(n, fam):
            raise MetallbError(f"{next_hop.at(fam)}: {fam} next hop set without an {fam} family")
    return AllowedOut(
        prefixes_v4=tuple(sorted(per_family["ipv4"])) if _has(n, "ipv4") else (),
        prefixes_v6=tuple(sorted(per_family["ipv6"])) if _has(n, "ipv6") else (),
        next_hop_v4=hops["ipv4"],
        next_hop_v6=hops["ipv6"],
        local_pref=_modifiers(n, adv, per_family, True),
        communities=_modifiers(n, adv, per_family, False),
    )


def _selector(raw: Any, where: str) -> IncomingFilter:
    f = Fields(raw, where)
    prefix = f.text("prefix")
    try:
        mask = ipaddress.ip_network(prefix, strict=False).prefixlen
    except ValueError:
        raise MetallbError(f"{f.at('prefix')}: failed to parse prefix {prefix}") from None
    le, ge = f.integer("le", lo=0, hi=128), f.integer("ge", lo=0, hi=128)
    if le and ge > le:
        raise MetallbError(f"{where}: invalid selector lengths: ge {ge} is bigger than le {le}")
    for word, value in (("le", le), ("ge", ge)):
        if value and mask > value:
            raise MetallbError(
                f"{where}: invalid selector lengths: cidr mask {mask} is bigger than {word} {value}"
            )
    return IncomingFilter(family_of(prefix), prefix, le, ge)


def _incoming(receive: Fields) -> AllowedIn:
    allowed = receive.sub("allowed")
    if allowed.text("mode") == "all":
        return AllowedIn(all=True)
    filters = [
        _selector(r, allowed.at(f"prefixes[{i}]")) for i, r in enumerate(allowed.items("prefixes"))
    ]
    key = lambda x: (x.family, x.prefix, x.le, x.ge)  # noqa: E731
    return AllowedIn(
        prefixes_v4=tuple(sorted((x for x in filters if x.family == "ipv4"), key=key)),
        prefixes_v6=tuple(sorted((x for x in filters if x.family == "ipv6"), key=key)),
    )


def _neighbor(f: Fields, ctx: _Context, vrf: str, prefixes: Sequence[str]) -> NeighborConfig:
    addr, iface = f.text("address"), f.text("interface")
    asn, dynamic = f.integer("asn", lo=0, hi=2**32 - 1), f.text("dynamicASN")
    asn_text = dynamic or str(asn)
    name = f"{asn_text}@{addr or iface}"
    if not addr and not iface:
        raise MetallbError(
            f"{f.where}: neighbor with ASN {asn_text} has no address and no interface"
        )
    if addr and iface:
        raise MetallbError(f"{f.where}: neighbor {name} has both Address and Interface specified")
    if not asn and not dynamic:
        raise MetallbError(f"{f.where}: neighbor {name} has no ASN or DynamicASN specified")
    if asn and dynamic:
        raise MetallbError(f"{f.where}: neighbor {name} has both ASN and DynamicASN specified")
    if dynamic not in ("", "internal", "external"):
        raise MetallbError(f"{f.at('dynamicASN')}: invalid DynamicASN {dynamic}, must be one of "
                           "internal,external")  # fmt: skip
    profile = f.text("bfdProfile")
    if profile and profile not in ctx.profiles:
        raise MetallbError(f"{f.at('bfdProfile')}: neighbor {name} referencing non existing "
                           f"BFDProfile {profile}")  # fmt: skip
    hold, keepalive = _timers(f)
    connect = _seconds(f, "connectTime")
    n = NeighborConfig(
        family=_family(f), asn=asn_text, addr=addr, iface=iface, name=name,
        src_addr=f.text("sourceaddress"), port=f.integer("port") if f.has("port") else None,
        hold_time=hold, keepalive_time=keepalive,
        connect_time=None if connect is None else int(connect),
        password=_password(f, ctx.secrets), bfd_profile=profile,
        graceful_restart=f.flag("enableGracefulRestart"), ebgp_multihop=f.flag("ebgpMultiHop"),
        local_asn=f.integer("localASN"), vrf=vrf, always_block=ctx.always_block,
        address_families=tuple(f.texts("addressFamilies")),
    )  # fmt: skip
    return replace(
        n,
        outgoing=_outgoing(n, f.sub("toAdvertise"), prefixes),
        incoming=_incoming(f.sub("toReceive")),
    )


class _Context:
    def __init__(
        self,
        secrets: Mapping[str, Mapping[str, Any]],
        always_block: tuple[IncomingFilter, ...],
        profiles: Mapping[str, BfdProfile],
    ) -> None:
        self.secrets, self.always_block, self.profiles = secrets, always_block, profiles


def _routers(spec: Fields, ctx: _Context) -> list[RouterConfig]:
    raw_routers = [
        Fields(r, spec.at(f"bgp.routers[{i}]"))
        for i, r in enumerate(spec.sub("bgp").items("routers"))
    ]
    by_vrf = {r.text("vrf"): r.texts("prefixes") for r in raw_routers}
    result = []
    for r in raw_routers:
        if r.has("evpn"):
            raise MetallbError(f"{r.at('evpn')}: EVPN is not modelled by hcplb")
        for p in r.texts("prefixes"):
            if family_of(p) == "unknown":
                raise MetallbError(f"{r.at('prefixes')}: unknown ipfamily for {p}")
        imports = [
            Fields(i, r.at(f"imports[{j}]")).text("vrf") for j, i in enumerate(r.items("imports"))
        ]
        prefixes = list(r.texts("prefixes"))
        for vrf in imports:
            source = "" if vrf == "default" else vrf
            if source not in by_vrf:
                raise MetallbError(
                    f"{r.at('imports')}: router imports vrf {vrf} which is not defined"
                )
            prefixes += by_vrf[source]
        vrf = r.text("vrf")
        neighbors = tuple(
            _neighbor(Fields(n, r.at(f"neighbors[{i}]")), ctx, vrf, prefixes)
            for i, n in enumerate(r.items("neighbors"))
        )
        router = RouterConfig(
            my_asn=r.integer("asn", lo=1, hi=2**32 - 1), router_id=r.text("id"), vrf=vrf,
            neighbors=neighbors,
            prefixes_v4=tuple(p for p in r.texts("prefixes") if family_of(p) == "ipv4"),
            prefixes_v6=tuple(p for p in r.texts("prefixes") if family_of(p) == "ipv6"),
            import_vrfs=tuple(imports),
        )  # fmt: skip
        try:
            result.append(normalise_router(router))
        except MetallbError as exc:
            raise MetallbError(f"{r.where}: {exc}") from None
    return result


def _always_block(cidrs: Sequence[str]) -> tuple[IncomingFilter, ...]:
    nets = [ipaddress.ip_network(c, strict=False) for c in cidrs]
    return tuple(
        IncomingFilter(f"ipv{n.version}", str(n), 32 if n.version == 4 else 128) for n in nets
    )


def node_config(
    objects: Sequence[Mapping[str, Any]],
    *,
    hostname: str,
    node_labels: Mapping[str, str] | None = None,
    secrets: Mapping[str, Mapping[str, Any]] | None = None,
    always_block: Sequence[str] = (),
    log_level: str = "informational",
) -> FrrK8sConfig:
    """Merge the FRRConfigurations that select the node (all, without `node_labels`), in
    namespace/name order; `secrets` are those of frr-k8s's namespace, by name."""
    chosen = [o for o in objects if node_labels is None or selects(o, node_labels)]
    chosen.sort(key=lambda o: ((o.get("metadata") or {}).get("namespace", ""),
                               (o.get("metadata") or {}).get("name", "")))  # fmt: skip
    block = _always_block(always_block)
    all_profiles: dict[str, BfdProfile] = {}
    by_vrf: dict[str, RouterConfig] = {}
    owners: dict[str, list[str]] = {}  # VRF -> the objects merged into its router so far
    raws: list[tuple[int, str, str]] = []
    for obj in chosen:
        name = (obj.get("metadata") or {}).get("name", "")
        spec = Fields(obj.get("spec"), f"{object_name(obj)} spec")
        raw = spec.sub("raw")
        if raw.text("rawConfig"):
            raws.append((raw.integer("priority"), name, raw.text("rawConfig")))
        profiles: dict[str, BfdProfile] = {}
        for i, b in enumerate(spec.sub("bgp").items("bfdProfiles")):
            bf = Fields(b, spec.at(f"bgp.bfdProfiles[{i}]"))
            p = parse_bfd_profile(bf, bf.text("name"))
            if p.name in profiles:
                raise MetallbError(
                    f"{bf.where}: duplicate bfd profile name {p.name} in config {name}"
                )
            if all_profiles.get(p.name, p) != p:
                raise MetallbError(f"{bf.where}: duplicate bfd profile name {p.name} with different "
                                   f"values for config {name}")  # fmt: skip
            profiles[p.name] = all_profiles.setdefault(p.name, p)
        for router in _routers(spec, _Context(secrets or {}, block, profiles)):
            old = by_vrf.get(router.vrf)
            try:
                by_vrf[router.vrf] = router if old is None else merge_routers(old, router)
            except MetallbError as exc:
                others = ", ".join(owners[router.vrf])
                raise MetallbError(f"{object_name(obj)} (merged with {others}): {exc}") from None
            owners.setdefault(router.vrf, []).append(object_name(obj))
    raws.sort(key=lambda r: (r[0], r[1]))
    return FrrK8sConfig(
        hostname=hostname,
        log_level=log_level,
        routers=tuple(by_vrf[k] for k in sorted(by_vrf)),
        bfd_profiles=tuple(all_profiles[k] for k in sorted(all_profiles)),
        extra_config="".join(text + "\n" for _, _, text in raws),
    )

"""BGPPeer parsing (timers, password Secret, BFD reference) and FRR mode's peer compatibility rules."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection, Mapping
from typing import Any

from hcplb.errors import MetallbError
from hcplb.gotext import parse_ip
from hcplb.metallb._fields import Fields, object_name
from hcplb.metallb.model import Peer
from hcplb.metallb.peer_rules import PeerKey, frr_pair_violation, peer_violations
from hcplb.metallb.selectors import matches_any, parse_selectors
from hcplb.metallb.validation import (
    BASIC_AUTH,
    DEFAULT_PORT,
    duration,
    secret_not_found,
    secret_type_mismatch,
    secret_without_password,
    timers,
)

__all__ = ["PEER_FIELDS", "check_frr_peers", "parse_peer", "secret_password"]

PEER_FIELDS = frozenset(
    {
        "myASN",
        "peerASN",
        "dynamicASN",
        "peerAddress",
        "interface",
        "sourceAddress",
        "peerPort",
        "holdTime",
        "keepaliveTime",
        "connectTime",
        "routerID",
        "nodeSelectors",
        "password",
        "passwordSecret",
        "bfdProfile",
        "enableGracefulRestart",
        "ebgpMultiHop",
        "vrf",
        "dualStackAddressFamily",
        "disableMP",
        "localASN",
    }
)


def secret_password(secret: Mapping[str, Any]) -> str | None:
    """The `password` key of a Secret (`stringData` or base64 `data`), None if absent."""
    string_data = secret.get("stringData") or {}
    if "password" in string_data:
        return str(string_data["password"])
    data = secret.get("data") or {}
    if "password" not in data:
        return None
    try:
        return base64.b64decode(str(data["password"]), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise MetallbError(f"{object_name(secret)}: data.password is not base64") from None


def _password(f: Fields, obj: Mapping[str, Any], secrets: Mapping[str, Mapping[str, Any]]) -> str:
    meta = obj.get("metadata") or {}
    ref = f.sub("passwordSecret")
    ref_name = ref.text("name")
    plain = f.text("password")
    if not ref_name:
        return plain
    secret = secrets.get(ref_name)
    if secret is None:
        raise MetallbError(
            f"{secret_not_found(str(meta.get('namespace', '')), str(meta.get('name', '')))} "
            f"(MetalLB retries until Secret {ref_name} exists)"
        )
    smeta = secret.get("metadata") or {}
    namespace, name = str(smeta.get("namespace", "")), str(smeta.get("name", ""))
    if secret.get("type") != BASIC_AUTH:
        raise MetallbError(secret_type_mismatch(namespace, name))
    password = secret_password(secret)
    if password is None:
        raise MetallbError(secret_without_password(namespace, name))
    return password


def _ip(f: Fields, key: str) -> str:
    """An address field as Go's net.IP prints it ('' when unset; checked by peer_rules)."""
    parsed = parse_ip(f.text(key))
    return str(parsed) if parsed is not None else ""


def parse_peer(
    obj: Mapping[str, Any], secrets: Mapping[str, Mapping[str, Any]], bfd_profiles: Collection[str]
) -> Peer:
    """A BGPPeer (v1beta2, or v1beta1 with its subset of fields) as MetalLB parses it."""
    where = object_name(obj)
    try:
        return _parse_peer(obj, secrets, bfd_profiles, where)
    except MetallbError as exc:
        raise MetallbError(f"{where}: {exc}") from None


def _parse_peer(
    obj: Mapping[str, Any],
    secrets: Mapping[str, Mapping[str, Any]],
    bfd_profiles: Collection[str],
    where: str,
) -> Peer:
    name = str((obj.get("metadata") or {}).get("name", ""))
    f = Fields(obj.get("spec"), "spec")
    unknown = sorted(set(f.raw) - PEER_FIELDS)
    if unknown:
        raise MetallbError(f"spec: unknown field(s) {', '.join(unknown)}")
    meta = obj.get("metadata") or {}
    for problem in peer_violations(
        f.raw,
        namespace=str(meta.get("namespace", "")),
        name=name,
        v1beta1=str(obj.get("apiVersion", "")).endswith("/v1beta1"),
    ):
        raise MetallbError(problem.message)
    hold, keepalive, _ = timers(f.raw.get("holdTime"), f.raw.get("keepaliveTime"))
    connect, _ = duration(f.raw.get("connectTime"), "connectTime")
    node_selectors = parse_selectors(f.items("nodeSelectors"), "nodeSelectors")
    bfd = f.text("bfdProfile")
    if bfd and bfd not in bfd_profiles:
        raise MetallbError(
            f"peer {name} referencing non existing bfd profile {bfd} "
            "(MetalLB retries until the BFDProfile exists)"
        )
    return Peer(
        name=name,
        my_asn=f.integer("myASN"),
        asn=f.integer("peerASN"),
        dynamic_asn=f.text("dynamicASN"),
        address=_ip(f, "peerAddress"),
        interface=f.text("interface"),
        source_address=_ip(f, "sourceAddress"),
        port=f.integer("peerPort", DEFAULT_PORT),
        hold_time=hold,
        keepalive_time=keepalive,
        connect_time=connect,
        router_id=_ip(f, "routerID"),
        node_selectors=node_selectors,
        password=_password(f, obj, secrets),
        bfd_profile=bfd,
        graceful_restart=f.flag("enableGracefulRestart"),
        ebgp_multihop=f.flag("ebgpMultiHop"),
        vrf=f.text("vrf"),
        dual_stack_address_family=f.flag("dualStackAddressFamily"),
        local_asn=f.integer("localASN"),
    )


def check_frr_peers(peers: tuple[Peer, ...], nodes: Mapping[str, Mapping[str, str]]) -> None:
    """FRR mode: peers that can land on one node share routerID and myASN (per VRF), no twins."""
    for i, p in enumerate(peers):
        for q in peers[:i]:
            if nodes and not any(
                matches_any(p.node_selectors, labels) and matches_any(q.node_selectors, labels)
                for labels in nodes.values()
            ):
                continue
            v = frr_pair_violation(_key(p), _key(q))
            if v is not None:
                raise MetallbError(f"BGPPeer {p.name}: {v.message}")


def _key(peer: Peer) -> PeerKey:
    return PeerKey(peer.router_id, peer.identifier, peer.my_asn, peer.vrf)

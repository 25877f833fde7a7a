"""BGPPeer parsing (timers, password Secret, BFD reference) and FRR mode's peer compatibility rules."""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Collection, Mapping
from typing import Any

from hcplb.errors import MetallbError
from hcplb.metallb._fields import Fields, object_name
from hcplb.metallb.model import Peer
from hcplb.metallb.selectors import matches_any, parse_selectors
from hcplb.metallb.validation import (
    BASIC_AUTH,
    UINT32,
    crd_range,
    duration,
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
    if plain and ref_name:
        raise MetallbError(
            "can not have both password and secret ref set in peer config "
            f'"{meta.get("namespace", "")}"/"{meta.get("name", "")}"'
        )
    if not ref_name:
        return plain
    secret = secrets.get(ref_name)
    if secret is None:
        raise MetallbError(
            f'secret ref not found for peer config "{meta.get("namespace", "")}"/'
            f'"{meta.get("name", "")}" (MetalLB retries until Secret {ref_name} exists)'
        )
    smeta = secret.get("metadata") or {}
    namespace, name = str(smeta.get("namespace", "")), str(smeta.get("name", ""))
    if secret.get("type") != BASIC_AUTH:
        raise MetallbError(secret_type_mismatch(namespace, name))
    password = secret_password(secret)
    if password is None:
        raise MetallbError(secret_without_password(namespace, name))
    return password


def _ip(f: Fields, key: str, message: str) -> str:
    text = f.text(key)
    if not text:
        return ""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise MetallbError(f'{message} "{text}"') from None


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
    my_asn = _ranged(f, "myASN", 0, UINT32)
    asn = _ranged(f, "peerASN", 0, UINT32)
    dynamic = f.text("dynamicASN")
    if my_asn == 0:
        raise MetallbError("missing local ASN")
    if asn == 0 and not dynamic:
        raise MetallbError("missing peer ASN and dynamicASN")
    if asn and dynamic:
        raise MetallbError("both peer ASN and dynamicASN specified")
    if dynamic not in ("", "internal", "external"):
        raise MetallbError(f"invalid dynamicASN {dynamic}")
    if asn == my_asn and f.flag("ebgpMultiHop"):
        raise MetallbError("invalid ebgp-multihop parameter set for an ibgp peer")
    address, interface = f.text("peerAddress"), f.text("interface")
    if not address and not interface:
        raise MetallbError("peer has no Address or Interface specified")
    if address and interface:
        raise MetallbError("peer has both Address and Interface specified")
    hold, keepalive, problems = timers(f.raw.get("holdTime"), f.raw.get("keepaliveTime"))
    for problem in problems:
        raise MetallbError(problem.message)
    address = _ip(f, "peerAddress", "invalid BGPPeer address")
    connect = None
    if f.has("connectTime"):
        connect, bad = duration(f.raw.get("connectTime"), "connectTime")
        if bad is not None or connect is None:
            raise MetallbError(bad.message if bad else "connectTime: not a duration")
        if not 1 <= int(connect) <= 65535:
            raise MetallbError("connect time should be between 1 seconds to 65535")
        if connect != int(connect):
            raise MetallbError("connect time should contain a whole number of seconds")
    node_selectors = parse_selectors(f.items("nodeSelectors"), "nodeSelectors")
    bfd = f.text("bfdProfile")
    if bfd and bfd not in bfd_profiles:
        raise MetallbError(
            f"peer {name} referencing non existing bfd profile {bfd} "
            "(MetalLB retries until the BFDProfile exists)"
        )
    return Peer(
        name=name,
        my_asn=my_asn,
        asn=asn,
        dynamic_asn=dynamic,
        address=address,
        interface=interface,
        source_address=_ip(f, "sourceAddress", "invalid source IP"),
        port=_ranged(f, "peerPort", 1, 16384, default=179),
        hold_time=hold,
        keepalive_time=keepalive,
        connect_time=connect,
        router_id=_ip(f, "routerID", "invalid router ID"),
        node_selectors=node_selectors,
        password=_password(f, obj, secrets),
        bfd_profile=bfd,
        graceful_restart=f.flag("enableGracefulRestart"),
        ebgp_multihop=f.flag("ebgpMultiHop"),
        vrf=f.text("vrf"),
        dual_stack_address_family=f.flag("dualStackAddressFamily"),
        local_asn=_ranged(f, "localASN", 1, UINT32),
    )


def _ranged(f: Fields, key: str, low: int, high: int, *, default: int = 0) -> int:
    """An integer field within the CRD's bounds (the API server's message if not)."""
    value = f.integer(key, default)
    problem = crd_range(key, value, low, high) if f.has(key) else None
    if problem:
        raise MetallbError(problem)
    return value


def check_frr_peers(peers: tuple[Peer, ...], nodes: Mapping[str, Mapping[str, str]]) -> None:
    """FRR mode: peers that can land on one node share routerID and myASN (per VRF), no twins."""
    for i, p in enumerate(peers):
        for q in peers[:i]:
            if nodes and not any(
                matches_any(p.node_selectors, labels) and matches_any(q.node_selectors, labels)
                for labels in nodes.values()
            ):
                continue
            prefix = f"BGPPeer {p.name}: "
            if p.router_id != q.router_id:
                raise MetallbError(
                    f"{prefix}peer {p.router_id} has RouterID different from {q.router_id}, in FRR "
                    "mode peers selecting the same node must all have the same RouterID"
                )
            if p.identifier == q.identifier:
                raise MetallbError(
                    f"{prefix}peer {p.identifier} already exists, FRR mode doesn't support "
                    "duplicate BGPPeers selecting the same node"
                )
            if p.my_asn != q.my_asn and p.vrf == q.vrf:
                raise MetallbError(
                    f"{prefix}peer {p.identifier} has myAsn different from {q.identifier}, in FRR "
                    "mode peers selecting the same node must have the same myAsn within the same VRF"
                )

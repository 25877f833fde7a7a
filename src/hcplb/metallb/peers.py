"""BGPPeer parsing (timers, password Secret, BFD reference) and FRR mode's peer compatibility rules."""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Collection, Mapping
from typing import Any

from hcplb.errors import MetallbError
from hcplb.metallb._fields import Fields, object_name
from hcplb.metallb.model import Peer, go_duration
from hcplb.metallb.selectors import matches_any, parse_selectors

__all__ = ["PEER_FIELDS", "check_frr_peers", "derive_timers", "parse_peer", "secret_password"]

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
BASIC_AUTH = "kubernetes.io/basic-auth"
_MAX_ASN = 4294967295


def derive_timers(
    hold_text: str | None, keepalive_text: str | None, where: str
) -> tuple[float | None, float | None]:
    """(hold, keepalive) seconds as MetalLB derives them; neither given -> FRR defaults (None)."""
    if hold_text is None and keepalive_text is None:
        return None, None
    hold = go_duration(hold_text, f"{where}.holdTime") if hold_text is not None else None
    keepalive = (
        go_duration(keepalive_text, f"{where}.keepaliveTime")
        if keepalive_text is not None
        else None
    )
    if hold is None:
        assert keepalive is not None
        hold = keepalive * 3
    if keepalive is None:
        keepalive = hold / 3
    if int(hold) != 0 and int(hold) < 3:
        raise MetallbError(
            f'invalid BGPPeer timers: invalid hold time "{hold_text}": must be 0 or >=3s'
        )
    if keepalive > hold:
        raise MetallbError(
            f'invalid BGPPeer timers: invalid keepaliveTime "{keepalive_text}", must be lower '
            f'than holdTime "{hold_text}"'
        )
    return hold, keepalive


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
    where = f'"{smeta.get("namespace", "")}"/"{smeta.get("name", "")}"'
    if secret.get("type") != BASIC_AUTH:
        raise MetallbError(f'secret type mismatch on {where}, type "{BASIC_AUTH}" is expected')
    password = secret_password(secret)
    if password is None:
        raise MetallbError(f"password not specified in the secret {where}")
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
    my_asn = f.integer("myASN", lo=0, hi=_MAX_ASN)
    asn = f.integer("peerASN", lo=0, hi=_MAX_ASN)
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
    hold, keepalive = derive_timers(
        _duration_text(f, "holdTime"), _duration_text(f, "keepaliveTime"), "spec"
    )
    address = _ip(f, "peerAddress", "invalid BGPPeer address")
    connect = None
    if f.has("connectTime"):
        connect = go_duration(_duration_text(f, "connectTime"), f.at("connectTime"))
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
        port=f.integer("peerPort", 179, lo=1, hi=16384),
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
        local_asn=f.integer("localASN", lo=0, hi=_MAX_ASN),
    )


def _duration_text(f: Fields, key: str) -> str | None:
    value = f.raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise MetallbError(f"{f.at(key)}: {value!r} is not a duration (examples: 90s, 1m30s)")
    return str(value)


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

"""MetalLB's rules on a BGPPeer's own fields and between FRR-mode peers, with MetalLB's messages.

`peer_violations` reads a raw `spec` in MetalLB's order: the CRD's checks (ranges, connect
time), then `peerFromCR` (ASNs, addresses, timers, router ID, source, password). The simulator
raises the first, lint reports all. Fields of the wrong type read as absent (the CRD schema
check reports the type).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hcplb.gotext import parse_ip, q
from hcplb.metallb.validation import (
    UINT32,
    Violation,
    crd_range,
    duration,
    timers,
)

__all__ = ["PeerKey", "frr_pair_violation", "peer_identifier", "peer_violations"]


def _int(spec: Mapping[str, Any], key: str) -> int | None:
    value = spec.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(spec: Mapping[str, Any], key: str) -> str:
    value = spec.get(key)
    return value if isinstance(value, str) else ""


def _ranges(spec: Mapping[str, Any], v1beta1: bool) -> list[Violation]:
    bounds = {
        "myASN": (0, UINT32),
        "peerASN": (0, UINT32),
        "localASN": (1, UINT32),
        "peerPort": (0 if v1beta1 else 1, 16384),
    }
    found = []
    for key, (low, high) in bounds.items():
        value = _int(spec, key)
        problem = None if value is None else crd_range(key, value, low, high)
        if problem:
            rule = "peer.port.range" if key == "peerPort" else "peer.asn.range"
            found.append(Violation(key, rule, problem))
    return found


def _connect_time(spec: Mapping[str, Any], v1beta1: bool) -> list[Violation]:
    if v1beta1 or spec.get("connectTime") is None:
        return []
    value, bad = duration(spec.get("connectTime"), "connectTime")
    if bad is not None or value is None:
        return [bad] if bad else []
    found = []
    if not 1 <= int(value) <= 65535:
        found.append(
            Violation(
                "connectTime",
                "peer.connecttime.range",
                "connect time should be between 1 seconds to 65535",
            )
        )
    if round(value * 1000) % 1000 != 0:
        found.append(
            Violation(
                "connectTime",
                "peer.connecttime.whole",
                "connect time should contain a whole number of seconds",
            )
        )
    return found


def _asns(spec: Mapping[str, Any]) -> list[Violation]:
    my, asn = _int(spec, "myASN") or 0, _int(spec, "peerASN") or 0
    dynamic = _text(spec, "dynamicASN")
    found = []
    if my == 0:
        found.append(Violation("myASN", "peer.myasn.required", "missing local ASN"))
    if asn == 0 and not dynamic:
        found.append(Violation("", "peer.asn.missing", "missing peer ASN and dynamicASN"))
    if asn != 0 and dynamic:
        found.append(
            Violation("dynamicASN", "peer.asn.both", "both peer ASN and dynamicASN specified")
        )
    if dynamic and dynamic not in ("internal", "external"):
        found.append(
            Violation("dynamicASN", "peer.dynamicasn.enum", f"invalid dynamicASN {dynamic}")
        )
    if asn == my and spec.get("ebgpMultiHop") is True:
        found.append(
            Violation(
                "ebgpMultiHop",
                "peer.ibgp.multihop",
                "invalid ebgp-multihop parameter set for an ibgp peer",
            )
        )
    return found


def _address(spec: Mapping[str, Any]) -> list[Violation]:
    address, iface = _text(spec, "peerAddress"), _text(spec, "interface")
    found = []
    if not address and not iface:
        found.append(Violation("", "peer.addr.none", "peer has no Address or Interface specified"))
    if address and iface:
        found.append(
            Violation(
                "interface", "peer.addr.both", "peer has both Address and Interface specified"
            )
        )
    if address and parse_ip(address) is None:
        found.append(
            Violation("peerAddress", "peer.addr.invalid", f"invalid BGPPeer address {q(address)}")
        )
    return found


def _ids(spec: Mapping[str, Any]) -> list[Violation]:
    found = []
    router_id = _text(spec, "routerID")
    if router_id and parse_ip(router_id) is None:
        found.append(
            Violation("routerID", "peer.routerid.invalid", f"invalid router ID {q(router_id)}")
        )
    source = _text(spec, "sourceAddress")
    if source and parse_ip(source) is None:
        found.append(
            Violation("sourceAddress", "peer.srcaddr.invalid", f"invalid source IP {q(source)}")
        )
    return found


def peer_violations(
    spec: Mapping[str, Any], *, namespace: str, name: str, v1beta1: bool = False
) -> list[Violation]:
    """Everything MetalLB rejects in one BGPPeer's spec, in the order MetalLB checks it."""
    found = _ranges(spec, v1beta1) + _connect_time(spec, v1beta1) + _asns(spec) + _address(spec)
    found += timers(spec.get("holdTime"), spec.get("keepaliveTime"))[2]
    found += _ids(spec)
    secret = spec.get("passwordSecret")
    secret_name = _text(secret, "name") if isinstance(secret, Mapping) else ""
    if _text(spec, "password") and secret_name:
        found.append(
            Violation(
                "password",
                "peer.password.exclusive",
                "can not have both password and secret ref set in peer config "
                f"{q(namespace)}/{q(name)}",
            )
        )
    return found


def peer_identifier(address: str, interface: str, vrf: str) -> str:
    """FRR mode's PeerIdentifier: the address or interface, plus `-vrf`."""
    return (address or interface) + (f"-{vrf}" if vrf else "")


@dataclass(frozen=True)
class PeerKey:
    """What FRR mode compares between two peers that can select the same node."""

    router_id: str
    identifier: str
    my_asn: int
    vrf: str


def frr_pair_violation(later: PeerKey, earlier: PeerKey) -> Violation | None:
    """FRR mode's rule for two peers on one node: one router ID, no twins, one myASN per VRF."""
    if later.router_id != earlier.router_id:
        return Violation(
            "routerID",
            "frr.peers.routerid",
            f"peer {later.router_id} has RouterID different from {earlier.router_id}, in FRR "
            "mode peers selecting the same node must all have the same RouterID",
        )
    if later.identifier == earlier.identifier:
        return Violation(
            "peerAddress",
            "frr.peers.duplicate",
            f"peer {later.identifier} already exists, FRR mode doesn't support duplicate "
            "BGPPeers selecting the same node",
        )
    if later.my_asn != earlier.my_asn and later.vrf == earlier.vrf:
        return Violation(
            "myASN",
            "frr.peers.myasn",
            f"peer {later.identifier} has myAsn different from {earlier.identifier}, in FRR "
            "mode peers selecting the same node must have the same myAsn within the same VRF",
        )
    return None

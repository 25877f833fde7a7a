"""MetalLB rules on BGPPeers (and FRR mode's rules across peers), with MetalLB's messages."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from hcplb import gotext
from hcplb.lint.facts import NodeFact
from hcplb.lint.findings import Finding, error, warning
from hcplb.lint.k8s import Manifest
from hcplb.lint.metallb.view import MetallbView, selector_findings
from hcplb.metallb.selectors import canonical, selects
from hcplb.metallb.validation import (
    BASIC_AUTH,
    UINT32,
    crd_range,
    duration,
    secret_type_mismatch,
    secret_without_password,
    timers,
)


def _duration(peer: Manifest, key: str) -> tuple[float | None, Finding | None]:
    value, bad = duration(peer.get("spec", key), key)
    if bad is None:
        return value, None
    return None, error(
        peer.where("spec", key),
        f"metallb.{bad.rule}",
        bad.message,
        "write a Go duration such as 90s, 1m30s or 500ms",
    )


def _timers(peer: Manifest) -> Iterator[Finding]:
    _, _, problems = timers(peer.get("spec", "holdTime"), peer.get("spec", "keepaliveTime"))
    for v in problems:
        hint = (
            "write a Go duration such as 90s, 1m30s or 500ms"
            if v.rule.startswith("duration")
            else ""
        )
        yield error(peer.where("spec", v.field), f"metallb.{v.rule}", v.message, hint)


def _ranges(peer: Manifest) -> Iterator[Finding]:
    v1beta1 = peer.version == "v1beta1"
    bounds = {"myASN": (0, UINT32), "peerASN": (0, UINT32), "localASN": (1, UINT32)}
    bounds["peerPort"] = (0, 16384) if v1beta1 else (1, 16384)
    for key, (low, high) in bounds.items():
        value = peer.integer("spec", key)
        problem = None if value is None else crd_range(key, value, low, high)
        if problem:
            yield error(
                peer.where("spec", key),
                "metallb.peer.port.range" if key == "peerPort" else "metallb.peer.asn.range",
                problem,
            )


def _peer_asns(peer: Manifest) -> Iterator[Finding]:
    my, asn = peer.integer("spec", "myASN") or 0, peer.integer("spec", "peerASN") or 0
    dynamic = peer.text("spec", "dynamicASN") or ""
    if my == 0:
        yield error(peer.where("spec", "myASN"), "metallb.peer.myasn.required", "missing local ASN")
    if asn == 0 and not dynamic:
        yield error(
            peer.where("spec"), "metallb.peer.asn.missing", "missing peer ASN and dynamicASN"
        )
    if asn != 0 and dynamic:
        yield error(
            peer.where("spec", "dynamicASN"),
            "metallb.peer.asn.both",
            "both peer ASN and dynamicASN specified",
        )
    if dynamic and dynamic not in ("internal", "external"):
        yield error(
            peer.where("spec", "dynamicASN"),
            "metallb.peer.dynamicasn.enum",
            f"invalid dynamicASN {dynamic}",
        )
    if asn == my and peer.flag("spec", "ebgpMultiHop"):
        yield error(
            peer.where("spec", "ebgpMultiHop"),
            "metallb.peer.ibgp.multihop",
            "invalid ebgp-multihop parameter set for an ibgp peer",
        )


def _peer_addresses(peer: Manifest) -> Iterator[Finding]:
    address, iface = peer.text("spec", "peerAddress") or "", peer.text("spec", "interface") or ""
    if not address and not iface:
        yield error(
            peer.where("spec"),
            "metallb.peer.addr.none",
            "peer has no Address or Interface specified",
        )
    if address and iface:
        yield error(
            peer.where("spec", "interface"),
            "metallb.peer.addr.both",
            "peer has both Address and Interface specified",
        )
    if address and gotext.parse_ip(address) is None:
        yield error(
            peer.where("spec", "peerAddress"),
            "metallb.peer.addr.invalid",
            f"invalid BGPPeer address {gotext.q(address)}",
            "an IP address, not a hostname or a CIDR",
        )
    router_id = peer.text("spec", "routerID") or ""
    parsed = gotext.parse_ip(router_id) if router_id else None
    if router_id and parsed is None:
        yield error(
            peer.where("spec", "routerID"),
            "metallb.peer.routerid.invalid",
            f"invalid router ID {gotext.q(router_id)}",
        )
    elif parsed is not None and parsed.version == 6:
        yield error(
            peer.where("spec", "routerID"),
            "metallb.peer.routerid.ipv6",
            f"router ID {gotext.q(router_id)} is IPv6: MetalLB accepts it, FRR rejects it "
            "(a BGP identifier is 32 bits)",
            "use an IPv4 address as router ID, also on IPv6-only nodes",
        )
    source = peer.text("spec", "sourceAddress") or ""
    if source and gotext.parse_ip(source) is None:
        yield error(
            peer.where("spec", "sourceAddress"),
            "metallb.peer.srcaddr.invalid",
            f"invalid source IP {gotext.q(source)}",
        )


def _connect_time(peer: Manifest) -> Iterator[Finding]:
    if peer.version == "v1beta1" or peer.get("spec", "connectTime") is None:
        return
    value, bad = _duration(peer, "connectTime")
    if bad is not None or value is None:
        yield from ([bad] if bad else [])
        return
    if not 1 <= int(value) <= 65535:
        yield error(
            peer.where("spec", "connectTime"),
            "metallb.peer.connecttime.range",
            "connect time should be between 1 seconds to 65535",
        )
    if round(value * 1000) % 1000 != 0:
        yield error(
            peer.where("spec", "connectTime"),
            "metallb.peer.connecttime.whole",
            "connect time should contain a whole number of seconds",
        )


def _peer_secret(view: MetallbView, peer: Manifest) -> Iterator[Finding]:
    password = peer.text("spec", "password") or ""
    secret_name = peer.text("spec", "passwordSecret", "name") or ""
    ns = peer.namespace or ""
    if password and secret_name:
        yield error(
            peer.where("spec", "password"),
            "metallb.peer.password.exclusive",
            f"can not have both password and secret ref set in peer config {gotext.q(ns)}/{gotext.q(peer.name)}",
        )
    if password:
        yield warning(
            peer.where("spec", "password"),
            "metallb.peer.password.plain",
            "the BGP password is written in clear text in the BGPPeer",
            "put it in a kubernetes.io/basic-auth Secret and refer to it with passwordSecret",
        )
    if not secret_name:
        return
    secret = view.secret(secret_name)
    if secret is None:
        yield warning(
            peer.where("spec", "passwordSecret"),
            "metallb.peer.secret.missing",
            f"secret ref not found for peer config {gotext.q(ns)}/{gotext.q(peer.name)}",
            f"MetalLB retries until Secret {secret_name} exists in {view.namespace or 'its namespace'}",
        )
        return
    if secret.text("type") != BASIC_AUTH:
        yield error(
            secret.where("type"),
            "metallb.peer.secret.type",
            secret_type_mismatch(secret.namespace or "", secret.name),
        )
    if secret.get("data", "password") is None and secret.get("stringData", "password") is None:
        yield error(
            secret.where(),
            "metallb.peer.secret.key",
            secret_without_password(secret.namespace or "", secret.name),
        )


def check_peer(view: MetallbView, peer: Manifest) -> Iterator[Finding]:
    if peer.version == "v1beta1":
        yield warning(
            peer.where("apiVersion"),
            "metallb.peer.v1beta1",
            "BGPPeer metallb.io/v1beta1 is deprecated",
            "use apiVersion metallb.io/v1beta2 (same fields, plus passwordSecret and dynamicASN)",
        )
    if peer.flag("spec", "disableMP"):
        yield warning(
            peer.where("spec", "disableMP"),
            "metallb.webhook.disablemp",
            "disable mp is deprecated and has no effect since it's the default behavior now",
            "remove it: with disableMP the webhook skips the namespace and configuration checks",
        )
    yield from _peer_asns(peer)
    yield from _peer_addresses(peer)
    yield from _timers(peer)
    yield from _connect_time(peer)
    yield from _ranges(peer)
    yield from selector_findings(
        peer, ("spec", "nodeSelectors"), "nodeSelectors", "metallb.peer.selector.dup"
    )
    yield from _peer_secret(view, peer)
    profile = peer.text("spec", "bfdProfile")
    if profile and profile not in {b.name for b in view.in_namespace(view.bfd_profiles)}:
        yield warning(
            peer.where("spec", "bfdProfile"),
            "metallb.peer.bfd.ref",
            f"peer {peer.name} referencing non existing bfd profile {profile}",
            "MetalLB ignores the whole configuration until the BFDProfile exists",
        )


def _identifier(peer: Manifest) -> str:
    ident = peer.text("spec", "peerAddress") or peer.text("spec", "interface") or ""
    vrf = peer.text("spec", "vrf") or ""
    return f"{ident}-{vrf}" if vrf else ident


def _share_node(p: Manifest, q: Manifest, nodes: Sequence[NodeFact]) -> bool:
    """As MetalLB: do the two peers select a common node? Without node labels, peers that
    both select by label are assumed apart unless their selectors are the same (the cluster
    knows its nodes; lint does not)."""
    known = [n for n in nodes if not n.inferred or n.labels]
    p_sel, q_sel = p.items("spec", "nodeSelectors"), q.items("spec", "nodeSelectors")
    if not known:
        return (
            not p_sel or not q_sel or sorted(map(canonical, p_sel)) == sorted(map(canonical, q_sel))
        )
    return any(selects(p_sel, n.labels) and selects(q_sel, n.labels) for n in known)


def check_frr_pairs(view: MetallbView, nodes: Sequence[NodeFact]) -> Iterator[Finding]:
    if view.backend == "native":
        return
    peers = view.in_namespace(view.peers)
    for i, p in enumerate(peers):
        for q in peers[:i]:
            if not _share_node(p, q, nodes):
                continue
            p_rid, q_rid = p.text("spec", "routerID") or "", q.text("spec", "routerID") or ""
            if p_rid != q_rid:
                yield error(
                    p.where("spec", "routerID"),
                    "metallb.frr.peers.routerid",
                    f"peer {p_rid} has RouterID different from {q_rid}, in FRR mode peers selecting "
                    "the same node must all have the same RouterID",
                )
            elif _identifier(p) == _identifier(q):
                yield error(
                    p.where("spec", "peerAddress"),
                    "metallb.frr.peers.duplicate",
                    f"peer {_identifier(p)} already exists, FRR mode doesn't support duplicate "
                    "BGPPeers selecting the same node",
                )
            elif (p.integer("spec", "myASN") != q.integer("spec", "myASN")) and (
                (p.text("spec", "vrf") or "") == (q.text("spec", "vrf") or "")
            ):
                yield error(
                    p.where("spec", "myASN"),
                    "metallb.frr.peers.myasn",
                    f"peer {_identifier(p)} has myAsn different from {_identifier(q)}, in FRR mode "
                    "peers selecting the same node must have the same myAsn within the same VRF",
                )


_NATIVE_PEER = (
    ("bfdProfile", "has bfd-profile set"),
    ("keepaliveTime", "has keepalive-time set"),
    ("vrf", "has vrf set"),
    ("connectTime", "has connect time set"),
    ("enableGracefulRestart", "has EnableGracefulRestart flag set"),
    ("disableMP", "has disable MP flag set"),
    ("dualStackAddressFamily", "has dualstackaddressfamily flag set"),
    ("dynamicASN", "has dynamicASN set"),
    ("interface", "has interface set"),
    ("localASN", "has localASN set"),
)


def check_native(view: MetallbView) -> Iterator[Finding]:
    if view.backend != "native":
        return
    for peer in view.in_namespace(view.peers):
        address = peer.text("spec", "peerAddress") or ""
        for key, what in _NATIVE_PEER:
            value = peer.get("spec", key)
            if value in (None, "", False, 0) or (
                key == "keepaliveTime" and gotext.parse_duration(str(value)) == 0
            ):
                continue
            yield error(
                peer.where("spec", key),
                "metallb.native.rejects",
                f"peer {address} {what} on native bgp mode",
                "native mode supports none of the FRR-only features; use bgpBackend frr-k8s",
            )
    if view.in_namespace(view.bfd_profiles):
        yield error(
            view.bfd_profiles[0].where(), "metallb.native.rejects", "bfd profiles section set"
        )

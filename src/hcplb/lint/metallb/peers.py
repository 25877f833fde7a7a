"""MetalLB rules on BGPPeers (and FRR mode's rules across peers), with MetalLB's messages."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from hcplb import gotext
from hcplb.lint.facts import NodeFact
from hcplb.lint.findings import Finding, error, warning
from hcplb.lint.k8s import Manifest
from hcplb.lint.metallb.view import MetallbView, selector_findings
from hcplb.metallb.peer_rules import (
    PeerKey,
    frr_pair_violation,
    peer_identifier,
    peer_violations,
)
from hcplb.metallb.selectors import canonical, selects
from hcplb.metallb.validation import (
    BASIC_AUTH,
    secret_not_found,
    secret_type_mismatch,
    secret_without_password,
)

# hcplb's hints for MetalLB's rules (MetalLB's messages say what, not how to fix it)
_HINTS = {
    "duration.invalid": "write a Go duration such as 90s, 1m30s or 500ms",
    "peer.addr.invalid": "an IP address, not a hostname or a CIDR",
}


def _own_fields(peer: Manifest) -> Iterator[Finding]:
    """MetalLB's rules on the peer's own fields (one home: hcplb.metallb.peer_rules)."""
    spec = peer.mapping("spec")
    for v in peer_violations(
        spec, namespace=peer.namespace or "", name=peer.name, v1beta1=peer.version == "v1beta1"
    ):
        where = peer.where("spec", *v.field.split(".")) if v.field else peer.where("spec")
        yield error(where, f"metallb.{v.rule}", v.message, _HINTS.get(v.rule, ""))
    router_id = peer.text("spec", "routerID") or ""
    parsed = gotext.parse_ip(router_id) if router_id else None
    if parsed is not None and parsed.version == 6:
        yield error(
            peer.where("spec", "routerID"),
            "metallb.peer.routerid.ipv6",
            f"router ID {gotext.q(router_id)} is IPv6: MetalLB accepts it, FRR rejects it "
            "(a BGP identifier is 32 bits)",
            "use an IPv4 address as router ID, also on IPv6-only nodes",
        )


def _peer_secret(view: MetallbView, peer: Manifest) -> Iterator[Finding]:
    password = peer.text("spec", "password") or ""
    secret_name = peer.text("spec", "passwordSecret", "name") or ""
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
            secret_not_found(peer.namespace or "", peer.name),
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
    yield from _own_fields(peer)
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


def _key(peer: Manifest) -> PeerKey:
    return PeerKey(
        router_id=peer.text("spec", "routerID") or "",
        identifier=peer_identifier(
            peer.text("spec", "peerAddress") or "",
            peer.text("spec", "interface") or "",
            peer.text("spec", "vrf") or "",
        ),
        my_asn=peer.integer("spec", "myASN") or 0,
        vrf=peer.text("spec", "vrf") or "",
    )


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
            v = frr_pair_violation(_key(p), _key(q))
            if v is not None:
                yield error(p.where("spec", v.field), f"metallb.{v.rule}", v.message)


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

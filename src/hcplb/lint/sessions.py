"""BGP session compatibility, in the style of Batfish: each router neighbor against each
BGPPeer x node, one row per pair, with a status saying whether the session can come up.

Statuses: matched, half-open (one side configured), unknown-remote (the BGPPeer dials an
address no linted router has), asn-mismatch, password-mismatch, port-mismatch and
bfd-one-side (the session works, fast failure detection does not).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass

from hcplb.errors import MetallbError
from hcplb.lint.facts import NodeFact
from hcplb.lint.findings import Finding, Severity, Where
from hcplb.lint.frr.model import Neighbor
from hcplb.lint.k8s import Manifest
from hcplb.lint.world import RouterView, World
from hcplb.metallb.peers import secret_password
from hcplb.metallb.selectors import selects
from hcplb.metallb.validation import DEFAULT_PORT

MATCHED = "matched"
HALF_OPEN = "half-open"
UNKNOWN_REMOTE = "unknown-remote"
ASN_MISMATCH = "asn-mismatch"
PASSWORD_MISMATCH = "password-mismatch"
PORT_MISMATCH = "port-mismatch"
BFD_ONE_SIDE = "bfd-one-side"
_SEVERITY = {BFD_ONE_SIDE: Severity.warning}
_HINTS = {
    HALF_OPEN: "configure both sides: a router neighbor (or listen range) and a BGPPeer selecting the node",
    UNKNOWN_REMOTE: "the BGPPeer's peerAddress must be an address of the router (its router-id or an interface address)",
    ASN_MISMATCH: "the BGPPeer's myASN must be the router's remote-as, and its peerASN the router's `router bgp` ASN",
    PASSWORD_MISMATCH: "set the same MD5 password on both sides (BGPPeer passwordSecret and `neighbor ... password`)",
    PORT_MISMATCH: "MetalLB dials peerPort; the router listens on 179 unless bgpd runs with -p",
    BFD_ONE_SIDE: "enable BFD on both sides (BGPPeer bfdProfile and `neighbor ... bfd`), or on neither",
}


@dataclass(frozen=True)
class Session:
    router: str
    router_address: str
    node: str
    node_address: str
    peer: str  # the BGPPeer, "" when none
    status: str
    detail: str
    where: Where

    def to_json(self) -> dict[str, str]:
        return {
            "router": self.router,
            "routerAddress": self.router_address,
            "node": self.node,
            "nodeAddress": self.node_address,
            "bgpPeer": self.peer,
            "status": self.status,
            "detail": self.detail,
        }


def _secret_password(world: World, peer: Manifest) -> str | None:
    name = peer.text("spec", "passwordSecret", "name")
    if not name:
        return peer.text("spec", "password") or None
    secret = world.metallb.secret(name)
    if secret is None:
        return "<unknown>"
    try:
        value = secret_password(secret.body)
    except MetallbError:
        return "<unknown>"
    return "<unknown>" if value is None else value


def _selected(peer: Manifest, nodes: tuple[NodeFact, ...]) -> tuple[list[NodeFact], list[NodeFact]]:
    """Nodes the peer selects, and nodes it may select (labels unknown)."""
    selectors = peer.items("spec", "nodeSelectors")
    if not selectors:
        return list(nodes), []
    sure = [n for n in nodes if selects(selectors, n.labels)]
    maybe = [n for n in nodes if n.inferred and not selects(selectors, n.labels)]
    return sure, maybe


def _asn_problems(router: RouterView, nb: Neighbor, peer: Manifest) -> list[str]:
    problems = []
    local = peer.integer("spec", "localASN") or peer.integer("spec", "myASN") or 0
    remote = router.bgp.remote_asn(nb)
    if remote == "external" and local == router.bgp.asn:
        problems.append(
            f"router expects an external ASN, node speaks AS {local} (the router's own)"
        )
    elif isinstance(remote, int) and remote != local:
        problems.append(f"router expects AS {remote}, node speaks AS {local}")
    elif remote is None:
        problems.append("router neighbor has no remote-as")
    peer_asn = peer.integer("spec", "peerASN")
    dynamic = peer.text("spec", "dynamicASN")
    if peer_asn and peer_asn != router.bgp.asn:
        problems.append(f"node expects the router in AS {peer_asn}, router is AS {router.bgp.asn}")
    elif dynamic == "internal" and router.bgp.asn != local:
        problems.append(f"node expects an iBGP router (AS {local}), router is AS {router.bgp.asn}")
    elif dynamic == "external" and router.bgp.asn == local:
        problems.append("node expects an eBGP router, router shares its AS")
    return problems


def _compare(world: World, router: RouterView, nb: Neighbor, peer: Manifest) -> tuple[str, str]:
    if nb.shutdown:
        return HALF_OPEN, "the router neighbor is shut down"
    checks: list[tuple[str, str]] = [(ASN_MISMATCH, p) for p in _asn_problems(router, nb, peer)]
    node_pw = _secret_password(world, peer)
    router_pw = nb.password[0] if nb.password else None
    if (node_pw is None) != (router_pw is None):
        side = "router" if router_pw else "BGPPeer"
        checks.append((PASSWORD_MISMATCH, f"only the {side} sets an MD5 password"))
    elif node_pw and router_pw and "<unknown>" not in (node_pw, router_pw) and node_pw != router_pw:
        checks.append((PASSWORD_MISMATCH, "the passwords differ"))
    port = peer.integer("spec", "peerPort") or DEFAULT_PORT
    listen = next((d.bgpd_port for d in world.inputs.daemons if d.bgpd_port), None) or 179
    if port != listen:
        checks.append((PORT_MISMATCH, f"node dials port {port}, router listens on {listen}"))
    if bool(nb.bfd) != bool(peer.text("spec", "bfdProfile")):
        side = "router" if nb.bfd else "BGPPeer"
        checks.append((BFD_ONE_SIDE, f"only the {side} runs BFD"))
    if not checks:
        return MATCHED, "both sides agree"
    return checks[0][0], "; ".join(detail for _, detail in checks)


def _family(address: str) -> int | None:
    try:
        return ipaddress.ip_address(address).version
    except ValueError:
        return None


def _same_family(nodes: tuple[NodeFact, ...], address: str) -> tuple[NodeFact, ...]:
    """A node dials a peer from its address of the peer's family (a dual-stack node is a fact
    per family); an interface (unnumbered) peer takes every fact."""
    family = _family(address)
    if family is None:
        return nodes
    return tuple(n for n in nodes if _family(n.address) in (family, None))


def _router_for(world: World, address: str) -> RouterView | None:
    return next((r for r in world.routers if address in r.addresses), None)


def session_table(world: World) -> list[Session]:
    """Every router-neighbor / BGPPeer x node pair; empty when either side is missing."""
    peers = world.metallb.in_namespace(world.metallb.peers)
    if not world.routers or not peers:
        return []
    rows: list[Session] = []
    covered: set[tuple[str, str]] = set()
    for peer in peers:
        address = peer.text("spec", "peerAddress") or peer.text("spec", "interface") or ""
        router = _router_for(world, address)
        selected, maybe = _selected(peer, _same_family(world.nodes, address))
        if router is not None:
            covered |= {(router.config.file, n.address) for n in maybe}
        for node in selected:
            if router is None:
                known = ", ".join(sorted(a for r in world.routers for a in r.addresses)) or "none"
                rows.append(
                    Session(
                        "?",
                        address,
                        node.name,
                        node.address,
                        peer.name,
                        UNKNOWN_REMOTE,
                        f"no linted router has address {address} (routers: {known})",
                        peer.where("spec", "peerAddress"),
                    )
                )
                continue
            nb = router.neighbor_for(node.address)
            covered.add((router.config.file, node.address))
            if nb is None:
                rows.append(
                    Session(
                        router.name,
                        address,
                        node.name,
                        node.address,
                        peer.name,
                        HALF_OPEN,
                        f"node dials {address} but the router has no neighbor for it",
                        Where(router.config.file, router.bgp.line),
                    )
                )
                continue
            status, detail = _compare(world, router, nb, peer)
            where = Where(router.config.file, (nb.remote_as[1] if nb.remote_as else 0) or nb.line)
            rows.append(
                Session(
                    router.name, address, node.name, node.address, peer.name, status, detail, where
                )
            )
    for router in world.routers:
        for nb in router.node_neighbors(world.nodes):
            if (router.config.file, nb.name) not in covered:
                node = next(n for n in world.nodes if n.address == nb.name)
                rows.append(
                    Session(
                        router.name,
                        "",
                        node.name,
                        nb.name,
                        "",
                        HALF_OPEN,
                        "the router waits for this node but no BGPPeer makes it dial the router",
                        Where(router.config.file, nb.line),
                    )
                )
    return rows


def session_findings(rows: list[Session]) -> Iterator[Finding]:
    """One finding per router, BGPPeer and status (the nodes listed), for every row not matched."""
    groups: dict[tuple[str, str, str, str], list[Session]] = {}
    for row in rows:
        if row.status != MATCHED:
            groups.setdefault((row.router, row.peer, row.status, row.detail), []).append(row)
    for (router, peer, status, detail), members in groups.items():
        nodes = ", ".join(
            f"{m.node} ({m.node_address})" if m.node != m.node_address else m.node for m in members
        )
        who = (
            (peer if peer.startswith("FRRConfiguration ") else f"BGPPeer {peer}")
            if peer
            else ("no BGPPeer")
        )
        yield Finding.at(
            members[0].where,
            f"session.{status}",
            _SEVERITY.get(status, Severity.error),
            f"session router {router} <-> {who}, nodes {nodes}: {status}: {detail}",
            _HINTS[status],
        )

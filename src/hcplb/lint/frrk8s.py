"""frr-k8s's FRRConfiguration objects: what frr-k8s would refuse, what a user's extra object
adds to a node, and the sessions they declare (router <-> frr-k8s neighbor rows).

frr-k8s merges every FRRConfiguration selecting a node into its frr.conf. MetalLB's own
(`metallb-<node>`) lets a node advertise only its VIPs and accept nothing; another object that
lets it accept routes, advertise more, or adds raw FRR config changes BGP on the node behind
MetalLB's back. The schema check (CRD) runs in the engine; here are frr-k8s's controller rules
(`hcplb.metallb.frrk8s`), run once per node on the objects that select it.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping
from typing import Any

from hcplb.errors import MetallbError
from hcplb.lint.facts import NodeFact
from hcplb.lint.findings import Finding, Where, error, info, warning
from hcplb.lint.frr.model import Neighbor
from hcplb.lint.k8s import Manifest
from hcplb.lint.sessions import (
    ASN_MISMATCH,
    BFD_ONE_SIDE,
    HALF_OPEN,
    MATCHED,
    PASSWORD_MISMATCH,
    Session,
)
from hcplb.lint.world import RouterView, World
from hcplb.metallb.frrk8s import node_config, selects

__all__ = ["check_frrk8s", "frr_configurations", "frrk8s_sessions"]

GROUP = "frrk8s.metallb.io"
HOSTNAME = "kubernetes.io/hostname"
_AT = re.compile(r"^FRRConfiguration (?:(?P<ns>[^/\s]+)/)?(?P<name>\S+) (?P<path>spec\S*): ")
_PER_NODE = re.compile(r"metallb-[A-Za-z0-9.-]+")
_STEP = re.compile(r"([A-Za-z]+)|\[(\d+)\]")
WIDEN_RECEIVE = (
    "MetalLB's own FRRConfiguration accepts nothing from the routers; merged with this one, the "
    "nodes install what the router sends (a default route would steer their traffic): narrow "
    "toReceive to what the nodes need, or its nodeSelector"
)
WIDEN_ADVERTISE = (
    "the nodes then announce more than the API VIPs; the router's prefix-list accepts only the "
    "pools' host routes, so these are dropped there or, worse, accepted by another router"
)
RAW = "raw FRR configuration is appended to the frr.conf of every node the object selects"


def frr_configurations(world: World) -> list[Manifest]:
    return [m for m in world.inputs.manifests if m.is_a("FRRConfiguration", GROUP)]


def _labels(node: NodeFact) -> dict[str, str]:
    return {HOSTNAME: node.name, **node.labels}


def _selected(obj: Manifest, nodes: tuple[NodeFact, ...]) -> list[NodeFact]:
    """The nodes the object's nodeSelector picks; a node known only by its address (labels
    unknown) only by an empty selector or one naming it by hostname."""
    raw = obj.get("spec", "nodeSelector")
    selector: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    by_name = selector.get("matchLabels") or {}
    only_name = set(selector) <= {"matchLabels"} and set(by_name) == {HOSTNAME}
    chosen = []
    for n in nodes:
        try:
            if not n.inferred and selects(obj.body, _labels(n)):
                chosen.append(n)
        except MetallbError:
            return []  # the schema check reports the selector
        if n.inferred and (not selector or (only_name and by_name[HOSTNAME] == n.name)):
            chosen.append(n)
    return chosen


def _secrets(world: World) -> dict[str, Mapping[str, Any]]:
    return {
        m.name: m.body
        for m in world.inputs.manifests
        if m.kind == "Secret" and m.api_version == "v1"
    }


def _where(configs: list[Manifest], message: str) -> Where:
    match = _AT.match(message)
    if match is None:
        named = next((c for c in configs if f" {c.namespace}/{c.name}" in f" {message}"), None)
        return named.where() if named else (configs[0].where() if configs else Where("<input>"))
    obj = next((c for c in configs if c.name == match["name"]), configs[0])
    path: list[str | int] = [a or int(b) for a, b in _STEP.findall(match["path"])]
    return obj.where(*path)


def _conversion(world: World, configs: list[Manifest]) -> Iterator[Finding]:
    """frr-k8s's merge of the objects selecting each node; one finding per distinct error."""
    secrets = _secrets(world)
    groups = [(n.name, [c for c in configs if n in _selected(c, world.nodes)]) for n in world.nodes]
    if not world.nodes:
        groups = [(c.name, [c]) for c in configs]
    errors: dict[str, list[str]] = {}
    example: dict[str, tuple[str, list[Manifest]]] = {}
    for node, objs in groups:
        if not objs:
            continue
        try:
            node_config([o.body for o in objs], hostname=node, secrets=secrets)
        except MetallbError as exc:
            # MetalLB's objects are one per node: the same mistake on every node is one finding
            key = _PER_NODE.sub("metallb-<node>", str(exc))
            errors.setdefault(key, []).append(node)
            example.setdefault(key, (str(exc), objs))
    for key, nodes in errors.items():
        message, objs = example[key]
        yield error(
            _where(objs, message),
            "frrk8s.conversion",
            f"frr-k8s refuses the FRRConfigurations of {', '.join(nodes)}: {message}",
            "frr-k8s keeps the node's previous frr.conf and reports the error in its FRRNodeState",
        )


def _router_neighbors(obj: Manifest) -> Iterator[tuple[int, int, Mapping[str, Any]]]:
    for i, router in enumerate(obj.items("spec", "bgp", "routers")):
        if isinstance(router, Mapping):
            for j, n in enumerate(router.get("neighbors") or []):
                if isinstance(n, Mapping):
                    yield i, j, n


def _widening(world: World, obj: Manifest) -> Iterator[Finding]:
    nodes = _selected(obj, world.nodes)
    who = ", ".join(n.name for n in nodes) if world.nodes else "every node it selects"
    if world.nodes and not nodes:
        return
    for i, j, n in _router_neighbors(obj):
        path = ("spec", "bgp", "routers", i, "neighbors", j)
        peer = n.get("address") or n.get("interface") or "?"
        receive = ((n.get("toReceive") or {}).get("allowed")) or {}
        if receive.get("mode") == "all" or receive.get("prefixes"):
            what = (
                "every route"
                if receive.get("mode") == "all"
                else "routes "
                + ", ".join(
                    str(p.get("prefix")) for p in receive["prefixes"] if isinstance(p, Mapping)
                )
            )
            yield warning(obj.where(*path, "toReceive"), "frrk8s.widens-receive",
                          f"{obj.ref} makes {who} accept {what} from {peer}", WIDEN_RECEIVE)  # fmt: skip
        advertise = ((n.get("toAdvertise") or {}).get("allowed")) or {}
        if not obj.name.startswith("metallb-") and (
            advertise.get("mode") == "all" or advertise.get("prefixes")
        ):
            what = (
                "all its prefixes"
                if advertise.get("mode") == "all"
                else ", ".join(str(p) for p in advertise["prefixes"])
            )
            yield warning(obj.where(*path, "toAdvertise"), "frrk8s.widens-advertise",
                          f"{obj.ref} makes {who} advertise {what} to {peer}", WIDEN_ADVERTISE)  # fmt: skip
        if n.get("disableMP"):
            yield info(obj.where(*path, "disableMP"), "frrk8s.disable-mp",
                       f"{obj.ref}: disableMP has no effect in frr-k8s",
                       "remove it; dualStackAddressFamily enables both families")  # fmt: skip
    if obj.text("spec", "raw", "rawConfig"):
        yield warning(obj.where("spec", "raw"), "frrk8s.raw-config", f"{obj.ref} adds raw FRR "
                      f"configuration to {who}", RAW)  # fmt: skip


_DROPPED = {
    "sourceAddress": "the nodes' sessions use the address of the interface towards the router",
    "localASN": "the nodes speak their myASN to the router",
}


def _dropped(world: World) -> Iterator[Finding]:
    """BGPPeer fields MetalLB accepts in frr-k8s mode but does not write to FRRConfiguration."""
    backend = world.metallb.backend
    if backend not in ("frr-k8s", "frr-k8s-external") and not (backend == "" and world.openshift):
        return
    for peer in world.metallb.in_namespace(world.metallb.peers):
        for field, effect in _DROPPED.items():
            if peer.has("spec", field):
                yield warning(peer.where("spec", field), "frrk8s.ignored-field",
                              f"{peer.ref}: MetalLB with bgpBackend frr-k8s does not pass "
                              f"{field} to frr-k8s: {effect}",
                              "remove it, or use bgpBackend frr where it takes effect")  # fmt: skip


def check_frrk8s(world: World) -> list[Finding]:
    """frr-k8s's verdict per node, what user objects add to MetalLB's, and BGPPeer fields the
    frr-k8s backend drops."""
    findings = list(_dropped(world))
    configs = frr_configurations(world)
    if not configs:
        return findings
    findings += _conversion(world, configs)
    for obj in configs:
        findings += _widening(world, obj)
    return findings


def _password(world: World, obj: Manifest, n: Mapping[str, Any]) -> str | None:
    ref = (n.get("passwordSecret") or {}).get("name")
    if not ref:
        return n.get("password") or None
    secret = _secrets(world).get(ref)
    if secret is None:
        return "<unknown>"
    try:
        return (
            base64.b64decode(
                str((secret.get("data") or {}).get("password", "")), validate=True
            ).decode()
            or "<unknown>"
        )
    except (binascii.Error, UnicodeDecodeError):
        return "<unknown>"


def _compare(world: World, router: RouterView, nb: Neighbor, asn: int, obj: Manifest,
             n: Mapping[str, Any]) -> tuple[str, str]:  # fmt: skip
    checks: list[tuple[str, str]] = []
    remote = router.bgp.remote_asn(nb)
    if isinstance(remote, int) and remote != asn:
        checks.append((ASN_MISMATCH, f"router expects AS {remote}, node speaks AS {asn}"))
    elif remote == "external" and asn == router.bgp.asn:
        checks.append((ASN_MISMATCH, f"router expects an external ASN, node speaks AS {asn}"))
    want = n.get("asn")
    if isinstance(want, int) and want and want != router.bgp.asn:
        checks.append((ASN_MISMATCH, f"node expects the router in AS {want}, router is AS "
                       f"{router.bgp.asn}"))  # fmt: skip
    mine, theirs = _password(world, obj, n), (nb.password[0] if nb.password else None)
    if (mine is None) != (theirs is None):
        side = "router" if theirs else "FRRConfiguration"
        checks.append((PASSWORD_MISMATCH, f"only the {side} sets an MD5 password"))
    elif mine and theirs and "<unknown>" not in (mine, theirs) and mine != theirs:
        checks.append((PASSWORD_MISMATCH, "the passwords differ"))
    if bool(nb.bfd) != bool(n.get("bfdProfile")):
        side = "router" if nb.bfd else "FRRConfiguration"
        checks.append((BFD_ONE_SIDE, f"only the {side} runs BFD"))
    if not checks:
        return MATCHED, "both sides agree"
    return checks[0][0], "; ".join(detail for _, detail in checks)


def frrk8s_sessions(world: World) -> list[Session]:
    """One row per router x node x neighbor an FRRConfiguration gives the node."""
    rows = []
    for obj in frr_configurations(world):
        for i, j, n in _router_neighbors(obj):
            address = str(n.get("address") or n.get("interface") or "")
            router = next((r for r in world.routers if address in r.addresses), None)
            if router is None:
                continue
            raw_asn = obj.get("spec", "bgp", "routers", i, "asn")
            asn = raw_asn if isinstance(raw_asn, int) else 0
            peer = f"FRRConfiguration {obj.name}"
            for node in _selected(obj, world.nodes):
                nb = router.neighbor_for(node.address)
                if nb is None:
                    where = obj.where("spec", "bgp", "routers", i, "neighbors", j, "address")
                    rows.append(Session(router.name, address, node.name, node.address, peer,
                                        HALF_OPEN, f"frr-k8s dials {address} but the router has "
                                        "no neighbor for the node", where))  # fmt: skip
                    continue
                status, detail = _compare(world, router, nb, asn, obj, n)
                where = Where(
                    router.config.file, (nb.remote_as[1] if nb.remote_as else 0) or nb.line
                )
                rows.append(Session(router.name, address, node.name, node.address, peer, status,
                                    detail, where))  # fmt: skip
    return rows

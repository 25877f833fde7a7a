"""`hcplb import`: write a site spec from a site built by hand (router, MetalLB, HyperShift, DNS).

What the files say is copied; what they cannot say gets a valid placeholder and a `# TODO:`
comment on its line, so the spec loads at once and `grep TODO` lists what to confirm.
hcplb's defaults are kept where the hand-built site is weaker (BFD on, passwords by reference):
the import is a move to hcplb, not a copy of the old configuration's problems.
"""

from __future__ import annotations

import io
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from hcplb import gotext
from hcplb.errors import SpecError
from hcplb.importer.families import (
    all_addresses,
    by_family,
    dual_stack_sessions,
    family,
    machine_networks,
    merge_nodes,
    set_per_family,
)
from hcplb.lint.findings import Finding
from hcplb.lint.frrk8s import frr_configurations
from hcplb.lint.k8s import Manifest
from hcplb.lint.metallb.pools import pool_networks
from hcplb.lint.sources import read_paths
from hcplb.lint.world import World, build_world
from hcplb.plan import plan_site
from hcplb.spec import load_site_text
from hcplb.spec.models import Platform

__all__ = ["Imported", "import_site"]

_LABEL = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class Imported:
    """The site spec text, the TODOs in it, and the problems met while reading the files."""

    text: str
    todos: tuple[str, ...]
    read_problems: tuple[Finding, ...] = ()
    blocking: tuple[str, ...] = ()  # why the import failed: a file unread, nothing usable, a field

    usable: bool = True  # False: nothing worth writing was found

    @property
    def ok(self) -> bool:
        return not self.blocking


@dataclass
class _Doc:
    todos: list[str] = field(default_factory=list)
    placeholders: set[str] = field(default_factory=set)  # made-up addresses: never evidence

    def todo(self, node: CommentedMap, key: str, text: str) -> None:
        node.yaml_add_eol_comment(f"TODO: {text}", key)
        self.todos.append(f"{key}: {text}")

    def note(self, node: CommentedMap, key: str, text: str) -> None:
        node.yaml_add_eol_comment(text, key)


def _label(text: str, fallback: str) -> str:
    label = _LABEL.sub("-", text.lower()).strip("-")[:63].strip("-")
    return label or fallback


def _flow(items: list[Any]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _flavour(world: World, router_file: str) -> str | None:
    """The firewall flavour of the files beside the router's frr.conf (or the only one)."""
    folder = router_file.rsplit("/", 1)[0] if "/" in router_file else ""
    beside = {fw.flavour for fw in world.inputs.firewalls if fw.file.rsplit("/", 1)[0] == folder}
    every = {fw.flavour for fw in world.inputs.firewalls}
    for found in (beside, every):
        if len(found) == 1:
            return next(iter(found))
    return None


def _unique_peers(world: World) -> list[Manifest]:
    """BGPPeers, one per (address, ASN pair): the same peer in two files is one router."""
    seen: dict[tuple[object, ...], Manifest] = {}
    for p in world.metallb.in_namespace(world.metallb.peers):
        key = (
            p.text("spec", "peerAddress"),
            p.integer("spec", "peerASN"),
            p.integer("spec", "myASN"),
        )
        seen.setdefault(key, p)
    return list(seen.values())


def _routers(world: World, doc: _Doc) -> CommentedSeq:
    out = CommentedSeq()
    peers = _unique_peers(world)
    for i, router in enumerate(world.routers):
        entry = CommentedMap()
        entry["name"] = _label(router.config.hostname or "", f"router-{i}" if i else "frr")
        if not router.config.hostname:
            doc.todo(entry, "name", "the router's name (its frr.conf has no hostname)")
        entry["asn"] = router.bgp.asn
        dialed = [
            p.text("spec", "peerAddress")
            for p in peers
            if p.text("spec", "peerAddress") in router.addresses
        ]
        paired = next(iter(router.addresses)) if router.paired_with else None
        entry["routerId"] = router.bgp.router_id or paired or "192.0.2.1"
        if not router.bgp.router_id:
            doc.todo(entry, "routerId", "the router's BGP router-id (not in its frr.conf)")
        per_family = by_family([d for d in dialed if d])
        if len(per_family) > 1:  # a BGPPeer per family dials this router
            ordered = sorted(per_family, key=lambda a: family(a) or 0)
            set_per_family(entry, "address", "addresses", ordered)
        else:
            entry["address"] = dialed[0] if dialed else paired or entry["routerId"]
        if paired:
            doc.todo(entry, "address", "from the one BGPPeer whose ASNs match this router")
        elif not dialed:
            doc.todo(entry, "address", "the address the nodes dial (no BGPPeer names this router)")
            doc.placeholders.add(str(entry["address"]))
        flavour = _flavour(world, router.config.file)
        entry["firewall"] = flavour or "firewalld"
        if flavour is None:
            doc.todo(entry, "firewall", "firewalld, iptables or nftables (no firewall file given)")
        out.append(entry)
    if not world.routers:
        for i, peer in enumerate(peers):
            entry = CommentedMap()
            entry["name"] = _label(peer.name, f"router-{i}")
            entry["asn"] = peer.integer("spec", "peerASN") or 64512
            address = peer.text("spec", "peerAddress") or "192.0.2.1"
            if not peer.text("spec", "peerAddress"):
                doc.placeholders.add(address)
            entry["routerId"] = address
            entry["address"] = address
            entry["firewall"] = "firewalld"
            doc.todo(entry, "firewall", "the router's firewall (no router files were given)")
            out.append(entry)
    return out


def _management(
    world: World, routers: CommentedSeq, doc: _Doc, pools: CommentedSeq
) -> CommentedMap:
    mc = CommentedMap()
    peers = world.metallb.in_namespace(world.metallb.peers)
    asns = [p.integer("spec", "myASN") for p in peers if p.integer("spec", "myASN")]
    asns += [  # frr-k8s: the nodes' ASN is the `asn` of the FRRConfigurations' routers
        r["asn"]
        for obj in frr_configurations(world)
        for r in obj.items("spec", "bgp", "routers")
        if isinstance(r, dict) and isinstance(r.get("asn"), int) and r.get("neighbors")
    ]
    remote = [r.bgp.remote_asn(nb) for r in world.routers for nb in r.node_neighbors(world.nodes)]
    numeric = [a for a in remote if isinstance(a, int)]
    mc["asn"] = asns[0] if asns else numeric[0] if numeric else 64513
    if not asns and not numeric:
        doc.todo(mc, "asn", "the nodes' ASN (found neither in a BGPPeer nor in the router)")
    mc["metallbNamespace"] = world.metallb.namespace or "metallb-system"
    if world.metallb.namespace is None:
        doc.todo(mc, "metallbNamespace", "where the MetalLB operator runs")
    addresses = [n.address for n in world.nodes] + [
        a for r in routers for a in all_addresses(r) if a not in doc.placeholders
    ]
    key = set_per_family(mc, "machineNetwork", "machineNetworks", machine_networks(addresses))
    doc.todo(mc, key, "confirm: the smallest network holding the nodes and routers")
    if world.metallb.backend == "frr":
        mc["bgpBackend"] = "frr"
        doc.note(mc, "bgpBackend", "the MetalLB CR's: MetalLB's own FRR (frr-k8s is the default)")
    names = {r.value: r.name.split(".")[0] for r in world.records if r.rtype == "A"}
    names.update(
        {
            nb.name: nb.description
            for r in world.routers
            for nb in r.bgp.sessions()
            if nb.description
        }
    )
    nodes = CommentedSeq()
    per_node = {
        nb.name: r.bgp.remote_asn(nb) for r in world.routers for nb in r.node_neighbors(world.nodes)
    }
    for node in world.nodes:
        entry = CommentedMap()
        entry["name"] = _label(node.name if not node.inferred else names.get(node.address, ""), "")
        if not entry["name"]:
            entry["name"] = "node-" + node.address.replace(".", "-").replace(":", "-")
            doc.todo(entry, "name", f"the Kubernetes name of the node at {node.address}")
        entry["address"] = node.address
        if node.labels:
            entry["labels"] = dict(node.labels)
        asn = per_node.get(node.address)
        if isinstance(asn, int) and asn != mc["asn"]:
            entry["asn"] = asn
        nodes.append(entry)
    nodes = merge_nodes(nodes)
    if not nodes:
        machine = ipaddress.ip_network(str(mc.get("machineNetwork") or mc["machineNetworks"][0]))
        taken = {a for r in routers for a in all_addresses(r)}
        free = (
            str(h)
            for h in machine.hosts()
            if int(h) >= int(machine.network_address) + 10
            and str(h) not in taken
            and not any(_contains(list(p["addresses"]), str(h)) for p in pools)
        )
        entry = CommentedMap(
            {"name": "node-0", "address": next(free, str(machine.network_address + 1))}
        )
        doc.todo(entry, "address", "the management cluster's nodes (none found)")
        nodes.append(entry)
    mc["nodes"] = nodes
    return mc


def _bfd(world: World) -> tuple[CommentedMap, bool]:
    keys = ("receiveInterval", "transmitInterval", "detectMultiplier")
    bfd = CommentedMap()
    profiles = {b.name: b for b in world.metallb.bfd_profiles}
    for peer in world.metallb.peers:
        profile = profiles.get(peer.text("spec", "bfdProfile") or "")
        if profile is not None:
            for key in keys:
                if profile.integer("spec", key) is not None:
                    bfd[key] = profile.integer("spec", key)
            return bfd, True
    for router in world.routers:
        for p in router.config.bfd_profiles.values():
            values = (p.receive_interval, p.transmit_interval, p.detect_multiplier)
            for key, value in zip(keys, values, strict=True):
                if value is not None:
                    bfd[key] = value
            return bfd, True
    return CommentedMap(
        {"receiveInterval": 300, "transmitInterval": 300, "detectMultiplier": 3}
    ), False


def _bgp(world: World, doc: _Doc) -> CommentedMap:
    bgp = CommentedMap()
    bfd, found = _bfd(world)
    bgp["bfd"] = bfd
    if not found:
        doc.note(
            bgp, "bfd", "the imported site has no BFD; hcplb turns it on (bfd: null keeps it off)"
        )
    peer = next(iter(world.metallb.peers), None)
    for key in ("holdTime", "keepaliveTime"):
        value = peer.text("spec", key) if peer is not None else None
        if value and gotext.parse_duration(value) is not None:
            bgp[key] = value
    sessions = [nb for r in world.routers for nb in r.bgp.sessions()]
    has_password = any(nb.password for nb in sessions) or any(
        p.text("spec", "password") or p.text("spec", "passwordSecret", "name")
        for p in world.metallb.peers
    )
    if has_password:
        bgp["password"] = CommentedMap({"env": "HCPLB_BGP_PASSWORD"})
        doc.todo(bgp, "password", "export HCPLB_BGP_PASSWORD with the current MD5 password")
    if any(r.bgp.listen_ranges for r in world.routers):
        bgp["peering"] = "dynamic"
    if dual_stack_sessions(world):
        bgp["sessions"] = "dual-stack"
    return bgp


def _pools(world: World) -> CommentedSeq:
    pools = CommentedSeq()
    for pool in world.metallb.in_namespace(world.metallb.pools):
        entries = [str(a) for a in pool.items("spec", "addresses") if isinstance(a, str)]
        if entries and pool_networks(pool):
            pools.append(
                CommentedMap({"name": _label(pool.name, "pool"), "addresses": _flow(entries)})
            )
    return pools


def _platform(hc: Manifest | None) -> str:
    value = hc.text("spec", "platform", "type") if hc is not None else None
    return value if value in {p.value for p in Platform} else "Agent"


def _clusters(world: World, pools: CommentedSeq, doc: _Doc) -> CommentedSeq:
    out = CommentedSeq()
    by_key = {(h.namespace, h.name): h for h in world.hostedclusters}
    for cluster in world.clusters:
        hc = by_key.get((cluster.namespace, cluster.name))
        entry = CommentedMap()
        entry["name"] = cluster.name
        entry["namespace"] = cluster.namespace
        entry["baseDomain"] = cluster.base_domain or "example.com"
        if not cluster.base_domain:
            doc.todo(entry, "baseDomain", f"the base domain of {cluster.name}")
        entry["platform"] = _platform(hc)
        if hc is None or not hc.text("spec", "platform", "type"):
            doc.todo(entry, "platform", "Agent, KubeVirt, None, ... (not in the files)")
        vip = next(
            (v.address for v in world.vips if v.cluster == cluster.control_plane_namespace), None
        )
        if vip:
            entry["vip"] = vip
            pool = next((p["name"] for p in pools if _contains(p["addresses"], vip)), None)
            if pool:
                entry["pool"] = pool
        else:
            entry["pool"] = pools[0]["name"] if pools else "hcp-api-pool"
            doc.todo(
                entry,
                "pool",
                "no VIP found (no Service, DNS record or site spec): one is taken from this pool",
            )
        blocks = hc.items("spec", "networking", "apiServer", "allowedCIDRBlocks") if hc else []
        if blocks:
            entry["allowedCIDRBlocks"] = _flow([str(b) for b in blocks])
        out.append(entry)
    if not out:
        entry = CommentedMap(
            {"name": "hosted", "namespace": "clusters", "baseDomain": "example.com"}
        )
        entry["pool"] = pools[0]["name"] if pools else "hcp-api-pool"
        doc.todo(
            entry,
            "name",
            "no HostedCluster found: the hosted cluster's name, namespace, baseDomain",
        )
        out.append(entry)
    return out


def _contains(entries: list[str], vip: str) -> bool:
    from hcplb.spec.pools import pool_networks as spec_networks

    try:
        ip = ipaddress.ip_address(vip)
        return any(ip in n for n in spec_networks(list(entries)))
    except ValueError:
        return False


_LAB_DEFAULT = "192.168.130.0/24"  # the spec's default lab client network
_LAB_SPARE = ("192.168.230.0/24", "172.31.254.0/24", "10.254.254.0/24", "100.127.254.0/24")


def _lab_network(machine: str, pools: CommentedSeq) -> str | None:
    """A lab client network apart from the site's own addresses (None: the default is apart)."""
    from hcplb.spec.pools import pool_networks as spec_networks

    taken = [ipaddress.ip_network(machine)]
    taken += [n for p in pools for n in spec_networks(list(p["addresses"]))]
    for candidate in (_LAB_DEFAULT, *_LAB_SPARE):
        net = ipaddress.ip_network(candidate)
        if not any(net.overlaps(t) for t in taken):
            return None if candidate == _LAB_DEFAULT else candidate
    return None


def _dns(clusters: CommentedSeq) -> CommentedMap:
    dns = CommentedMap()
    zones = sorted({str(c["baseDomain"]) for c in clusters})
    if len(zones) == 1:
        dns["zone"] = zones[0]
    dns["ttl"] = 300
    dns.yaml_add_eol_comment(
        "optional: primary (RFC 2136 server) and tsigKey, see `hcplb init`", "ttl"
    )
    return dns


def import_world(world: World, name: str) -> Imported:
    doc = _Doc()
    spec = CommentedMap()
    routers = _routers(world, doc)
    if not routers:
        entry = CommentedMap(
            {
                "name": "frr",
                "asn": 64512,
                "routerId": "192.0.2.1",
                "address": "192.0.2.1",
                "firewall": "firewalld",
            }
        )
        doc.todo(entry, "routerId", "no router config and no BGPPeer: the upstream router")
        routers.append(entry)
    spec["routers"] = routers
    pools = _pools(world)
    if not pools and world.vips:
        found = sorted({v.address for v in world.vips if gotext.parse_ip(v.address)})
        from_vips = CommentedMap({"name": "hcp-api-pool", "addresses": _flow(found)})
        doc.todo(
            from_vips, "addresses", "the VIPs found (no IPAddressPool): widen to the range kept"
        )
        pools.append(from_vips)
    if not pools:
        placeholder = CommentedMap(
            {"name": "hcp-api-pool", "addresses": _flow(["198.51.100.0/28"])}
        )
        doc.todo(
            placeholder, "addresses", "the addresses kept for API VIPs (no IPAddressPool found)"
        )
        pools.append(placeholder)
    spec["managementCluster"] = _management(world, routers, doc, pools)
    spec["bgp"] = _bgp(world, doc)
    spec["pools"] = pools
    spec["hostedClusters"] = _clusters(world, pools, doc)
    mc = spec["managementCluster"]
    lab = _lab_network(str(mc.get("machineNetwork") or mc["machineNetworks"][0]), pools)
    if lab is not None:
        spec["lab"] = CommentedMap({"clientNetwork": lab})
    spec["dns"] = _dns(spec["hostedClusters"])
    site = CommentedMap()
    site["apiVersion"] = "hcplb.io/v1alpha1"
    site["kind"] = "Site"
    site["metadata"] = CommentedMap({"name": name})
    site["spec"] = spec
    header = (
        "hcplb site spec imported by `hcplb import` from a hand-built site.\n"
        "Lines marked TODO could not be read from the files: confirm or replace them,\n"
        "then `hcplb render` this file and compare with what runs today."
    )
    site.yaml_set_start_comment(header)
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 120
    stream = io.StringIO()
    yaml.dump(site, stream)
    return Imported(stream.getvalue(), tuple(doc.todos))


_UNREADABLE = {"read.file", "read.internal", "read.yaml"}


def _usable(world: World) -> bool:
    view = world.metallb
    return bool(
        world.routers
        or view.peers
        or view.pools
        or [n for n in world.nodes if not n.inferred]
        or world.clusters
        or world.vips
    )


def _blocking(world: World, imported: Imported, problems: Sequence[Finding]) -> list[str]:
    """Why this import cannot be trusted: unreadable files, nothing found, a spec that fails."""
    reasons = [
        f"{p.location}: {p.message}"
        for p in problems
        if p.rule in _UNREADABLE and p.severity == "error"
    ]
    if not _usable(world):
        reasons.append(
            "nothing usable found: no frr.conf, MetalLB object, HostedCluster, Service or DNS "
            "record in the files (hint: pass the router's frr.conf and the cluster's manifests)"
        )
    try:
        plan_site(load_site_text(imported.text, "imported.yaml").site)
    except SpecError as exc:
        reasons += [
            f"the imported spec does not render: {p}" for p in exc.problems if p.severity == "error"
        ]
    return reasons


def import_site(paths: Sequence[Path], *, name: str = "imported") -> Imported:
    """Read the files (as `hcplb lint` does) and write the site spec they describe.

    `blocking` lists why the result cannot be used as is (the CLI then exits non-zero): a
    file that could not be read, nothing usable in the files, or a field that stops the
    spec from rendering.
    """
    inputs, problems = read_paths(paths)
    world = build_world(inputs)
    imported = import_world(world, _label(name, "imported"))
    blocking = _blocking(world, imported, problems)
    return Imported(imported.text, imported.todos, tuple(problems), tuple(blocking), _usable(world))

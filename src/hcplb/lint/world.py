"""Put lint's inputs together: which nodes, hosted clusters and VIPs the files describe.

A site spec, when given, is the strongest source; then Kubernetes objects (Node, Service,
HostedCluster); last, what the router config and DNS records imply (node addresses from the
router's neighbors, VIPs from the `api.` records).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass

from hcplb.lint.dnsfiles import Record
from hcplb.lint.facts import ClusterFact, NodeFact, VipFact
from hcplb.lint.findings import Where
from hcplb.lint.frr.model import BgpInstance, FrrConfig, Neighbor
from hcplb.lint.k8s import Manifest
from hcplb.lint.legacy import modernize
from hcplb.lint.metallb.view import MetallbView, metallb_view
from hcplb.lint.sources import Inputs
from hcplb.plan import SitePlan

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\Z")
_LB_ANNOTATIONS = ("metallb.universe.tf/loadBalancerIPs", "metallb.io/loadBalancerIPs")


@dataclass(frozen=True)
class RouterView:
    """One router's BGP instance and the addresses nodes may dial to reach it."""

    config: FrrConfig
    bgp: BgpInstance
    addresses: frozenset[str]
    paired_with: str = ""  # the BGPPeer whose ASNs gave the address the config does not state

    @property
    def name(self) -> str:
        return self.config.name()

    def node_neighbors(self, nodes: tuple[NodeFact, ...]) -> list[Neighbor]:
        addresses = {n.address for n in nodes}
        return [nb for nb in self.bgp.sessions() if nb.name in addresses]

    def neighbor_for(self, address: str) -> Neighbor | None:
        """The (effective) neighbor config the router applies to a peer at `address`."""
        if address in self.bgp.neighbors and self.bgp.neighbors[address].kind == "address":
            return self.bgp.effective(address)
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        for net, group, _line in self.bgp.listen_ranges:
            if ip.version == net.version and ip in net and self.bgp.group(group):
                return self.bgp.neighbors[group]
        return None


_OLM = {"Subscription", "OperatorGroup", "ClusterServiceVersion", "InstallPlan"}


@dataclass(frozen=True)
class World:
    inputs: Inputs
    metallb: MetallbView
    routers: tuple[RouterView, ...]
    nodes: tuple[NodeFact, ...]
    clusters: tuple[ClusterFact, ...]
    vips: tuple[VipFact, ...]
    hostedclusters: tuple[Manifest, ...]
    services: tuple[Manifest, ...]
    plan: SitePlan | None
    openshift: bool

    @property
    def operator_install(self) -> bool:
        """The files show MetalLB installed by an operator (OpenShift or OLM), not Helm/manifests."""
        return self.openshift or any(
            m.kind in _OLM and "operators.coreos.com" in m.api_version
            for m in self.inputs.manifests
        )

    @property
    def serves_control_planes(self) -> bool:
        """A HostedCluster, a hosted control plane's Service or a HyperShift namespace is in view."""
        return bool(self.hostedclusters or self.services or self.plan) or any(
            m.namespace == "hypershift" or m.kind == "HostedControlPlane"
            for m in self.inputs.manifests
        )

    @property
    def records(self) -> tuple[Record, ...]:
        return self.inputs.records

    @functools.cached_property
    def record_index(self) -> RecordIndex:
        return index_records(self.inputs.records)

    def bfd_in_use(self) -> bool:
        return any(nb.bfd for r in self.routers for nb in r.bgp.sessions()) or any(
            p.text("spec", "bfdProfile") for p in self.metallb.peers
        )


def _routers(inputs: Inputs, plan: SitePlan | None, view: MetallbView) -> tuple[RouterView, ...]:
    views = []
    site_addresses = {r.name: r.addresses for r in plan.routers} if plan else {}
    for config in inputs.routers:
        bgp = config.main_bgp
        if bgp is None:
            continue
        addresses = set(config.router_addresses())
        addresses.update(site_addresses.get(config.hostname or "", ()))
        known = {ipaddress.ip_address(a).version for a in addresses if _is_ip(a)}
        named = _named_after(config.hostname or "", bgp.asn, view)
        if known:  # a router stating no address at all is paired by ASN (below) instead
            addresses.update(a for a in named if ipaddress.ip_address(a).version not in known)
        views.append(RouterView(config, bgp, frozenset(addresses)))
    return tuple(views)


def _named_after(hostname: str, asn: int, view: MetallbView) -> set[str]:
    """peerAddresses of the BGPPeers named after the router (`<hostname>`, `<hostname>-v6`,
    `<hostname>-as<N>[-v6]`) whose peerASN is the router's: a config states no interface
    address, and a router's IPv6 address is not its router-id. Taken only for a family the
    router has no known address of, so a wrong peerAddress is still caught."""
    if not hostname:
        return set()
    found = set()
    for p in view.in_namespace(view.peers):
        base = re.sub(r"(-as\d+)?(-v6)?$", "", p.name)
        address = p.text("spec", "peerAddress")
        if base == hostname and p.integer("spec", "peerASN") == asn and _is_ip(str(address)):
            found.add(str(address))
    return found


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _paired_by_asn(routers: tuple[RouterView, ...], view: MetallbView) -> tuple[RouterView, ...]:
    """One router config that states no address, and one BGPPeer whose ASNs match it both ways:
    they are the two ends of one session, and the BGPPeer's peerAddress is the router's address.
    """
    if len(routers) != 1 or routers[0].addresses:
        return routers
    router = routers[0]
    remote = {router.bgp.remote_asn(nb) for nb in router.bgp.neighbors.values()}
    matching = {
        (p.text("spec", "peerAddress"), p.name)
        for p in view.in_namespace(view.peers)
        if p.integer("spec", "peerASN") == router.bgp.asn
        and (p.integer("spec", "myASN") in remote or "external" in remote)
        and p.text("spec", "peerAddress")
    }
    if len({address for address, _ in matching}) != 1:
        return routers
    address, peer = sorted(matching)[0]
    return (RouterView(router.config, router.bgp, frozenset({str(address)}), peer),)


def _node_manifests(manifests: tuple[Manifest, ...]) -> Iterator[NodeFact]:
    for node in manifests:
        if node.kind != "Node" or node.api_version != "v1":
            continue
        for addr in node.items("status", "addresses"):  # one per family on a dual-stack node
            if isinstance(addr, dict) and addr.get("type") == "InternalIP":
                labels = {str(k): str(v) for k, v in node.mapping("metadata", "labels").items()}
                yield NodeFact(node.name, str(addr.get("address")), node.where(), labels)


def _inferred_nodes(routers: tuple[RouterView, ...], view: MetallbView) -> Iterator[NodeFact]:
    """Router neighbors that look like cluster nodes: remote-as equal to a BGPPeer's local
    ASN; all neighbors when none matches (so that a wrong ASN is still caught)."""
    local_asns = {
        str(p.integer("spec", "localASN") or p.integer("spec", "myASN")) for p in view.peers
    }
    for router in routers:
        sessions = [nb for nb in router.bgp.sessions() if nb.kind == "address"]
        matching = [nb for nb in sessions if nb.remote_as and nb.remote_as[0] in local_asns]
        groups = {nb.peer_group[0] for nb in matching if nb.peer_group}
        matching = [
            nb
            for nb in sessions
            if nb in matching or (nb.peer_group and nb.peer_group[0] in groups)
        ]
        for nb in matching or sessions:
            # hcplb (and many hand configs) describe a node neighbor with the node's name.
            name = nb.description if _LABEL.match(nb.description) else nb.name
            labels = {"kubernetes.io/hostname": name} if name != nb.name else {}
            yield NodeFact(name, nb.name, Where(router.config.file, nb.line), labels, inferred=True)


def _nodes(
    inputs: Inputs,
    plan: SitePlan | None,
    routers: tuple[RouterView, ...],
    view: MetallbView,
    site_file: str,
) -> tuple[NodeFact, ...]:
    found: dict[str, NodeFact] = {}
    if plan is not None:
        for spec_node in plan.nodes:
            for address in spec_node.addresses:  # a dual-stack node is a fact per family
                found.setdefault(
                    address,
                    NodeFact(
                        spec_node.name,
                        address,
                        Where(site_file),
                        {"kubernetes.io/hostname": spec_node.name, **spec_node.labels},
                    ),
                )
    for fact in _node_manifests(inputs.manifests):
        found.setdefault(fact.address, fact)
    if not found:
        for fact in _inferred_nodes(routers, view):
            found.setdefault(fact.address, fact)
    return tuple(found.values())


def _base_domain(hc: Manifest) -> str | None:
    base = hc.text("spec", "dns", "baseDomain")
    if base:
        return base
    for i, item in enumerate(hc.items("spec", "services")):
        if isinstance(item, dict) and item.get("service") == "APIServer":
            host = hc.text(
                "spec", "services", i, "servicePublishingStrategy", "loadBalancer", "hostname"
            )
            prefix = f"api.{hc.name}."
            if isinstance(host, str) and host.startswith(prefix):
                return host[len(prefix) :]
    return None


def _clusters(
    hcs: tuple[Manifest, ...], plan: SitePlan | None, site_file: str
) -> tuple[ClusterFact, ...]:
    found: dict[tuple[str, str], ClusterFact] = {}
    for hc in hcs:
        if hc.name and hc.namespace:
            found.setdefault(
                (hc.namespace, hc.name),
                ClusterFact(hc.name, hc.namespace, hc.where(), _base_domain(hc)),
            )
    if plan is not None:
        for c in plan.clusters:
            key = (c.cluster.namespace, c.cluster.name)
            found.setdefault(
                key,
                ClusterFact(
                    c.cluster.name, c.cluster.namespace, Where(site_file), c.cluster.base_domain
                ),
            )
    return tuple(found.values())


def _service_vips(services: tuple[Manifest, ...]) -> Iterator[VipFact]:
    for svc in services:
        addresses: list[tuple[str, Where]] = []
        for i, ingress in enumerate(svc.items("status", "loadBalancer", "ingress")):
            if isinstance(ingress, dict) and isinstance(ingress.get("ip"), str):
                addresses.append((ingress["ip"], svc.where("status", "loadBalancer", "ingress", i)))
        if svc.text("spec", "loadBalancerIP"):
            addresses.append(
                (str(svc.text("spec", "loadBalancerIP")), svc.where("spec", "loadBalancerIP"))
            )
        for key in _LB_ANNOTATIONS:
            value = svc.text("metadata", "annotations", key)
            if value:
                addresses += [
                    (v.strip(), svc.where("metadata", "annotations", key)) for v in value.split(",")
                ]
        seen: set[str] = set()
        for address, where in addresses:
            if address not in seen:
                seen.add(address)
                yield VipFact(address, where, "service", svc.namespace)


def _vips(
    world_services: tuple[Manifest, ...],
    clusters: tuple[ClusterFact, ...],
    records: tuple[Record, ...],
    plan: SitePlan | None,
    site_file: str,
) -> tuple[VipFact, ...]:
    vips: list[VipFact] = list(_service_vips(world_services))
    if plan is not None:
        vips += [
            VipFact(c.vip, Where(site_file), "site", c.control_plane_namespace)
            for c in plan.clusters
        ]
    covered = {v.cluster for v in vips}
    index = index_records(records)
    for cluster in clusters:
        if cluster.control_plane_namespace in covered:
            continue
        for record in records_for(records, cluster, index):
            if record.rtype in ("A", "AAAA"):
                vips.append(
                    VipFact(record.value, record.where, "dns", cluster.control_plane_namespace)
                )
    if not clusters:
        for record in records:
            if record.rtype in ("A", "AAAA") and record.name.startswith(("api.", "api-int.")):
                vips.append(VipFact(record.value, record.where, "dns", None))
    unique: dict[tuple[str, str | None], VipFact] = {}
    for vip in vips:
        unique.setdefault((vip.address, vip.cluster), vip)
    return tuple(unique.values())


RecordIndex = dict[str, list[tuple[int, Record]]]


def index_records(records: tuple[Record, ...]) -> RecordIndex:
    """Records by name, with their position: one pass instead of one scan per cluster."""
    index: RecordIndex = {}
    for i, record in enumerate(records):
        index.setdefault(record.name, []).append((i, record))
    return index


def records_for(
    records: tuple[Record, ...], cluster: ClusterFact, index: RecordIndex | None = None
) -> list[Record]:
    """Records named api./api-int. for the cluster (relative names match by their labels)."""
    names = cluster.api_names
    short = (f"api.{cluster.name}", f"api-int.{cluster.name}")
    if not names:  # relative names: any name under api.<cluster>. matches, so scan
        prefixes = tuple(s + "." for s in short)
        return [r for r in records if r.name in short or r.name.startswith(prefixes)]
    index = index_records(records) if index is None else index
    hits = {i: r for name in dict.fromkeys((*names, *short)) for i, r in index.get(name, ())}
    return [hits[i] for i in sorted(hits)]


def build_world(
    inputs: Inputs, plan: SitePlan | None = None, *, site_file: str = "site spec"
) -> World:
    """`site_file` names the site spec in findings about what only the spec says."""
    manifests = modernize(inputs.manifests)  # legacy MetalLB objects as today's CRs
    site_ns = plan.site.spec.management_cluster.metallb_namespace if plan else None
    view = metallb_view(manifests, site_ns)
    routers = _paired_by_asn(_routers(inputs, plan, view), view)
    nodes = _nodes(inputs, plan, routers, view, site_file)
    hcs = tuple(m for m in manifests if m.is_a("HostedCluster", "hypershift.openshift.io"))
    services = tuple(
        m
        for m in manifests
        if m.kind == "Service" and m.api_version == "v1" and m.name == "kube-apiserver"
    )
    clusters = _clusters(hcs, plan, site_file)
    vips = _vips(services, clusters, inputs.records, plan, site_file)
    openshift = (
        bool(hcs)
        or plan is not None
        or any((m.namespace or "").startswith("openshift-") for m in manifests)
    )
    return World(inputs, view, routers, nodes, clusters, vips, hcs, services, plan, openshift)

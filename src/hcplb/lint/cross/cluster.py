"""Rules across systems, cluster side: each VIP is in a pool that is advertised and pinned to
its control plane, DNS names the VIP, the API server is a LoadBalancer Service, BFD is on.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from hcplb import gotext
from hcplb.lint.cross.router import check_router_side
from hcplb.lint.facts import VipFact
from hcplb.lint.findings import Finding, Severity, Where, error, warning
from hcplb.lint.k8s import Manifest
from hcplb.lint.metallb.pools import Net, covering, pool_networks, selected_pools
from hcplb.lint.world import World, records_for
from hcplb.metallb.selectors import selects


def _pool_index(world: World) -> dict[Net, Manifest]:
    index: dict[Net, Manifest] = {}
    for pool in world.metallb.in_namespace(world.metallb.pools):
        for net in pool_networks(pool):
            index.setdefault(net, pool)
    return index


def _pool_of(index: dict[Net, Manifest], address: str) -> Manifest | None:
    try:
        return covering(index, ipaddress.ip_network(address))
    except ValueError:
        return None


def _vips(world: World) -> Iterator[Finding]:
    pools = world.metallb.in_namespace(world.metallb.pools)
    if not world.metallb.config_objects:
        return
    index = _pool_index(world)
    for vip in world.vips:
        if _pool_of(index, vip.address) is None:
            names = ", ".join(p.name for p in pools) or "none"
            yield error(
                vip.where,
                "cross.vip.outside-pool",
                f"VIP {vip.address} ({vip.source}) is in no IPAddressPool (pools: {names}): MetalLB "
                "cannot assign it",
                "add the VIP to the cluster's pool, or fix the address",
            )


def _pool_vips(world: World) -> dict[str, tuple[Manifest, list[VipFact]]]:
    found: dict[str, tuple[Manifest, list[VipFact]]] = {}
    index = _pool_index(world)
    for vip in world.vips:
        pool = _pool_of(index, vip.address)
        if pool is not None:
            found.setdefault(pool.name, (pool, []))[1].append(vip)
    return found


def _pools(world: World) -> Iterator[Finding]:
    view = world.metallb
    ads = view.in_namespace(view.advertisements)
    pools = view.in_namespace(view.pools)
    with_vips = _pool_vips(world)
    candidates = [(p, with_vips.get(p.name, (p, []))[1]) for p in pools]
    if with_vips:
        candidates = [(p, v) for p, v in candidates if v]
    # once per advertisement, not once per pool and advertisement (a pool is its own object)
    advertised = {id(p) for ad in ads for p in selected_pools(ad, pools)}
    over_l2 = {
        id(p) for ad in view.in_namespace(view.l2advertisements) for p in selected_pools(ad, pools)
    }
    for pool, vips in candidates:
        if id(pool) not in advertised and id(pool) in over_l2:
            continue  # announced over L2 (ARP/NDP): not this BGP site's pool, and not unannounced
        if id(pool) not in advertised:
            yield error(
                pool.where("metadata", "name"),
                "cross.pool.not-advertised",
                f"no BGPAdvertisement selects pool {pool.name}: its VIPs are assigned but never "
                "announced to the routers",
                f"add a BGPAdvertisement with ipAddressPools: [{pool.name}]",
            )
        if vips or world.serves_control_planes:  # pinning advice is for hosted control planes
            yield from _pinned(pool, vips)
        if pool.get("spec", "autoAssign") is False and not any(v.source == "service" for v in vips):
            yield warning(
                pool.where("spec", "autoAssign"),
                "cross.pool.no-autoassign",
                f"pool {pool.name} has autoAssign: false, but HyperShift's kube-apiserver Service "
                "asks for no address: MetalLB leaves it pending",
                "set autoAssign: true and pin the pool with serviceAllocation instead",
            )


def _pinned(pool: Manifest, vips: list[VipFact]) -> Iterator[Finding]:
    namespaces = [str(n) for n in pool.items("spec", "serviceAllocation", "namespaces")]
    selectors = pool.items("spec", "serviceAllocation", "namespaceSelectors")
    if not namespaces and not selectors:
        what = f"VIP {vips[0].address}" if vips else "its addresses"
        yield Finding.at(
            pool.where("spec"),
            "cross.pool.unpinned",
            Severity.error if vips else Severity.warning,
            f"pool {pool.name} is not pinned to a namespace: any LoadBalancer Service in the "
            f"cluster can take {what}",
            "add spec.serviceAllocation: {namespaces: [<namespace>-<name>], serviceSelectors: "
            "[{matchLabels: {app: kube-apiserver}}]}",
        )
        return
    wanted = {v.cluster for v in vips if v.cluster}
    if namespaces and not selectors and wanted and not wanted & set(namespaces):
        yield error(
            pool.where("spec", "serviceAllocation", "namespaces"),
            "cross.pool.wrong-namespace",
            f"pool {pool.name} is pinned to {', '.join(namespaces)}, but its VIP belongs to the "
            f"control plane in {', '.join(sorted(wanted))}",
            "pin the pool to the hosted cluster's control-plane namespace (<namespace>-<name>)",
        )


def _advertisements(world: World) -> Iterator[Finding]:
    view = world.metallb
    peers = view.in_namespace(view.peers)
    labeled = [n for n in world.nodes if not n.inferred]
    for ad in view.in_namespace(view.advertisements):
        names = [str(p) for p in ad.items("spec", "peers")]
        if names and world.routers:
            targets = [p for p in peers if p.name in names]
            addresses = {a for r in world.routers for a in r.addresses}
            if targets and not any(p.text("spec", "peerAddress") in addresses for p in targets):
                yield error(
                    ad.where("spec", "peers"),
                    "cross.adv.no-router",
                    f"BGPAdvertisement {ad.name} goes only to {', '.join(names)}, none of which "
                    "is a linted router",
                    "list the BGPPeer of each router in spec.peers (or leave peers empty)",
                )
        selectors = ad.items("spec", "nodeSelectors")
        if selectors and labeled and not any(selects(selectors, n.labels) for n in labeled):
            yield error(
                ad.where("spec", "nodeSelectors"),
                "cross.adv.no-node",
                f"BGPAdvertisement {ad.name} selects no node: nothing announces its pools",
                "fix spec.nodeSelectors to match the nodes running MetalLB speakers",
            )


def _dns(world: World) -> Iterator[Finding]:
    files = world.inputs.dns_files
    if not files:
        return
    vips_of: dict[str | None, set[str]] = {}
    for v in world.vips:
        if v.source != "dns":
            vips_of.setdefault(v.cluster, set()).add(v.address)
    for cluster in world.clusters:
        vips = vips_of.get(cluster.control_plane_namespace, set())
        records = [
            r
            for r in records_for(world.records, cluster, world.record_index)
            if r.rtype in ("A", "AAAA")
        ]
        for name in (f"api.{cluster.name}", f"api-int.{cluster.name}"):
            mine = [r for r in records if r.name == name or r.name.startswith(name + ".")]
            label = f"{name}.{cluster.base_domain}" if cluster.base_domain else name
            if not mine:
                yield error(
                    Where(files[0]),
                    "cross.dns.missing",
                    f"no A record for {label} in the DNS files",
                    f"add `{label}. IN A <VIP>`",
                )
            for record in mine:
                if vips and record.value not in vips:
                    yield error(
                        record.where,
                        "cross.dns.wrong",
                        f"{record.name} points at {record.value}, the API VIP is {', '.join(sorted(vips))}",
                        "make the record equal to the VIP MetalLB assigns",
                    )
        values = {r.value for r in records}
        if not vips and len(values) > 1:
            yield error(
                records[0].where,
                "cross.dns.inconsistent",
                f"the API records of {cluster.name} disagree: {', '.join(sorted(values))}",
                "api. and api-int. must both point at the API VIP",
            )


def _services(world: World) -> Iterator[Finding]:
    for svc in world.services:
        kind = svc.text("spec", "type") or "ClusterIP"
        if kind != "LoadBalancer":
            yield error(
                svc.where("spec", "type"),
                "cross.service.type",
                f"Service {svc.namespace}/kube-apiserver is {kind}, not LoadBalancer: MetalLB gives it no VIP",
                "publish the APIServer as LoadBalancer in the HostedCluster (at creation)",
            )


def _bfd(world: World) -> Iterator[Finding]:
    peers = world.metallb.in_namespace(world.metallb.peers)
    if not (peers or world.routers) or world.bfd_in_use():
        return
    hold = next((p.text("spec", "holdTime") for p in peers if p.text("spec", "holdTime")), None)
    never = hold is not None and gotext.parse_duration(hold) == 0
    detail = (
        "hold time 0: a dead node is never detected and keeps its share of the API traffic"
        if never
        else "a dead node keeps its share of the API traffic until the hold time expires "
        f"({hold or '180s, FRR traditional default'})"
    )
    where = (
        peers[0].where("spec")
        if peers
        else Where(world.routers[0].config.file, world.routers[0].bgp.line)
    )
    frr = bool(world.routers) and not _appliance(peers)
    router_side = (
        "`neighbor ... bfd` on the router (bfdd=yes, UDP 3784/3785 open from the nodes)"
        if frr
        else "BFD for the nodes' sessions on the router, with the same intervals (see its "
        "manual; UDP 3784/3785 open from the nodes)"
    )
    yield warning(
        where,
        "cross.bfd.none",
        f"no BFD on the BGP sessions: {detail}",
        f"add a BFDProfile, set bfdProfile on the BGPPeer and {router_side}",
    )


# Routers people peer MetalLB with that are not FRR: their advice cannot be FRR commands.
_APPLIANCES = (
    "mikrotik", "routeros", "unifi", "ubiquiti", "edgerouter", "pfsense", "opnsense",
    "juniper", "junos", "cisco", "arista", "fortigate", "paloalto", "nokia",
)  # fmt: skip


def _appliance(peers: list[Manifest]) -> bool:
    """A BGPPeer whose name or annotations name a known non-FRR router."""
    for peer in peers:
        notes = peer.get("metadata", "annotations")
        words = " ".join(
            [peer.name, *(map(str, notes.values()) if isinstance(notes, dict) else ())]
        )
        if any(a in words.lower() for a in _APPLIANCES):
            return True
    return False


def _allowed_blocks(world: World) -> Iterator[Finding]:
    """allowedCIDRBlocks become the kube-apiserver Service's loadBalancerSourceRanges: a block
    of the family the cluster's VIP is not lets no client in (HyperShift accepts both)."""
    for hc in world.hostedclusters:
        cp = f"{hc.namespace}-{hc.name}"
        families = {
            f for v in world.vips if v.cluster == cp and (f := _ip_family(v.address)) is not None
        }
        blocks = hc.items("spec", "networking", "apiServer", "allowedCIDRBlocks")
        for i, block in enumerate(blocks):
            net = gotext.parse_cidr(str(block))
            if net is None or not families or net.version in families:
                continue
            vip_families = " and ".join(f"IPv{f}" for f in sorted(families))
            yield warning(
                hc.where("spec", "networking", "apiServer", "allowedCIDRBlocks", i),
                "cross.allowed-cidr.family",
                f"HostedCluster {hc.namespace}/{hc.name}: allowedCIDRBlocks {block} is "
                f"IPv{net.version} but its API VIP is {vip_families}: this block lets no client in",
                f"write the {vip_families} networks that may reach the API",
            )


def _ip_family(address: str) -> int | None:
    ip = gotext.parse_ip(address)
    return ip.version if ip is not None else None


def check_cross(world: World) -> list[Finding]:
    """Every rule across systems (router side included)."""
    found: list[Finding] = []
    found += _vips(world)
    found += _pools(world)
    found += _advertisements(world)
    found += _dns(world)
    found += _services(world)
    found += _bfd(world)
    found += _allowed_blocks(world)
    found += check_router_side(world)
    return found

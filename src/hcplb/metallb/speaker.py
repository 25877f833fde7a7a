"""One node's MetalLB speaker: its BGP sessions, what it announces to whom, its frr.conf inputs.

Sessions: every BGPPeer whose nodeSelectors match the node's labels (none = all nodes).
Announcements: for each allocated Service, MetalLB's ShouldAnnounce checks in order
(`notOwner`, `noMatchingAdvertisement`, `conflictingAdvertisements`, `nodeNetworkUnavailable`,
`nodeLabeledExcludeBalancers`, `noLocalEndpoints`/`noEndpoints`); a Service that passes gets
one advertisement per address and BGPAdvertisement (the address masked to aggregationLength,
with its communities and localPref), sent to the advertisement's peers (none = all).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from hcplb.metallb.adv_rules import local_pref_conflict_at_runtime
from hcplb.metallb.allocator import Allocation
from hcplb.metallb.config import compatible_local_pref
from hcplb.metallb.frr import Advertisement, FrrConfig, Session, prefix_version
from hcplb.metallb.model import BgpAdvertisement, MetallbConfig, Peer, Pool
from hcplb.metallb.objects import NodeView, ServiceView
from hcplb.metallb.selectors import matches_any

__all__ = ["SpeakerConfig", "session_for", "speaker_for"]


@dataclass(frozen=True)
class SpeakerConfig:
    """What the speaker on one node does.

    `announced` maps a Service to the prefixes this node sends to at least one router;
    `withheld` maps a Service to MetalLB's reason (its code first) for not announcing it here.
    """

    node: str
    sessions: tuple[Session, ...]
    announced: dict[str, tuple[str, ...]] = field(default_factory=dict)
    withheld: dict[str, str] = field(default_factory=dict)
    frr: FrrConfig = field(default_factory=lambda: FrrConfig(hostname=""))

    @property
    def prefixes(self) -> tuple[str, ...]:
        """Every prefix this node announces, sorted."""
        return tuple(sorted({p for ps in self.announced.values() for p in ps}))

    def prefixes_to(self, peer: str) -> tuple[str, ...]:
        """The prefixes sent to one peer (BGPPeer name, address or interface)."""
        for s in self.sessions:
            if peer in (s.name, s.peer_address, s.peer_interface):
                return tuple(sorted({a.prefix for a in s.advertisements if _reaches(s, a)}))
        return ()


def _reaches(session: Session, adv: Advertisement) -> bool:
    return session.family in (f"ipv{prefix_version(adv.prefix)}", "dual")


def session_for(peer: Peer, advertisements: tuple[Advertisement, ...] = ()) -> Session:
    """The session parameters the speaker hands its session manager for one BGPPeer."""
    return Session(
        my_asn=peer.my_asn,
        peer_address=peer.address,
        peer_interface=peer.interface,
        peer_port=peer.port,
        peer_asn=peer.asn,
        dynamic_asn=peer.dynamic_asn,
        source_address=peer.source_address,
        router_id=peer.router_id,
        hold_time=None if peer.hold_time is None else int(peer.hold_time),
        keepalive_time=None if peer.keepalive_time is None else int(peer.keepalive_time),
        connect_time=None if peer.connect_time is None else int(peer.connect_time),
        password=peer.password,
        bfd_profile=peer.bfd_profile,
        graceful_restart=peer.graceful_restart,
        ebgp_multihop=peer.ebgp_multihop,
        vrf=peer.vrf,
        dual_stack_address_family=peer.dual_stack_address_family,
        local_asn=peer.local_asn,
        name=peer.name,
        advertisements=advertisements,
    )


def _why_not(
    config: MetallbConfig,
    node: NodeView,
    pool: Pool,
    svc: ServiceView,
    ready_on: Collection[str] | None,
) -> tuple[str, tuple[BgpAdvertisement, ...]]:
    """MetalLB's ShouldAnnounce: ("", ads) to announce, else (reason, ())."""
    ads = config.advertisements_of(pool)
    if not any(node.name in a.nodes for a in ads):
        return f"notOwner: no BGPAdvertisement of pool {pool.name} selects this node", ()
    mine = tuple(
        a for a in ads if node.name in a.nodes and matches_any(a.service_selectors, svc.labels)
    )
    if not mine:
        return "noMatchingAdvertisement: no BGPAdvertisement here selects the service", ()
    for i, a in enumerate(mine):
        for b in mine[i + 1 :]:
            if not compatible_local_pref(a, b, pool):
                conflict = local_pref_conflict_at_runtime(
                    a.name, b.name, a.local_pref, b.local_pref
                )
                return f"conflictingAdvertisements: {conflict}", ()
    if node.network_unavailable:
        return "nodeNetworkUnavailable: the node has the NetworkUnavailable condition", ()
    if node.excluded:
        return (
            "nodeLabeledExcludeBalancers: the node is labelled "
            "node.kubernetes.io/exclude-from-external-load-balancers",
            (),
        )
    if ready_on is not None:
        if svc.local_traffic and node.name not in ready_on:
            return "noLocalEndpoints: externalTrafficPolicy Local and no ready endpoint here", ()
        if not ready_on:
            return "noEndpoints: the service has no ready endpoint", ()
    return "", mine


def speaker_for(
    config: MetallbConfig,
    node: NodeView,
    allocations: Mapping[str, Allocation],
    services: Mapping[str, ServiceView],
    endpoints: Mapping[str, Collection[str]] | None = None,
) -> SpeakerConfig:
    """The speaker on `node`; `endpoints` maps a Service to the nodes with a ready endpoint
    (None: every Service has ready endpoints on every node)."""
    peers = [p for p in config.peers if matches_any(p.node_selectors, node.labels)]
    per_service: dict[str, list[tuple[Advertisement, tuple[str, ...]]]] = {}
    withheld: dict[str, str] = {}
    for key in sorted(allocations):
        alloc = allocations[key]
        ips = tuple(ipaddress.ip_address(ip) for ip in alloc.ips)
        pool = config.pool(alloc.pool)
        if pool is None:
            withheld[key] = "ipNotAllowed: the address is in no pool"
            continue
        ready_on = None if endpoints is None else endpoints.get(key, ())
        reason, ads = _why_not(config, node, pool, services[key], ready_on)
        if reason:
            withheld[key] = reason
            continue
        per_service[key] = [
            (Advertisement(a.aggregate(ip), a.communities, a.local_pref), a.peers)
            for ip in ips
            for a in ads
        ]
    sessions: list[Session] = []
    announced: dict[str, set[str]] = {}
    for peer in peers:
        mine = tuple(
            adv
            for advs in per_service.values()
            for adv, only in advs
            if not only or peer.name in only
        )
        session = session_for(peer, mine)
        sessions.append(session)
        for key, advs in per_service.items():
            for adv, only in advs:
                if (not only or peer.name in only) and _reaches(session, adv):
                    announced.setdefault(key, set()).add(adv.prefix)
    for key in per_service:
        if key not in announced:
            withheld[key] = "noPeers: no BGP session on this node takes its advertisements"
    frr = FrrConfig(
        hostname=node.name,
        log_level=config.log_level,
        bfd_profiles=config.bfd_profiles,
        sessions=tuple(sessions),
    )
    return SpeakerConfig(
        node=node.name,
        sessions=tuple(sessions),
        announced={k: tuple(sorted(v)) for k, v in sorted(announced.items())},
        withheld=dict(sorted(withheld.items())),
        frr=frr,
    )

"""What a converged site looks like, computed once from the plan and the MetalLB model (pure).

Per router: the sessions that must be Established and not `(Policy)`, and for each announced
prefix its nexthops (one per announcing node). Per hosted cluster: the names DNS must answer
with its VIP and the API URL that must answer HTTPS. Which nodes open sessions to which router
and announce what is MetalLB's decision, so it comes from `hcplb.metallb.simulate` over the
rendered manifests on a cluster where MetalLB is installed (the guide's files lack the
`MetalLB` resource because the guide takes an installed MetalLB as a prerequisite).

When MetalLB would reject the manifests or run nothing, every node peering with a router is
assumed to announce every VIP and `notes` says why; `problems` lists why MetalLB would not
publish a hosted cluster (the lab refuses such a site, verify reports it per probe).

The lab waits for this state (`hcplb.lab.converge`), verify checks it (`hcplb.probes`) and
apply's commit-confirmed change waits for it (`hcplb.apply.frrstate`); `session_problem` and
`route_problem` are the rule all three judge a router by.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from hcplb.errors import HcplbError
from hcplb.frrjson import Neighbor, PeerSummary
from hcplb.metallb import Simulation, apiserver_service, node_object, simulate
from hcplb.plan import ClusterPlan, SitePlan
from hcplb.render.profile import Profile, manifests_of
from hcplb.render.secrets import Secrets
from hcplb.spec.models import Router

__all__ = [
    "API_PORT",
    "Announcement",
    "Converged",
    "HostedApi",
    "Peer",
    "RouterState",
    "converged_site",
    "discards_updates",
    "route_problem",
    "service_key",
    "session_problem",
]

API_PORT = 6443


@dataclass(frozen=True)
class Peer:
    """A node as a router's BGP neighbour."""

    name: str
    address: str
    asn: int


@dataclass(frozen=True)
class Announcement:
    """A hosted cluster's VIP as a router learns it: the prefix carrying it and its announcers."""

    vip: str
    prefix: str
    """the VIP's /32, or the aggregate MetalLB announces instead"""
    cluster: str
    """`namespace/name` of the hosted cluster"""
    announcers: tuple[Peer, ...]


@dataclass(frozen=True)
class RouterState:
    """A converged router: these sessions Established, these prefixes via these nexthops."""

    name: str
    asn: int
    address: str
    sessions: tuple[Peer, ...]
    vips: tuple[Announcement, ...]

    def prefixes_from(self, node: Peer) -> int:
        return sum(1 for a in self.vips if node in a.announcers)

    @property
    def routes(self) -> dict[str, tuple[str, ...]]:
        """Prefix -> nexthop addresses, sorted (VIPs sharing an aggregate share its nexthops)."""
        hops: dict[str, set[str]] = {}
        for a in self.vips:
            hops.setdefault(a.prefix, set()).update(n.address for n in a.announcers)
        return {p: tuple(sorted(h, key=_ip_key)) for p, h in sorted(hops.items())}


@dataclass(frozen=True)
class HostedApi:
    """A hosted cluster's API as clients reach it: names answering the VIP, the URL."""

    key: str
    """`namespace/name` of the HostedCluster"""
    name: str
    namespace: str
    control_plane_namespace: str
    vip: str
    api_name: str
    api_int_name: str
    announcers: tuple[Peer, ...]
    port: int = API_PORT
    addressed_by_ip: bool = False
    """no DNS zone in the spec: clients use the VIP, so the certificate must cover it"""

    @property
    def id(self) -> str:
        """The probe-id segment of this cluster (its control-plane namespace)."""
        return self.control_plane_namespace

    @property
    def url(self) -> str:
        return f"https://{self.api_name}:{self.port}/version"


@dataclass(frozen=True)
class Converged:
    site: str
    routers: tuple[RouterState, ...]
    apis: tuple[HostedApi, ...]
    manifests: tuple[dict[str, Any], ...] = field(repr=False)
    simulation: Simulation | None = field(repr=False)
    """MetalLB's outcome (None when it would reject the manifests); it holds node frr.confs"""
    notes: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    def router(self, name: str) -> RouterState:
        return next(r for r in self.routers if r.name == name)

    @property
    def names(self) -> dict[str, str]:
        """DNS name -> the address it must answer (api and api-int of every hosted cluster)."""
        result: dict[str, str] = {}
        for api in self.apis:
            result[api.api_name] = api.vip
            result[api.api_int_name] = api.vip
        return result

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(api.url for api in self.apis)


def service_key(cluster: ClusterPlan) -> str:
    return f"{cluster.control_plane_namespace}/kube-apiserver"


def discards_updates(peer: PeerSummary | None, neighbor: Neighbor | None = None) -> bool:
    """The session is up but FRR discards the node's updates (eBGP without a policy, RFC 8212).

    The summary's `(Policy)` hides behind other states (such as `passive`); the neighbor's
    detail, when read, still says it.
    """
    if peer is None or not peer.established:
        return False
    return peer.policy_blocked or (neighbor is not None and neighbor.policy_discards)


def session_problem(peer: PeerSummary | None, neighbor: Neighbor | None = None) -> str | None:
    """Why a router's session to a node is not converged, or None when it is."""
    if peer is None:
        return "not configured"
    if not peer.established:
        return peer.state or "?"
    if discards_updates(peer, neighbor):
        return "Established (Policy): eBGP without an inbound/outbound policy"
    return None


def route_problem(prefix: str, want: Collection[str], got: Collection[str]) -> str | None:
    """Why `prefix` is not converged (a nexthop of `want` missing from `got`), or None.

    Extra nexthops do not block convergence: verify warns about them (a node MetalLB should
    not use announces the VIP), and rolling a router back would not remove them.
    """
    absent = [h for h in want if h not in got]
    if not absent:
        return None
    have = ", ".join(sorted(got, key=_ip_key)) or "no route"
    return f"{prefix}: nexthops {', '.join(absent)} missing (FIB has {have})"


def _ip_key(address: str) -> tuple[int, int]:
    """Numeric order, IPv4 before IPv6 (a malformed address first)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return (0, 0)
    return (ip.version, int(ip))


def _installed(plan: SitePlan, manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The manifests on a cluster where MetalLB is installed (the guide's lack the CR)."""
    if any(m.get("kind") == "MetalLB" for m in manifests):
        return manifests
    mc = plan.site.spec.management_cluster
    installed = {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "MetalLB",
        "metadata": {"name": "metallb", "namespace": mc.metallb_namespace},
        "spec": {"bgpBackend": mc.bgp_backend},
    }
    return [installed, *manifests]


def _simulate(
    plan: SitePlan, manifests: list[dict[str, Any]], extra: Mapping[str, Mapping[str, str]]
) -> tuple[Simulation | None, str]:
    services = [
        apiserver_service(
            c.control_plane_namespace,
            allowed_cidr_blocks=c.cluster.allowed_cidr_blocks,
            ip_families=[f"IPv{f}" for f in plan.families],
        )
        for c in plan.clusters
    ]
    for c, service in zip(plan.clusters, services, strict=True):
        if c.held:
            service["status"] = {"loadBalancer": {"ingress": [{"ip": c.vip}]}}
    nodes = [
        node_object(n.name, n.address, {**n.labels, **extra.get(n.name, {})}, *n.addresses[1:])
        for n in plan.nodes
    ]
    try:
        sim = simulate(_installed(plan, manifests), services, nodes)
    except HcplbError as exc:
        return None, f"MetalLB would reject the rendered manifests ({exc})"
    return sim, sim.reason


# Stands in for a BGP password the caller did not resolve: who peers and announces what does not
# depend on its value, but MetalLB refuses a BGPPeer whose Secret is missing.
_UNRESOLVED_PASSWORD = "hcplb-unresolved-password"


def _with_password(
    plan: SitePlan, secrets: Secrets, profile: Profile, manifests: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The manifests as the cluster holds them: with the password Secret the spec refers to."""
    if plan.site.spec.bgp.password is None or secrets.bgp_password:
        return manifests
    return manifests_of(profile, plan, replace(secrets, bgp_password=_UNRESOLVED_PASSWORD))


def _problems(plan: SitePlan, sim: Simulation | None, reason: str) -> list[str]:
    if sim is None:
        return [reason]
    if reason:
        return [f"MetalLB would run nothing: {reason}"]
    problems = []
    for cluster in plan.clusters:
        key = service_key(cluster)
        got = sim.allocations.get(key)
        if not got:
            why = sim.unallocated.get(key, "no pool matches")
            problems.append(f"MetalLB would give {key} no address: {why}")
        elif cluster.vip not in got:
            problems.append(
                f"MetalLB would give {key} {', '.join(got)} but the site publishes {cluster.vip} "
                "in DNS (hint: check the cluster's vip and pool)"
            )
    return problems


def _covering(vip: str, prefixes: Collection[str]) -> str:
    """The announced prefix that carries `vip` (its /32 or /128, or an aggregate)."""
    host = str(ipaddress.ip_network(vip))
    if host in prefixes:
        return host
    addr = ipaddress.ip_address(vip)
    for p in sorted(prefixes):
        net = ipaddress.ip_network(p, strict=False)
        if net.version == addr.version and addr in net:
            return p
    return host


Session = tuple[str, int]
"""a node's BGP session to a router: (node name, transport family 4 or 6)"""


@dataclass(frozen=True)
class _Speakers:
    """What MetalLB's speakers do, per router: who announces which prefix, who peers."""

    announcers: dict[tuple[str, str], list[Session]]
    """(router name, prefix) -> the sessions announcing it"""
    sessions: dict[str, set[Session]] | None
    """router name -> sessions to it (None: unknown, every peering counts)"""
    notes: tuple[str, ...]


def _speakers(plan: SitePlan, sim: Simulation | None, reason: str) -> _Speakers:
    if sim is None or reason:
        every = {
            (r.name, str(ipaddress.ip_network(c.vip))): [
                (p.node.name, p.family) for p in plan.peerings_of(r) if c.family in p.carries
            ]
            for r in plan.routers
            for c in plan.clusters
        }
        return _Speakers(
            every, None, ("assuming every node peering with a router announces every VIP",)
        )
    by_address = {a: r.name for r in plan.routers for a in r.addresses}
    announcers: dict[tuple[str, str], list[Session]] = {}
    sessions: dict[str, set[Session]] = {r.name: set() for r in plan.routers}
    for node, speaker in sorted(sim.speakers.items()):
        for session in speaker.sessions:
            address = session.peer_address or ""
            router = by_address.get(address)
            if router is None:
                continue
            key = (node, ipaddress.ip_address(address).version)
            sessions[router].add(key)
            for prefix in speaker.prefixes_to(address):
                announcers.setdefault((router, prefix), []).append(key)
    return _Speakers(announcers, sessions, sim.notes)


def _router_state(
    plan: SitePlan, router: Router, speakers: _Speakers, peers: Mapping[Session, Peer]
) -> RouterState:
    prefixes = {p for (r, p) in speakers.announcers if r == router.name}
    vips = []
    for c in plan.clusters:
        prefix = _covering(c.vip, prefixes)
        keys = sorted(set(speakers.announcers.get((router.name, prefix), [])))
        cluster = f"{c.cluster.namespace}/{c.cluster.name}"
        vips.append(
            Announcement(c.vip, prefix, cluster, tuple(peers[k] for k in keys if k in peers))
        )
    peerings = plan.peerings_of(router)
    if speakers.sessions is not None:
        found = speakers.sessions[router.name]
        peerings = tuple(p for p in peerings if (p.node.name, p.family) in found)
    return RouterState(
        name=router.name,
        asn=router.asn,
        address=router.address,
        sessions=tuple(peers[(p.node.name, p.family)] for p in peerings),
        vips=tuple(vips),
    )


def _hosted_api(plan: SitePlan, c: ClusterPlan, routers: Sequence[RouterState]) -> HostedApi:
    announcers = {
        n.name: n for r in routers for a in r.vips if a.vip == c.vip for n in a.announcers
    }
    return HostedApi(
        key=f"{c.cluster.namespace}/{c.cluster.name}",
        name=c.cluster.name,
        namespace=c.cluster.namespace,
        control_plane_namespace=c.control_plane_namespace,
        vip=c.vip,
        api_name=c.api_name,
        api_int_name=c.api_int_name,
        announcers=tuple(announcers[n] for n in sorted(announcers)),
        addressed_by_ip=plan.site.spec.dns.zone is None,
    )


def converged_site(
    plan: SitePlan,
    secrets: Secrets,
    *,
    profile: Profile = Profile.hcplb,
    extra_labels: Mapping[str, Mapping[str, str]] | None = None,
) -> Converged:
    """The converged state of `plan` rendered with `profile`.

    `extra_labels` adds labels to some nodes (node -> labels), e.g. the exclude label of a drain.
    """
    # 1. MetalLB over the manifests this profile renders (with MetalLB installed)
    manifests = manifests_of(profile, plan, secrets)
    held = _with_password(plan, secrets, profile, manifests)
    sim, reason = _simulate(plan, held, extra_labels or {})
    problems = _problems(plan, sim, reason)
    speakers = _speakers(plan, sim, reason)
    # 2. per router: sessions, and each hosted cluster's VIP prefix with its announcers
    peers = {
        (p.node.name, p.family): Peer(p.node.name, p.node_address, p.node_asn)
        for p in plan.peerings
    }
    routers = tuple(_router_state(plan, r, speakers, peers) for r in plan.routers)
    # 3. per hosted cluster: DNS names, API URL, and every node that announces its VIP
    apis = tuple(_hosted_api(plan, c, routers) for c in plan.clusters)
    if not problems:  # MetalLB publishes every VIP, yet a VIP may reach no router
        problems = [
            f"no node would announce {a.vip} ({a.control_plane_namespace}/kube-apiserver) "
            "to any router"
            for a in apis
            if not a.announcers
        ]
    return Converged(
        site=plan.site.name,
        routers=routers,
        apis=apis,
        manifests=tuple(manifests),
        simulation=sim,
        notes=speakers.notes,
        problems=tuple(problems),
    )

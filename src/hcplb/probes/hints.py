"""The likely cause of each kind of failure, in words an operator can act on.

Each hint names the cause first, then where to look or what to change. Functions take the
few facts that make the hint specific (a node name, an ASN); no probe logic lives here.
"""

from __future__ import annotations

__all__ = [
    "API_CLOSED",
    "BFD_BOTH_DOWN",
    "BFD_DAEMON",
    "BFD_NO_SESSION",
    "BFD_ONE_SIDED",
    "BGP_DAEMON",
    "CERT_NAME",
    "DNS_DISAGREE",
    "DNS_NXDOMAIN",
    "DNS_TIMEOUT",
    "DRIFT",
    "FIB_NOT_INSTALLED",
    "FRR_SERVICE",
    "HC_NOT_LOADBALANCER",
    "IP6_FORWARD",
    "IP_FORWARD",
    "METALLB_CR_MISSING",
    "METALLB_NOT_INSTALLED",
    "MULTIPATH_HASH",
    "NOT_CONFIGURED",
    "POLICY",
    "SERVICE_NO_INGRESS",
    "TLS_UNTRUSTED",
    "VIP_NOT_ANNOUNCED",
    "ZEBRA_DAEMON",
    "active_session",
    "api_unreachable",
    "bad_peer_as_node",
    "bad_peer_as_router",
    "dns_wrong_address",
    "fewer_nexthops",
    "kube_unreachable",
    "no_prefixes",
    "open_stuck",
    "router_unreachable",
    "service_wrong_ip",
    "spread_missing",
]

# -- router ------------------------------------------------------------------------------------

FRR_SERVICE = (
    "the frr service is stopped: `systemctl status frr` and `journalctl -u frr` say why; "
    "`systemctl enable --now frr` starts it now and at every boot"
)
BGP_DAEMON = (
    "bgpd is not running: set bgpd=yes in /etc/frr/daemons and restart FRR "
    "(`systemctl restart frr`)"
)
BFD_DAEMON = (
    "bfdd is not running: set bfdd=yes in /etc/frr/daemons and restart FRR; without it BFD "
    "sessions never come up"
)
ZEBRA_DAEMON = "zebra is not running: nothing BGP learns reaches the kernel; restart FRR"


def router_unreachable(target: str) -> str:
    return (
        f"could not run commands on {target}: check the --router target (SSH reachability, "
        "known_hosts, key, sudo without password) and that FRR's vtysh is installed"
    )


def bad_peer_as_router(observed: int, expected: int) -> str:
    return (
        f"Bad Peer AS: the router presents AS {observed}, but the nodes (MetalLB BGPPeer "
        f"peerASN) expect {expected}; they refuse its OPEN. Fix `router bgp {expected}` "
        "(or the local-as) on the router, or the site's router ASN"
    )


def bad_peer_as_node(observed: int, expected: int, node: str) -> str:
    return (
        f"Bad Peer AS: the router expects AS {observed} from {node}, but the node speaks AS "
        f"{expected} (MetalLB BGPPeer myASN); the OPEN is refused. Fix the neighbor's "
        "remote-as on the router (re-apply the rendered frr.conf)"
    )


def not_configured(node: str, address: str, router: str) -> str:
    return (
        f"{node} ({address}) is not a neighbor of router {router}: the router rejects its "
        "connection. Add it to the node peer-group, or re-apply the rendered frr.conf "
        "(`hcplb apply --router`)"
    )


NOT_CONFIGURED = "node not configured as a neighbor on the router"


def active_session(node: str, *, bfd_up: bool) -> str:
    if bfd_up:
        return (
            f"TCP 179 from {node} is blocked: BFD to the node is up, so the node is alive and "
            "its speaker runs, but its BGP connection does not reach bgpd. Check the router's "
            "firewall (iptables/nftables/firewalld) accepts TCP 179 from the machine network"
        )
    return (
        f"{node} does not connect: MetalLB nodes dial the router (their bgpd does not listen), "
        "so check that the node's speaker is running, its BGPPeer (peerAddress, peerASN, "
        "myASN) names this router, and that TCP 179 reaches the router (firewall)"
    )


def open_stuck(node: str) -> str:
    return (
        f"the OPEN exchange with {node} does not complete: an ASN mismatch (Bad Peer AS) or a "
        "TCP MD5 password that differs between the router and the BGPPeer's password Secret"
    )


POLICY = (
    "(Policy): FRR requires an inbound policy on eBGP sessions (RFC 8212, "
    "`bgp ebgp-requires-policy`) and none applies, so every route from the nodes is dropped. "
    "Re-apply the rendered frr.conf: it sets `route-map ... in` on the node peer-group"
)


def no_prefixes(node: str, received: int, expected: int) -> str:
    return (
        f"{node} sends {received} of {expected} expected prefixes: its speaker announces "
        "nothing for this VIP (the kube-apiserver Service has no IP from the pool, no "
        "BGPAdvertisement selects the pool, or the node is excluded), or the router's "
        "prefix-list drops it (VIP outside the accepted pools)"
    )


VIP_NOT_ANNOUNCED = "no node announces the VIP to this router"
FIB_NOT_INSTALLED = (
    "prefix received but not in the FIB: zebra did not install it (zebra not running, a "
    "RIB-failure shown as `r` in `show ip bgp`, or another route for the VIP with a lower "
    "administrative distance such as a static route)"
)


def fewer_nexthops(paths: int, installed: int, nodes: int) -> str:
    if paths > installed:
        return (
            f"BGP has {paths} paths but only {installed} are installed: `maximum-paths` is "
            f"below the {nodes} nodes (or nodes with different ASNs lack `bgp bestpath as-path "
            "multipath-relax`); connections then go to fewer nodes"
        )
    return (
        f"fewer nexthops than nodes ({installed} of {nodes}): some nodes do not announce the "
        "VIP (see their session probes), so their share of connections goes elsewhere"
    )


BFD_NO_SESSION = (
    "no BFD session for this node: the router's neighbor lacks `bfd` / `bfd profile` "
    "(re-apply the rendered frr.conf)"
)
BFD_ONE_SIDED = (
    "BFD is down while BGP is up (one-sided): the node does not run BFD for this session "
    "(its BGPPeer has no bfdProfile, or the BFDProfile is missing), or UDP 3784 is blocked. "
    "A dead node is then detected only after the BGP hold time"
)
BFD_BOTH_DOWN = (
    "BFD and BGP are both down: the node is unreachable from the router or its speaker "
    "(FRR) stopped"
)
IP_FORWARD = (
    "the router drops traffic for the VIPs: `sysctl -w net.ipv4.ip_forward=1` and keep it "
    "in /etc/sysctl.d/90-hcplb.conf"
)
IP6_FORWARD = (
    "the router drops traffic for the IPv6 VIPs: `sysctl -w net.ipv6.conf.all.forwarding=1` "
    "and keep it in /etc/sysctl.d/90-hcplb.conf"
)
MULTIPATH_HASH = (
    "ECMP hashes on addresses only (policy 0): every connection from one client goes to the "
    "same node. `sysctl -w net.ipv4.fib_multipath_hash_policy=1` hashes on ports too"
)
DRIFT = (
    "the running config is not the rendered one: apply it (`hcplb apply --router`), or "
    "render from the spec that describes this router"
)

# -- dns ---------------------------------------------------------------------------------------

DNS_NXDOMAIN = (
    "the record does not exist (NXDOMAIN): add the api and api-int A records "
    "(`hcplb apply --dns`, or the lines in dns/<zone>.records)"
)
DNS_TIMEOUT = "the resolver did not answer: check it runs and UDP/TCP 53 reaches it"
DNS_DISAGREE = (
    "resolvers answer differently: a stale copy (secondary not transferred, a cached old "
    "record, split-horizon view); compare their SOA serials"
)


def dns_wrong_address(observed: str, vip: str) -> str:
    return (
        f"the record points to {observed}, not the VIP {vip}: a stale or hand-made record; "
        "update it (`hcplb apply --dns`)"
    )


# -- api ---------------------------------------------------------------------------------------


def api_unreachable(vip: str) -> str:
    return (
        f"nothing answers on {vip}:6443: check the VIP is in the router's FIB (router probes), "
        "that the API server pods run, and that no firewall between the client and the VIP "
        "blocks 6443"
    )


API_CLOSED = "the API server did not answer the request: check the kube-apiserver pods"
TLS_UNTRUSTED = (
    "untrusted CA: the certificate does not chain to the --ca-file given (the hosted "
    "cluster's root CA is in the `<name>-admin-kubeconfig` or `root-ca` Secret)"
)
CERT_NAME = (
    "TLS name mismatch: the serving certificate does not cover the API name; HyperShift "
    "adds spec.services APIServer hostname / the VIP to its SANs, so the HostedCluster "
    "must publish the API under this name"
)


def spread_missing(missing: list[str]) -> str:
    return (
        f"no connection reached {', '.join(missing)}: their API server stand-in (or pod) is "
        "down, or the router sends them nothing (fewer nexthops, L3-only ECMP hash)"
    )


# -- cluster -----------------------------------------------------------------------------------


def kube_unreachable(what: str) -> str:
    return (
        f"the Kubernetes API did not answer ({what}): check --kubeconfig / --context, the API "
        "server address and your network path to it"
    )


METALLB_NOT_INSTALLED = (
    "MetalLB is not installed (no metallbs.metallb.io CRD): install the MetalLB operator "
    "(OperatorHub: MetalLB Operator) on the management cluster"
)
METALLB_CR_MISSING = (
    "MetalLB CR missing: the operator deploys no controller or speakers until a `MetalLB` "
    "named `metallb` exists in its namespace; apply cluster/metallb.yaml first"
)
SERVICE_NO_INGRESS = (
    "Service without ingress IP: no MetalLB pool gives it an address (the pool is not pinned "
    "to this namespace, it is exhausted, or autoAssign is off without the "
    "metallb.universe.tf/loadBalancerIPs annotation), or the MetalLB controller is not running"
)


def service_wrong_ip(observed: str, vip: str) -> str:
    return (
        f"the Service got {observed}, not {vip}: another pool with autoAssign matched first, "
        "or a loadBalancerIPs annotation asks for it; pin the VIP's pool to this namespace"
    )


HC_NOT_LOADBALANCER = (
    "the HostedCluster does not publish APIServer as LoadBalancer; spec.services is "
    "immutable, so the hosted cluster must be recreated with it (`hcplb hostedcluster patch`)"
)


# -- frr-k8s (bgpBackend frr-k8s) ---------------------------------------------------------

FRRK8S_NO_CONFIGURATION = (
    "MetalLB's speaker on the node writes it: check the MetalLB CR has bgpBackend frr-k8s, the "
    "speaker pod on the node runs (its logs name a failed FRRConfiguration update), and that "
    "a BGPPeer selects the node"
)
FRRK8S_STALE_CONFIGURATION = (
    "MetalLB rewrites it from the BGPPeers, pools and advertisements: compare them with "
    "the rendered cluster/ files (hcplb verify reports those too), then the speaker's logs"
)
FRRK8S_EXTRA_CONFIGURATION = (
    "frr-k8s merges every FRRConfiguration selecting a node: check that it does not widen what "
    "the node advertises or accepts (hcplb lint reports that), or narrow its nodeSelector"
)
FRRK8S_NOT_ON_NODE = (
    "the frr-k8s daemon set has no pod on this node (or it never reconciled): "
    "oc -n openshift-frr-k8s get pods -o wide"
)


def frrk8s_conversion(node: str) -> str:
    return (
        f"the node keeps its previous frr.conf; the error names the object: oc get frrnodestate "
        f"{node} -o jsonpath='{{.status.lastConversionResult}}', then fix that FRRConfiguration "
        "(conflicting ASN, password or timers between two of them; hold time under 3 s)"
    )


def frrk8s_reload(node: str) -> str:
    return (
        f"oc get frrnodestate {node} -o jsonpath='{{.status.lastReloadResult}}' shows FRR's "
        "complaint; a raw config snippet in an FRRConfiguration is the usual cause"
    )


def frrk8s_no_session(node: str, router: str) -> str:
    return (
        f"frr-k8s has no neighbor {router} on {node}: MetalLB's FRRConfiguration for the node "
        "lacks it (BGPPeer nodeSelectors) or frr-k8s could not merge it (see FRRNodeState)"
    )

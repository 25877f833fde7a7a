"""cluster/: the MetalLB manifests that publish every hosted cluster's API VIP over BGP.

`cluster_manifests` builds plain dicts (the MetalLB simulator, `apply` and `verify` use them);
`render_cluster_files` writes them, with comments saying why, one kind per file, in apply order:
the `MetalLB` CR, BFD profile, password Secret, pools, peers, advertisement.

The hcplb profile gives each hosted cluster its own `IPAddressPool` holding just its VIP and
pinned (serviceAllocation) to the `kube-apiserver` Service of its control-plane namespace, so
no other Service can take the VIP and the VIP cannot go to another cluster.
"""

from __future__ import annotations

import base64
import copy
import ipaddress
from collections.abc import Mapping
from typing import Any

from hcplb.metallb.objects import CONTROL_PLANE_NAMESPACE_SELECTOR, KAS_SERVICE_SELECTOR
from hcplb.plan import ClusterPlan, SitePlan, node_asn
from hcplb.render._yaml import Comments, dump, dump_all
from hcplb.render.files import RenderedFile
from hcplb.render.secrets import Secrets
from hcplb.spec.models import Pool, Router
from hcplb.spec.pools import pool_networks

__all__ = [
    "ADVERTISEMENT_NAME",
    "PASSWORD_SECRET_FILE",
    "PASSWORD_SECRET_NAME",
    "cluster_files",
    "cluster_manifests",
    "peer_name",
    "render_cluster_files",
]

METALLB = "metallb.io/v1beta1"
METALLB_V1BETA2 = "metallb.io/v1beta2"
PASSWORD_SECRET_NAME = "hcplb-bgp-password"
PASSWORD_SECRET_FILE = "cluster/bgp-password-secret.yaml"
ADVERTISEMENT_NAME = "hcplb-api"
HOSTNAME_LABEL = "kubernetes.io/hostname"
# serviceAllocation priority: a cluster's pinned pool (1) wins over a shared pool (2) that
# also matches its kube-apiserver Service
PINNED_PRIORITY = 1
SHARED_PRIORITY = 2

# file name and what the summary table calls it, per kind, in apply order
_FILES: dict[str, tuple[str, str]] = {
    "MetalLB": ("cluster/metallb.yaml", "MetalLB"),
    "BFDProfile": ("cluster/bfdprofile.yaml", "BFDProfile"),
    "Secret": (PASSWORD_SECRET_FILE, "Secret"),
    "IPAddressPool": ("cluster/ipaddresspools.yaml", "IPAddressPool"),
    "BGPPeer": ("cluster/bgppeers.yaml", "BGPPeer"),
    "BGPAdvertisement": ("cluster/bgpadvertisement.yaml", "BGPAdvertisement"),
}

_HEADERS: dict[str, str] = {
    "MetalLB": (
        "The MetalLB operator deploys nothing until this CR exists; it must be named `metallb`\n"
        "and live in the operator's namespace. Apply it first and wait until it is Available."
    ),
    "BFDProfile": "BFD declares a node dead after {detect} ms without packets (receive x multiplier).",
    "Secret": "The BGP (TCP MD5) password the peers refer to. Secret: keep this file private.",
    "IPAddressPool": (
        "One pool per hosted cluster, holding only its API VIP and usable only by the\n"
        "kube-apiserver Service of its control-plane namespace."
    ),
    "BGPPeer": "One session per router (per router and ASN when nodes have their own ASNs).",
    "BGPAdvertisement": "Announce the API VIPs, as {hosts} host routes, to the routers.",
}


def cluster_manifests(plan: SitePlan, secrets: Secrets) -> list[dict[str, Any]]:
    """The MetalLB objects of the site as plain dicts, in apply order.

    The password Secret is included only when the password's value is known (`secrets`);
    its `data.password` is base64 as in the API. BGPPeers refer to it whenever the spec sets a
    password.
    """
    docs: list[dict[str, Any]] = [_metallb(plan)]
    if plan.bfd is not None:
        docs.append(_bfd_profile(plan))
    if plan.site.spec.bgp.password is not None and secrets.bgp_password:
        docs.append(_password_secret(plan, secrets.bgp_password))
    docs += [_pool(plan, c) for c in plan.clusters if not c.shared]
    docs += [_shared_pool(plan, p) for p in plan.shared_pools]
    peers = _peers(plan)
    docs += peers
    docs += _advertisements(plan, peers)
    return docs


def render_cluster_files(plan: SitePlan, secrets: Secrets) -> list[RenderedFile]:
    """cluster/*.yaml and the kustomization.yaml that lists them in apply order."""
    return cluster_files(plan, cluster_manifests(plan, secrets))


def cluster_files(
    plan: SitePlan, docs: list[dict[str, Any]], *, explain: bool = True
) -> list[RenderedFile]:
    """`docs` one kind per file in apply order, with a kustomization.yaml listing the files;
    `explain`: with the comments that say why."""
    files: list[RenderedFile] = []
    for kind, (path, label) in _FILES.items():
        of_kind = [d for d in docs if d["kind"] == kind]
        if not of_kind:
            continue
        header = _header(plan, kind) if explain else ""
        texts = [
            dump(d, comments=_comments(d) if explain else {}, header=header if i == 0 else "")
            for i, d in enumerate(of_kind)
        ]
        secret = kind == "Secret"
        files.append(
            RenderedFile(
                path, dump_all(texts), mode=0o600 if secret else 0o644, secret=secret, kind=label
            )
        )
    files.insert(0, _kustomization(plan, [f.path for f in files], explain))
    return files


_SHARED_HEADER = (
    "{pinned}One shared pool for every hosted control plane (the namespaces HyperShift labels),\n"
    "kube-apiserver Services only: MetalLB picks each VIP, and a new hosted cluster changes\n"
    "neither this file nor the routers."
)


def _header(plan: SitePlan, kind: str) -> str:
    detect = plan.bfd.receive_interval * plan.bfd.detect_multiplier if plan.bfd else 0
    if kind == "IPAddressPool" and plan.shared_pools:
        pinned = any(not c.shared for c in plan.clusters)
        return _SHARED_HEADER.format(pinned=_HEADERS[kind] + "\n" if pinned else "")
    hosts = " and ".join(
        f"/{32 if f == 4 else 128}" for f in sorted({c.family for c in plan.clusters})
    )
    return _HEADERS[kind].format(detect=detect, hosts=hosts)


def peer_name(router: Router, asn: int | None = None, *, v6_of_two: bool = False) -> str:
    """The BGPPeer of a router (of a router and node ASN, when nodes have several ASNs);
    `-v6` for a router's IPv6 session when it also has an IPv4 one."""
    name = router.name if asn is None else f"{router.name}-as{asn}"
    return f"{name}-v6" if v6_of_two else name


def peer_sessions(plan: SitePlan, router: Router) -> tuple[tuple[int, tuple[int, ...]], ...]:
    """(transport family, carried families) of each BGPPeer kind of a router, IPv4 first."""
    kinds = sorted({(p.family, p.carries) for p in plan.peerings_of(router)})
    return tuple(kinds)


# --- the hcplb profile ---------------------------------------------------------------------


def _meta(plan: SitePlan, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": plan.site.spec.management_cluster.metallb_namespace,
        "labels": {"app.kubernetes.io/managed-by": "hcplb", "hcplb.io/site": plan.site.name},
    }


def _metallb(plan: SitePlan) -> dict[str, Any]:
    return {
        "apiVersion": METALLB,
        "kind": "MetalLB",
        "metadata": _meta(plan, "metallb"),
        "spec": {"bgpBackend": plan.site.spec.management_cluster.bgp_backend},
    }


def _bfd_profile(plan: SitePlan) -> dict[str, Any]:
    bfd = plan.bfd
    assert bfd is not None
    return {
        "apiVersion": METALLB,
        "kind": "BFDProfile",
        "metadata": _meta(plan, bfd.name),
        "spec": {
            "receiveInterval": bfd.receive_interval,
            "transmitInterval": bfd.transmit_interval,
            "detectMultiplier": bfd.detect_multiplier,
            "echoMode": bfd.echo_mode,
            "passiveMode": bfd.passive_mode,
        },
    }


def _password_secret(plan: SitePlan, password: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(plan, PASSWORD_SECRET_NAME),
        "type": "kubernetes.io/basic-auth",
        "data": {"password": base64.b64encode(password.encode()).decode()},
    }


def _host_prefix(vip: str) -> str:
    return str(ipaddress.ip_network(vip))


def _pool(plan: SitePlan, cluster: ClusterPlan) -> dict[str, Any]:
    return {
        "apiVersion": METALLB,
        "kind": "IPAddressPool",
        "metadata": _meta(plan, cluster.metallb_pool),
        "spec": {
            "addresses": [_host_prefix(cluster.vip)],
            "autoAssign": True,
            "avoidBuggyIPs": False,
            "serviceAllocation": {
                "priority": PINNED_PRIORITY,
                "namespaces": [cluster.control_plane_namespace],
                "serviceSelectors": [copy.deepcopy(KAS_SERVICE_SELECTOR)],
            },
        },
    }


def _shared_pool(plan: SitePlan, pool: Pool) -> dict[str, Any]:
    return {
        "apiVersion": METALLB,
        "kind": "IPAddressPool",
        "metadata": _meta(plan, pool.name),
        "spec": {
            "addresses": list(pool.addresses),
            "autoAssign": True,
            "avoidBuggyIPs": True,
            "serviceAllocation": {
                "priority": SHARED_PRIORITY,
                "namespaceSelectors": [copy.deepcopy(CONTROL_PLANE_NAMESPACE_SELECTOR)],
                "serviceSelectors": [copy.deepcopy(KAS_SERVICE_SELECTOR)],
            },
        },
    }


def _duration(seconds: float) -> str:
    return f"{int(seconds)}s" if float(seconds).is_integer() else f"{round(seconds * 1000)}ms"


def _asn_groups(plan: SitePlan) -> dict[int, list[str]]:
    """Node names per node ASN, ASNs ascending."""
    groups: dict[int, list[str]] = {}
    for node in plan.nodes:
        groups.setdefault(node_asn(plan.site, node), []).append(node.name)
    return dict(sorted(groups.items()))


def _peers(plan: SitePlan) -> list[dict[str, Any]]:
    groups = _asn_groups(plan)
    speakers = dict(plan.site.spec.management_cluster.speaker_node_selector)
    peers = []
    for router in plan.routers:
        sessions = peer_sessions(plan, router)
        for family, carries in sessions:
            v6_of_two = family == 6 and len(sessions) > 1
            for asn, names in groups.items():
                if len(groups) == 1:
                    name = peer_name(router, v6_of_two=v6_of_two)
                    selectors = [{"matchLabels": speakers}] if speakers else []
                else:
                    # MetalLB's FRR mode takes one myASN per node: one peer per (router, node ASN).
                    name = peer_name(router, asn, v6_of_two=v6_of_two)
                    selector: dict[str, Any] = {"matchLabels": speakers} if speakers else {}
                    selector["matchExpressions"] = [
                        {"key": HOSTNAME_LABEL, "operator": "In", "values": list(names)}
                    ]
                    selectors = [selector]
                address = router.address_of(family) or router.address
                peer = _peer(plan, router, name, asn, selectors, address)
                if len(carries) > 1:
                    peer["spec"]["dualStackAddressFamily"] = True
                peers.append(peer)
    return peers


def asn_router_id(asn: int) -> str:
    """The BGP router ID of IPv6-only nodes: their ASN as a dotted quad (64513 -> 0.0.252.1).

    FRR's router-id is 32 bits and taken from an IPv4 address; a node without one has
    0.0.0.0, and bgpd keeps every session Idle. MetalLB's BGPPeer `routerID` sets it (the same
    value in every BGPPeer, as MetalLB requires); the ASN differs from the routers' own."""
    return str(ipaddress.IPv4Address(asn))


def _peer(
    plan: SitePlan,
    router: Router,
    name: str,
    my_asn: int,
    selectors: list[dict[str, Any]],
    address: str,
) -> dict[str, Any]:
    bgp = plan.site.spec.bgp
    spec: dict[str, Any] = {
        "myASN": my_asn,
        "peerASN": router.asn,
        "peerAddress": address,
        "holdTime": _duration(bgp.hold_time),
        "keepaliveTime": _duration(bgp.keepalive_time),
        "connectTime": _duration(bgp.connect_time),
    }
    if 4 not in plan.families:
        spec["routerID"] = asn_router_id(my_asn)
    if bgp.bfd is not None:
        spec["bfdProfile"] = bgp.bfd.name
    if bgp.password is not None:
        spec["passwordSecret"] = {
            "name": PASSWORD_SECRET_NAME,
            "namespace": plan.site.spec.management_cluster.metallb_namespace,
        }
    if selectors:
        spec["nodeSelectors"] = selectors
    return {
        "apiVersion": METALLB_V1BETA2,
        "kind": "BGPPeer",
        "metadata": _meta(plan, name),
        "spec": spec,
    }


def _advertisements(plan: SitePlan, peers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One advertisement of every VIP to every peer; with per-family sessions on a site with
    VIPs of both families, one per family (`hcplb-api-v6` for IPv6) to the peers of that
    family, so that no pool is advertised to a session that cannot carry it."""
    names = [p["metadata"]["name"] for p in peers]
    families = plan.announced_families()
    if plan.dual_stack_sessions or len(families) < 2:
        return [_advertisement(plan, ADVERTISEMENT_NAME, names)]
    found = []
    for family in sorted(families):
        name = ADVERTISEMENT_NAME if family == 4 else f"{ADVERTISEMENT_NAME}-v6"
        of_family = [
            p["metadata"]["name"]
            for p in peers
            if (6 if ":" in p["spec"]["peerAddress"] else 4) == family
        ]
        found.append(_advertisement(plan, name, of_family, family))
    return found


def _advertisement(
    plan: SitePlan, name: str, peers: list[str], family: int | None = None
) -> dict[str, Any]:
    """The pools of every family (`family` None), or of one, announced to `peers`."""
    pools = [
        c.metallb_pool
        for c in plan.clusters
        if not c.shared and (family is None or c.family == family)
    ]
    families: set[int] = {c.family for c in plan.clusters if not c.shared}
    for pool in plan.shared_pools:
        versions = {n.version for n in pool_networks(pool.addresses)}
        if family is None or family in versions:
            pools.append(pool.name)
            families |= versions
    v6 = 6 in families if family is None else family == 6
    return {
        "apiVersion": METALLB,
        "kind": "BGPAdvertisement",
        "metadata": _meta(plan, name),
        "spec": {
            "ipAddressPools": pools,
            **({"aggregationLengthV6": 128} if v6 else {}),
            "peers": peers,
        },
    }


def _comments(doc: Mapping[str, Any]) -> Comments:
    kind = doc["kind"]
    if kind == "MetalLB":
        if doc["spec"].get("bgpBackend") == "frr":
            note = "MetalLB's own FRR in the speaker pods (older OpenShift releases)"
        else:
            note = "frr-k8s renders each node's frr.conf (namespace openshift-frr-k8s)"
        return {("spec", "bgpBackend"): note}
    if kind == "IPAddressPool" and "namespaceSelectors" in doc["spec"]["serviceAllocation"]:
        return {
            ("spec", "avoidBuggyIPs"): "MetalLB picks: skip .0/.255, as hcplb's prediction does",
            ("spec", "serviceAllocation", "namespaceSelectors"): (
                "the label HyperShift puts on every control-plane namespace"
            ),
            ("spec", "serviceAllocation", "priority"): "a cluster's pinned pool (1) wins",
        }
    if kind == "IPAddressPool":
        return {
            (
                "spec",
                "autoAssign",
            ): "HyperShift's Service asks for no address: MetalLB must assign it",
            (
                "spec",
                "avoidBuggyIPs",
            ): "the VIP is chosen on purpose; true would refuse a .0/.255 VIP",
            ("spec", "serviceAllocation"): "only this Service may take the VIP",
            ("spec", "serviceAllocation", "priority"): "preferred over any other pool that matches",
        }
    if kind == "BGPPeer":
        notes: dict[tuple[str | int, ...], str] = {
            ("spec", "connectTime"): "retry a lost session quickly (FRR's default is 120s)",
        }
        if "routerID" in doc["spec"]:
            notes[("spec", "routerID")] = "IPv6-only nodes have no IPv4 router-id: the ASN's"
        if doc["spec"].get("dualStackAddressFamily"):
            notes[("spec", "dualStackAddressFamily")] = "this IPv4 session carries IPv6 too"
        if any("matchExpressions" in s for s in doc["spec"].get("nodeSelectors", [])):
            notes[("spec", "nodeSelectors")] = "FRR mode takes one myASN per node"
        return notes
    if kind == "BGPAdvertisement":
        return {
            ("spec", "peers"): "the routers hcplb configured, no other peer",
            ("spec", "aggregationLengthV6"): "each IPv6 VIP as its own /128 (the default)",
        }
    return {}


def _kustomization(plan: SitePlan, paths: list[str], explain: bool) -> RenderedFile:
    doc = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [p.removeprefix("cluster/") for p in paths],
    }
    ns = plan.site.spec.management_cluster.metallb_namespace
    header = (
        ""
        if not explain
        else f"MetalLB for site {plan.site.name}. Apply the MetalLB CR first and wait for it:\n"
        "  oc apply -f metallb.yaml\n"
        f"  oc -n {ns} wait metallb/metallb --for=condition=Available --timeout=10m\n"
        "then everything (again, idempotent): oc apply -k ."
    )
    return RenderedFile(
        "cluster/kustomization.yaml", dump(doc, header=header), kind="kustomization"
    )

"""`verify --hosted-clusters all`: every HostedCluster of the management cluster, not just the
spec's, with its VIP read from its kube-apiserver Service's status; probes grouped per cluster.

`list_hosted_clusters` reads (lightkube, read only) the HostedClusters of all namespaces, then
each one's `kube-apiserver` Service in `<namespace>-<name>`. `fleet_apis` turns the listing into
the `HostedApi`s the DNS, API and cluster probes check (a cluster without a VIP gets a failure of
its own instead), and `group_by_cluster` sorts a run's probes per hosted cluster, the rest under
`site`. The lab uses the same listing and grouping.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import lightkube
from lightkube.resources.core_v1 import Service

from hcplb.converged import HostedApi
from hcplb.errors import ProbeError
from hcplb.probes import hints
from hcplb.probes.kubeobjects import Missing, fetch, why
from hcplb.probes.model import Probe, Report, Status, fail, passed
from hcplb.probes.sources import Prepared
from hcplb.targets.kube import RESOURCES

__all__ = [
    "SITE_GROUP",
    "FleetCluster",
    "cluster_summary",
    "fleet_apis",
    "group_by_cluster",
    "list_hosted_clusters",
    "prepare_fleet",
    "probes_of",
    "vip_probes",
]

SITE_GROUP = "site"
SYSTEM = "cluster"


@dataclass(frozen=True)
class FleetCluster:
    """One HostedCluster as the management cluster has it: names and the VIP MetalLB gave it."""

    namespace: str
    name: str
    base_domain: str
    api_name: str
    vips: tuple[str, ...] = ()
    service_problem: str = ""
    """why no VIP could be read ("" when the Service was read)"""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def control_plane_namespace(self) -> str:
        return f"{self.namespace}-{self.name}"

    @property
    def api_int_name(self) -> str:
        return f"api-int.{self.name}.{self.base_domain}"


def _api_name(obj: dict[str, Any], name: str, base_domain: str) -> str:
    for service in (obj.get("spec") or {}).get("services") or []:
        if service.get("service") == "APIServer":
            strategy = service.get("servicePublishingStrategy") or {}
            hostname = (strategy.get("loadBalancer") or {}).get("hostname")
            if hostname:
                return str(hostname)
    return f"api.{name}.{base_domain}"


def _ingress(svc: object) -> tuple[tuple[str, ...], str]:
    if isinstance(svc, Missing):
        return (), "no kube-apiserver Service in the control-plane namespace"
    if isinstance(svc, Exception):
        return (), why(svc)
    assert isinstance(svc, dict)
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return tuple(str(i["ip"]) for i in ingress if i.get("ip")), ""


def list_hosted_clusters(client: lightkube.Client) -> list[FleetCluster]:
    """Every HostedCluster (all namespaces, sorted by namespace/name) with its Service's VIPs.

    ProbeError saying why when the HostedClusters cannot be listed."""
    listed = fetch(lambda: list(client.list(RESOURCES["HostedCluster"], namespace="*")))
    if isinstance(listed, Missing):
        raise ProbeError(
            "cannot list HostedClusters: this cluster has no HostedCluster kind (hint: point "
            "--kubeconfig at the management cluster, where HyperShift is installed)"
        )
    if isinstance(listed, Exception):
        raise ProbeError(f"cannot list HostedClusters: {why(listed)}")
    objs = listed if isinstance(listed, list) else [listed]
    objs.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"].get("name", "")))

    def service(obj: dict[str, Any]) -> object:
        meta = obj["metadata"]
        cp = f"{meta.get('namespace', '')}-{meta.get('name', '')}"
        return fetch(lambda: client.get(Service, "kube-apiserver", namespace=cp))

    with ThreadPoolExecutor(max_workers=8) as pool:
        services = list(pool.map(service, objs))
    clusters = []
    for obj, svc in zip(objs, services, strict=True):
        meta = obj["metadata"]
        name, namespace = str(meta.get("name", "")), str(meta.get("namespace", ""))
        domain = str(((obj.get("spec") or {}).get("dns") or {}).get("baseDomain", ""))
        vips, problem = _ingress(svc)
        clusters.append(
            FleetCluster(namespace, name, domain, _api_name(obj, name, domain), vips, problem)
        )
    return clusters


def _in_pools(vip: str, pools: Sequence[str]) -> bool:
    address = ipaddress.ip_address(vip)
    return any(
        address.version == net.version and address in net
        for net in (ipaddress.ip_network(p) for p in pools)
    )


def vip_probes(clusters: Iterable[FleetCluster], accepted: Sequence[str]) -> list[Probe]:
    """Per cluster: its Service holds a VIP, inside the networks the routers accept."""
    probes = []
    for c in clusters:
        id = f"cluster/vip/{c.control_plane_namespace}"
        expected = "an ingress IP inside the site's pools"
        if not c.vips:
            message = c.service_problem or "the kube-apiserver Service has no ingress IP yet"
            probes.append(fail(id, SYSTEM, expected, "none", message, hints.SERVICE_NO_INGRESS))
            continue
        outside = [v for v in c.vips if not _in_pools(v, accepted)]
        observed = ", ".join(c.vips)
        if outside:
            probes.append(
                fail(
                    id,
                    SYSTEM,
                    expected,
                    observed,
                    f"{', '.join(outside)} is outside every pool: the routers refuse its route",
                    "the Service took an address from a pool hcplb does not know: pin pools "
                    "with serviceAllocation, or add the pool to the site",
                )
            )
        else:
            probes.append(passed(id, SYSTEM, expected, observed))
    return probes


def fleet_apis(
    clusters: Iterable[FleetCluster], template: Sequence[HostedApi]
) -> tuple[HostedApi, ...]:
    """The listed clusters that have a VIP, as HostedApis for the DNS, API and cluster probes
    (announcers, port and addressing taken from the site's own clusters when listed there)."""
    known = {api.key: api for api in template}
    addressed_by_ip = all(api.addressed_by_ip for api in template) if template else False
    apis = []
    for c in clusters:
        if not c.vips:
            continue
        same = known.get(c.key)
        apis.append(
            HostedApi(
                key=c.key,
                name=c.name,
                namespace=c.namespace,
                control_plane_namespace=c.control_plane_namespace,
                vip=c.vips[0],
                api_name=c.api_name,
                api_int_name=c.api_int_name,
                announcers=same.announcers if same and same.vip == c.vips[0] else (),
                addressed_by_ip=addressed_by_ip,
            )
        )
    return tuple(apis)


def probes_of(c: FleetCluster | HostedApi, probes: Iterable[Probe]) -> tuple[Probe, ...]:
    """The probes that are about one hosted cluster (its VIP, Service, HostedCluster, names,
    API)."""
    cp = c.control_plane_namespace
    names = {c.api_name, c.api_int_name}
    prefixes = (
        f"cluster/vip/{cp}",
        f"cluster/service/{cp}",
        f"cluster/hostedcluster/{c.namespace}/{c.name}/",
        f"api/{cp}",
    )
    return tuple(
        p
        for p in probes
        if any(p.id == x or p.id.startswith(x.rstrip("/") + "/") for x in prefixes)
        or (p.id.startswith("dns/") and p.id.rsplit("/", 1)[-1] in names)
    )


def group_by_cluster(
    clusters: Sequence[FleetCluster | HostedApi], probes: Sequence[Probe]
) -> dict[str, tuple[Probe, ...]]:
    """Probes per cluster key (`namespace/name`, in the order given), the rest under `site`."""
    groups: dict[str, tuple[Probe, ...]] = {}
    claimed: set[int] = set()
    for c in clusters:
        mine = probes_of(c, probes)
        groups[c.key] = mine
        claimed.update(id(p) for p in mine)
    groups[SITE_GROUP] = tuple(p for p in probes if id(p) not in claimed)
    return groups


def cluster_summary(clusters: Sequence[FleetCluster], report: Report) -> list[dict[str, Any]]:
    """Per listed cluster: key, VIPs, ok, and its probes (JSON-ready), in listing order."""
    groups = group_by_cluster(clusters, report.probes)
    return [
        {
            "cluster": c.key,
            "vips": list(c.vips),
            "api": c.api_name,
            "ok": all(p.status is not Status.fail for p in groups[c.key]),
            "failed": [p.id for p in groups[c.key] if p.status is Status.fail],
            "probes": [p.to_json() for p in groups[c.key]],
        }
        for c in clusters
    ]


def prepare_fleet(prepared: Prepared) -> tuple[Prepared, list[FleetCluster], list[Probe]]:
    """`prepared` probing every HostedCluster of the management cluster instead of the spec's,
    the listing, and the per-cluster VIP probes to add to the run's report."""
    if prepared.targets.kube is None:
        raise ProbeError(
            "--hosted-clusters all lists the HostedClusters of the management cluster: give "
            "--kubeconfig"
        )
    with prepared.targets.kube() as client:
        clusters = list_hosted_clusters(client)
    accepted = prepared.plan.accepted_networks if prepared.plan is not None else ()
    expect = replace(prepared.expect, clusters=fleet_apis(clusters, prepared.expect.clusters))
    return replace(prepared, expect=expect), clusters, vip_probes(clusters, accepted)

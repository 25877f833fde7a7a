"""hostedcluster/<name>.yaml: how each hosted cluster publishes its API server, to merge before creation.

HyperShift makes `spec.services` immutable once the HostedCluster exists, so these fields must be
in the HostedCluster when it is created. The APIServer is a `LoadBalancer` Service (MetalLB gives
it the VIP); OAuthServer, Konnectivity and Ignition go through the management cluster's ingress
as Routes (what `hcp create cluster` renders for a LoadBalancer API). The APIServer also gets
`loadBalancer.hostname: api.<name>.<baseDomain>`: HyperShift then writes that name, not the
bare VIP, into kubeconfigs and the serving certificate, so the guide's
`oc login https://api.<name>.<baseDomain>:6443` verifies.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from hcplb.plan import ClusterPlan, SitePlan
from hcplb.render._yaml import dump
from hcplb.render.files import RenderedFile

__all__ = [
    "hostedcluster_manifest",
    "hostedcluster_paths",
    "hostedcluster_services",
    "render_hostedcluster_files",
]

HOSTEDCLUSTER_API = "hypershift.openshift.io/v1beta1"
ROUTED_SERVICES = ("OAuthServer", "Konnectivity", "Ignition")
# the CRD's CEL rule for loadBalancer.hostname
_HOSTNAME = re.compile(r"^(?:[a-zA-Z0-9-]+\.)+[a-zA-Z]{2,}\Z")


def hostedcluster_services(plan: SitePlan, cluster_plan: ClusterPlan) -> dict[str, Any]:
    """The HostedCluster `spec` fields hcplb sets, as a fragment of `spec`.

    `services` replaces the whole list (it is atomic); `networking.apiServer.allowedCIDRBlocks`,
    present only when the spec sets it, is merged into the existing `networking`.
    """
    api: dict[str, Any] = {"type": "LoadBalancer"}
    if _HOSTNAME.match(cluster_plan.api_name):
        api["loadBalancer"] = {"hostname": cluster_plan.api_name}
    services: list[dict[str, Any]] = [{"service": "APIServer", "servicePublishingStrategy": api}]
    services += [
        {"service": name, "servicePublishingStrategy": {"type": "Route"}}
        for name in ROUTED_SERVICES
    ]
    fields: dict[str, Any] = {"services": services}
    blocks = list(dict.fromkeys(cluster_plan.cluster.allowed_cidr_blocks))  # the CRD wants a set
    if blocks:
        fields["networking"] = {"apiServer": {"allowedCIDRBlocks": blocks}}
    return fields


def hostedcluster_manifest(plan: SitePlan, cluster_plan: ClusterPlan) -> dict[str, Any]:
    """A partial HostedCluster: apiVersion, kind, name, namespace and the fields hcplb sets."""
    return {
        "apiVersion": HOSTEDCLUSTER_API,
        "kind": "HostedCluster",
        "metadata": {
            "name": cluster_plan.cluster.name,
            "namespace": cluster_plan.cluster.namespace,
        },
        "spec": hostedcluster_services(plan, cluster_plan),
    }


def hostedcluster_paths(plan: SitePlan) -> list[str]:
    """Per hosted cluster, in plan order: hostedcluster/<name>.yaml (<namespace>-<name>.yaml
    when two namespaces use the same name)."""
    repeated = Counter(c.cluster.name for c in plan.clusters)
    stems = (
        c.cluster.name if repeated[c.cluster.name] == 1 else c.control_plane_namespace
        for c in plan.clusters
    )
    return [f"hostedcluster/{stem}.yaml" for stem in stems]


def render_hostedcluster_files(plan: SitePlan) -> list[RenderedFile]:
    """One partial HostedCluster per hosted cluster, at its `hostedcluster_paths` entry."""
    files = []
    for cp, path in zip(plan.clusters, hostedcluster_paths(plan), strict=True):
        doc = hostedcluster_manifest(plan, cp)
        assigned = (
            f"MetalLB picks the VIP from shared pool {cp.metallb_pool}"
            if cp.shared
            else f"MetalLB assigns VIP {cp.vip} (pool {cp.metallb_pool})"
        )
        comments = {
            ("spec", "services", 0, "servicePublishingStrategy", "type"): assigned,
            ("spec", "services", 1): "OAuthServer, Konnectivity, Ignition: Routes on the ingress",
        }
        if "networking" in doc["spec"]:
            comments[("spec", "networking", "apiServer", "allowedCIDRBlocks")] = (
                "only these reach the API: include the hosted cluster's nodes"
            )
        files.append(
            RenderedFile(
                path,
                dump(doc, comments=comments, header=_header(plan, cp, doc)),
                kind="HostedCluster",
            )
        )
    return files


def _header(plan: SitePlan, cp: ClusterPlan, doc: dict[str, Any]) -> str:
    api = doc["spec"]["services"][0]["servicePublishingStrategy"]
    lines = [
        f"HostedCluster {cp.cluster.namespace}/{cp.cluster.name} (site {plan.site.name}):"
        " how its API server is published.",
        "Put these fields into the HostedCluster BEFORE creating it: spec.services is immutable",
        "afterwards. Merge them into your HostedCluster (keep everything else), or run",
        "  hcplb hostedcluster patch <your-hostedcluster.yaml> --site <site.yaml>",
        f"The API server becomes Service kube-apiserver in {cp.control_plane_namespace}, type",
        f"LoadBalancer, VIP {cp.vip} announced over BGP by MetalLB."
        if not cp.shared
        else f"LoadBalancer; MetalLB picks its VIP from shared pool {cp.metallb_pool}.",
    ]
    if "loadBalancer" in api:
        lines += [
            f"Kubeconfigs and the serving certificate use {cp.api_name}: its DNS record",
            "(dns/) must resolve before the cluster's nodes join.",
        ]
    else:
        lines += [
            f"{cp.api_name} is not a name HyperShift accepts as loadBalancer.hostname:",
            f"kubeconfigs will use the VIP {cp.vip}.",
        ]
    return "\n".join(lines)

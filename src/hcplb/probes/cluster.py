"""Cluster probes (read only, lightkube): MetalLB installed and Available, speakers ready, the
rendered MetalLB objects present and equal, each hosted cluster's kube-apiserver Service
holding its VIP, the HostedCluster publishing APIServer as LoadBalancer, frr-k8s sessions.

The first request (the MetalLB CRD) doubles as a reachability check: when the API server
does not answer, every probe fails at once with that reason instead of waiting once per
object. The other requests then run concurrently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import lightkube
from lightkube import ApiError
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.apps_v1 import DaemonSet
from lightkube.resources.core_v1 import Secret, Service

from hcplb.converged import HostedApi
from hcplb.probes import hints
from hcplb.probes.expect import SiteExpect
from hcplb.probes.frrk8s import frrk8s_jobs, probe_frrk8s
from hcplb.probes.kubeobjects import Fetched, Missing, differs, fetch, why
from hcplb.probes.model import Probe, fail, passed, skip, warn
from hcplb.targets.kube import RESOURCES

__all__ = ["probe_cluster"]

SYSTEM = "cluster"
METALLB_CRD = "metallbs.metallb.io"
SPEAKER = "speaker"
_KINDS = {**RESOURCES, "Secret": Secret}


def _ids(expect: SiteExpect) -> list[str]:
    ids = ["cluster/metallb/installed", "cluster/metallb/cr", "cluster/metallb/speakers"]
    ids += [_manifest_id(m) for m in expect.manifests if m.get("kind") != "MetalLB"]
    for c in expect.clusters:
        ids += [f"cluster/service/{c.control_plane_namespace}", *_hc_ids(c)]
    return ids


def _manifest_id(manifest: Mapping[str, Any]) -> str:
    return f"cluster/{str(manifest['kind']).lower()}/{manifest['metadata']['name']}"


def _hc_ids(c: HostedApi) -> list[str]:
    base = f"cluster/hostedcluster/{c.namespace}/{c.name}"
    return [f"{base}/apiserver", f"{base}/endpoint"]


def probe_cluster(client: lightkube.Client, expect: SiteExpect) -> list[Probe]:
    """Every cluster probe; `client`'s own timeout bounds each request."""
    ns = expect.metallb_namespace
    crd = fetch(lambda: client.get(CustomResourceDefinition, METALLB_CRD))
    if isinstance(crd, Exception) and not (isinstance(crd, ApiError) and crd.status.code == 403):
        reason = why(crd)
        return [
            fail(i, SYSTEM, "", "", reason, hints.kube_unreachable(reason)) for i in _ids(expect)
        ]
    jobs: dict[str, Callable[[], Any]] = {
        "metallb": lambda: client.get(RESOURCES["MetalLB"], "metallb", namespace=ns),
        "speaker": lambda: client.get(DaemonSet, SPEAKER, namespace=ns),
        **frrk8s_jobs(client, expect),
    }
    for m in expect.manifests:
        kind, name = str(m["kind"]), str(m["metadata"]["name"])
        if kind != "MetalLB" and kind in _KINDS:
            jobs[_manifest_id(m)] = partial(client.get, _KINDS[kind], name, namespace=ns)
    for c in expect.clusters:
        cp = c.control_plane_namespace
        jobs[f"svc/{cp}"] = partial(client.get, Service, "kube-apiserver", namespace=cp)
        jobs[f"hc/{c.key}"] = partial(
            client.get, RESOURCES["HostedCluster"], c.name, namespace=c.namespace
        )
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = dict(zip(jobs, pool.map(lambda job: fetch(job), jobs.values()), strict=True))
    probes = _metallb(crd, got, expect)
    for m in expect.manifests:
        if m.get("kind") != "MetalLB":
            probes.append(_manifest(m, got.get(_manifest_id(m)), installed=_installed(crd)))
    for c in expect.clusters:
        probes.append(_service(c, got[f"svc/{c.control_plane_namespace}"]))
        probes += _hostedcluster(c, got[f"hc/{c.key}"])
    probes += probe_frrk8s(got, expect)
    return probes


def _installed(crd: Fetched) -> bool | None:
    """True/False when known; None when CRDs may not be read (403)."""
    if isinstance(crd, Missing):
        return False
    return None if isinstance(crd, Exception) else True


def _condition(obj: Mapping[str, Any], kind: str) -> str:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return str(cond.get("status", ""))
    return ""


def _metallb(crd: Fetched, got: Mapping[str, Fetched], expect: SiteExpect) -> list[Probe]:
    ns = expect.metallb_namespace
    installed = _installed(crd)
    probes = []
    exp = f"CRD {METALLB_CRD}"
    if installed is False:
        probes.append(
            fail(
                "cluster/metallb/installed",
                SYSTEM,
                exp,
                "404",
                "MetalLB is not installed",
                hints.METALLB_NOT_INSTALLED,
            )
        )
        for id in ("cluster/metallb/cr", "cluster/metallb/speakers"):
            probes.append(skip(id, SYSTEM, "MetalLB is not installed"))
        return probes
    if installed is None:
        probes.append(skip("cluster/metallb/installed", SYSTEM, "CRDs may not be read (403)", exp))
    else:
        probes.append(passed("cluster/metallb/installed", SYSTEM, exp, "present"))
    cr = got["metallb"]
    exp = f"MetalLB {ns}/metallb Available"
    if isinstance(cr, Missing):
        probes.append(
            fail(
                "cluster/metallb/cr",
                SYSTEM,
                exp,
                "missing",
                "MetalLB CR missing",
                hints.METALLB_CR_MISSING,
            )
        )
    elif isinstance(cr, (Exception, list)):
        probes.append(
            fail(
                "cluster/metallb/cr", SYSTEM, exp, "", why(cr) if isinstance(cr, Exception) else ""
            )
        )
    elif _condition(cr, "Available") != "True":
        observed = f"Available={_condition(cr, 'Available') or 'unknown'}"
        probes.append(
            fail(
                "cluster/metallb/cr",
                SYSTEM,
                exp,
                observed,
                "MetalLB is not Available",
                "the operator has not finished deploying MetalLB: see the CR's "
                "conditions and the operator's logs",
            )
        )
    else:
        probes.append(passed("cluster/metallb/cr", SYSTEM, exp, "Available=True"))
    probes.append(_speakers(got["speaker"], ns))
    return probes


def _speakers(ds: Fetched, ns: str) -> Probe:
    id = "cluster/metallb/speakers"
    exp = f"DaemonSet {ns}/{SPEAKER}: every pod ready"
    if isinstance(ds, Missing):
        return fail(id, SYSTEM, exp, "missing", "no speaker DaemonSet", hints.METALLB_CR_MISSING)
    if isinstance(ds, (Exception, list)):
        return fail(id, SYSTEM, exp, "", why(ds) if isinstance(ds, Exception) else "")
    status = ds.get("status") or {}
    ready, desired = int(status.get("numberReady", 0)), int(status.get("desiredNumberScheduled", 0))
    observed = f"{ready}/{desired} ready"
    if desired == 0:
        return fail(
            id,
            SYSTEM,
            exp,
            observed,
            "no speaker scheduled",
            "the speakers' nodeSelector (speakerNodeSelector) matches no node",
        )
    if ready < desired:
        return fail(
            id,
            SYSTEM,
            exp,
            observed,
            f"{desired - ready} speaker(s) not ready",
            "a speaker pod is not ready: its node announces nothing; see its logs",
        )
    return passed(id, SYSTEM, exp, observed)


def _manifest(m: Mapping[str, Any], live: Fetched | None, *, installed: bool | None) -> Probe:
    kind, name = str(m["kind"]), str(m["metadata"]["name"])
    id = _manifest_id(m)
    field = "data" if kind == "Secret" else "spec"
    exp = f"{kind} {m['metadata'].get('namespace', '')}/{name} as rendered"
    if installed is False and kind != "Secret":
        return skip(id, SYSTEM, "MetalLB is not installed", exp)
    if live is None or isinstance(live, Missing):
        return fail(
            id,
            SYSTEM,
            exp,
            "missing",
            f"{kind} {name} does not exist",
            "apply the rendered cluster/ manifests (`hcplb apply --cluster`)",
        )
    if isinstance(live, (Exception, list)):
        return fail(id, SYSTEM, exp, "", why(live) if isinstance(live, Exception) else "")
    where = differs(m.get(field) or {}, live.get(field) or {}, field)
    if where is not None:
        shown = "differs" if kind == "Secret" else f"{where} differs"  # never show secret data
        return warn(
            id,
            SYSTEM,
            exp,
            shown,
            f"{kind} {name} differs from the rendered one",
            "someone changed it, or it was rendered from another spec: re-apply "
            "(`hcplb apply --cluster`)",
        )
    return passed(id, SYSTEM, exp, "equal")


def _service(c: HostedApi, svc: Fetched) -> Probe:
    id = f"cluster/service/{c.control_plane_namespace}"
    exp = f"Service {c.control_plane_namespace}/kube-apiserver LoadBalancer, ingress {c.vip}"
    if isinstance(svc, Missing):
        return fail(
            id,
            SYSTEM,
            exp,
            "missing",
            "no kube-apiserver Service",
            "the hosted control plane is not deployed in this namespace (HostedCluster "
            "missing, or another name/namespace in the site spec)",
        )
    if isinstance(svc, (Exception, list)):
        return fail(id, SYSTEM, exp, "", why(svc) if isinstance(svc, Exception) else "")
    kind = str((svc.get("spec") or {}).get("type", ""))
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    ips = [str(i.get("ip")) for i in ingress if i.get("ip")]
    observed = f"{kind}, ingress {', '.join(ips) or 'none'}"
    if kind != "LoadBalancer":
        return fail(id, SYSTEM, exp, observed, f"the Service is {kind}", hints.HC_NOT_LOADBALANCER)
    if not ips:
        return fail(id, SYSTEM, exp, observed, "no ingress IP", hints.SERVICE_NO_INGRESS)
    if c.vip not in ips:
        return fail(
            id,
            SYSTEM,
            exp,
            observed,
            f"ingress is {', '.join(ips)}",
            hints.service_wrong_ip(", ".join(ips), c.vip),
        )
    return passed(id, SYSTEM, exp, observed)


def _hostedcluster(c: HostedApi, hc: Fetched) -> list[Probe]:
    ids = _hc_ids(c)
    exp_pub = "spec.services APIServer: LoadBalancer"
    exp_end = f"status.controlPlaneEndpoint {c.vip} or {c.api_name}, port {c.port}"
    if isinstance(hc, Missing):
        reason = "HostedCluster CRD not installed" if hc.kind_missing else "HostedCluster not found"
        hint = (
            f"no HostedCluster {c.namespace}/{c.name}: create it "
            f"(hcplb render writes hostedcluster/{c.name}.yaml)"
        )
        return [
            fail(ids[0], SYSTEM, exp_pub, "missing", reason, hint),
            skip(ids[1], SYSTEM, reason, exp_end),
        ]
    if isinstance(hc, (Exception, list)):
        reason = why(hc) if isinstance(hc, Exception) else ""
        return [
            fail(ids[0], SYSTEM, exp_pub, "", reason),
            fail(ids[1], SYSTEM, exp_end, "", reason),
        ]
    services = (hc.get("spec") or {}).get("services") or []
    api = next((s for s in services if s.get("service") == "APIServer"), None)
    strategy = str(((api or {}).get("servicePublishingStrategy") or {}).get("type", "none"))
    probes = []
    if strategy != "LoadBalancer":
        probes.append(
            fail(
                ids[0],
                SYSTEM,
                exp_pub,
                f"APIServer: {strategy}",
                "APIServer is not published as LoadBalancer",
                hints.HC_NOT_LOADBALANCER,
            )
        )
    else:
        probes.append(passed(ids[0], SYSTEM, exp_pub, "APIServer: LoadBalancer"))
    endpoint = (hc.get("status") or {}).get("controlPlaneEndpoint") or {}
    host, port = str(endpoint.get("host", "")), int(endpoint.get("port", 0) or 0)
    observed = f"{host or 'none'}:{port}" if host else "not set"
    if host in (c.vip, c.api_name) and port in (c.port, 0):
        probes.append(passed(ids[1], SYSTEM, exp_end, observed))
    else:
        probes.append(
            fail(
                ids[1],
                SYSTEM,
                exp_end,
                observed,
                "the control plane endpoint is not the VIP",
                hints.SERVICE_NO_INGRESS
                if not host
                else "HyperShift publishes the Service's ingress address: the Service got "
                "another address, or the HostedCluster uses another strategy",
            )
        )
    return probes


def expected_ids(expect: SiteExpect) -> Sequence[str]:
    """The ids `probe_cluster` reports for a site (without the frr-k8s ones)."""
    return _ids(expect)

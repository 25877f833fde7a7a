"""frr-k8s probes (read only): per node, the FRRConfiguration MetalLB writes, frr-k8s's
FRRNodeState (did the merge and the FRR reload succeed) and a BGPSessionState per router.

On OpenShift MetalLB runs with `bgpBackend: frr-k8s`: the speaker writes `metallb-<node>` in
`openshift-frr-k8s`, frr-k8s merges it with every other FRRConfiguration selecting the node,
renders frr.conf, and reports the outcome in the cluster-scoped FRRNodeState `<node>` and the
sessions in BGPSessionState objects (status.node, status.peer, status.bgpStatus/bfdStatus).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import lightkube
from lightkube.generic_resource import create_global_resource, create_namespaced_resource

from hcplb.metallb.frrk8s import OPENSHIFT_NAMESPACE, config_name, selects
from hcplb.probes import hints
from hcplb.probes.expect import SiteExpect
from hcplb.probes.kubeobjects import Fetched, Missing, why
from hcplb.probes.model import Probe, fail, passed, skip, warn

__all__ = ["frrk8s_jobs", "probe_frrk8s"]

SYSTEM = "cluster"
GROUP, VERSION = "frrk8s.metallb.io", "v1beta1"
BGP_SESSION_STATE = create_namespaced_resource(
    GROUP, VERSION, "BGPSessionState", "bgpsessionstates"
)
FRR_NODE_STATE = create_global_resource(GROUP, VERSION, "FRRNodeState", "frrnodestates")
FRR_CONFIGURATION = create_namespaced_resource(
    GROUP, VERSION, "FRRConfiguration", "frrconfigurations"
)
SUCCESS = "success"


def frrk8s_jobs(client: lightkube.Client, expect: SiteExpect) -> dict[str, Callable[[], Any]]:
    """The list requests the probes need (none when the site does not run frr-k8s)."""
    if expect.bgp_backend != "frr-k8s":
        return {}
    return {
        "sessions": lambda: list(client.list(BGP_SESSION_STATE, namespace="*")),
        "nodestates": lambda: list(client.list(FRR_NODE_STATE)),
        "frrconfigurations": lambda: list(client.list(FRR_CONFIGURATION, namespace="*")),
    }


def probe_frrk8s(got: Mapping[str, Fetched], expect: SiteExpect) -> list[Probe]:
    """Configuration, node state and sessions per node; skipped in FRR mode."""
    if expect.bgp_backend != "frr-k8s":
        return [skip("cluster/bgpsessions", SYSTEM, "bgpBackend frr: the speakers run FRR")]
    probes = _configurations(got["frrconfigurations"], expect)
    probes += _node_states(got["nodestates"], expect)
    probes += _sessions(got["sessions"], expect)
    return probes


def _items(found: Fetched, what: str, id: str) -> list[dict[str, Any]] | Probe:
    if isinstance(found, Missing):
        return skip(id, SYSTEM, f"no frr-k8s {what} API (frr-k8s is not installed)")
    if isinstance(found, Exception) or not isinstance(found, list):
        reason = why(found) if isinstance(found, Exception) else "unexpected answer"
        return warn(id, SYSTEM, "", "", f"cannot list {what}: {reason}")
    return found


def _nodes(expect: SiteExpect) -> list[str]:
    return sorted({n.name for r in expect.routers for n in r.sessions})


def _shape(obj: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """neighbor address -> the prefixes it is allowed to be sent, from an FRRConfiguration."""
    routers = ((obj.get("spec") or {}).get("bgp") or {}).get("routers") or []
    return {
        str(n.get("address") or n.get("interface")): tuple(
            sorted(((n.get("toAdvertise") or {}).get("allowed") or {}).get("prefixes") or [])
        )
        for r in routers
        for n in r.get("neighbors") or []
    }


def _configurations(found: Fetched, expect: SiteExpect) -> list[Probe]:
    items = _items(found, "FRRConfiguration", "cluster/frrk8s/configurations")
    if isinstance(items, Probe):
        return [items]
    by_key = {
        ((o.get("metadata") or {}).get("namespace"), (o.get("metadata") or {}).get("name")): o
        for o in items
    }
    probes = []
    for node in _nodes(expect):
        id = f"cluster/frrk8s/{node}/configuration"
        name = config_name(node)
        exp = f"FRRConfiguration {OPENSHIFT_NAMESPACE}/{name}"
        live = by_key.get((OPENSHIFT_NAMESPACE, name))
        wanted = expect.frr_configurations.get(node)
        if live is None:
            probes.append(fail(id, SYSTEM, exp, "missing", f"MetalLB wrote no {name}",
                               hints.FRRK8S_NO_CONFIGURATION))  # fmt: skip
        elif wanted is not None and _shape(live) != _shape(wanted):
            probes.append(fail(id, SYSTEM, f"{exp}: {_describe(wanted)}", _describe(live),
                               f"{name} is not what MetalLB writes for the site",
                               hints.FRRK8S_STALE_CONFIGURATION))  # fmt: skip
        else:
            probes.append(passed(id, SYSTEM, exp, _describe(live)))
        labels = {"kubernetes.io/hostname": node}
        others = [
            o
            for o in items
            if (o.get("metadata") or {}).get("name") != name and _selects(o, labels)
        ]
        for o in others:
            meta = o.get("metadata") or {}
            ref = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
            probes.append(warn(f"cluster/frrk8s/{node}/extra/{meta.get('name', '')}", SYSTEM,
                               "", f"FRRConfiguration {ref}",
                               f"{ref} is merged into {node}'s frr.conf too",
                               hints.FRRK8S_EXTRA_CONFIGURATION))  # fmt: skip
    return probes


def _selects(obj: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    try:
        return selects(obj, labels)
    except Exception:  # a selector frr-k8s cannot read selects nothing
        return False


def _describe(obj: Mapping[str, Any]) -> str:
    shape = _shape(obj)
    return "; ".join(f"{n}: {', '.join(p) or 'nothing'}" for n, p in sorted(shape.items())) or (
        "no neighbors"
    )


def _node_states(found: Fetched, expect: SiteExpect) -> list[Probe]:
    items = _items(found, "FRRNodeState", "cluster/frrk8s/nodestates")
    if isinstance(items, Probe):
        return [items]
    by_node = {(o.get("metadata") or {}).get("name"): o for o in items}
    probes = []
    for node in _nodes(expect):
        id = f"cluster/frrk8s/{node}/state"
        exp = "conversion success, reload success"
        state = by_node.get(node)
        if state is None:
            probes.append(fail(id, SYSTEM, exp, "no FRRNodeState",
                               f"frr-k8s reports nothing for {node}",
                               hints.FRRK8S_NOT_ON_NODE))  # fmt: skip
            continue
        status = state.get("status") or {}
        conversion = str(status.get("lastConversionResult", ""))
        reload = str(status.get("lastReloadResult", ""))
        observed = f"conversion {conversion or 'none'}, reload {reload or 'none'}"
        if conversion != SUCCESS:
            probes.append(fail(id, SYSTEM, exp, observed,
                               f"frr-k8s cannot merge the FRRConfigurations for {node}",
                               hints.frrk8s_conversion(node)))  # fmt: skip
        elif reload != SUCCESS:
            probes.append(fail(id, SYSTEM, exp, observed,
                               f"FRR on {node} refused the configuration frr-k8s rendered",
                               hints.frrk8s_reload(node)))  # fmt: skip
        else:
            probes.append(passed(id, SYSTEM, exp, observed))
    return probes


def _sessions(found: Fetched, expect: SiteExpect) -> list[Probe]:
    items = _items(found, "BGPSessionState", "cluster/bgpsessions")
    if isinstance(items, Probe):
        return [items]
    state: dict[tuple[str, str], Mapping[str, Any]] = {}
    for obj in items:
        status = obj.get("status") or {}
        peer = str(status.get("peer", "")).split("%")[0]
        state[(str(status.get("node", "")), peer)] = status
    probes = []
    for router in expect.routers:
        for node in sorted(n.name for n in router.sessions):
            id = f"cluster/bgpsession/{node}/{router.name}"
            exp = "Established"
            status = state.get((node, router.address))
            if status is None:
                probes.append(fail(id, SYSTEM, exp, "no BGPSessionState",
                                   f"frr-k8s on {node} has no session to {router.address}",
                                   hints.frrk8s_no_session(node, router.address)))  # fmt: skip
                continue
            bgp, bfd = str(status.get("bgpStatus", "")), str(status.get("bfdStatus", ""))
            observed = bgp + (f", BFD {bfd}" if bfd and bfd != "N/A" else "")
            if bgp == "Established":
                probes.append(passed(id, SYSTEM, exp, observed))
            else:
                probes.append(fail(id, SYSTEM, exp, observed,
                                   f"frr-k8s on {node} reports {bgp or 'no state'}",
                                   hints.active_session(node, bfd_up=bfd == "Up")))  # fmt: skip
    return probes or [skip("cluster/bgpsessions", SYSTEM, "no node peers with the site's routers")]

"""cluster/prometheusrule.yaml: alerts on what MetalLB's and frr-k8s's speakers export.

After day one nothing else tells the operator that a session dropped or a VIP stopped being
announced. The metric names are MetalLB's and frr-k8s's own (their sources: metallb/metallb
`internal/bgp/native` + `frr-tools/metrics/collector/{bgp,bfd}.go` and `speaker/main.go`;
metallb/frr-k8s `frr-tools/metrics/collector/{metrics,bfd}.go`):

- `metallb_bgp_session_up` / `frrk8s_bgp_session_up` {peer, vrf}: 1 up, 0 down;
- `metallb_bfd_session_up` / `frrk8s_bfd_session_up` {peer, vrf}: 1 up, 0 down;
- `metallb_bgp_announced_prefixes_total` / `frrk8s_bgp_announced_prefixes_total` {peer, vrf}:
  prefixes a node sends on the session;
- `metallb_speaker_announced` {service, protocol, node, ip}: 1 while a node announces a VIP.

MetalLB's FRR mode labels `peer` as `ADDRESS:PORT`, frr-k8s as `ADDRESS`: a peer matches
`ADDRESS(:PORT)?`. With the frr-k8s backend the speaker still exports `metallb_speaker_announced`.
Each alert links to its section of the runbook (`ALERTS` below, rendered by runbook.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hcplb.plan import ClusterPlan, SitePlan
from hcplb.render._yaml import dump
from hcplb.render.files import RenderedFile
from hcplb.spec.models import Router

__all__ = [
    "ALERTS",
    "ANNOUNCED_PREFIXES",
    "BFD_SESSION_UP",
    "BGP_SESSION_UP",
    "PROMETHEUS_RULE_FILE",
    "SPEAKER_ANNOUNCED",
    "Alert",
    "alert_anchor",
    "prometheus_rule",
    "render_alert_files",
]

PROMETHEUS_RULE_FILE = "cluster/prometheusrule.yaml"
RULE_NAME = "hcplb-bgp-alerts"
RUNBOOK = "README.md"

BGP_SESSION_UP = ("metallb_bgp_session_up", "frrk8s_bgp_session_up")
BFD_SESSION_UP = ("metallb_bfd_session_up", "frrk8s_bfd_session_up")
ANNOUNCED_PREFIXES = ("metallb_bgp_announced_prefixes_total", "frrk8s_bgp_announced_prefixes_total")
SPEAKER_ANNOUNCED = "metallb_speaker_announced"


@dataclass(frozen=True)
class Alert:
    """One alert hcplb renders: its name, the metrics it reads, and what fixes it."""

    name: str
    metrics: tuple[str, ...]
    what: str
    fix: str


ALERTS = (
    Alert(
        "HcplbBGPSessionDown",
        BGP_SESSION_UP,
        "a node's BGP session to a site router is down",
        "On the router, `vtysh -c 'show ip bgp summary'`: a node in `Active`/`Connect` never "
        "reached it (firewall: TCP 179 from the node; the BGPPeer's address/ASN; the password). "
        "On the cluster, the speaker pod of that node: `oc -n <metallb namespace> logs "
        "<speaker pod> -c frr`. `hcplb verify` names the cause.",
    ),
    Alert(
        "HcplbBFDSessionDown",
        BFD_SESSION_UP,
        "a BFD session between a node and a site router is down (the router drops the node's "
        "routes within the detection time)",
        "On the router, `vtysh -c 'show bfd peers brief'`; UDP 3784/3785 must pass both ways and "
        "the BFDProfile must match the router's `bfd` profile (step 2).",
    ),
    Alert(
        "HcplbVIPNotAnnounced",
        (SPEAKER_ANNOUNCED,),
        "no node announces a hosted cluster's API VIP: its API server is unreachable",
        "`oc -n <control-plane namespace> get svc kube-apiserver`: no EXTERNAL-IP means the "
        "IPAddressPool did not match (step 2); an IP but no announcement means no speaker has a "
        "ready endpoint or a matching BGPAdvertisement. Then `hcplb verify`.",
    ),
    Alert(
        "HcplbAnnouncingNodesLow",
        ANNOUNCED_PREFIXES,
        "fewer nodes announce the VIPs to a router than the site has (less capacity, and one "
        "more failure away from an outage)",
        "Find the node without prefixes: on the router `vtysh -c 'show ip bgp summary'` "
        "(PfxRcd 0), then that node's speaker pod, its node selector and its session.",
    ),
)


def alert_anchor(name: str) -> str:
    """The runbook heading's anchor (`### HcplbBGPSessionDown` -> `#hcplbbgpsessiondown`)."""
    return name.lower()


def _peer(router: Router) -> str:
    """The router's addresses as a metric's peer label may write them (`ip:port`; an IPv6
    address bare or in brackets)."""
    forms = [f for a in router.addresses for f in ([f"[{a}]", a] if ":" in a else [a])]
    hosts = [re.escape(f).replace("\\", "\\\\") for f in forms]
    host = hosts[0] if len(hosts) == 1 else "(" + "|".join(hosts) + ")"
    return host + "(:[0-9]+)?"


def _either(metrics: tuple[str, ...], selector: str) -> str:
    return " or ".join(f"{m}{{{selector}}}" for m in metrics)


def _annotations(alert: Alert, summary: str, description: str) -> dict[str, str]:
    return {
        "summary": summary,
        "description": description,
        "runbook_url": f"{RUNBOOK}#{alert_anchor(alert.name)}",
    }


def _labels(plan: SitePlan, severity: str, **extra: str) -> dict[str, str]:
    return {"severity": severity, "hcplb_site": plan.site.name, **extra}


def _router_rules(plan: SitePlan, router: Router) -> list[dict[str, Any]]:
    peer = f'peer=~"{_peer(router)}"'
    where = f"router {router.name} ({router.address})"
    session, bfd, low = ALERTS[0], ALERTS[1], ALERTS[3]
    nodes = len(plan.nodes)
    rules: list[dict[str, Any]] = [
        {
            "alert": session.name,
            "expr": f"({_either(BGP_SESSION_UP, peer)}) == 0",
            "for": "1m",
            "labels": _labels(plan, "critical", router=router.name),
            "annotations": _annotations(
                session,
                f"BGP session from {{{{ $labels.pod }}}} to {where} is down",
                f"Speaker {{{{ $labels.pod }}}} has no BGP session to {where}: that node's "
                "routes to the API VIPs are gone.",
            ),
        }
    ]
    if plan.bfd is not None:
        rules.append(
            {
                "alert": bfd.name,
                "expr": f"({_either(BFD_SESSION_UP, peer)}) == 0",
                "for": "1m",
                "labels": _labels(plan, "warning", router=router.name),
                "annotations": _annotations(
                    bfd,
                    f"BFD session from {{{{ $labels.pod }}}} to {where} is down",
                    f"BFD from {{{{ $labels.pod }}}} to {where} is down: a failure of that node "
                    "is detected by the BGP hold timer only.",
                ),
            }
        )
    rules.append(
        {
            "alert": low.name,
            "expr": f"(count(({_either(ANNOUNCED_PREFIXES, peer)}) > 0) or vector(0)) < {nodes}",
            "for": "5m",
            "labels": _labels(plan, "warning", router=router.name),
            "annotations": _annotations(
                low,
                f"Fewer than {nodes} nodes announce the API VIPs to {where}",
                f"{{{{ $value }}}} of {nodes} nodes send prefixes to {where}.",
            ),
        }
    )
    return rules


def _cluster_rule(plan: SitePlan, c: ClusterPlan) -> dict[str, Any]:
    key = f"{c.cluster.namespace}/{c.cluster.name}"
    alert = ALERTS[2]
    announced = f'{SPEAKER_ANNOUNCED}{{ip="{c.vip}", protocol="bgp"}}'
    return {
        "alert": alert.name,
        "expr": f"(count({announced} == 1) or vector(0)) == 0",
        "for": "1m",
        "labels": _labels(plan, "critical", hosted_cluster=key, vip=c.vip),
        "annotations": _annotations(
            alert,
            f"No node announces the API VIP {c.vip} of hosted cluster {key}",
            f"The API server of {key} ({c.api_name}) is unreachable: no MetalLB speaker "
            f"announces {c.vip}.",
        ),
    }


def prometheus_rule(plan: SitePlan) -> dict[str, Any]:
    """The PrometheusRule object (OpenShift monitoring evaluates it in MetalLB's namespace)."""
    ns = plan.site.spec.management_cluster.metallb_namespace
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": RULE_NAME,
            "namespace": ns,
            "labels": {"app.kubernetes.io/managed-by": "hcplb", "hcplb.io/site": plan.site.name},
        },
        "spec": {
            "groups": [
                {
                    "name": "hcplb-bgp-sessions",
                    "rules": [r for router in plan.routers for r in _router_rules(plan, router)],
                },
                {
                    "name": "hcplb-api-vips",
                    "rules": [_cluster_rule(plan, c) for c in plan.clusters],
                },
            ]
        },
    }


def render_alert_files(plan: SitePlan) -> list[RenderedFile]:
    """cluster/prometheusrule.yaml."""
    header = (
        "Alerts for OpenShift monitoring on the MetalLB / frr-k8s speaker metrics; each links\n"
        "to the runbook section that fixes it. Apply: oc apply -f cluster/prometheusrule.yaml"
    )
    text = dump(prometheus_rule(plan), header=header)
    return [RenderedFile(PROMETHEUS_RULE_FILE, text, kind="PrometheusRule (alerts)")]

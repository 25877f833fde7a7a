"""A user's PrometheusRule files: do they alert on what hcplb's rendered rule alerts on?

Given one or more `monitoring.coreos.com/v1 PrometheusRule` objects, lint looks (over all of
them together) for an alert on each condition of `hcplb.render.alerts.ALERTS`: a BGP session
down, BFD down (when BFD is in use), a VIP announced by no node, fewer announcing nodes. An
alert "covers" a condition when its expression reads one of the condition's metrics. It also
flags a `metallb_*` / `frrk8s_*` metric that neither project exports (the expression can never
match: the alert would never fire), and alerts without a summary or a runbook link.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Sequence

from hcplb.lint.findings import Finding, info, warning
from hcplb.lint.k8s import Manifest
from hcplb.render.alerts import ALERTS, PROMETHEUS_RULE_FILE, alert_anchor

__all__ = ["EXPORTED_METRICS", "check_prometheus_rules"]

_BGP = [
    "session_up",
    "announced_prefixes_total",
    "pending_prefixes_total",
    "updates_total",
    "updates_total_received",
    "opens_sent",
    "opens_received",
    "notifications_sent",
    "keepalives_sent",
    "keepalives_received",
    "route_refresh_sent",
    "total_sent",
    "total_received",
]
_BFD = [
    "session_up",
    "control_packet_input",
    "control_packet_output",
    "echo_packet_input",
    "echo_packet_output",
    "session_up_events",
    "session_down_events",
    "zebra_notifications",
]
EXPORTED_METRICS = frozenset(
    [f"metallb_bgp_{m}" for m in _BGP]
    + [f"metallb_bfd_{m}" for m in _BFD]
    + [f"frrk8s_bgp_{m}" for m in [*_BGP, "received_prefixes_total"]]
    + [f"frrk8s_bfd_{m}" for m in _BFD]
    + [
        "metallb_speaker_announced",
        "metallb_allocator_addresses_in_use_total",
        "metallb_allocator_addresses_total",
        "metallb_k8s_client_updates_total",
        "metallb_k8s_client_update_errors_total",
        "metallb_k8s_client_config_loaded_bool",
        "metallb_k8s_client_config_stale_bool",
        "metallb_layer2_requests_received",
        "metallb_layer2_responses_sent",
        "metallb_layer2_gratuitous_sent",
    ]
)
"""what MetalLB's and frr-k8s's speakers and controller export (their collectors' sources)"""

_METRIC = re.compile(r"\b((?:metallb|frrk8s|frr_k8s)_[a-zA-Z0-9_]+)")
# MetalLB's FRR-mode BGP collector labels `peer` as ADDRESS:PORT (frr-k8s's as ADDRESS)
_EXACT_PEER = re.compile(r'\bmetallb_bgp_\w+\s*\{[^}]*\bpeer\s*=\s*"([0-9.]+)"')
_HINT = f"hcplb render writes one ({PROMETHEUS_RULE_FILE}); its runbook explains each alert"


def _rules(m: Manifest) -> Iterator[tuple[tuple[str | int, ...], dict[str, object]]]:
    for g, group in enumerate(m.items("spec", "groups")):
        if not isinstance(group, dict):
            continue
        rules = group.get("rules")
        for r, rule in enumerate(rules if isinstance(rules, list) else []):
            if isinstance(rule, dict):
                yield ("spec", "groups", g, "rules", r), rule


def check_prometheus_rules(manifests: Sequence[Manifest], *, bfd_in_use: bool) -> list[Finding]:
    """Findings over every PrometheusRule among `manifests` (none when there is none)."""
    rule_objects = [m for m in manifests if m.is_a("PrometheusRule", "monitoring.coreos.com")]
    if not rule_objects:
        return []
    found: list[Finding] = []
    read: set[str] = set()
    for m in rule_objects:
        for path, rule in _rules(m):
            expr = rule.get("expr")
            if not isinstance(expr, str):
                continue
            metrics = set(_METRIC.findall(expr))
            exact = list(_exact_peers(m, path, expr))
            found += exact
            if "alert" in rule:  # a recording rule alone pages nobody
                # a metallb_bgp_ selector that can never match watches nothing
                read |= {x for x in metrics if not (exact and x.startswith("metallb_bgp_"))}
                found += _metric_names(m, path, metrics)
                found += _annotations(m, path, rule)
    first = rule_objects[0]
    for alert in ALERTS:
        if alert.name == "HcplbBFDSessionDown" and not bfd_in_use:
            continue
        if read.isdisjoint(alert.metrics):
            found.append(
                warning(
                    first.where("spec", "groups"),
                    "alerts.missing",
                    f"no alert fires when {alert.what} (none reads "
                    + " or ".join(alert.metrics)
                    + ")",
                    f"add an alert like hcplb's {alert.name} ({_HINT}, "
                    f"README.md#{alert_anchor(alert.name)})",
                )
            )
    return found


def _metric_names(m: Manifest, path: tuple[str | int, ...], metrics: set[str]) -> Iterator[Finding]:
    for metric in sorted(metrics - EXPORTED_METRICS):
        close = difflib.get_close_matches(metric, sorted(EXPORTED_METRICS), n=1, cutoff=0.7)
        hint = f"did you mean {close[0]}?" if close else "see the metric list in the runbook"
        yield warning(
            m.where(*path, "expr"),
            "alerts.metric.unknown",
            f"MetalLB and frr-k8s export no metric {metric}: this alert can never fire",
            hint,
        )


def _exact_peers(m: Manifest, path: tuple[str | int, ...], expr: str) -> Iterator[Finding]:
    for address in dict.fromkeys(_EXACT_PEER.findall(expr)):
        yield warning(
            m.where(*path, "expr"),
            "alerts.peer.port",
            f'peer="{address}" never matches a MetalLB BGP metric: MetalLB labels the peer '
            f'ADDRESS:PORT ("{address}:179")',
            f'match it with peer=~"{re.escape(address)}(:[0-9]+)?" (also matches frr-k8s\'s '
            "ADDRESS labels)",
        )


def _annotations(
    m: Manifest, path: tuple[str | int, ...], rule: dict[str, object]
) -> Iterator[Finding]:
    annotations = rule.get("annotations")
    keys = set(annotations) if isinstance(annotations, dict) else set()
    missing = [k for k in ("summary", "runbook_url") if k not in keys]
    if missing:
        yield info(
            m.where(*path, "alert"),
            "alerts.annotations",
            f"alert {rule.get('alert')} has no {' or '.join(missing)}: whoever is paged does not "
            "learn what broke or how to fix it",
            "add annotations.summary and annotations.runbook_url (a link to the fix)",
        )

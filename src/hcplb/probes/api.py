"""API probes: TCP to VIP:6443, a TLS handshake verified against the CA, a certificate that
covers the API name, `/readyz` (or `/version`) answering, and in the lab the spread of new
connections over every announcing node. Connections are made by `client` at the vantage.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from hcplb.converged import HostedApi
from hcplb.probes import hints
from hcplb.probes.client import Task
from hcplb.probes.expect import SiteExpect
from hcplb.probes.model import Probe, fail, passed, skip, warn

__all__ = ["api_tasks", "cert_covers", "evaluate_api", "spread_count", "spread_stand_ins"]

SYSTEM = "api"
PATHS = ("/readyz", "/version")


def spread_count(nodes: int, *, miss: float = 1e-6) -> int:
    """Connections needed so that a healthy node gets none with probability below `miss`."""
    if nodes <= 1:
        return 4
    n = math.log(miss / nodes) / math.log(1 - 1 / nodes)
    return max(12, min(200, math.ceil(n)))


def spread_stand_ins(expect: SiteExpect) -> dict[str, str]:
    """Cluster id -> the id of the cluster whose spread is measured for it: the first of each
    set of announcing nodes. The routers hash new connections over the same nexthops for
    every VIP those nodes announce, so one VIP per set shows each node's stand-in answering;
    measuring all 200 VIPs of a 32-node fleet would take 40,000 handshakes."""
    first: dict[tuple[str, ...], str] = {}
    return {
        c.id: first.setdefault(tuple(sorted(n.name for n in c.announcers)), c.id)
        for c in expect.clusters
    }


def api_tasks(
    expect: SiteExpect,
    *,
    ca_pem: str | None,
    timeout: float,
    attempts: int = 3,
    spread: bool = False,
) -> list[Task]:
    tasks: list[Task] = []
    measured = spread_stand_ins(expect)
    for c in expect.clusters:
        base = {
            "address": c.vip,
            "port": c.port,
            "server_name": c.api_name,
            "ca_pem": ca_pem,
            "timeout": timeout,
        }
        tasks.append(
            {**base, "id": f"api/{c.id}", "kind": "tls", "paths": list(PATHS), "attempts": attempts}
        )
        if spread and measured[c.id] == c.id:
            count = spread_count(len(c.announcers))
            tasks.append({**base, "id": f"api/{c.id}/spread", "kind": "spread", "count": count})
    return tasks


def cert_covers(name: str, dns_names: list[str]) -> bool:
    """RFC 6125 matching: exact, or one `*` as the whole left-most label."""
    name = name.lower().rstrip(".")
    for pattern in (d.lower().rstrip(".") for d in dns_names):
        if pattern == name:
            return True
        head, _, rest = name.partition(".")
        if pattern.startswith("*.") and head and rest == pattern[2:] and "*" not in rest:
            return True
    return False


def _cluster_probes(
    c: HostedApi, result: Mapping[str, Any] | None, error: str, *, ca_given: bool
) -> list[Probe]:
    base = f"api/{c.id}"
    where = f"{c.vip}:{c.port}"
    ids = {k: f"{base}/{k}" for k in ("tcp", "tls", "cert", "ready")}
    exp = {
        "tcp": f"TCP connect to {where}",
        "tls": "handshake verified against the CA",
        "cert": f"certificate covers {c.api_name}" + (f" and {c.vip}" if c.addressed_by_ip else ""),
        "ready": "/readyz (or /version) answers 200",
    }
    if result is None or "crash" in (result or {}):
        why = error or f"probe crashed: {(result or {}).get('crash')}"
        return [fail(ids[k], SYSTEM, exp[k], "", why, hints.api_unreachable(c.vip)) for k in ids]
    tcp = result.get("tcp") or {}
    tried = int(result.get("attempts", 1))
    failed = int(result.get("failed", 0))
    note = f" ({failed} of {tried} attempts failed)" if failed and tcp.get("ok") else ""
    if not tcp.get("ok"):
        observed = str(tcp.get("error", "no connection"))
        probes = [
            fail(
                ids["tcp"],
                SYSTEM,
                exp["tcp"],
                observed,
                f"no TCP connection to {where}",
                hints.api_unreachable(c.vip),
            )
        ]
        return probes + [
            skip(ids[k], SYSTEM, "no TCP connection", exp[k]) for k in ("tls", "cert", "ready")
        ]
    probes = [passed(ids["tcp"], SYSTEM, exp["tcp"], "connected", note.strip(" ()"))]
    tls = result.get("tls") or {}
    if not ca_given:
        probes.append(
            skip(ids["tls"], SYSTEM, "no --ca-file: the chain is not verified", exp["tls"])
        )
    elif tls.get("verified") is False:
        probes.append(
            fail(
                ids["tls"],
                SYSTEM,
                exp["tls"],
                str(tls.get("error", "")),
                "certificate not trusted",
                hints.TLS_UNTRUSTED,
            )
        )
    elif not tls.get("ok"):
        probes.append(
            fail(
                ids["tls"],
                SYSTEM,
                exp["tls"],
                str(tls.get("error", "")),
                "TLS handshake failed",
                API_HANDSHAKE,
            )
        )
    else:
        probes.append(passed(ids["tls"], SYSTEM, exp["tls"], f"verified, {tls.get('version', '')}"))
    cert = result.get("cert") or {}
    probes.append(_cert(ids["cert"], exp["cert"], c, cert, tls_ok=bool(tls.get("ok") or cert)))
    probes.append(
        _ready(ids["ready"], exp["ready"], result.get("http") or [], tls_ok=bool(tls.get("ok")))
    )
    return probes


API_HANDSHAKE = (
    "the TLS handshake failed before any certificate check: something other than the API "
    "server answers on 6443, or it offers no common TLS version/cipher"
)


def _cert(id: str, expected: str, c: HostedApi, cert: Mapping[str, Any], *, tls_ok: bool) -> Probe:
    if not cert:
        return skip(id, SYSTEM, "no certificate received", expected)
    dns_names = list(cert.get("dns") or [])
    ips = list(cert.get("ip") or [])
    observed = (
        "SANs: " + ", ".join(dns_names + ips)
        if dns_names or ips
        else f"no SANs ({cert.get('subject')})"
    )
    if not cert_covers(c.api_name, dns_names):
        return fail(
            id,
            SYSTEM,
            expected,
            observed,
            f"{c.api_name} is not in the certificate",
            hints.CERT_NAME,
        )
    if c.addressed_by_ip and c.vip not in ips:
        return fail(
            id, SYSTEM, expected, observed, f"{c.vip} is not in the certificate", hints.CERT_NAME
        )
    return passed(id, SYSTEM, expected, observed)


def _ready(id: str, expected: str, answers: list[Mapping[str, Any]], *, tls_ok: bool) -> Probe:
    if not tls_ok:
        return skip(id, SYSTEM, "no TLS session", expected)
    if not answers:
        return fail(id, SYSTEM, expected, "", "no HTTP answer", hints.API_CLOSED)
    shown = "; ".join(
        f"{a.get('path')} {a.get('status') or a.get('error', '')}".strip() for a in answers
    )
    if any(a.get("status") == 200 for a in answers):
        body = next(str(a.get("body", "")) for a in answers if a.get("status") == 200)
        return passed(id, SYSTEM, expected, shown + (f" {body.strip()[:40]!r}" if body else ""))
    if any(a.get("status") in (401, 403) for a in answers):
        return warn(
            id,
            SYSTEM,
            expected,
            shown,
            "the API answers but refuses anonymous requests",
            "readiness unknown: anonymous access to /readyz and /version is disabled",
        )
    return fail(id, SYSTEM, expected, shown, "the API server is not ready", hints.API_CLOSED)


def _spread_expected(c: HostedApi) -> str:
    return f"new connections served by every announcing node: {', '.join(n.name for n in c.announcers)}"


def _spread(c: HostedApi, result: Mapping[str, Any] | None, error: str) -> Probe:
    id = f"api/{c.id}/spread"
    want = [n.name for n in c.announcers]
    expected = _spread_expected(c)
    if result is None or "crash" in result:
        why = error or f"probe crashed: {(result or {}).get('crash')}"
        return fail(id, SYSTEM, expected, "", why, hints.api_unreachable(c.vip))
    nodes: dict[str, int] = dict(result.get("nodes") or {})
    errors = int(result.get("errors", 0))
    count = int(result.get("count", 0))
    observed = ", ".join(f"{n} {nodes.get(n, 0)}" for n in sorted(set(want) | set(nodes)))
    observed += f"; {errors} of {count} failed" if errors else f" of {count}"
    missing = [n for n in want if not nodes.get(n)]
    if missing or errors:
        message = (
            f"no connection reached {', '.join(missing)}"
            if missing
            else f"{errors} connections failed"
        )
        if errors:
            message += f" ({result.get('error', '')})"
        return fail(id, SYSTEM, expected, observed, message, hints.spread_missing(missing or want))
    return passed(id, SYSTEM, expected, observed)


def evaluate_api(
    expect: SiteExpect,
    results: Mapping[str, Mapping[str, Any]],
    *,
    ca_given: bool,
    spread: bool = False,
    error: str = "",
) -> list[Probe]:
    probes: list[Probe] = []
    measured = spread_stand_ins(expect)
    for c in expect.clusters:
        probes += _cluster_probes(c, results.get(f"api/{c.id}"), error, ca_given=ca_given)
        if spread and measured[c.id] != c.id:
            why = f"announced by the same nodes as {measured[c.id]}, measured there"
            probes.append(skip(f"api/{c.id}/spread", SYSTEM, why, _spread_expected(c)))
        elif spread:
            probes.append(_spread(c, results.get(f"api/{c.id}/spread"), error))
    return probes

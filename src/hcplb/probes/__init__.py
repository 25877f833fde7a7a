"""verify's probes: each checks one thing on a router, a resolver, the API or the cluster.

    report = verify_site(...)            # hcplb.probes.suite: every probe, concurrently
    report.exit_code                     # 0 pass, 1 any fail, 3 warnings only
    report.to_json()                     # {"ok", "duration_s", "probes": [...]}

A probe result (`Probe`) has a stable id (`router/<r>/session/<node>`,
`dns/<resolver>/<name>`, `api/<ns>-<name>/tls`, `cluster/...`), a status, what was expected,
what was observed, and a hint naming the likely cause (`hcplb.probes.hints`).
Parsers (`hcplb.frrjson`, `frr`) and evaluations are pure; I/O happens through
`hcplb.targets` and, for DNS and API probes, in `client` (run in-process, or inside the lab's
client host).

This module stays light: `python -m hcplb.probes.client` imports it inside lab hosts.
"""

from __future__ import annotations

from hcplb.probes.model import SYSTEMS, Probe, Report, Status

__all__ = ["SYSTEMS", "Probe", "Report", "Status"]

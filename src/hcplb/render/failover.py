"""The runbook's failover section: advice for this site from the figures `hcplb bench` measured.

Pure (no subprocess, no lab): the runbook renderer calls `failover_section(plan)`. The
figures are the medians measured in the lab on a 2-core machine (see MEASURED); re-measure
with `hcplb bench failover SITE --mode down --profile hcplb|guide` and update them here.
"""

from __future__ import annotations

from dataclasses import dataclass

from hcplb.plan import SitePlan
from hcplb.render.stability import stability_lines

__all__ = ["MEASURED", "Measured", "expected_detection_s", "failover_section"]


@dataclass(frozen=True)
class Measured:
    """One configuration measured in the lab: the serving node fails under new HTTPS
    connections at 200/s from one client; medians."""

    label: str
    withdrawal_s: float
    """until no router had the node as a nexthop"""
    failed_requests: int


# `benchmarks/failover.py` on examples/seed.yaml (3 nodes, 5 runs each, the guide 1 run),
# FRR 8.4.4, Debian 12 kernel, 2 cores at load 2-4 (other test suites running). BFD 50 ms x 3
# (the seed's since `bench stability` chose it): `hcplb bench failover examples/seed.yaml
# --mode down --runs 5 --rate 50`, 2026-12-03, load 16-19 (at 200/s most requests failed
# before any fault there); 100 ms x 3 measured alongside the same way: 0.378 s, 6 failed.
MEASURED: dict[str, Measured] = {
    "bfd": Measured("BFD 300 ms x 3 (MetalLB's default profile)", 0.90, 60),
    "bfd100": Measured("BFD 100 ms x 3", 0.35, 24),
    "bfd50": Measured("BFD 50 ms x 3 (the seed site; 50 new connections/s, load 16-19)", 0.286, 4),
    "timers": Measured("no BFD, BGP timers 3 / 9 s", 8.15, 544),
    "guide": Measured("the guide (no BFD, hold 180 s)", 179.4, 5640),
    "drain": Measured("drain first (exclude label), then stop the node", 0.74, 1),
    "freeze": Measured("FRR frozen, node alive (BFD 300 ms x 3)", 0.87, 0),
}
GUIDE_BLACKHOLE_S = 28.2
"""With the guide, the one client's connections (all on one node: L3 hash) failed for 28 s:
until the router's ARP entry for the dead node failed and the kernel skipped that nexthop."""


def expected_detection_s(plan: SitePlan) -> float:
    """How long the router keeps a dead node's nexthop: BFD's detection time, else the hold time."""
    bfd = plan.bfd
    if bfd is not None:
        return max(bfd.receive_interval, bfd.transmit_interval) * bfd.detect_multiplier / 1000
    return plan.site.spec.bgp.hold_time


def failover_section(plan: SitePlan) -> str:
    """A Markdown section (`## Failover: ...`) with the measured figures and this site's advice."""
    bgp = plan.site.spec.bgp
    nodes = len(plan.nodes)
    share = f"1/{nodes}" if nodes > 1 else "all"
    detect = expected_detection_s(plan)
    rows = [
        "| configuration | nexthop withdrawn after (median) | failed connections |",
        "|---|---|---|",
    ]
    for m in MEASURED.values():
        rows.append(f"| {m.label} | {m.withdrawal_s:g} s | {m.failed_requests} |")
    if plan.bfd is not None:
        site = (
            f"This site runs BFD {plan.bfd.receive_interval}/{plan.bfd.transmit_interval} ms x"
            f"{plan.bfd.detect_multiplier}: a node that dies is out of the router's ECMP set after "
            f"about {detect:g} s; until then {share} of new connections to the API fail."
        )
    else:
        site = (
            f"This site has BFD off: a node that dies keeps {share} of new connections "
            f"blackholed until the BGP hold timer ({bgp.hold_time:g} s) expires. Turn BFD on "
            "(`spec.bgp.bfd`) unless the network cannot carry it."
        )
    advice = [
        "Keep BFD on at both ends (the router's profile and MetalLB's `BFDProfile`, rendered "
        "together): 300 ms x 3 withdrew a dead node in 0.9 s, 100 ms x 3 in 0.35 s, 50 ms x 3 "
        "in 0.29 s. Faster is not free: a false detection withdraws a healthy node and resets "
        "its BGP session. The table below shows which profiles stayed quiet under load; on "
        "your own network, `hcplb bench stability` measures the same.",
        f"Hold / keepalive ({bgp.hold_time:g} s / {bgp.keepalive_time:g} s here) are the "
        "backstop when BFD itself fails. Without BFD, 9 s / 3 s withdrew in about 8 s; FRR's "
        f"traditional 180 s, the guide's, took 179 s (its client's connections failed for "
        f"{GUIDE_BLACKHOLE_S:g} s, until the router's ARP entry for the dead node failed).",
        "A frozen speaker (FRR stopped, the node alive) is withdrawn by BFD and costs no "
        "request: the node keeps serving what was already sent to it.",
        "Before maintenance, drain the node: label it "
        "`node.kubernetes.io/exclude-from-external-load-balancers=true`, wait until the router "
        "shows one nexthop fewer for the VIP (`hcplb lab drain` rehearses it), then stop it. "
        "No request went to a stopped node.",
        "When a nexthop is added or removed, Linux rehashes flows across the ECMP set, so a "
        "connection under way at that instant may be reset (a median of 1 per drain at 200 new "
        "connections/s). "
        "Clients retry; long-lived ones (kubelet, oc) reconnect. The drain procedure below "
        "keeps the other nodes' connections.",
        "`net.ipv4.fib_multipath_hash_policy = 1` (rendered) spreads one client's "
        "connections over the nodes; the guide's default (L3 hash) sends them all to one.",
    ]
    return "\n".join(
        [
            "## Failover: what a node failure costs, and what to tune",
            "",
            "Measured in the hcplb lab (`hcplb bench failover`): the node serving the client fails"
            " (link down) while one client opens 200 new HTTPS connections per second:",
            "",
            *rows,
            "",
            site,
            "",
            *(f"- {a}" for a in advice),
            "",
            *stability_lines(plan),
            "",
        ]
    )

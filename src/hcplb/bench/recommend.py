"""Failover recommendations for a site's runbook, from the figures `hcplb bench` measured.

Pure (no subprocess, no lab): the runbook renderer calls `failover_section(plan)`. The
figures are the medians measured in the lab on a 2-core machine (see MEASURED); re-measure
with `hcplb bench failover SITE --mode down --profile hcplb|guide` and update them here.
"""

from __future__ import annotations

from dataclasses import dataclass

from hcplb.plan import SitePlan

__all__ = ["MEASURED", "Measured", "expected_detection_s", "failover_section"]


@dataclass(frozen=True)
class Measured:
    """One configuration measured in the lab: node link down, new HTTPS connections at `rate`/s."""

    label: str
    withdrawal_s: float
    failed_requests: int
    rate: int


# Medians of `hcplb bench failover examples/seed.yaml --mode down --runs 5` (3 nodes, 200/s),
# FRR 8.4.4, Debian 12, 2 cores. `guide`: the guide's config (no BFD; the router's traditional
# hold 180 s, MetalLB's 90 s win the negotiation).
MEASURED: dict[str, Measured] = {
    "bfd": Measured("BFD 300 ms x 3 (hcplb)", 0.81, 55, 200),
    "timers": Measured("no BFD, timers 3 / 9 s", 8.4, 560, 200),
    "guide": Measured("the guide (no BFD, hold 90 s negotiated)", 80.0, 5300, 200),
    "drain": Measured("drain first (exclude-from-external-load-balancers)", 0.1, 0, 200),
}


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
        "| configuration | nexthop withdrawn after (median) | failed connections (at 200/s) |",
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
        "together). 300 ms x 3 withdrew a dead node in under a second in the lab; go below "
        "100 ms x 3 only on a dedicated, lightly loaded machine network, since a false "
        "detection flaps the VIP for every client.",
        f"Hold / keepalive {bgp.hold_time:g} s / {bgp.keepalive_time:g} s are the backstop when "
        "BFD itself fails; without BFD use 9 s / 3 s (measured: about 8.5 s to withdraw) "
        "and never FRR's traditional 180 s.",
        "A frozen speaker (FRR stopped, node alive) is withdrawn by BFD and costs no request: "
        "the node keeps serving what was already sent to it.",
        "Before maintenance, drain the node: label it "
        "`node.kubernetes.io/exclude-from-external-load-balancers=true`, wait until the router "
        "shows one nexthop fewer for the VIP, then stop the node. Measured: no failed request "
        "(rehearse with `hcplb lab drain`).",
        "Linux rehashes every flow when an ECMP nexthop is added or removed: a connection "
        "in its first milliseconds may be reset then. Long-lived clients (kubelet, oc) reconnect.",
    ]
    return "\n".join(
        [
            "## Failover: what a node failure costs, and what to tune",
            "",
            "Measured in the hcplb lab (`hcplb bench failover`), node link down, 3 nodes, new HTTPS "
            "connections at 200/s:",
            "",
            *rows,
            "",
            site,
            "",
            *(f"- {a}" for a in advice),
            "",
        ]
    )

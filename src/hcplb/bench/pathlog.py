"""Reading a router's withdrawal path from FRR's debug log and `ip -ts monitor route`.

Pure: text in, instants out. FRR writes (with `log timestamp precision 6`)

    2026/12/03 15:08:26.154819 BFD: [SEY1D-NT8EQ] state-change: [mhop:no peer:192.168.125.21 ...] up -> down ...

and `ip -ts monitor route` prints `[2026-12-03T15:08:26.265618] 10.0.2.20 nhid 21 proto bgp ...`
(a deleted route starts with `Deleted`), both in local time. The events of one withdrawal
are found in order, each the first matching line at or after the one before it:

    fault -> bfd-down -> bgp-down -> bgp-cleared -> bgp-tx -> zebra-rib -> dplane -> kernel

Daemons log independently: bfdd logs its state change just after it told bgpd (through
zebra), so bgpd's line may come first. Each search starts LOG_SKEW_S before the previous
event, and a stage within that skew counts as zero.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "EVENTS",
    "STAGES",
    "LogLine",
    "find_events",
    "parse_frr_log",
    "parse_route_monitor",
    "stage_durations",
]

EVENTS = (
    "fault",
    "bfd-down",
    "bgp-down",
    "bgp-cleared",
    "bgp-tx",
    "zebra-rib",
    "dplane",
    "kernel",
)
STAGES: tuple[tuple[str, str, str, str], ...] = (
    # name, from event, to event, what happens in between
    ("detect", "fault", "bfd-down", "bfdd: detection time (no control packet for receive x mult)"),
    ("bgp-down", "bfd-down", "bgp-down", "bfdd tells bgpd; bgpd stops the session"),
    ("bgp-clear", "bgp-down", "bgp-cleared", "bgpd clears the peer's paths (clear work queue)"),
    ("bgp-bestpath", "bgp-cleared", "bgp-tx", "bgpd bestpath, route sent to zebra (process queue)"),
    ("zebra-rib", "bgp-tx", "zebra-rib", "zebra reads the route, RIB meta-queue"),
    ("zebra-dplane", "zebra-rib", "dplane", "zebra RIB processing and dataplane thread to netlink"),
    ("kernel", "dplane", "kernel", "kernel FIB change seen by ip monitor"),
)

LOG_SKEW_S = 0.005
_FRR_LINE = re.compile(
    r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d+)?) ([A-Z0-9_]+): (?:\[[\w-]+\] )?(.*)$"
)
_MONITOR_LINE = re.compile(r"^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)\] (.*)$")


@dataclass(frozen=True)
class LogLine:
    t: float
    """Unix time"""
    source: str
    """the daemon (BFD, BGP, ZEBRA) or `kernel` for a route monitor line"""
    text: str


def parse_frr_log(text: str) -> list[LogLine]:
    """FRR log lines with their instants (lines without a timestamp are skipped)."""
    lines = []
    for raw in text.splitlines():
        match = _FRR_LINE.match(raw)
        if match is None:
            continue
        stamp, daemon, rest = match.groups()
        fmt = "%Y/%m/%d %H:%M:%S.%f" if "." in stamp else "%Y/%m/%d %H:%M:%S"
        lines.append(LogLine(datetime.strptime(stamp, fmt).timestamp(), daemon, rest))
    return lines


def parse_route_monitor(text: str) -> list[LogLine]:
    """`ip -ts monitor route` messages (first line of each; nexthop lines follow indented)."""
    lines = []
    for raw in text.splitlines():
        match = _MONITOR_LINE.match(raw)
        if match is not None:
            stamp, rest = match.groups()
            lines.append(LogLine(datetime.fromisoformat(stamp).timestamp(), "kernel", rest))
    return lines


Matcher = Callable[[LogLine], bool]


def _matchers(peer: str, vip: str) -> dict[str, Matcher]:
    address = vip.split("/")[0]
    prefix = vip if "/" in vip else f"{vip}/32"
    peer_re = re.escape(peer)
    bfd_down = re.compile(rf"state-change: \[.*\bpeer:{peer_re}[\] ].*-> down")
    bgp_down = re.compile(rf"^{peer_re}(\(\S*\))? \[FSM\] \w+ \(Established->")
    cleared = re.compile(rf"^{peer_re}(\(\S*\))? \[FSM\] Clearing_Completed")
    tx = re.compile(rf"Tx route (add|delete) VRF \d+ {re.escape(prefix)} ")
    encoded = re.compile(rf"msg_encode: RTM_(NEW|DEL)ROUTE {re.escape(prefix)} ")
    kernel = re.compile(rf"^(Deleted )?{re.escape(address)}(/32)? ")
    return {
        "bfd-down": lambda ln: ln.source == "BFD" and bool(bfd_down.search(ln.text)),
        "bgp-down": lambda ln: ln.source == "BGP" and bool(bgp_down.search(ln.text)),
        "bgp-cleared": lambda ln: ln.source == "BGP" and bool(cleared.search(ln.text)),
        "bgp-tx": lambda ln: ln.source == "BGP" and bool(tx.search(ln.text)),
        "zebra-rib": lambda ln: ln.source == "ZEBRA" and prefix in ln.text,
        "dplane": lambda ln: ln.source == "ZEBRA" and bool(encoded.search(ln.text)),
        "kernel": lambda ln: ln.source == "kernel" and bool(kernel.search(ln.text)),
    }


def find_events(
    lines: Sequence[LogLine], *, fault_at: float, peer: str, vip: str
) -> dict[str, float | None]:
    """The instant of each event of one withdrawal (None: not found after the one before).

    `lines` are the router's FRR log and route monitor lines together; `peer` is the failed
    node's address, `vip` the route it carried.
    """
    ordered = sorted((ln for ln in lines if ln.t >= fault_at), key=lambda ln: ln.t)
    found: dict[str, float | None] = {"fault": fault_at}
    since = fault_at
    for event, matches in _matchers(peer, vip).items():
        at = next((ln.t for ln in ordered if ln.t >= since - LOG_SKEW_S and matches(ln)), None)
        found[event] = at
        if at is not None:
            since = at
    return found


def stage_durations(events: dict[str, float | None]) -> dict[str, float | None]:
    """Seconds per stage (None when one of its two events is missing)."""
    out: dict[str, float | None] = {}
    for name, start, end, _what in STAGES:
        a, b = events.get(start), events.get(end)
        out[name] = None if a is None or b is None else round(max(b - a, 0.0), 6)
    first, last = events.get("bfd-down"), events.get("kernel")
    out["after-bfd"] = None if first is None or last is None else round(last - first, 6)
    fault = events.get("fault")
    out["total"] = None if fault is None or last is None else round(last - fault, 6)
    return out

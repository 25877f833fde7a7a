"""A pinned drain on a lab's routers: the rendered `drain-pin.sh` run in each router's namespace.

Why and how it keeps every other node's connections: `hcplb.render.drain`. Measured with
`ip route get` on the seed lab (512 flows): a plain drain moved 84 of 314 other nodes' flows
when the first of three nexthops left, 92 of 374 for the last, none for the middle one; a
pinned drain none. Moving the route onto a kernel resilient group moved 345 of 512 flows,
and a nexthop object of another protocol (`ip nexthop`) is taken over by zebra 8.4 and
reinstalled when deleted, so the pinned route carries its nexthops inline.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from hcplb.errors import LabError
from hcplb.fsutil import write_atomic
from hcplb.lab.core import Lab
from hcplb.lab.topology import CLIENT
from hcplb.render.drain import DRAIN_SCRIPT, PIN_PREF, render_drain_script
from hcplb.runner import run
from hcplb.settings import COMMAND_TIMEOUT

__all__ = ["flow_hops", "pin", "pinned", "unpin"]


def _script(lab: Lab, router: str) -> str:
    """The router's drain script, written into its lab directory (as setup.sh ships it)."""
    if lab.booted(router):  # its own root filesystem: the lab directory is not in its view
        raise LabError(f"{router}: a pinned drain runs on netns routers only (not --router-host)")
    path = lab.host_dir(router) / DRAIN_SCRIPT
    spec = next(r for r in lab.plan.routers if r.name == router)
    write_atomic(path, render_drain_script(lab.plan, spec), mode=0o700)
    return str(path)


def _sh(lab: Lab, router: str, *args: str) -> str:
    result = lab.run(router, ["sh", _script(lab, router), *args], timeout=COMMAND_TIMEOUT * 2)
    if not result.ok:
        raise LabError(f"{router}: {DRAIN_SCRIPT} {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def pin(lab: Lab, router: str, address: str) -> str:
    """`drain-pin.sh pin ADDRESS` on the router: what it pinned."""
    return _sh(lab, router, "pin", address)


def unpin(lab: Lab, router: str) -> bool:
    """`drain-pin.sh unpin` on the router; whether anything was pinned."""
    had = pinned(lab, router)
    _sh(lab, router, "unpin")
    return had


def _ip(lab: Lab, router: str, *args: str) -> str:
    result = run(["ip", "-n", lab.host(router).netns, *args], timeout=COMMAND_TIMEOUT)
    if not result.ok:
        raise LabError(f"{router}: ip {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def pinned(lab: Lab, router: str) -> bool:
    return any(
        json.loads(_ip(lab, router, family, "-j", "rule", "show", "pref", str(PIN_PREF)) or "[]")
        for family in ("-4", "-6")
    )


def flow_hops(
    lab: Lab, router: str, vip: str, ports: Sequence[int], *, dport: int = 6443
) -> dict[int, str]:
    """The nexthop the router's kernel picks for the client's TCP flows to `vip` from each
    source port (`ip route get`, the forwarding decision itself: no packet is sent)."""
    client = lab.host(CLIENT).primary_address
    route = json.loads(_ip(lab, router, "-j", "route", "get", client) or "[]")
    if not route:
        raise LabError(f"{router}: no route back to the client {client}")
    iif = route[0]["dev"]
    address = vip.split("/")[0]
    batch = "".join(
        f"route get {address} from {client} iif {iif} ipproto tcp sport {p} dport {dport}\n"
        for p in ports
    )
    result = run(
        ["ip", "-n", lab.host(router).netns, "-j", "-batch", "-"],
        timeout=COMMAND_TIMEOUT * 4,
        input=batch,
    )
    if not result.ok:
        raise LabError(f"{router}: ip route get: {result.stderr.strip()}")
    answers = [json.loads(line)[0] for line in result.stdout.splitlines() if line.strip()]
    return {p: a.get("gateway", a.get("dev", "?")) for p, a in zip(ports, answers, strict=True)}

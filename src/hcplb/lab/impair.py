"""A lossy machine network: packet loss (and delay jitter) on a lab's own switch ports.

    how = impair(lab, Impairment(loss_pct=1.0, delay_ms=2.0, jitter_ms=2.0))
    dropped_packets(lab)       # what the loss dropped so far (nftables only)
    unimpair(lab)

The loss sits on the switch side of every machine-network port (the `lan` namespace), so
each packet between a router and a node meets it exactly once, in either direction: the
loss is the given percentage per packet and per direction. `tc netem` does loss and jitter;
a kernel without sch_netem gets the loss from an nftables bridge rule (`numgen random`)
instead, and no jitter (`impair` says which). Nothing outside the lab's namespaces is
touched, and `lab down` removes both with the namespaces.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from hcplb.errors import LabError
from hcplb.lab.core import Lab
from hcplb.runner import run
from hcplb.settings import COMMAND_TIMEOUT

__all__ = ["Impairment", "Method", "dropped_packets", "impair", "impaired_ports", "unimpair"]

Method = Literal["netem", "nftables"]
TABLE = "hcplb_impair"
_NO_NETEM = "qdisc kind is unknown"


@dataclass(frozen=True)
class Impairment:
    loss_pct: float = 1.0
    delay_ms: float = 2.0
    jitter_ms: float = 2.0
    """each packet is delayed `delay_ms` +- up to `jitter_ms` (netem only)"""

    def netem_args(self) -> list[str]:
        args = ["loss", f"{self.loss_pct:g}%"]
        if self.delay_ms or self.jitter_ms:
            args += ["delay", f"{self.delay_ms:g}ms", f"{self.jitter_ms:g}ms"]
        return args

    def nft_ruleset(self, ports: list[str]) -> str:
        """A bridge table dropping `loss_pct` % of what leaves through `ports` (1/10000 steps)."""
        names = ", ".join(f'"{p}"' for p in ports)
        share = round(self.loss_pct * 100)
        return (
            f"table bridge {TABLE} {{\n chain loss {{\n"
            "  type filter hook forward priority 0; policy accept;\n"
            f"  oifname {{ {names} }} numgen random mod 10000 < {share} counter drop\n"
            " }\n}\n"
        )

    def as_json(self, method: Method) -> dict[str, object]:
        netem = method == "netem"
        return {
            "method": method,
            "loss_pct": self.loss_pct,
            "delay_ms": self.delay_ms if netem else 0,
            "jitter_ms": self.jitter_ms if netem else 0,
        }


def impaired_ports(lab: Lab) -> list[str]:
    """The switch ports that carry the router-node traffic (the machine network)."""
    return [port for port, segment in lab.topology.ports() if segment == "machine"]


def _in_switch(lab: Lab, argv: list[str], stdin: str | None = None) -> str:
    """Run argv in the lab's switch namespace; the error text ('' when it worked)."""
    result = run(argv, timeout=COMMAND_TIMEOUT, netns=lab.topology.switch.netns, input=stdin)
    return "" if result.ok else (result.stderr.strip() or f"exit {result.rc}")


def impair(lab: Lab, impairment: Impairment) -> Method:
    """Put the loss on every machine-network port; how. LabError naming the failure."""
    if not 0 <= impairment.loss_pct <= 100:
        raise LabError(f"loss {impairment.loss_pct:g} % is not a percentage")
    ports = impaired_ports(lab)
    for port in ports:
        error = _in_switch(lab, ["tc", "qdisc", "replace", "dev", port, "root", "netem",
                                 *impairment.netem_args()])  # fmt: skip
        if _NO_NETEM in error:
            break
        if error:
            raise LabError(f"lab {lab.name}: tc netem on {port} failed: {error}")
    else:
        return "netem"
    error = _in_switch(lab, ["nft", "-f", "-"], impairment.nft_ruleset(ports))
    if error:
        raise LabError(
            f"lab {lab.name}: no sch_netem in this kernel, and nftables failed too: {error}"
        )
    return "nftables"


def dropped_packets(lab: Lab) -> int | None:
    """Packets the nftables loss dropped so far (None without that table: netem, or none)."""
    result = run(["nft", "-j", "list", "table", "bridge", TABLE], timeout=COMMAND_TIMEOUT,
                 netns=lab.topology.switch.netns)  # fmt: skip
    if not result.ok:
        return None
    items = json.loads(result.stdout).get("nftables", [])
    return sum(
        int(expr["counter"]["packets"])
        for item in items
        for expr in item.get("rule", {}).get("expr", [])
        if isinstance(expr, dict) and "counter" in expr
    )


def unimpair(lab: Lab) -> None:
    """Remove the loss again (netem qdiscs and the nftables table; absent ones are fine)."""
    for port in impaired_ports(lab):
        _in_switch(lab, ["tc", "qdisc", "del", "dev", port, "root"])
    _in_switch(lab, ["nft", "delete", "table", "bridge", TABLE])

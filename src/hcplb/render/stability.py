"""The runbook's BFD stability table, generated from the committed evidence file.

`hcplb/data/evidence/bfd-stability.json` is the `--output json` of one
`hcplb bench stability` run (profiles side by side under CPU load and packet loss) with its
provenance; re-measure and replace the file, never edit the figures. Pure: reads package data.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from hcplb.plan import SitePlan

__all__ = ["EVIDENCE", "stability_evidence", "stability_lines"]

EVIDENCE = "data/evidence/bfd-stability.json"


@cache
def stability_evidence() -> dict[str, Any]:
    """The committed measurement (as `bench stability --output json` printed it)."""
    text = resources.files("hcplb").joinpath(EVIDENCE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _load_words(data: dict[str, Any]) -> str:
    loss = data.get("loss")
    lossy = ""
    if loss:
        lossy = f"{loss['loss_pct']:g} % packet loss on the machine network (each direction"
        lossy += (
            f", {loss['delay_ms']:g} ± {loss['jitter_ms']:g} ms delay; netem)"
            if loss["method"] == "netem"
            else "; an nftables rule, this kernel has no netem: no jitter)"
        )
    cpu = "stress-ng busy on every core" if data["load"] in ("cpu", "both") else ""
    return " and ".join(w for w in (cpu, lossy) if w) or "no load"


def _this_site(plan: SitePlan, rows: list[dict[str, Any]]) -> str:
    bfd = plan.bfd
    if bfd is None:
        return "This site has BFD off."
    timers = (bfd.receive_interval, bfd.transmit_interval, bfd.detect_multiplier)
    for row in rows:
        if (row["receive_ms"], row["transmit_ms"], row["multiplier"]) == timers:
            outcome = "no flap" if row["flaps"] == 0 else f"{row['flaps']} flap event(s)"
            return f"This site's profile ({row['profile'].split()[0]}) had {outcome} there."
    return (
        "This site's profile was not among those measured: `hcplb bench stability SITE "
        "--profiles spec` measures it."
    )


def stability_lines(plan: SitePlan) -> list[str]:
    """The `### BFD timers under load` subsection of the failover section."""
    data = stability_evidence()
    rows: list[dict[str, Any]] = data["profiles"]
    prov = data["provenance"]
    table = [
        "| BFD profile (interval x multiplier) | detection | BFD downs | BGP resets | "
        "withdrawn nexthops |",
        "|---|---|---|---|---|",
        *(
            f"| {r['profile'].split()[0]} | {r['detection_ms']} ms | {r['bfd_downs']} | "
            f"{r['bgp_resets']} | {r['withdrawals']} |"
            for r in rows
        ),
    ]
    chosen = data.get("fastest_without_flaps")
    verdict = (
        f"The fastest profile without a flap was {chosen.split()[0]}, the seed's default."
        if chosen
        else "Every profile flapped: keep 300 ms x 3 (MetalLB's default) or slower."
    )
    return [
        "### BFD timers under load: which profile flaps",
        "",
        f"`hcplb bench stability` ran one lab per BFD profile side by side for "
        f"{data['seconds'] / 60:g} minutes with {_load_words(data)}, and counted on the router "
        "every BFD session down, BGP session reset and nexthop withdrawn from the VIP (a "
        "healthy node never should be):",
        "",
        *table,
        "",
        f"{verdict} {_this_site(plan, rows)}",
        "",
        f"Measured {prov['date']} on {prov['machine']} (shared with other work, machine load "
        f"{prov['load_before']} before, {prov['load_after']} after: conservative), kernel "
        f"{prov['kernel']}, FRR {prov['frr']}: `{prov['command']}`.",
    ]

"""Benchmark: node failures under load, hcplb's profile against the guide's, on the same lab.

Prints one row per case: withdrawal min / median / max, failed requests (of which blackholed
and ECMP-rehash resets), longest failure window and time to full ECMP after the heal, with the
machine's load averages. Cases: hcplb down / freeze / drain, site variants with BFD 100 ms x 3
and with no BFD but timers 3 / 9 s, guide down / freeze / drain (no BFD, hold 180 s: minutes;
bounded by --max-wait). The node failed is the one serving the client most.
Needs root, FRR and BIND (a lab per case). Not a test: it prints.

Run: .venv/bin/python benchmarks/failover.py [--site examples/seed.yaml] [--runs 5]
     [--guide-runs 1] [--max-wait 240] [--rate 200] [--cases hcplb-down,guide-down]
     [--plot-dir DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from ruamel.yaml import YAML

from hcplb.bench.failover import FailoverReport, machine_load, run_failover

CASES = (
    "hcplb-down", "hcplb-freeze", "hcplb-drain", "hcplb-bfd100-down", "hcplb-timers9-down",
    "guide-down", "guide-freeze", "guide-drain",
)  # fmt: skip
# site variants: spec.bgp changes
VARIANTS: dict[str, dict[str, object]] = {
    # MetalLB's BFDProfile allows intervals down to 10 ms
    "hcplb-bfd100": {
        "bfd": {"receiveInterval": 100, "transmitInterval": 100, "detectMultiplier": 3}
    },
    # no BFD, short BGP timers: what the hold timer alone gives
    "hcplb-timers9": {"bfd": None, "keepaliveTime": "3s", "holdTime": "9s"},
}


def variant(site: Path, name: str, workdir: Path) -> Path:
    """A copy of the site with `spec.bgp` changed as VARIANTS[name] says."""
    yaml = YAML()
    data = yaml.load(site.read_text(encoding="utf-8"))
    data["spec"].setdefault("bgp", {}).update(VARIANTS[name])
    out = workdir / f"{name}-{site.name}"
    with out.open("w", encoding="utf-8") as handle:
        yaml.dump(data, handle)
    return out


def row(case: str, report: FailoverReport) -> str:
    data = report.as_json()

    def triple(key: str) -> str:
        f = data[key]
        if f["median"] is None:
            return "-"
        return f"{f['min']:g} / {f['median']:g} / {f['max']:g}" + (
            " (>=)" if f.get("bounded") else ""
        )

    def median(key: str) -> str:
        value = data[key]["median"]
        return "-" if value is None else f"{value:g}"

    return (
        f"{case:18} {len(report.runs):>4}  {triple('withdrawal_s'):28} {median('failed_requests'):>7} "
        f"{median('blackholed'):>7} {median('rehash_resets'):>7} "
        f"{median('longest_failure_window_s'):>7} {median('recovery_s'):>7}"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--site", type=Path, default=Path("examples/seed.yaml"))
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--guide-runs", type=int, default=1)
    p.add_argument("--max-wait", type=float, default=240.0)
    p.add_argument("--rate", type=float, default=200.0)
    p.add_argument("--cases", default=",".join(CASES))
    p.add_argument("--plot-dir", type=Path)
    p.add_argument("--json", type=Path, help="write every report here")
    args = p.parse_args()
    cases = [c for c in args.cases.split(",") if c]
    unknown = set(cases) - set(CASES)
    if unknown:
        p.error(f"unknown case(s) {', '.join(sorted(unknown))} (cases: {', '.join(CASES)})")
    print(f"site {args.site}, {args.rate:g} new HTTPS connections/s; load before: {machine_load()}")
    header = (
        f"{'case':18} {'runs':>4}  {'withdrawal s (min/med/max)':28} {'failed':>7} "
        f"{'blackh.':>7} {'rehash':>7} {'window':>7} {'ecmp s':>7}"
    )
    print(header)
    reports = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hcplb-bench-") as tmp:
        for case in cases:
            profile, _, mode = case.rpartition("-")
            site = args.site
            if profile in VARIANTS:
                profile, site = "hcplb", variant(args.site, profile, Path(tmp))
            plot = args.plot_dir / f"{case}.png" if args.plot_dir else None
            report = run_failover(
                site, mode=mode, runs=args.guide_runs if profile == "guide" else args.runs,
                profile=profile, max_wait=args.max_wait, rate=args.rate, plot=plot,
            )  # fmt: skip
            reports[case] = report.as_json()
            print(row(case, report), f"  load {report.load_after}", flush=True)
            if args.json:
                args.json.write_text(json.dumps(reports, indent=1))
    print(f"done in {time.monotonic() - started:.0f} s; load after: {machine_load()}")
    print(
        "failed = all failed requests before the heal; blackh. = no answer (sent to a dead node);"
    )
    print("rehash = reset while under way at a FIB change; window = longest failure window (s);")
    print("ecmp s = from the heal to full ECMP; (>=) = bounded by --max-wait, a lower bound")


if __name__ == "__main__":
    main()

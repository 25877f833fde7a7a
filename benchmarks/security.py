"""Benchmark: attacks on the router from the machine network, hcplb's profile beside the guide's.

For each site: every attack of `hcplb bench security` against a fresh lab state, for both
profiles; prints accepted / rejected side by side with the evidence and the time it took.
Needs root, FRR and BIND. Not a test: it prints.

Run: .venv/bin/python benchmarks/security.py [--site examples/seed.yaml ...] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import textwrap
import time
from pathlib import Path

from hcplb.bench.failover import machine_load
from hcplb.bench.security import run_security


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--site", type=Path, action="append")
    p.add_argument("--profiles", default="hcplb,guide")
    p.add_argument("--json", type=Path, help="write every report here")
    args = p.parse_args()
    sites = args.site or [Path("examples/seed.yaml")]
    profiles = tuple(x for x in args.profiles.split(",") if x)
    reports = {}
    for site in sites:
        started = time.monotonic()
        report = run_security(site, profiles=profiles).as_json()
        reports[str(site)] = report
        took = time.monotonic() - started
        print(f"\n{site}: {took:.0f} s, load {machine_load()}")
        print(f"  {'attack':16}" + "".join(f"{p:>10}" for p in profiles))
        for attack in report["attacks"]:
            print(f"  {attack['id']:16}" + "".join(f"{attack.get(p, '-'):>10}" for p in profiles))
        for attack in report["attacks"]:
            print(f"  {attack['id']}: {attack.get('title', '')}")
            for profile, text in attack["evidence"].items():
                print(textwrap.indent(textwrap.fill(f"{profile}: {text}", 96), "      "))
    if args.json:
        args.json.write_text(json.dumps(reports, indent=1))


if __name__ == "__main__":
    main()

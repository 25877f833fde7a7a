"""Benchmark: how long `hcplb verify --lab` takes on the seed lab (target: under 2 s).

Brings the seed site up in a lab (or uses `--lab NAME`, left running), then runs verify
in-process `--runs` times and the `hcplb verify --lab` command `--cli-runs` times, and prints
the duration of each run, the median and the worst, the machine's load, and whether every
probe passed. Needs root. Run: .venv/bin/python benchmarks/verify_speed.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hcplb.lab import down, up
from hcplb.lab.verification import prepare_lab
from hcplb.probes.model import Status
from hcplb.probes.suite import verify
from hcplb.settings import PROBE_TIMEOUT

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 2.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", help="an existing lab to probe (not torn down)")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--cli-runs", type=int, default=3)
    args = parser.parse_args()

    own = args.lab is None
    labs_dir = None
    if own:
        labs_dir = tempfile.mkdtemp(prefix="hcplb-bench-verify-")
        os.environ["HCPLB_LAB_DIR"] = labs_dir
        name = f"bv{os.getpid() % 100000}"
        started = time.monotonic()
        lab = up(ROOT / "examples" / "seed.yaml", name, timeout=90)
        print(
            f"seed lab {name} up in {time.monotonic() - started:.1f} s "
            f"(converged in {lab.state.converge_seconds} s)"
        )
    else:
        name = args.lab
    try:
        prepared = prepare_lab(name)
        # `lab up` waits for sessions, routes, DNS and HTTPS; BFD may need another moment
        deadline = time.monotonic() + 30
        while verify(prepared.expect, prepared.targets).exit_code != 0:
            if time.monotonic() > deadline:
                print("the lab does not pass verify after 30 s")
                break
            time.sleep(0.5)
        durations, failures = [], 0
        for i in range(args.runs):
            report = verify(
                prepared.expect, prepared.targets, timeout=PROBE_TIMEOUT, secrets=prepared.secrets
            )
            durations.append(report.duration_s)
            bad = [p.id for p in report.probes if p.status in (Status.fail, Status.warn)]
            failures += bool(bad)
            counts = {s.value: len(report.with_status(s)) for s in Status}
            print(
                f"run {i + 1:2d}: {report.duration_s:.3f} s  {counts}"
                + (f"  NOT OK: {bad}" if bad else "")
            )
        hcplb = str(Path(sys.executable).with_name("hcplb"))
        cli = []
        for _ in range(args.cli_runs):
            started = time.monotonic()
            done = subprocess.run(
                [hcplb, "verify", "--lab", name, "-O", "json"],
                capture_output=True,
                text=True,
                timeout=120,
            )
            cli.append(time.monotonic() - started)
            failures += done.returncode != 0
        load = os.getloadavg()
        print(
            f"verify (in-process): median {statistics.median(durations):.3f} s, "
            f"worst {max(durations):.3f} s over {len(durations)} runs (target < {TARGET_S} s)"
        )
        if cli:
            print(
                f"hcplb verify --lab (whole command, Python start included): "
                f"median {statistics.median(cli):.3f} s, worst {max(cli):.3f} s"
            )
        print(
            f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
        )
        print("every probe passed in every run" if not failures else f"{failures} run(s) not OK")
        return 0 if not failures and statistics.median(durations) < TARGET_S else 1
    finally:
        if own:
            down(name)
            if labs_dir and not os.listdir(labs_dir):
                os.rmdir(labs_dir)


if __name__ == "__main__":
    sys.exit(main())

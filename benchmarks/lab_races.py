"""Benchmark: 20 rounds of `lab down` while `lab up` of the same lab is building; prints, per
round, how far the build had got, both exit codes, how long down took and what was left
(namespaces, processes carrying the lab's marker, files, the lock, mounts, links). Needs root.

Issue 11's bar: nothing left after any round. The lab test runs three of these rounds.
Run: .venv/bin/python benchmarks/lab_races.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.hostile.races import race


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    # stop points: as soon as the journal exists, then after 2, 4, ... journalled processes
    points = [0, 2, 4, 6, 8, 10, 12, 14, 16, 17]
    left_total = 0
    seconds = []
    with tempfile.TemporaryDirectory(prefix="hcplb-races-") as tmp:
        labs = Path(tmp) / "labs"
        labs.mkdir()
        print(f"{'round':>5} {'after':>5} {'running':>7} {'up':>3} {'down':>4} {'down s':>6}  left")
        for i in range(args.rounds):
            after = points[i % len(points)]
            r = race(labs, f"race{os.getpid() % 10000}-{i}", after=after)
            seconds.append(r.down_seconds)
            left_total += len(r.leftovers)
            print(
                f"{i:>5} {after:>5} {r.started:>7} {r.up_rc:>3} {r.down_rc:>4} "
                f"{r.down_seconds:>6.2f}  {', '.join(r.leftovers) or '-'}",
                flush=True,
            )
    print(
        f"{args.rounds} rounds: {left_total} leftovers; lab down took "
        f"median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s "
        f"(CLI start included); load {os.getloadavg()[0]:.1f}"
    )
    sys.exit(1 if left_total else 0)


if __name__ == "__main__":
    main()

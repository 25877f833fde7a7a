"""Benchmark: how long hcplb takes to answer each generated hostile spec (in process, without
the CLI's start-up), and the peak memory of the whole run. Issue 11's bar: a located error in
well under a second, a few hundred MB at most. Not a test: it prints.

Run: .venv/bin/python benchmarks/hostile_limits.py
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.hostile.gen import SEED, SPECIAL_FILES, spec_cases

from hcplb.errors import HcplbError
from hcplb.spec import load_site


def _answer(path: Path) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        load_site(path)
        outcome = "accepted"
    except HcplbError as exc:
        outcome = exc.lines()[0][:90]
    return time.perf_counter() - started, outcome


def main() -> None:
    rows: list[tuple[str, int, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="hcplb-hostile-") as tmp:
        base = Path(tmp)
        for case in spec_cases():
            path = base / f"{case.id}.yaml"
            path.write_bytes(case.data)
            seconds, outcome = _answer(path)
            rows.append((case.id, len(case.data), seconds, outcome))
        for ident, make in SPECIAL_FILES:
            path = make(base / f"special-{ident}")
            seconds, outcome = _answer(path)
            rows.append((ident, 0, seconds, outcome))
        for pool in ("fd00::/64", "10.0.0.0/8"):
            text = SEED.replace("10.0.2.20-10.0.2.20", pool).replace("      vip: 10.0.2.20\n", "")
            path = base / "pool.yaml"
            path.write_text(text)
            seconds, outcome = _answer(path)
            rows.append((f"pool {pool} (pool-allocated VIP)", len(text), seconds, outcome))
    print(f"{'case':<34} {'bytes':>9} {'ms':>8}  answer")
    for ident, size, seconds, outcome in rows:
        print(f"{ident:<34} {size:>9} {seconds * 1000:>8.1f}  {outcome}")
    worst = max(rows, key=lambda r: r[2])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{len(rows)} cases; slowest {worst[0]} {worst[2] * 1000:.0f} ms; peak RSS {peak:.0f} MB; "
        f"load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()

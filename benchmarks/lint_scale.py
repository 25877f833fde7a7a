"""Benchmark: lint the files rendered for a 500-hosted-cluster, 2-router, 32-node site.

Target: about 2 s on a 2-core machine (lint reads every router config, manifest and zone of the
fleet, checks each system, then across systems). Not a test: it prints.
Run: .venv/bin/python benchmarks/lint_scale.py [--clusters N] [--nodes N] [--routers N] [--runs N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from render_scale import fleet_spec

from hcplb.lint.engine import lint_paths
from hcplb.render import Secrets, render_site, write_rendered
from hcplb.spec import load_site_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clusters", type=int, default=500)
    parser.add_argument("--nodes", type=int, default=32)
    parser.add_argument("--routers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    loaded = load_site_text(fleet_spec(args.clusters, args.nodes, args.routers), "scale.yaml")
    rendered = render_site(loaded.site, Secrets())
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        write_rendered(rendered, out)
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            report = lint_paths([out])
            times.append(time.perf_counter() - started)
    print(f"site: {args.clusters} hosted clusters, {args.routers} routers, {args.nodes} nodes")
    print(f"files linted: {len(rendered.files)}, findings: {len(report.findings)}")
    print(f"lint: best {min(times):.3f} s, worst {max(times):.3f} s over {args.runs} runs")


if __name__ == "__main__":
    main()

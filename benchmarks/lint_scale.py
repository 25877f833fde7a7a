"""Benchmark: lint the files rendered for a 500-hosted-cluster, 2-router, 32-node site.

Target: lint of a site costs about what render costs (issue #11). It prints, for the same site,
render (load the spec + render), lint of the site spec (load, render in memory, lint) and lint of
the rendered files, with the lint/render ratios. Not a test: it prints. The site's pool
(10.200.0.0/22) holds about 1,000 clusters.

Measured (2 cores shared, load 3-5, best of 3): 500 clusters: render 0.64 s, lint of the spec
1.82 s, of the files 1.15 s (before issue #11's work, load 2-3: render 0.68 s, lint 3.16 s and
2.25 s, first run 3.93 s); 1,000 clusters: render 1.11 s, lint 3.18 s and 2.10 s (before: render
1.29 s, lint 7.06 s and 7.82 s). Lint of a spec includes its render: the spec's load (ruamel,
for line numbers) and render are half of it; schema validation is the largest lint-only part.
Run: .venv/bin/python benchmarks/lint_scale.py [--clusters N] [--nodes N] [--routers N] [--runs N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from render_scale import fleet_spec

from hcplb.lint.engine import lint_paths, lint_site
from hcplb.render import Secrets, render_site, write_rendered
from hcplb.spec import load_site, load_site_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clusters", type=int, default=500)
    parser.add_argument("--nodes", type=int, default=32)
    parser.add_argument("--routers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    text = fleet_spec(args.clusters, args.nodes, args.routers)
    rendered = render_site(load_site_text(text, "scale.yaml").site, Secrets())
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "site.yaml"
        spec.write_text(text, encoding="utf-8")
        out = Path(tmp) / "out"
        write_rendered(rendered, out)
        render_s, _ = _times(args.runs, lambda: render_site(load_site(spec).site, Secrets()))
        # the first lint of a process also loads the CRDs and builds their validators
        site_s, first_s = _times(args.runs, lambda: lint_site(spec))
        files_s, _ = _times(args.runs, lambda: lint_paths([out]))
        findings = len(lint_paths([out]).findings)
    print(f"site: {args.clusters} hosted clusters, {args.routers} routers, {args.nodes} nodes")
    print(f"files rendered: {len(rendered.files)}, findings on them: {findings}")
    print(f"render (load + render):     best {render_s:.3f} s over {args.runs} runs")
    print(
        f"lint of the site spec:      best {site_s:.3f} s ({site_s / render_s:.1f}x render),"
        f" first {first_s:.3f} s ({first_s / render_s:.1f}x)"
    )
    print(f"lint of the rendered files: best {files_s:.3f} s ({files_s / render_s:.1f}x render)")


def _times(runs: int, work: Callable[[], object]) -> tuple[float, float]:
    """(best, first) wall time of `runs` calls."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times), times[0]


if __name__ == "__main__":
    main()

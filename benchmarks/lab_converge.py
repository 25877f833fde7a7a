"""Benchmark: where the seconds of `lab up` go on the seed site, per bgpBackend.

For each run prints the timeline of `lab up` (every phase `up` reports: files and PKI,
network, FRR daemons, the routers' and the nodes' frr.conf loads, BIND and the API
stand-ins), then the convergence milestones read from the readiness rounds (first session
Established, every session, every VIP in the FIB, converged), in seconds since `lab up`
started and since the routers started (the figure `lab up` and `hcplb demo` print), the
medians over the runs and the machine's load. Needs root.

Run: sudo .venv/bin/python benchmarks/lab_converge.py [--runs 3] [--backend frr-k8s|frr|both]
     [--router-host netns|systemd] [--json]

What FRR 8.4 adds when a config is loaded through vtysh (`vtysh -b`, as the booted-router
mode and frr-reload.py do; measured with bgpd's neighbor-event debug logs): bgpd holds the
peers a load creates Idle for the rest of the route-map delay timer (5 s from the load's first
route-map: about 4.0 s after the load); the first session then drops at once with "BFD Down"
and the node redials after its 2 s start timer. `lab up` has each daemon read its part of
frr.conf when it starts (`-f`), which has neither; the node still sends its route after the
update group's coalesce timer (1.05 s).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

from hcplb.lab import Condition, down, up
from hcplb.lab.state import RouterHost

MILESTONES = ("first Established", "all Established", "routes in FIB", "converged")


@dataclass
class Run:
    backend: str
    load: float
    phases: list[tuple[float, str]] = field(default_factory=list)
    milestones: dict[str, float] = field(default_factory=dict)
    routers_started: float = 0.0  # seconds after `lab up` started
    converge_seconds: float = 0.0
    up_seconds: float = 0.0
    down_seconds: float = 0.0


def site_for(backend: str, directory: Path) -> Path:
    """The packaged seed site, with `bgpBackend` set (the seed leaves the default, frr-k8s)."""
    text = resources.files("hcplb").joinpath("data/seed.yaml").read_text()
    if backend != "frr-k8s":
        text = text.replace(
            "  managementCluster:\n", f"  managementCluster:\n    bgpBackend: {backend}\n", 1
        )
    path = directory / f"seed-{backend}.yaml"
    path.write_text(text)
    return path


def one_run(site: Path, backend: str, name: str, router_host: RouterHost) -> Run:
    found = Run(backend, os.getloadavg()[0])
    started = time.monotonic()

    def phase(text: str) -> None:
        found.phases.append((time.monotonic() - started, text))

    def checks(elapsed: float, conditions: tuple[Condition, ...]) -> None:
        now = time.monotonic() - started
        found.routers_started = now - elapsed
        sessions = [c for c in conditions if c.kind == "sessions"]
        reached = {
            "first Established": any(c.done > 0 for c in sessions),
            "all Established": bool(sessions) and all(c.ok for c in sessions),
            "routes in FIB": all(c.ok for c in conditions if c.kind == "routes"),
            "converged": all(c.ok for c in conditions),
        }
        for milestone, ok in reached.items():
            if ok:
                found.milestones.setdefault(milestone, now)

    try:
        lab = up(site, name, router_host=router_host, on_phase=phase, on_checks=checks)
        found.up_seconds = time.monotonic() - started
        found.converge_seconds = lab.state.converge_seconds or 0.0
    finally:
        removed = time.monotonic()
        down(name)
        found.down_seconds = time.monotonic() - removed
    return found


def show(run: Run) -> None:
    print(f"  bgpBackend {run.backend}, load {run.load:.2f}")
    print(f"  {'since up':>9} {'since routers':>14}")
    rows = [*run.phases, *((t, m) for m, t in run.milestones.items())]
    for at, text in sorted(rows):
        since = at - run.routers_started
        routers = f"{max(since, 0.0):12.2f} s" if since >= -0.005 else " " * 14
        print(f"  {at:7.2f} s {routers}  {text}")
    print(
        f"  converged {run.converge_seconds:.2f} s after the routers started; "
        f"lab up {run.up_seconds:.2f} s, lab down {run.down_seconds:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", choices=("frr-k8s", "frr", "both"), default="both")
    parser.add_argument("--router-host", choices=("netns", "systemd"), default="netns")
    parser.add_argument("--json", action="store_true", help="print the runs as JSON")
    args = parser.parse_args()
    backends = ("frr-k8s", "frr") if args.backend == "both" else (args.backend,)
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="hcplb-lab-converge-") as tmp:
        for backend in backends:
            site = site_for(backend, Path(tmp))
            for i in range(args.runs):
                name = f"conv-{os.getpid() % 10000}-{i}"
                if not args.json:
                    print(f"run {i + 1}/{args.runs}, bgpBackend {backend}:", flush=True)
                runs.append(one_run(site, backend, name, args.router_host))
                if not args.json:
                    show(runs[-1])
    if args.json:
        print(json.dumps([asdict(r) for r in runs], indent=1))
        return
    print(f"medians ({os.cpu_count()} CPUs, --router-host {args.router_host}):")
    for backend in backends:
        mine = [r for r in runs if r.backend == backend]
        converge = statistics.median(r.converge_seconds for r in mine)
        up_all = statistics.median(r.up_seconds for r in mine)
        loads = ", ".join(f"{r.load:.1f}" for r in mine)
        print(
            f"  {backend:8s} converged {converge:.2f} s after the routers started, "
            f"lab up {up_all:.2f} s (load {loads})"
        )
        for milestone in MILESTONES:
            values = [r.milestones[milestone] - r.routers_started for r in mine]
            if len(values) == len(mine):
                print(f"    {milestone:18s} {statistics.median(values):6.2f} s after the routers")


if __name__ == "__main__":
    main()

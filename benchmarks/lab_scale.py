"""Benchmark: a lab with 1 router, 32 nodes and 200 hosted clusters; time-to-converge and memory.

Prints the phases, the time from the routers' start to convergence (every session
Established, every VIP with 32 nexthops in the router's FIB, 400 DNS names, 200 HTTPS URLs),
the lab's proportional memory (PSS from /proc/PID/smaps_rollup, summed over every process in
the lab's namespaces: a page shared by 33 FRR daemons counts once, not 33 times) by process
kind with RSS beside it, how long `verify --lab` takes on it, and the teardown time, each
against its target. Needs root.
Run: .venv/bin/python benchmarks/lab_scale.py [--nodes N] [--clusters N] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from hcplb.lab import down, up
from hcplb.lab.netns import pids_in
from hcplb.lab.procs import cmdline, memory_kib
from hcplb.lab.verification import prepare_lab
from hcplb.probes.model import Probe, Status
from hcplb.probes.suite import Check, verify

TARGET_PSS_GIB = 1.5
TARGET_CONVERGE_S = 20.0
TARGET_VERIFY_S = 3.0


def site_text(nodes: int, clusters: int) -> str:
    """JSON is YAML: a site with one router, `nodes` nodes and `clusters` clusters on one pool."""
    site = {
        "apiVersion": "hcplb.io/v1alpha1",
        "kind": "Site",
        "metadata": {"name": "lab-scale"},
        "spec": {
            "routers": [
                {
                    "name": "rtr",
                    "asn": 64512,
                    "routerId": "192.168.125.1",
                    "address": "192.168.125.1",
                    "firewall": "nftables",
                }
            ],
            "managementCluster": {
                "asn": 64513,
                "machineNetwork": "192.168.125.0/24",
                "nodes": [
                    {"name": f"node-{i:02d}", "address": f"192.168.125.{20 + i}"}
                    for i in range(nodes)
                ],
            },
            "pools": [{"name": "hcp-api-pool", "addresses": ["10.0.2.0/24"]}],
            "hostedClusters": [
                {
                    "name": f"hc-{i:02d}",
                    "namespace": "clusters",
                    "baseDomain": "scale.lab",
                    "pool": "hcp-api-pool",
                }
                for i in range(clusters)
            ],
            "dns": {"zone": "scale.lab"},
            "lab": {"clientNetwork": "192.168.130.0/24"},
        },
    }
    return json.dumps(site, indent=1)


def role_of(pid: int) -> str:
    argv = cmdline(pid) or ("?",)
    return "apiserver" if any(a.endswith("apiserver.py") for a in argv) else Path(argv[0]).name


def memory(namespaces: list[str]) -> dict[str, tuple[int, int, int]]:
    """(count, PSS KiB, RSS KiB) per process kind, over every process in the lab's namespaces
    (a process in several of them, like the API stand-in, counts once)."""
    by_role: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    seen: set[int] = set()
    for ns in namespaces:
        for pid in pids_in(ns):
            if pid in seen:
                continue
            seen.add(pid)
            pss, rss = memory_kib(pid)
            entry = by_role[role_of(pid)]
            entry[0] += 1
            entry[1] += pss
            entry[2] += rss
    return {k: (v[0], v[1], v[2]) for k, v in sorted(by_role.items(), key=lambda kv: -kv[1][1])}


def print_memory(by_role: dict[str, tuple[int, int, int]]) -> None:
    pss = sum(p for _, p, _ in by_role.values())
    rss = sum(r for _, _, r in by_role.values())
    count = sum(c for c, _, _ in by_role.values())
    verdict = "ok" if pss / 2**20 <= TARGET_PSS_GIB else "OVER"
    print(
        f"memory: {pss / 2**20:.2f} GiB PSS over {count} processes "
        f"(target <= {TARGET_PSS_GIB} GiB: {verdict}); RSS would say {rss / 2**20:.2f} GiB"
    )
    print(f"  {'kind':12s} {'count':>5s} {'PSS each':>9s} {'PSS MiB':>8s} {'RSS MiB':>8s}")
    for role, (n, p, r) in by_role.items():
        print(f"  {role:12s} {n:5d} {p / n / 1024:9.1f} {p / 1024:8.1f} {r / 1024:8.1f}")


def time_verify(name: str, runs: int = 3) -> None:
    """`verify --lab` in-process (the probes, not Python's start), a few runs, with its verdict."""
    prepared = prepare_lab(name)
    deadline = time.monotonic() + 30  # BFD may settle a moment after convergence
    while verify(prepared.expect, prepared.targets).exit_code != 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    for i in range(runs):
        began = time.monotonic()
        finished: dict[str, float] = {}

        def done(
            check: Check,
            _probes: list[Probe],
            began: float = began,
            into: dict[str, float] = finished,
        ) -> None:
            into[check.name] = time.monotonic() - began

        report = verify(prepared.expect, prepared.targets, secrets=prepared.secrets, on_done=done)
        bad = [p.id for p in report.probes if p.status in (Status.fail, Status.warn)]
        verdict = "ok" if report.duration_s <= TARGET_VERIFY_S else "OVER"
        print(
            f"verify --lab run {i + 1}: {report.duration_s:.2f} s over {len(report.probes)} probes "
            f"(target <= {TARGET_VERIFY_S:g} s: {verdict})"
            + (f"; NOT OK: {', '.join(bad[:5])}" if bad else "; every probe passed")
        )
        print(
            "  each check done after: " + ", ".join(f"{k} {v:.2f} s" for k, v in finished.items())
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=32)
    parser.add_argument("--clusters", type=int, default=200)
    parser.add_argument("--name", default=f"scale-{os.getpid() % 10000}")
    parser.add_argument("--keep", action="store_true", help="leave the lab running")
    parser.add_argument("--timeout", type=float, default=180.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hcplb-lab-scale-") as tmp:
        site = Path(tmp) / "site.yaml"
        site.write_text(site_text(args.nodes, args.clusters))
        load = os.getloadavg()
        print(
            f"lab_scale: 1 router, {args.nodes} nodes, {args.clusters} hosted clusters; "
            f"{os.cpu_count()} CPUs, load {load[0]:.2f}"
        )
        started = time.monotonic()

        def phase(text: str) -> None:
            print(f"  {time.monotonic() - started:6.1f} s  {text}", flush=True)

        last = [0.0]

        def checks(elapsed: float, found: tuple[object, ...]) -> None:
            if elapsed - last[0] >= 2.0:
                last[0] = elapsed
                print(
                    f"  {time.monotonic() - started:6.1f} s  converging: "
                    + " · ".join(f"{c.kind} {c.done}/{c.total}" for c in found),  # type: ignore[attr-defined]
                    flush=True,
                )

        try:
            lab = up(site, args.name, timeout=args.timeout, on_phase=phase, on_checks=checks)
            up_seconds = time.monotonic() - started
            seconds = lab.state.converge_seconds or 0.0
            verdict = "ok" if seconds <= TARGET_CONVERGE_S else "OVER"
            print(
                f"converged {seconds:.1f} s after the router started "
                f"(target <= {TARGET_CONVERGE_S:g} s: {verdict}); lab up {up_seconds:.1f} s in all"
            )
            print_memory(memory(list(lab.state.namespaces)))
            time_verify(args.name)
            load = os.getloadavg()
            print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        finally:
            if not args.keep:
                removed = time.monotonic()
                down(args.name)
                print(f"lab down {time.monotonic() - removed:.1f} s")


if __name__ == "__main__":
    main()

"""Benchmark: a lab with 1 router, 32 nodes and 64 hosted clusters; time-to-converge and memory.

Prints the phases, the time from the routers' start to convergence (every session
Established, every VIP with 32 nexthops in the router's FIB, 128 DNS names, 64 HTTPS URLs),
the resident memory of every lab process by role, and the teardown time. Needs root.
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
from hcplb.lab.procs import cmdline, rss_kib


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


def memory(namespaces: list[str]) -> tuple[int, dict[str, tuple[int, int]]]:
    """Total RSS (KiB) of every process in the lab's namespaces, and (count, KiB) per role."""
    by_role: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    total = 0
    for ns in namespaces:
        for pid in pids_in(ns):
            kib = rss_kib(pid)
            entry = by_role[role_of(pid)]
            entry[0] += 1
            entry[1] += kib
            total += kib
    return total, {k: (v[0], v[1]) for k, v in sorted(by_role.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=32)
    parser.add_argument("--clusters", type=int, default=64)
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
            total, by_role = memory(list(lab.state.namespaces))
            print(
                f"converged {lab.state.converge_seconds:.1f} s after the router started; "
                f"lab up {up_seconds:.1f} s in all"
            )
            print(
                f"memory: {total / 1024:.0f} MiB RSS over {sum(c for c, _ in by_role.values())} processes"
            )
            for role, (count, kib) in by_role.items():
                print(
                    f"  {role:12s} {count:4d} x {kib / count / 1024:6.1f} MiB = {kib / 1024:7.1f} MiB"
                )
        finally:
            if not args.keep:
                removed = time.monotonic()
                down(args.name)
                print(f"lab down {time.monotonic() - removed:.1f} s")


if __name__ == "__main__":
    main()

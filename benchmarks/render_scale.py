"""Benchmark: load and render a 500-hosted-cluster, 2-router, 32-node site; print time and memory.

Target (issue 2): under 1 s wall and 200 MB peak RSS on a 2-core machine. Not a test: it prints.
Run: .venv/bin/python benchmarks/render_scale.py [--clusters N] [--nodes N] [--routers N]
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import tempfile
import time
from pathlib import Path

from ruamel.yaml import YAML

from hcplb.render import Secrets, render_site, write_rendered
from hcplb.spec import load_site_text


def fleet_spec(clusters: int, nodes: int, routers: int) -> str:
    spec = {
        "apiVersion": "hcplb.io/v1alpha1",
        "kind": "Site",
        "metadata": {"name": "scale"},
        "spec": {
            "routers": [
                {
                    "name": f"rtr-{i}",
                    "asn": 64512,
                    "routerId": f"10.128.0.{i + 1}",
                    "address": f"10.128.0.{i + 1}",
                    "firewall": "nftables",
                }
                for i in range(routers)
            ],
            "managementCluster": {
                "asn": 64513,
                "machineNetwork": "10.128.0.0/24",
                "nodes": [
                    {"name": f"node-{i}", "address": f"10.128.0.{100 + i}"} for i in range(nodes)
                ],
            },
            "pools": [{"name": "hcp-api", "addresses": ["10.200.0.0/22"]}],
            "hostedClusters": [
                {
                    "name": f"hc-{i}",
                    "namespace": "clusters",
                    "baseDomain": f"tenant{i % 10}.example.lab",
                    "pool": "hcp-api",
                }
                for i in range(clusters)
            ],
        },
    }
    stream = io.StringIO()
    YAML(typ="safe").dump(spec, stream)
    return stream.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clusters", type=int, default=500)
    parser.add_argument("--nodes", type=int, default=32)
    parser.add_argument("--routers", type=int, default=2)
    args = parser.parse_args()
    text = fleet_spec(args.clusters, args.nodes, args.routers)
    started = time.perf_counter()
    loaded = load_site_text(text, "scale.yaml")
    loaded_at = time.perf_counter()
    cpu = time.process_time()
    rendered = render_site(loaded.site, Secrets())
    rendered_at = time.perf_counter()
    cpu = time.process_time() - cpu
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as tmp:
        write_rendered(rendered, Path(tmp) / "out")
    written_at = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"site: {args.clusters} hosted clusters, {args.routers} routers, {args.nodes} nodes")
    print(f"load+check: {loaded_at - started:.3f} s")
    print(
        f"render:     {rendered_at - loaded_at:.3f} s ({len(rendered.files)} files); CPU {cpu:.3f} s, "
        f"Graphviz dot {children.ru_utime + children.ru_stime:.3f} s "
        "(on a loaded machine the CPU times are the comparable figures)"
    )
    print(f"write:      {written_at - rendered_at:.3f} s")
    print(f"total:      {written_at - started:.3f} s  (target: render <= 1 s)")
    load = os.getloadavg()
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
    print(f"peak RSS:   {peak_mb:.0f} MB  (target < 200 MB)")


if __name__ == "__main__":
    main()

"""Benchmark: a lab of examples/fleet-shared.yaml goes from 1 to 50 hosted clusters with `lab cluster add`.

Brings the example up with only its first hosted cluster, then adds clusters one by one (each
add returns once the routers route the new VIP over every node, DNS answers and the API
answers HTTPS), and prints each add's time to verified against the 2 s target, the routers'
running configuration compared before and after (must be byte-identical), a full `verify
--lab` of the 50-cluster lab, a few removes, and the machine's load. Needs root.
Run: .venv/bin/python benchmarks/lab_fleet.py [--clusters 50] [--keep]
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import tempfile
import time
from pathlib import Path

from ruamel.yaml import YAML

from hcplb.lab import Lab, down, fleet, up
from hcplb.lab.verification import prepare_lab
from hcplb.probes.model import Status
from hcplb.probes.suite import verify

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "fleet-shared.yaml"
TARGET_ADD_S = 2.0


def one_cluster_site(directory: Path) -> Path:
    """The example with its first hosted cluster only."""
    yaml = YAML()
    data = yaml.load(EXAMPLE.read_text())
    data["spec"]["hostedClusters"] = data["spec"]["hostedClusters"][:1]
    path = directory / "fleet-shared-1.yaml"
    with path.open("w") as handle:
        yaml.dump(data, handle)
    return path


def router_configs(lab: Lab) -> dict[str, str]:
    found = {}
    for router in lab.plan.routers:
        result = lab.run(router.name, ["vtysh", "-c", "show running-config"], timeout=30)
        found[router.name] = result.stdout
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=50)
    parser.add_argument("--removes", type=int, default=5)
    parser.add_argument("--name", default=f"fleet-{os.getpid() % 10000}")
    parser.add_argument("--keep", action="store_true", help="leave the lab running")
    args = parser.parse_args()
    os.environ.setdefault("HCPLB_TSIG_SECRET", base64.b64encode(os.urandom(32)).decode())
    with tempfile.TemporaryDirectory(prefix="hcplb-lab-fleet-") as tmp:
        site = one_cluster_site(Path(tmp))
        load = os.getloadavg()
        print(
            f"lab_fleet: {EXAMPLE.name} from 1 to {args.clusters} hosted clusters; load {load[0]:.2f}"
        )
        started = time.monotonic()
        try:
            lab = up(site, args.name, timeout=120)
            print(
                f"lab up {time.monotonic() - started:.1f} s (converged {lab.state.converge_seconds} s)"
            )
            before = router_configs(lab)
            times = []
            marks: dict[str, list[float]] = {}
            for i in range(2, args.clusters + 1):
                begun = time.monotonic()

                def mark(text: str, begun: float = begun) -> None:
                    marks.setdefault(text.split(":")[0], []).append(time.monotonic() - begun)

                change = fleet.add(lab, f"hc-{i:03d}", "clusters", on_step=mark)
                times.append(change.seconds)
                if i % 10 == 0 or i == 2:
                    print(
                        f"  cluster {i:3d}: {change.cluster.vip} verified in {change.seconds:.2f} s",
                        flush=True,
                    )
            over = sum(t > TARGET_ADD_S for t in times)
            print(
                f"{len(times)} adds to verified: median {statistics.median(times):.2f} s, "
                f"worst {max(times):.2f} s, {over} over the {TARGET_ADD_S:g} s target"
            )
            print(
                "  median time from the add's start to each step's end: "
                + ", ".join(f"{k} {statistics.median(v):.2f} s" for k, v in marks.items())
                + f", verified {statistics.median(times):.2f} s"
            )
            same = router_configs(lab) == before
            print(f"routers' running configuration byte-identical after the adds: {same}")
            prepared = prepare_lab(lab.name)
            report = verify(prepared.expect, prepared.targets, secrets=prepared.secrets)
            bad = [p.id for p in report.probes if p.status is Status.fail]
            print(
                f"verify --lab of {len(prepared.expect.clusters)} clusters: {report.duration_s:.2f} s, "
                f"{len(report.probes)} probes, "
                + (f"FAILED: {bad[:5]}" if bad else "every probe passed")
            )
            removed = []
            for i in range(2, 2 + args.removes):
                removed.append(fleet.remove(lab, f"hc-{i:03d}").seconds)
            if removed:
                print(
                    f"{len(removed)} removes to withdrawn: median {statistics.median(removed):.2f} s, "
                    f"worst {max(removed):.2f} s; routers unchanged: {router_configs(lab) == before}"
                )
            load = os.getloadavg()
            print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        finally:
            if not args.keep:
                down(args.name)


if __name__ == "__main__":
    main()

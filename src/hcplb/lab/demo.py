"""`hcplb demo`: the seed site in a lab, the guide's "Verify the connection" checks, torn down."""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from importlib import resources

from hcplb.converged import service_key
from hcplb.lab.cluster import simulate_site
from hcplb.lab.core import Lab
from hcplb.lab.state import lab_dir
from hcplb.lab.teardown import down as remove
from hcplb.lab.topology import CLIENT, host_prefix
from hcplb.lab.up import ChecksCallback, Progress, up
from hcplb.metallb.frrk8s import OPENSHIFT_NAMESPACE as FRRK8S_NAMESPACE
from hcplb.plan import ClusterPlan
from hcplb.render import resolve_site_secrets
from hcplb.settings import CONVERGE_TIMEOUT, LAB_PROBE_TIMEOUT

SEED = "data/seed.yaml"


@dataclass(frozen=True)
class Shown:
    """One command of the guide, run on a lab host, with its output and whether it is right."""

    host: str
    argv: tuple[str, ...]
    output: str
    ok: bool

    @property
    def command(self) -> str:
        return shlex.join(self.argv)


@dataclass(frozen=True)
class DemoResult:
    lab: str
    converge_seconds: float
    up_seconds: float
    check_seconds: float
    down_seconds: float | None
    shown: tuple[Shown, ...]
    backend: str = "frr-k8s"

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.shown)

    @property
    def wall_seconds(self) -> float:
        return self.up_seconds + self.check_seconds + (self.down_seconds or 0.0)


def free_name(base: str) -> str:
    """`base`, or `base-2`, `base-3`, ... whichever has no lab directory yet."""
    name, n = base, 1
    while lab_dir(name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def guide_checks(lab: Lab) -> tuple[Shown, ...]:
    """The guide's checks for the first hosted cluster: DNS and HTTPS from the client (the
    guide's bastion), then the route and the BGP summary on every router."""
    cluster = lab.plan.clusters[0]
    steps: list[tuple[str, list[str], Callable[[str], bool]]] = [
        (CLIENT, ["dig", cluster.api_int_name, "+short"], lambda out: out.split() == [cluster.vip]),
        (CLIENT, ["dig", cluster.api_name, "+short"], lambda out: out.split() == [cluster.vip]),
        (
            CLIENT,
            ["curl", "-sS", f"https://{cluster.api_name}:6443/version"],
            lambda out: '"gitVersion"' in out,
        ),
    ]
    for router in lab.plan.routers:
        hops = len(lab.expect.routes.get(router.name, {}).get(host_prefix(cluster.vip), []))
        steps.append(
            (
                router.name,
                ["ip", "route", "show", cluster.vip],
                partial(_route_ok, hops=hops),
            )
        )
        steps.append(
            (router.name, ["vtysh", "-c", "show ip bgp summary"], lambda out: "Neighbor" in out)
        )

    def check(step: tuple[str, list[str], Callable[[str], bool]]) -> Shown:
        host, argv, good = step
        result = lab.run(host, argv, timeout=LAB_PROBE_TIMEOUT)
        text = (result.stdout + result.stderr).rstrip()
        return Shown(host, tuple(argv), text, result.ok and good(result.stdout))

    # every command only reads: they run side by side, shown in the guide's order
    with ThreadPoolExecutor(max_workers=8) as pool:
        node_side = pool.submit(_node_side, lab)
        shown = list(pool.map(check, steps))
        # The guide checks the Service after the client's checks and before the router's;
        # the node side of BGP (which the guide does not show) follows the Service.
        shown[3:3] = [_service_view(lab, cluster), *node_side.result()]
    return tuple(shown)


def _node_side(lab: Lab) -> list[Shown]:
    """Where the rehearsed bgpBackend keeps the node's BGP: for frr-k8s the FRRConfigurations
    MetalLB writes (simulated: no API server runs here), then the first node's FRR, run for
    real on the lab node as `oc exec` into its frr-k8s (or speaker) pod would."""
    mc = lab.plan.site.spec.management_cluster
    node = lab.plan.nodes[0].name
    shown: list[Shown] = []
    if mc.bgp_backend == "frr-k8s":
        secrets = resolve_site_secrets(lab.plan.site, base_dir=lab.site_file.parent)
        objects = simulate_site(lab.plan, secrets, profile=lab.state.profile).simulation
        names = sorted(o["metadata"]["name"] for o in objects.frr_configurations.values())
        rows = "\n".join(f"{n:<24}{'(simulated)'}" for n in names)
        oc = ("oc", "-n", FRRK8S_NAMESPACE, "get", "frrconfigurations")
        listed = len(names) == len(objects.speakers) > 0
        shown.append(Shown("cluster (simulated)", oc, f"{'NAME':<24}AGE\n{rows}", listed))
    pod = "frr-k8s pod" if mc.bgp_backend == "frr-k8s" else "speaker pod"
    argv = ("vtysh", "-c", "show bgp summary")
    result = lab.run(node, list(argv), timeout=15)
    routers = [r.address for r in lab.plan.routers]
    ok = result.ok and all(a in result.stdout for a in routers)
    shown.append(Shown(f"{node} ({pod})", argv, (result.stdout + result.stderr).rstrip(), ok))
    return shown


def _service_view(lab: Lab, cluster: ClusterPlan) -> Shown:
    """The guide's `oc get svc kube-apiserver` on the management cluster. No API server runs
    here: the EXTERNAL-IP is what MetalLB's controller would assign (hcplb.metallb)."""
    secrets = resolve_site_secrets(lab.plan.site, base_dir=lab.site_file.parent)
    view = simulate_site(lab.plan, secrets, profile=lab.state.profile)
    ips = view.simulation.allocations.get(service_key(cluster), ())
    external = ",".join(ips) or "<pending>"
    header = f"{'NAME':<16}{'TYPE':<14}{'CLUSTER-IP':<12}{'EXTERNAL-IP':<14}PORT(S)"
    row = f"{'kube-apiserver':<16}{'LoadBalancer':<14}{'(simulated)':<12}{external:<14}6443/TCP"
    argv = ("oc", "-n", cluster.control_plane_namespace, "get", "svc", "kube-apiserver")
    return Shown("cluster (simulated)", argv, f"{header}\n{row}", cluster.vip in ips)


def _route_ok(out: str, *, hops: int) -> bool:
    """`ip route show VIP`: one `nexthop via` line per announcing node (a single path has none)."""
    return out.count("nexthop via") == hops or (hops == 1 and " via " in out)


def run_demo(
    *,
    keep: bool = False,
    name: str | None = None,
    timeout: float = CONVERGE_TIMEOUT,
    on_phase: Progress | None = None,
    on_checks: ChecksCallback | None = None,
    after_up: Callable[[Lab], None] | None = None,
) -> DemoResult:
    """Bring the packaged seed site up, run the guide's checks, tear down unless `keep`."""
    name = name or free_name("demo")
    started = time.monotonic()
    with resources.as_file(resources.files("hcplb").joinpath(SEED)) as seed:
        try:
            lab = up(seed, name, timeout=timeout, on_phase=on_phase, on_checks=on_checks)
        except BaseException:
            if not keep and lab_dir(name).exists():
                remove(name)
            raise
    up_seconds = time.monotonic() - started
    if after_up is not None:
        after_up(lab)
    checked = time.monotonic()
    try:
        shown = guide_checks(lab)
    finally:
        check_seconds = time.monotonic() - checked
        down_seconds = None
        if not keep:
            removed = time.monotonic()
            remove(name)
            down_seconds = time.monotonic() - removed
    return DemoResult(
        name,
        lab.state.converge_seconds or 0.0,
        up_seconds,
        check_seconds,
        down_seconds,
        shown,
        lab.plan.site.spec.management_cluster.bgp_backend,
    )


__all__ = ["DemoResult", "Shown", "free_name", "guide_checks", "run_demo"]

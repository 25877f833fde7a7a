"""Run every probe of a site concurrently and collect one Report.

    targets = VerifyTargets(routers={"frr": LabTarget(lab, "frr")}, vantage=OnTarget(...), ...)
    report = verify(expect, targets, timeout=3.0, on_done=print)

One check per router (its commands run at once), one for everything that leaves from the
client (DNS questions and API connections, one batch), one for the Kubernetes API. Checks run
in daemon threads; each has a deadline derived from the probe timeout, so a dead router,
resolver or API server costs about that timeout and never hangs the run.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import lightkube

from hcplb.errors import HcplbError
from hcplb.probes import hints
from hcplb.probes.api import api_tasks, evaluate_api
from hcplb.probes.cluster import probe_cluster
from hcplb.probes.dns import dns_tasks, evaluate_dns
from hcplb.probes.expect import SiteExpect
from hcplb.probes.model import Probe, Report, fail, skip
from hcplb.probes.router import probe_router
from hcplb.probes.vantage import Vantage
from hcplb.settings import COMMAND_TIMEOUT, PROBE_TIMEOUT
from hcplb.targets.base import Target

__all__ = ["Check", "VerifyTargets", "checks_of", "verify"]


@dataclass(frozen=True)
class VerifyTargets:
    """Where each system is reached. A missing one skips its probes (and says so)."""

    routers: Mapping[str, Target] = field(default_factory=dict)
    vantage: Vantage | None = None
    resolvers: tuple[str, ...] = ()
    ca_pem: str | None = None
    kube: Callable[[], lightkube.Client] | None = None
    spread: bool = False
    """lab only: also count which node serves each of N new connections"""
    attempts: int = 3
    """API connections tried before the API counts as unreachable (ECMP may hit a dead node)"""


@dataclass(frozen=True)
class Check:
    """One unit of concurrent work: a name, the system it reports for, and the work itself."""

    name: str
    system: str
    run: Callable[[], list[Probe]]
    deadline: float


def _router_check(
    name: str, target: Target | None, expect: SiteExpect, timeout: float, secrets: Sequence[str]
) -> Callable[[], list[Probe]]:
    router = next(r for r in expect.routers if r.name == name)
    if target is None:
        return lambda: [skip(f"router/{name}", "router", "no --router given for this router")]
    return lambda: probe_router(target, router, timeout=timeout, secrets=secrets)


def _client_check(
    expect: SiteExpect, targets: VerifyTargets, timeout: float
) -> Callable[[], list[Probe]]:
    def run() -> list[Probe]:
        assert targets.vantage is not None
        tasks = dns_tasks(expect, targets.resolvers, timeout=timeout)
        tasks += api_tasks(
            expect,
            ca_pem=targets.ca_pem,
            timeout=timeout,
            attempts=targets.attempts,
            spread=targets.spread,
        )
        error = ""
        try:
            results = targets.vantage.run_tasks(tasks, timeout=3 * timeout + 5)
        except HcplbError as exc:
            results, error = {}, str(exc)
        return evaluate_dns(expect, targets.resolvers, results, error=error) + evaluate_api(
            expect, results, ca_given=targets.ca_pem is not None, spread=targets.spread, error=error
        )

    return run


def _cluster_check(expect: SiteExpect, targets: VerifyTargets) -> Callable[[], list[Probe]]:
    def run() -> list[Probe]:
        if targets.kube is None:
            return [skip("cluster", "cluster", "no --kubeconfig given")]
        try:
            client = targets.kube()
        except HcplbError as exc:
            return [
                fail(
                    "cluster/kubeconfig",
                    "cluster",
                    "a usable kubeconfig",
                    "",
                    str(exc),
                    hints.kube_unreachable("kubeconfig"),
                )
            ]
        with client:
            return probe_cluster(client, expect)

    return run


def checks_of(
    expect: SiteExpect, targets: VerifyTargets, *, timeout: float, secrets: Sequence[str] = ()
) -> list[Check]:
    """The checks of one run, routers first."""
    checks = [
        Check(
            f"router {r.name}",
            "router",
            _router_check(r.name, targets.routers.get(r.name), expect, timeout, secrets),
            max(2 * timeout, COMMAND_TIMEOUT) + 5,
        )
        for r in expect.routers
    ]
    if targets.vantage is not None:
        checks.append(
            Check(
                f"dns+api from {targets.vantage.name}",
                "api",
                _client_check(expect, targets, timeout),
                3 * timeout + 8,
            )
        )
    else:
        checks.append(
            Check("dns+api", "api", lambda: [skip("api", "api", "no client to probe from")], 1)
        )
    checks.append(Check("cluster", "cluster", _cluster_check(expect, targets), 2 * timeout + 5))
    return checks


def verify(
    expect: SiteExpect,
    targets: VerifyTargets,
    *,
    timeout: float = PROBE_TIMEOUT,
    secrets: Sequence[str] = (),
    on_done: Callable[[Check, list[Probe]], None] | None = None,
) -> Report:
    """Run every check at once; `on_done` is called (in this thread) as each one finishes."""
    started = time.monotonic()
    checks = checks_of(expect, targets, timeout=timeout, secrets=secrets)
    done: queue.Queue[tuple[int, list[Probe]]] = queue.Queue()

    def work(index: int, check: Check) -> None:
        try:
            probes = check.run()
        except Exception as exc:  # a bug in one check must not hide the others
            probes = [
                fail(
                    f"{check.system}/{check.name.replace(' ', '-')}",
                    check.system,
                    "",
                    "",
                    f"internal error: {type(exc).__name__}: {exc}",
                )
            ]
        done.put((index, probes))

    for index, check in enumerate(checks):
        threading.Thread(
            target=work, args=(index, check), daemon=True, name=f"hcplb-{check.name}"
        ).start()
    results: dict[int, list[Probe]] = {}
    deadline = started + max(c.deadline for c in checks)
    while len(results) < len(checks):
        try:
            index, probes = done.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        results[index] = probes
        if on_done is not None:
            on_done(checks[index], probes)
    for index, check in enumerate(checks):
        if index not in results:
            late = [
                fail(
                    f"{check.system}/{check.name.replace(' ', '-')}",
                    check.system,
                    f"an answer within {check.deadline:g} s",
                    "no answer",
                    f"{check.name} did not finish in time",
                    hints.router_unreachable(check.name) if check.system == "router" else "",
                )
            ]
            results[index] = late
            if on_done is not None:
                on_done(check, late)
    probes = [p for i in range(len(checks)) for p in results[i]]
    return Report.of(probes, time.monotonic() - started)

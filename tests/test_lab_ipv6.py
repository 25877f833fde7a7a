"""IPv6-only and dual-stack labs: `lab up` converges and `verify --lab` passes; from the client
`dig AAAA` answers the IPv6 VIP and `curl -6` reaches the API with the lab CA verified; the router
has the IPv6 VIP with one ECMP nexthop per node; no lab address is left `tentative` (duplicate
address detection is off in every lab namespace); `bench failover` sees a node's withdrawal and
the heal over IPv6.

Three labs, each brought up once and always torn down: examples/ipv6.yaml (frr-k8s, sessions over
IPv6), examples/dualstack.yaml (frr-k8s, an IPv4 and an IPv6 session per node and router), and
tests/sites/dualstack-sessions.yaml run with MetalLB's own FRR backend (one IPv4 session carrying
both families): both backends and both session modes.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hcplb.bench.failover import measure_failover
from hcplb.lab import Lab
from hcplb.lab import watch as W
from hcplb.lab.verification import prepare_lab
from hcplb.probes.model import Report, Status
from hcplb.probes.suite import verify

from .conftest import EXAMPLES, running_lab

pytestmark = pytest.mark.lab

SITES = Path(__file__).parent / "sites"
TIMEOUT = 5.0  # per probe: local, but CI machines are shared
V6_VIP = "2001:db8:2::20"


def _name(tag: str) -> str:
    return f"v6{os.getpid() % 100000}-{tag}"


@pytest.fixture(scope="module")
def ipv6_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with running_lab(tmp_path_factory, EXAMPLES / "ipv6.yaml", _name("v6")) as lab:
        yield lab


def verify_until_clean(lab: Lab, timeout: float = 30.0) -> Report:
    """Run verify --lab until it passes (BFD may come up after convergence) or `timeout`."""
    prepared = prepare_lab(lab.name, timeout=TIMEOUT)
    deadline = time.monotonic() + timeout
    while True:
        report = verify(prepared.expect, prepared.targets, timeout=TIMEOUT)
        if report.exit_code == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    bad = [f"{p.id}: {p.message}" for p in report.probes if p.status is Status.fail]
    assert report.exit_code == 0, "\n".join(bad)
    return report


def not_tentative(lab: Lab) -> None:
    for host in lab.hosts:
        if host.role == "switch":
            continue
        result = lab.run(host.name, ["ip", "-j", "-6", "addr"], timeout=10)
        for entry in json.loads(result.stdout):
            for info in entry.get("addr_info", []):
                assert not info.get("tentative"), (host.name, entry["ifname"], info["local"])


def ecmp_nexthops(lab: Lab, router: str, prefix: str) -> tuple[int, int]:
    """(BGP paths that are valid multipath or best, FIB nexthops) of an IPv6 prefix."""
    bgp = lab.run(router, ["vtysh", "-c", f"show bgp ipv6 unicast {prefix} json"], timeout=10)
    paths = [p for p in json.loads(bgp.stdout).get("paths", []) if p.get("valid")]
    route = lab.run(router, ["vtysh", "-c", f"show ipv6 route {prefix} json"], timeout=10)
    entry = json.loads(route.stdout)[prefix][0]
    return len(paths), len([h for h in entry["nexthops"] if h.get("fib")])


def test_ipv6_lab_verify_passes_with_ids_per_family(ipv6_lab: Lab) -> None:
    report = verify_until_clean(ipv6_lab)
    ids = {p.id for p in report.probes}
    assert {
        *(f"router/frr/session/master-{i}/ipv6" for i in range(3)),
        f"router/frr/vip/ipv6/{V6_VIP}/bgp",
        f"router/frr/vip/ipv6/{V6_VIP}/fib",
        "router/frr/sysctl/ipv6/forwarding",
        "dns/2001:db8:130::53/api.hosted.hypershift.lab/AAAA",
        "api/hosted-hosted/spread",
    } <= ids


def test_ipv6_client_resolves_aaaa_and_reaches_the_api_over_ipv6(ipv6_lab: Lab) -> None:
    dig = ipv6_lab.run("client", ["dig", "+short", "AAAA", "api.hosted.hypershift.lab"], timeout=10)
    assert dig.stdout.split() == [V6_VIP]
    argv = [
        "curl",
        "-6",
        "-sS",
        "-w",
        "\n%{remote_ip}",
        "https://api.hosted.hypershift.lab:6443/version",
    ]
    curl = ipv6_lab.run("client", argv, timeout=15)  # CURL_CA_BUNDLE: the lab CA
    assert curl.ok, curl.stderr
    body, _, remote = curl.stdout.rpartition("\n")
    assert json.loads(body)["gitVersion"].startswith("v1.")
    assert remote == V6_VIP


def test_ipv6_router_has_one_ecmp_nexthop_per_node(ipv6_lab: Lab) -> None:
    assert ecmp_nexthops(ipv6_lab, "frr", f"{V6_VIP}/128") == (3, 3)
    not_tentative(ipv6_lab)


def test_ipv6_failover_is_measured_like_ipv4(ipv6_lab: Lab) -> None:
    """`bench failover` over IPv6: the routers' link-local nexthops are read as the nodes, so
    the withdrawal is seen (BFD) and full ECMP comes back after the heal."""
    (run,) = measure_failover(ipv6_lab, mode="down", runs=1, rate=40.0, max_wait=30)
    assert run.node in {"master-0", "master-1", "master-2"}
    assert run.withdrawal_s is not None and 0 < run.withdrawal_s < 3.0
    assert run.recovery_s < 30
    assert set(run.served_by) == {"master-0", "master-1", "master-2"}
    W.wait_ready(ipv6_lab, timeout=60)


def test_dualstack_lab_both_families_both_routers(tmp_path_factory: pytest.TempPathFactory) -> None:
    with running_lab(tmp_path_factory, EXAMPLES / "dualstack.yaml", _name("ds")) as lab:
        report = verify_until_clean(lab)
        ids = {p.id for p in report.probes}
        assert {"router/frr-b/session/master-2", "router/frr-b/session/master-2/ipv6"} <= ids
        vip6 = lab.plan.clusters[1].vip
        for router in ("frr-a", "frr-b"):
            assert ecmp_nexthops(lab, router, f"{vip6}/128") == (3, 3)
        dig = lab.run(
            "client", ["dig", "+short", "AAAA", "api.hosted-b.hypershift.lab"], timeout=10
        )
        assert dig.stdout.split() == [vip6]
        not_tentative(lab)


def test_dualstack_sessions_on_metallb_frr_backend(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """One IPv4 session per node carries the IPv6 VIP too; MetalLB's FRR mode renders it."""
    text = (SITES / "dualstack-sessions.yaml").read_text()
    assert "bgpBackend" not in text
    site = tmp_path / "dualstack-frr.yaml"
    site.write_text(
        text.replace("managementCluster:\n", "managementCluster:\n    bgpBackend: frr\n", 1)
    )
    with running_lab(tmp_path_factory, site, _name("dsf")) as lab:
        assert lab.plan.site.spec.management_cluster.bgp_backend == "frr"
        report = verify_until_clean(lab)
        sessions = [p.id for p in report.probes if "/session/" in p.id]
        assert sessions and not any(s.endswith("/ipv6") for s in sessions)
        vip6 = next(c.vip for c in lab.plan.clusters if ":" in c.vip)
        assert ecmp_nexthops(lab, "frr-a", f"{vip6}/128") == (3, 3)

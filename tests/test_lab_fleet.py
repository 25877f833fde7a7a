"""`lab cluster add/remove` on a running lab of examples/fleet-shared.yaml: hosted clusters
come and go on the shared pool, each verified, and the routers never change (real FRR, BIND,
TLS; needs root)."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator

import pytest

from hcplb.dnsowner import owners
from hcplb.errors import LabError
from hcplb.lab import Lab, fleet, standin
from hcplb.lab.verification import prepare_lab
from hcplb.probes.model import Status
from hcplb.probes.sources import Prepared
from hcplb.probes.suite import verify

from .conftest import EXAMPLES, running_lab

pytestmark = pytest.mark.lab

SITE = EXAMPLES / "fleet-shared.yaml"
ROUTERS = ("frr-a", "frr-b")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    secret = base64.b64encode(os.urandom(32)).decode()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HCPLB_TSIG_SECRET", secret)
        with running_lab(tmp_path_factory, SITE, f"fl{os.getpid() % 100000}") as lab:
            yield lab


def _router_state(lab: Lab) -> dict[str, tuple[str, str]]:
    """Each router's running configuration and the frr.conf it booted from."""
    found = {}
    for router in ROUTERS:
        running = lab.run(router, ["vtysh", "-c", "show running-config"], timeout=20)
        assert running.ok, running.stderr
        booted = (lab.host_dir(router) / "etc/frr/frr.conf").read_text()
        found[router] = (running.stdout, booted)
    return found


def _zone_txts(lab: Lab, name: str) -> list[tuple[str, str]]:
    dig = lab.run("client", ["dig", "+short", "TXT", name], timeout=10)
    return [(name, line.strip().strip('"')) for line in dig.stdout.splitlines() if line.strip()]


def _assert_verified(prepared: Prepared, timeout: float = 60.0) -> None:
    """verify passes (each probe given 15 s and retried until `timeout`: on a loaded 2-core
    machine a vtysh of 30 commands can take longer than verify's default 3 s)."""
    deadline = time.monotonic() + timeout
    while True:
        report = verify(prepared.expect, prepared.targets, timeout=15, secrets=prepared.secrets)
        if report.exit_code == 0:
            return
        failing = [f"{p.id}: {p.message}" for p in report.probes if p.status is Status.fail]
        assert time.monotonic() < deadline, "\n".join(failing)
        time.sleep(0.3)


def test_clusters_come_and_go_with_the_routers_unchanged(lab: Lab) -> None:
    before = _router_state(lab)
    spec_vips = {c.vip for c in lab.plan.clusters}
    added = [fleet.add(lab, name, "clusters") for name in ("delta", "epsilon", "zeta")]
    vips = [a.cluster.vip for a in added]
    # MetalLB's first free addresses of the shared pool, after the spec's clusters
    assert len(set(vips)) == 3 and not set(vips) & spec_vips
    assert all(v.startswith("10.0.4.") for v in vips)
    # ExternalDNS's registry record beside each A record, in its format, with the site's owner
    txt = "hcplb-a-api.delta.fleet.lab"
    found = owners(_zone_txts(lab, txt), prefix="hcplb-")
    assert found["api.delta.fleet.lab"].owner == "hcplb-fleet-shared"
    assert found["api.delta.fleet.lab"].resource == "service/clusters-delta/kube-apiserver"
    # verify --lab sees the added clusters (a fresh Lab from the journal) and passes
    prepared = prepare_lab(lab.name)
    names = {c.api_name for c in prepared.expect.clusters}
    assert {"api.delta.fleet.lab", "api.zeta.fleet.lab"} <= names
    _assert_verified(prepared)
    # a removed cluster's address goes back to the pool; the others keep theirs
    fleet.remove(lab, "epsilon")
    assert [c.name for c in Lab.open(lab.name).state.clusters] == ["delta", "zeta"]
    assert not _zone_txts(lab, "hcplb-a-api.epsilon.fleet.lab")
    again = fleet.add(lab, "eta", "tenants")
    assert again.cluster.vip == vips[1]
    assert {c.vip for c in Lab.open(lab.name).plan.clusters} >= {vips[0], vips[2]}
    # the stand-in serves exactly the running clusters on every node
    served = {s["cluster"] for s in standin.read_config(lab)["listeners"]}
    assert served == {c.cluster.name for c in Lab.open(lab.name).plan.clusters}
    # the routers ran the same configuration throughout, byte for byte
    assert _router_state(lab) == before
    for name in ("delta", "zeta", "eta"):
        fleet.remove(lab, name)
    assert _router_state(lab) == before


def test_refusals_are_clear(lab: Lab) -> None:
    with pytest.raises(LabError, match="not a shared pool"):
        fleet.add(lab, "theta", "clusters", pool="nope")
    with pytest.raises(LabError, match="already has hosted cluster clusters/alpha"):
        fleet.add(lab, "alpha", "clusters")
    with pytest.raises(LabError, match="only clusters `hcplb lab cluster add` added"):
        fleet.remove(lab, "alpha")
    with pytest.raises(LabError, match="name"):
        fleet.add(lab, "Not_A_Label", "clusters")


def test_lab_down_leaves_nothing_of_added_clusters(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    secret = base64.b64encode(os.urandom(32)).decode()
    name = f"fd{os.getpid() % 100000}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HCPLB_TSIG_SECRET", secret)
        with running_lab(tmp_path_factory, SITE, name) as lab:
            fleet.add(lab, "delta", "clusters")
            directory = lab.state_dir
            namespaces = lab.state.namespaces
        assert not directory.exists()
        from hcplb.lab.netns import namespaces as present

        assert not set(namespaces) & set(present())

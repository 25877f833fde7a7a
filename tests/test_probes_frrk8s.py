"""frr-k8s probes over the fake Kubernetes API: MetalLB's FRRConfiguration per node, frr-k8s's
FRRNodeState (merge and reload) and BGPSessionState per node and router, each broken in turn."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hcplb.plan import plan_site
from hcplb.probes.cluster import probe_cluster
from hcplb.probes.expect import SiteExpect, expect_site
from hcplb.probes.model import Probe, Status
from hcplb.render.secrets import Secrets
from hcplb.spec import LoadedSite
from tests.kubefake import KubeFake
from tests.test_probes_cluster import (
    FRRCONFIGS,
    NODESTATES,
    SESSIONS,
    frr_configurations,
    healthy,
    listing,
    node_state,
)


@pytest.fixture
def expect(seed: LoadedSite) -> SiteExpect:
    return expect_site(plan_site(seed.site), Secrets())


def run(fake: KubeFake, expect: SiteExpect) -> dict[str, Probe]:
    with fake.client() as client:
        return {p.id: p for p in probe_cluster(client, expect)}


def test_healthy_frrk8s_objects_pass(expect: SiteExpect) -> None:
    probes = run(healthy(expect), expect)
    for node in ("master-0", "master-1", "master-2"):
        conf = probes[f"cluster/frrk8s/{node}/configuration"]
        assert conf.status is Status.pass_
        assert conf.observed == "192.168.125.1: 10.0.2.20/32"
        assert probes[f"cluster/frrk8s/{node}/state"].observed == (
            "conversion success, reload success"
        )


def test_conversion_error_fails_the_node_with_where_to_look(expect: SiteExpect) -> None:
    fake = healthy(expect)
    error = (
        "multiple passwords specified for 192.168.125.1 in FRRConfiguration openshift-frr-k8s/extra"
    )
    states = [
        node_state("master-0"),
        node_state("master-1", conversion=error),
        node_state("master-2"),
    ]
    fake.add("GET", NODESTATES, json=listing(states))
    probes = run(fake, expect)
    bad = probes["cluster/frrk8s/master-1/state"]
    assert bad.status is Status.fail
    assert bad.observed == f"conversion {error}, reload success"
    assert "oc get frrnodestate master-1" in bad.hint and "previous frr.conf" in bad.hint
    assert probes["cluster/frrk8s/master-0/state"].status is Status.pass_


def test_reload_error_is_frrs_complaint(expect: SiteExpect) -> None:
    fake = healthy(expect)
    fake.add("GET", NODESTATES, json=listing([node_state(n, reload="line 12: % Unknown command")
                                              for n in ("master-0", "master-1", "master-2")]))  # fmt: skip
    probes = run(fake, expect)
    assert probes["cluster/frrk8s/master-2/state"].status is Status.fail
    assert "lastReloadResult" in probes["cluster/frrk8s/master-2/state"].hint


def test_missing_node_state(expect: SiteExpect) -> None:
    fake = healthy(expect)
    fake.add("GET", NODESTATES, json=listing([node_state("master-0")]))
    probes = run(fake, expect)
    assert probes["cluster/frrk8s/master-1/state"].observed == "no FRRNodeState"
    assert "daemon set has no pod" in probes["cluster/frrk8s/master-1/state"].hint


def test_missing_and_stale_frrconfigurations(expect: SiteExpect) -> None:
    fake = healthy(expect)
    objs = frr_configurations(expect)
    stale = copy.deepcopy(objs[1])
    neighbor = stale["spec"]["bgp"]["routers"][0]["neighbors"][0]
    neighbor["toAdvertise"]["allowed"]["prefixes"] = []
    fake.add("GET", FRRCONFIGS, json=listing([objs[0], stale]))
    probes = run(fake, expect)
    assert probes["cluster/frrk8s/master-0/configuration"].status is Status.pass_
    assert probes["cluster/frrk8s/master-1/configuration"].status is Status.fail
    assert probes["cluster/frrk8s/master-1/configuration"].observed == "192.168.125.1: nothing"
    missing = probes["cluster/frrk8s/master-2/configuration"]
    assert missing.status is Status.fail and missing.message == "MetalLB wrote no metallb-master-2"


def test_a_users_frrconfiguration_selecting_the_nodes_is_reported(expect: SiteExpect) -> None:
    fake = healthy(expect)
    extra: dict[str, Any] = {
        "apiVersion": "frrk8s.metallb.io/v1beta1",
        "kind": "FRRConfiguration",
        "metadata": {"name": "accept-all", "namespace": "openshift-frr-k8s"},
        "spec": {
            "nodeSelector": {"matchLabels": {"kubernetes.io/hostname": "master-2"}},
            "bgp": {"routers": [{"asn": 64513, "neighbors": [
                {"address": "192.168.125.1", "asn": 64512, "toReceive": {"allowed": {"mode": "all"}}}
            ]}]},
        },
    }  # fmt: skip
    fake.add("GET", FRRCONFIGS, json=listing([*frr_configurations(expect), extra]))
    probes = run(fake, expect)
    warned = probes["cluster/frrk8s/master-2/extra/accept-all"]
    assert warned.status is Status.warn and "merged into master-2" in warned.message
    assert "cluster/frrk8s/master-0/extra/accept-all" not in probes


def test_a_missing_session_is_a_failure_not_silence(expect: SiteExpect) -> None:
    fake = healthy(expect)
    only: dict[str, Any] = {
        "apiVersion": "frrk8s.metallb.io/v1beta1",
        "kind": "BGPSessionState",
        "metadata": {
            "name": "master-0-x7k2p",
            "namespace": "openshift-frr-k8s",
            "labels": {"frrk8s.metallb.io/node": "master-0", "frrk8s.metallb.io/peer": "192.168.125.1",
                       "frrk8s.metallb.io/vrf": ""},
        },
        "status": {"node": "master-0", "peer": "192.168.125.1", "vrf": "", "bgpStatus": "Established",
                   "bfdStatus": "N/A"},
    }  # fmt: skip
    fake.add("GET", SESSIONS, json=listing([only]))
    probes = run(fake, expect)
    assert probes["cluster/bgpsession/master-0/frr"].observed == "Established"
    gone = probes["cluster/bgpsession/master-1/frr"]
    assert gone.status is Status.fail and gone.observed == "no BGPSessionState"
    assert "no neighbor 192.168.125.1 on master-1" in gone.hint


def test_frr_backend_asks_nothing_of_frrk8s(seed: LoadedSite) -> None:
    site = seed.site.model_copy(
        update={"spec": seed.site.spec.model_copy(update={"management_cluster": seed.site.spec.management_cluster.model_copy(update={"bgp_backend": "frr"})})}
    )  # fmt: skip
    expect = expect_site(plan_site(site), Secrets())
    assert expect.frr_configurations == {}
    fake = healthy(expect)
    probes = run(fake, expect)
    assert probes["cluster/bgpsessions"].status is Status.skip
    assert not any("frrk8s.metallb.io" in call for call in fake.calls())

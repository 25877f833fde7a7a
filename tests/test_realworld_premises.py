"""Context before opinion: each rule fires only where its premise holds, tested both ways."""

from __future__ import annotations

from hcplb.lint import LintReport
from hcplb.lint.engine import lint_inputs
from hcplb.lint.sources import read_texts

POOL = """apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: ingress, namespace: metallb-system}
spec: {addresses: [10.44.0.0/28]}
"""
BGP_AD = """apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: bgp, namespace: metallb-system}
spec: {ipAddressPools: [ingress]}
"""
L2_AD = """apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: l2, namespace: metallb-system}
spec: {ipAddressPools: [ingress]}
"""
HOSTED = """apiVersion: hypershift.openshift.io/v1beta1
kind: HostedCluster
metadata: {name: hosted, namespace: clusters}
spec:
  platform: {type: Agent}
  dns: {baseDomain: example.com}
"""


def lint(*docs: str) -> LintReport:
    inputs, read = read_texts([("manifests.yaml", "---\n".join(docs))])
    return lint_inputs(inputs, read)


def rules(report: LintReport) -> set[str]:
    return {f.rule for f in report.findings}


def test_an_l2_pool_with_an_l2advertisement_is_advertised() -> None:
    assert "cross.pool.not-advertised" not in rules(lint(POOL, L2_AD))
    assert "cross.pool.not-advertised" in rules(lint(POOL))


def test_pinning_is_advice_for_pools_that_serve_hosted_control_planes() -> None:
    assert "cross.pool.unpinned" not in rules(lint(POOL, BGP_AD))
    assert "cross.pool.unpinned" in rules(lint(POOL, BGP_AD, HOSTED))


PEER = """apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: NAME, namespace: metallb-system}
spec: {peerAddress: 192.168.88.1, peerASN: 65000, myASN: 65001}
"""
FRR_CONF = """router bgp 65000
 bgp router-id 192.168.88.1
 neighbor 192.168.88.10 remote-as 65001
"""


def _bfd_hint(files: list[tuple[str, str]]) -> str:
    inputs, read = read_texts(files)
    (hint,) = [f.hint for f in lint_inputs(inputs, read).findings if f.rule == "cross.bfd.none"]
    return hint


def test_bfd_advice_names_frr_commands_only_for_an_frr_router() -> None:
    peer = ("peer.yaml", PEER.replace("NAME", "upstream"))
    assert "`neighbor ... bfd`" in _bfd_hint([peer, ("frr.conf", FRR_CONF)])
    assert "neighbor" not in _bfd_hint([peer])  # no router config in view
    mikrotik = ("peer.yaml", PEER.replace("NAME", "mikrotik-hex"))
    assert "neighbor" not in _bfd_hint([mikrotik, ("frr.conf", FRR_CONF)])


def test_a_public_asn_is_found_in_lint_as_in_the_spec_checks() -> None:
    public = PEER.replace("NAME", "upstream").replace("peerASN: 65000", "peerASN: 3320")
    inputs, read = read_texts([("peer.yaml", public), ("frr.conf", FRR_CONF)])
    found = [f for f in lint_inputs(inputs, read).findings if f.rule == "asn.public"]
    assert [f.message for f in found] == ["BGPPeer upstream peerASN: ASN 3320 is public"]
    assert found[0].hint
    inputs, read = read_texts([("peer.yaml", PEER.replace("NAME", "upstream"))])
    assert not [f for f in lint_inputs(inputs, read).findings if f.rule == "asn.public"]

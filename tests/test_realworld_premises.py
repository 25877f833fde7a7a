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

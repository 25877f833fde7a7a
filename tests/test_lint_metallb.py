"""MetalLB rules: one case per rule of validation-rules.yaml, with MetalLB's exact message.

Each case is a small set of manifests that breaks one rule on top of a valid base (MetalLB CR,
pool, peer, advertisement in metallb-system); the case passes when lint reports that rule with
that message. Rules that need a live cluster (update/delete webhooks) are listed in NOT_STATIC.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from ruamel.yaml import YAML

from hcplb.lint import LintReport, Severity
from hcplb.lint.engine import lint_inputs
from hcplb.lint.sources import read_texts

from .conftest import UPSTREAM

NS = "metallb-system"
MLB = {
    "apiVersion": "metallb.io/v1beta1",
    "kind": "MetalLB",
    "metadata": {"name": "metallb", "namespace": NS},
}


def pool(name: str = "p1", addresses: Any = ("10.0.2.0/28",), **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"addresses": list(addresses), **spec},
    }


def peer(name: str = "r1", version: str = "v1beta2", **spec: Any) -> dict[str, Any]:
    base = {"peerAddress": "192.168.125.1", "peerASN": 64512, "myASN": 64513}
    base.update(spec)
    return {
        "apiVersion": f"metallb.io/{version}",
        "kind": "BGPPeer",
        "metadata": {"name": name, "namespace": NS},
        "spec": {k: v for k, v in base.items() if v is not None},
    }


def ad(name: str = "a1", **spec: Any) -> dict[str, Any]:
    body = {"ipAddressPools": ["p1"]}
    body.update(spec)
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "BGPAdvertisement",
        "metadata": {"name": name, "namespace": NS},
        "spec": {k: v for k, v in body.items() if v is not None},
    }


def bfd(name: str = "b1", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "BFDProfile",
        "metadata": {"name": name, "namespace": NS},
        "spec": spec,
    }


def secret(
    name: str = "s1", kind: str | None = "kubernetes.io/basic-auth", **data: str
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": NS},
    }
    if kind:
        body["type"] = kind
    body["stringData"] = data
    return body


def community(name: str = "c", **aliases: str) -> dict[str, Any]:
    items = [{"name": k, "value": v} for k, v in aliases.items()]
    return {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "Community",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"communities": items},
    }


def node(name: str = "n1", address: str = "192.168.125.20", **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "status": {"addresses": [{"type": "InternalIP", "address": address}]},
    }


def lint_docs(*docs: dict[str, Any], base: bool = True) -> LintReport:
    objects = [MLB, pool(), peer(), ad()] if base else []
    replaced = {(d["kind"], d["metadata"].get("name")) for d in docs}
    objects = [o for o in objects if (o["kind"], o["metadata"]["name"]) not in replaced]
    yaml = YAML(typ="safe")
    text = ""
    for doc in [*objects, *docs]:
        buf = io.StringIO()
        yaml.dump(doc, buf)
        text += "---\n" + buf.getvalue()
    inputs, read = read_texts([("manifests.yaml", text)])
    return lint_inputs(inputs, read)


def messages(report: LintReport, rule: str) -> list[str]:
    return [f.message for f in report.findings if f.rule == rule]


SEL = {"matchLabels": {"a": "b"}}
EXPR = {"matchExpressions": [{"key": "k", "operator": "In", "values": ["x"]}]}

# rule id -> (manifests, exact message MetalLB prints)
CASES: dict[str, tuple[tuple[dict[str, Any], ...], str]] = {
    "peer.myasn.required": ((peer(myASN=0),), "missing local ASN"),
    "peer.asn.missing": ((peer(peerASN=None),), "missing peer ASN and dynamicASN"),
    "peer.asn.both": ((peer(dynamicASN="external"),), "both peer ASN and dynamicASN specified"),
    "peer.dynamicasn.enum": (
        (peer(peerASN=None, dynamicASN="sideways"),),
        "invalid dynamicASN sideways",
    ),
    "peer.ibgp.multihop": (
        (peer(myASN=64512, ebgpMultiHop=True),),
        "invalid ebgp-multihop parameter set for an ibgp peer",
    ),
    "peer.addr.none": ((peer(peerAddress=None),), "peer has no Address or Interface specified"),
    "peer.addr.both": ((peer(interface="eth0"),), "peer has both Address and Interface specified"),
    "peer.addr.invalid": (
        (peer(peerAddress="router.example"),),
        'invalid BGPPeer address "router.example"',
    ),
    "peer.routerid.invalid": ((peer(routerID="abc"),), 'invalid router ID "abc"'),
    "peer.srcaddr.invalid": ((peer(sourceAddress="x"),), 'invalid source IP "x"'),
    "peer.timers.holdtime": (
        (peer(holdTime="2s"),),
        'invalid BGPPeer timers: invalid hold time "2s": must be 0 or >=3s',
    ),
    "peer.timers.keepalive": (
        (peer(holdTime="90s", keepaliveTime="100s"),),
        'invalid BGPPeer timers: invalid keepaliveTime "1m40s", must be lower than holdTime "1m30s"',
    ),
    "peer.timers.derive": (
        (peer(keepaliveTime="500ms"),),
        "invalid BGPPeer timers: invalid hold time <nil>: must be 0 or >=3s",
    ),
    "peer.connecttime.range": (
        (peer(connectTime="0s"),),
        "connect time should be between 1 seconds to 65535",
    ),
    "peer.connecttime.whole": (
        (peer(connectTime="1500ms"),),
        "connect time should contain a whole number of seconds",
    ),
    "peer.port.range": (
        (peer(peerPort=20000),),
        "spec.peerPort: Invalid value: 20000: spec.peerPort in body should be less than or equal to 16384",
    ),
    "peer.asn.range": (
        (peer(myASN=4294967296),),
        "spec.myASN: Invalid value: 4294967296: spec.myASN in body should be less than or equal to 4294967295",
    ),
    "peer.password.exclusive": (
        (peer(password="pw", passwordSecret={"name": "s1"}), secret(password="pw")),
        f'can not have both password and secret ref set in peer config "{NS}"/"r1"',
    ),
    "peer.secret.missing": (
        (peer(passwordSecret={"name": "s1"}),),
        f'secret ref not found for peer config "{NS}"/"r1"',
    ),
    "peer.secret.type": (
        (peer(passwordSecret={"name": "s1"}), secret(kind=None, password="pw")),
        f'secret type mismatch on "{NS}"/"s1", type "kubernetes.io/basic-auth" is expected ',
    ),
    "peer.secret.key": (
        (peer(passwordSecret={"name": "s1"}), secret(username="u")),
        f'password not specified in the secret "{NS}"/"s1"',
    ),
    "peer.bfd.ref": (
        (peer(bfdProfile="nope"),),
        "peer r1 referencing non existing bfd profile nope",
    ),
    "peer.duplicate.exact": ((peer(), peer()), "peer r1 already exists"),
    "peer.selector.dup": (
        (peer(nodeSelectors=[SEL, SEL]),),
        'duplicate definition of nodeSelectors {map["a":"b"] []}',
    ),
    "labelselector.dup.values": (
        (
            peer(
                nodeSelectors=[
                    {"matchExpressions": [{"key": "k", "operator": "In", "values": ["x", "x"]}]}
                ]
            ),
        ),
        'duplicate definition of match expression value in label selector "x"',
    ),
    "labelselector.dup.expr": (
        (peer(nodeSelectors=[{"matchExpressions": EXPR["matchExpressions"] * 2}]),),
        'duplicate definition of match expressions {"k" "In" ["x"]}',
    ),
    "frr.peers.routerid": (
        (peer(routerID="10.0.0.1"), peer("r2", peerAddress="192.168.125.2", routerID="10.0.0.2")),
        "peer 10.0.0.2 has RouterID different from 10.0.0.1, in FRR mode peers selecting the same node must all have the same RouterID",
    ),
    "frr.peers.duplicate": (
        (peer(), peer("r2", holdTime="90s")),
        "peer 192.168.125.1 already exists, FRR mode doesn't support duplicate BGPPeers selecting the same node",
    ),
    "frr.peers.myasn": (
        (peer(), peer("r2", peerAddress="192.168.125.2", myASN=64514)),
        "peer 192.168.125.2 has myAsn different from 192.168.125.1, in FRR mode peers selecting the same node must have the same myAsn within the same VRF",
    ),
    "native.rejects": (
        ({**MLB, "spec": {"bgpBackend": "native"}}, peer(bfdProfile="b1"), bfd()),
        "peer 192.168.125.1 has bfd-profile set on native bgp mode",
    ),
    "pool.name": (({**pool(), "metadata": {"namespace": NS}},), "missing pool name"),
    "pool.empty": ((pool(addresses=()),), "pool has no prefixes defined"),
    "pool.cidr.invalid": (
        (pool(addresses=["10.0.2.0/33"]),),
        'invalid CIDR "10.0.2.0/33" in pool "p1": invalid CIDR "10.0.2.0/33"',
    ),
    "pool.range.invalid": (
        (pool(addresses=["10.0.2.9-10.0.2.1"]),),
        'invalid CIDR "10.0.2.9-10.0.2.1" in pool "p1": invalid IP range "10.0.2.9-10.0.2.1": start IP "10.0.2.9" is after the end IP "10.0.2.1"',
    ),
    "pool.duplicate": (
        (pool(), pool(addresses=["10.0.3.0/28"])),
        'duplicate definition of pool "p1"',
    ),
    "pool.overlap": (
        (pool("p2", addresses=["10.0.2.8/29"]),),
        'CIDR "10.0.2.8/29" in pool "p2" overlaps with already defined CIDR "10.0.2.0/28"',
    ),
    "pool.alloc.nsdup": (
        (pool(serviceAllocation={"namespaces": ["a", "a"]}),),
        "duplicate definition in namespaces field",
    ),
    "adv.dup.pools": (
        (ad(ipAddressPools=["p1", "p1"]),),
        'duplicate definition of ipAddressPools "p1"',
    ),
    "adv.dup.community": (
        (ad(communities=["65535:65282", "65535:65282"]),),
        'duplicate definition of community "65535:65282"',
    ),
    "adv.dup.peers": ((ad(peers=["r1", "r1"]),), 'duplicate definition of peers "r1"'),
    "adv.dup.selectors": (
        (ad(nodeSelectors=[SEL, SEL]),),
        'duplicate definition of nodeSelectors {map["a":"b"] []}',
    ),
    "adv.duplicate": (
        (ad(), ad()),
        "duplicate definition of bgpadvertisements. advertisement 1 and 2 are equal",
    ),
    "adv.agg.v4.min": (
        (ad(aggregationLength=0),),
        "spec.aggregationLength: Invalid value: 0: spec.aggregationLength in body should be greater than or equal to 1",
    ),
    "adv.agg.v4.max": ((ad(aggregationLength=33),), "invalid aggregation length '!' for IPv4"),
    "adv.agg.v6.max": (
        (ad(aggregationLengthV6=129),),
        "invalid aggregation length '\\u0081' for IPv6",
    ),
    "adv.agg.vs.pool": (
        (ad(aggregationLength=24),),
        "invalid aggregation length 24: prefix 28 in this pool is more specific than the aggregation length for addresses 10.0.2.0/28",
    ),
    "adv.svcsel.vs.agg": (
        (ad(aggregationLength=30, serviceSelectors=[SEL]),),
        "serviceSelectors and aggregationLength are mutually exclusive, can only be used together with default aggregationLength (32) and aggregationLengthV6 (128)",
    ),
    "adv.localpref.conflict": (
        (node(), ad(localPref=100), ad("a2", localPref=200)),
        "invalid local preference 200: local preferernce 100 was already set for the same type of BGP update. Check existing BGP advertisements with common pools and aggregation lengths",
    ),
    "adv.localpref.runtime": (
        (
            ad(localPref=100, serviceSelectors=[SEL]),
            ad("a2", localPref=200, serviceSelectors=[EXPR]),
        ),
        "advertisements 'a1' and 'a2' have conflicting LOCAL_PREF (100 vs 200)",
    ),
    "adv.community.value": (
        (ad(communities=["65536:1"]),),
        'invalid community "65536:1" in BGP advertisement: invalid community value: invalid section "65536" of community "65536:1", err: "strconv.ParseUint: parsing \\"65536\\": value out of range"',
    ),
    "adv.community.large": (
        (ad(communities=["big:1:2:3"]),),
        'invalid community value: invalid marker for large community, expected community to be of format large:<uint32>:<uint32>:<uint32> but got "big:1:2:3" instead',
    ),
    "adv.community.format": ((ad(communities=["nope"]),), "invalid community format: nope"),
    "adv.community.max": (
        (ad(communities=[f"65000:{i}" for i in range(64)]),),
        "max supported communities is 63, got 64",
    ),
    "adv.bfdecho.v6": (
        (
            pool("p6", addresses=["2001:db8::/120"]),
            ad(ipAddressPools=["p6"]),
            peer(bfdProfile="b1"),
            bfd(echoMode=True),
        ),
        "pool p6 has bgpadvertisement a1 which references peer r1 which has bfd echo enabled, which is not possible",
    ),
    "community.parse": (
        (community(c1="x:y"),),
        'parsing community "c1": invalid community value: invalid section "x" of community "x:y", err: "strconv.ParseUint: parsing \\"x\\": invalid syntax"',
    ),
    "community.dup": (
        (community(c1="1:1"), community("d", c1="1:2")),
        'duplicate definition of community "c1"',
    ),
    "bfd.name": (({**bfd(), "metadata": {"namespace": NS}},), "missing bfd profile name"),
    "bfd.dup": ((bfd(), bfd(detectMultiplier=5)), "found duplicate bfd profile name b1"),
    "bfd.range": ((bfd(detectMultiplier=1),), "invalid value 1, must be in 2-255 range"),
    "webhook.namespace": (
        (
            {
                **pool("p2", addresses=["10.0.3.0/28"]),
                "metadata": {"name": "p2", "namespace": "default"},
            },
        ),
        f"resource must be created in {NS} namespace",
    ),
    "webhook.disablemp": (
        (peer(disableMP=True),),
        "disable mp is deprecated and has no effect since it's the default behavior now",
    ),
    "op.name": (
        ({**MLB, "metadata": {"name": "metallb-1", "namespace": NS}},),
        "MetalLB resource name must be 'metallb'",
    ),
    "op.bgpbackend": (
        ({**MLB, "spec": {"bgpBackend": "bird"}},),
        "invalid BGP Backend, must be one of native, frr, frr-k8s, frr-k8s-external",
    ),
    "op.native.openshift": (
        (
            {
                **MLB,
                "spec": {"bgpBackend": "native"},
                "metadata": {"name": "metallb", "namespace": "openshift-operators"},
            },
        ),
        "native mode is not supported on openshift",
    ),
    "op.frrk8s.external.ns": (
        ({**MLB, "spec": {"bgpBackend": "frr-k8s-external"}},),
        "bgp backend: frrk8s external and no default or user provided namespace",
    ),
    "op.alwaysblock": (
        ({**MLB, "spec": {"frrk8sConfig": {"alwaysBlock": ["10.0.0.0/33"]}}},),
        "invalid CIDR 10.0.0.0/33 in AlwaysBlock",
    ),
    "op.tolerations": (
        (
            {
                **MLB,
                "spec": {
                    "speakerTolerations": [
                        {"key": "a", "effect": "NoSchedule", "tolerationSeconds": 5}
                    ]
                },
            },
        ),
        "SpeakerToleration effect must be NoExecute when tolerationSeconds is set",
    ),
    "op.loglevel": (
        ({**MLB, "spec": {"logLevel": "loud"}},),
        'spec.logLevel: Unsupported value: "loud": supported values: "all", "debug", "info", "warn", "error", "none"',
    ),
}

# Rules that only a live cluster can check.
NOT_STATIC = {
    "peer.gr.immutable": "a CEL rule on update (self == oldSelf): lint sees one version",
    "bfd.delete.inuse": "a webhook on delete",
}


def _reference_rules() -> list[str]:
    rules = YAML(typ="safe").load((UPSTREAM / "metallb" / "validation-rules.yaml").read_text())[
        "rules"
    ]
    return [r["id"] for r in rules]


def test_every_reference_rule_has_a_case() -> None:
    ids = _reference_rules()
    assert len(ids) == 70
    missing = [i for i in ids if i not in CASES and i not in NOT_STATIC]
    assert missing == []
    assert not set(CASES) - set(ids)


def test_the_base_is_clean() -> None:
    report = lint_docs()
    assert [f for f in report.findings if f.severity is Severity.error] == []


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule(rule: str) -> None:
    docs, message = CASES[rule]
    report = lint_docs(*docs)
    rule_id = "metallb.peer.timers.holdtime" if rule == "peer.timers.derive" else f"metallb.{rule}"
    matching = [f for f in report.findings if f.rule == rule_id and message in f.message]
    assert matching, [str(f) for f in report.findings]
    assert matching[0].file == "manifests.yaml" and matching[0].line > 0


def test_only_hold_time_derives_keepalive() -> None:
    assert messages(lint_docs(peer(holdTime="90s")), "metallb.peer.timers.keepalive") == []
    assert messages(lint_docs(peer(holdTime="3s")), "metallb.peer.timers.holdtime") == []


def test_native_rejects_each_frr_only_feature() -> None:
    report = lint_docs(
        {**MLB, "spec": {"bgpBackend": "native"}},
        peer(
            keepaliveTime="30s",
            vrf="red",
            connectTime="5s",
            enableGracefulRestart=True,
            dualStackAddressFamily=True,
            localASN=65000,
        ),
        pool("p6", addresses=["2001:db8::/120"]),
        ad(ipAddressPools=["p1", "p6"]),
        bfd(),
    )
    found = messages(report, "metallb.native.rejects")
    for what in (
        "keepalive-time",
        "vrf",
        "connect time",
        "EnableGracefulRestart flag",
        "dualstackaddressfamily flag",
        "localASN",
    ):
        assert f"peer 192.168.125.1 has {what} set on native bgp mode" in found
    assert "bfd profiles section set" in found
    assert 'pool "p6" has ipv6 CIDR 2001:db8::/120, native bgp mode does not support ipv6' in found


def test_range_start_and_end_errors() -> None:
    report = lint_docs(pool(addresses=["x-10.0.2.5", "10.0.2.5-y"]))
    found = messages(report, "metallb.pool.range.invalid")
    assert (
        'invalid CIDR "x-10.0.2.5" in pool "p1": invalid IP range "x-10.0.2.5": invalid start IP "x"'
        in found
    )
    assert (
        'invalid CIDR "10.0.2.5-y" in pool "p1": invalid IP range "10.0.2.5-y": invalid end IP "y"'
        in found
    )


def test_peers_on_disjoint_nodes_may_differ() -> None:
    report = lint_docs(
        node("n1", "192.168.125.20", rack="a"),
        node("n2", "192.168.125.21", rack="b"),
        peer(nodeSelectors=[{"matchLabels": {"rack": "a"}}]),
        peer(
            "r2",
            peerAddress="192.168.125.2",
            myASN=64514,
            nodeSelectors=[{"matchLabels": {"rack": "b"}}],
        ),
    )
    assert messages(report, "metallb.frr.peers.myasn") == []


# --- what MetalLB does not check ------------------------------------------------------------


def test_ipv6_router_id() -> None:
    assert messages(lint_docs(peer(routerID="2001:db8::1")), "metallb.peer.routerid.ipv6")


def test_plain_text_password() -> None:
    report = lint_docs(peer(password="s3cret"))
    (finding,) = [f for f in report.findings if f.rule == "metallb.peer.password.plain"]
    assert finding.severity is Severity.warning and "s3cret" not in finding.message


def test_deprecated_v1beta1_peer() -> None:
    assert messages(lint_docs(peer(version="v1beta1")), "metallb.peer.v1beta1") == [
        "BGPPeer metallb.io/v1beta1 is deprecated"
    ]


def test_ipv6_pool_over_ipv4_session() -> None:
    report = lint_docs(pool("p6", addresses=["2001:db8::/120"]), ad(ipAddressPools=["p1", "p6"]))
    (message,) = messages(report, "metallb.pool.family-mismatch")
    assert "pool p6 has IPv6 addresses but peer r1 is an IPv4 session" in message
    fixed = lint_docs(
        pool("p6", addresses=["2001:db8::/120"]),
        ad(ipAddressPools=["p1", "p6"]),
        peer(dualStackAddressFamily=True),
    )
    assert messages(fixed, "metallb.pool.family-mismatch") == []


def test_metallb_cr_missing_misnamed_elsewhere() -> None:
    subscription = {
        "apiVersion": "operators.coreos.com/v1alpha1",
        "kind": "Subscription",
        "metadata": {"name": "metallb-operator", "namespace": NS},
    }
    olm = lint_docs(pool(), peer(), ad(), subscription, base=False)
    assert messages(olm, "metallb.cr.missing")
    # Helm or plain manifests: there is no operator to read a MetalLB CR, so none is missing.
    assert not messages(lint_docs(pool(), peer(), ad(), base=False), "metallb.cr.missing")
    assert messages(
        lint_docs({**MLB, "metadata": {"name": "mlb", "namespace": NS}}), "metallb.op.name"
    )
    elsewhere = lint_docs(
        pool(),
        peer(),
        ad(),
        {**MLB, "metadata": {"name": "metallb", "namespace": "metallb"}},
        base=False,
    )
    assert messages(elsewhere, "metallb.cr.namespace")
    assert messages(elsewhere, "metallb.webhook.namespace")


def test_disable_mp_is_a_warning_not_an_error() -> None:
    report = lint_docs(peer(disableMP=True))
    assert [f.severity for f in report.findings if f.rule == "metallb.webhook.disablemp"] == [
        Severity.warning
    ]


def test_unknown_pool_and_peer_in_advertisement() -> None:
    report = lint_docs(ad(ipAddressPools=["p1", "p9"], peers=["r9"]))
    assert messages(report, "metallb.adv.pool.unknown")
    assert messages(report, "metallb.adv.peer.unknown")

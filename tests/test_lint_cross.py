"""Rules across systems and the session table, each on one edit of the seed's rendered files."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hcplb.lint import LintReport, Severity
from hcplb.lint.engine import lint_inputs
from hcplb.lint.sources import read_texts
from hcplb.render import Secrets, render_site
from hcplb.spec import LoadedSite

Files = dict[str, str]


@pytest.fixture
def files(seed: LoadedSite) -> Files:
    rendered = render_site(seed.site, Secrets())
    return {f.path: f.content for f in rendered.files}


def lint(files: Files) -> LintReport:
    inputs, read = read_texts(files.items())
    return lint_inputs(inputs, read)


def edit(files: Files, path: str, old: str, new: str) -> Files:
    assert old in files[path], f"{old!r} not in {path}"
    return {**files, path: files[path].replace(old, new)}


def only(report: LintReport, rule: str) -> list[str]:
    return [f"{f.location} {f.message}" for f in report.findings if f.rule == rule]


def test_rendered_seed_is_clean(files: Files) -> None:
    report = lint(files)
    assert report.findings == ()
    assert [s.status for s in report.sessions] == ["matched"] * 3


FRR = "router/frr.conf"
PEERS = "cluster/bgppeers.yaml"
POOLS = "cluster/ipaddresspools.yaml"

CASES: dict[str, tuple[Callable[[Files], Files], str]] = {
    # rule -> (edit, text expected in the message)
    "router.policy.missing": (
        lambda f: edit(f, FRR, "  neighbor HCP-NODES route-map HCPLB-FROM-NODES in\n", ""),
        "accepts no route from them",
    ),
    "router.policy.accepts-all": (
        lambda f: edit(
            edit(f, FRR, "  neighbor HCP-NODES route-map HCPLB-FROM-NODES in\n", ""),
            FRR,
            " bgp log-neighbor-changes\n",
            " bgp log-neighbor-changes\n no bgp ebgp-requires-policy\n",
        ),
        "accepts every route from 192.168.125.20",
    ),
    "router.policy.accepts-more": (
        lambda f: edit(f, FRR, "permit 10.0.2.20/32 ge 32", "permit 10.0.0.0/8 le 32"),
        "accepts 10.0.0.0/8",
    ),
    "router.policy.rejects-vip": (
        lambda f: edit(f, FRR, "permit 10.0.2.20/32 ge 32", "permit 10.0.3.20/32 ge 32"),
        "rejects 10.0.2.20/32",
    ),
    "router.policy.outbound": (
        lambda f: edit(
            edit(f, FRR, "  neighbor HCP-NODES route-map HCPLB-TO-NODES out\n", ""),
            FRR,
            " bgp log-neighbor-changes\n",
            " bgp log-neighbor-changes\n no bgp ebgp-requires-policy\n",
        ),
        "sends its whole table",
    ),
    "router.af.not-activated": (
        lambda f: edit(f, FRR, "  neighbor HCP-NODES activate\n", ""),
        "not activated in address-family ipv4 unicast",
    ),
    "router.maximum-paths": (
        lambda f: edit(f, FRR, "maximum-paths 3", "maximum-paths 2"),
        "maximum-paths 2",
    ),
    "router.daemons.bfdd": (
        lambda f: edit(f, "router/daemons", "bfdd=yes", "bfdd=no"),
        "bfdd is not enabled",
    ),
    "router.daemons.bgpd": (
        lambda f: edit(f, "router/daemons", "bgpd=yes", "bgpd=no"),
        "bgpd is not enabled",
    ),
    "router.sysctl.forwarding": (
        lambda f: edit(
            f, "router/90-hcplb.conf", "net.ipv4.ip_forward = 1", "net.ipv4.ip_forward = 0"
        ),
        "ip_forward is not set to 1",
    ),
    "router.sysctl.ecmp-hash": (
        lambda f: edit(
            f,
            "router/90-hcplb.conf",
            "fib_multipath_hash_policy = 1",
            "fib_multipath_hash_policy = 0",
        ),
        "ECMP hashes on addresses only",
    ),
    "firewall.source": (
        lambda f: edit(
            f,
            "router/iptables.rules",
            "-A HCPLB-INPUT -s 192.168.125.20/32 -p tcp",
            "-A HCPLB-INPUT -p tcp",
        ),
        "BGP (TCP 179) over IPv4 is accepted from any source",
    ),
    "firewall.no-drop": (
        lambda f: edit(
            f, "router/iptables.rules", "-A HCPLB-INPUT -p tcp -m tcp --dport 179 -j DROP\n", ""
        ),
        "nothing in this file drops BGP (TCP 179) over IPv4",
    ),
    "firewall.node-blocked": (
        lambda f: edit(
            f, "router/iptables.rules", "-s 192.168.125.21/32 -p tcp", "-s 192.168.125.99/32 -p tcp"
        ),
        "BGP (TCP 179) from node master-1 (192.168.125.21) is dropped",
    ),
    "cross.vip.outside-pool": (
        lambda f: edit(f, "dns/hosts", "10.0.2.20", "10.0.9.20"),
        "VIP 10.0.9.20 (dns) is in no IPAddressPool",
    ),
    "cross.dns.wrong": (
        lambda f: {
            **f,
            "cluster/svc.yaml": SERVICE,
            "dns/hosts": f["dns/hosts"].replace("10.0.2.20 api.", "10.0.2.21 api."),
        },
        "points at 10.0.2.21, the API VIP is 10.0.2.20",
    ),
    "cross.dns.missing": (
        lambda f: {k: v.replace("api-int.", "api-x.") for k, v in f.items()},
        "no A record for api-int.hosted.hypershift.lab",
    ),
    "cross.dns.inconsistent": (
        lambda f: edit(
            f,
            "dns/hypershift.lab.records",
            "api-int.hosted 300 IN A 10.0.2.20",
            "api-int.hosted 300 IN A 10.0.2.21",
        ),
        "disagree",
    ),
    "cross.pool.not-advertised": (
        lambda f: edit(f, "cluster/bgpadvertisement.yaml", "- hosted-hosted-api", "- other"),
        "no BGPAdvertisement selects pool hosted-hosted-api",
    ),
    "cross.pool.unpinned": (
        lambda f: edit(
            edit(f, POOLS, "    namespaces:\n      - hosted-hosted\n", ""),
            POOLS,
            "    serviceSelectors:\n      - matchLabels:\n          app: kube-apiserver\n",
            "",
        ),
        "not pinned to a namespace",
    ),
    "cross.pool.wrong-namespace": (
        lambda f: edit(f, POOLS, "- hosted-hosted\n", "- default\n"),
        "pinned to default, but its VIP belongs to the control plane in hosted-hosted",
    ),
    "cross.pool.no-autoassign": (
        lambda f: edit(f, POOLS, "autoAssign: true", "autoAssign: false"),
        "autoAssign: false",
    ),
    "cross.adv.no-router": (
        lambda f: edit(f, PEERS, "peerAddress: 192.168.125.1", "peerAddress: 192.168.125.9"),
        "none of which is a linted router",
    ),
    "cross.service.type": (
        lambda f: {**f, "cluster/svc.yaml": SERVICE.replace("LoadBalancer", "NodePort")},
        "is NodePort, not LoadBalancer",
    ),
    "cross.bfd.none": (
        lambda f: edit(
            edit(f, PEERS, "  bfdProfile: hcplb-bfd\n", ""),
            FRR,
            " neighbor HCP-NODES bfd\n neighbor HCP-NODES bfd profile hcplb-bfd\n",
            "",
        ),
        "no BFD on the BGP sessions",
    ),
    "hypershift.publish.loadbalancer": (
        lambda f: edit(
            f,
            "hostedcluster/hosted.yaml",
            "type: LoadBalancer  # MetalLB assigns VIP 10.0.2.20 (pool hosted-hosted-api)\n        loadBalancer:\n          hostname: api.hosted.hypershift.lab",
            "type: NodePort\n        nodePort:\n          address: 192.168.125.20",
        ),
        "the APIServer is published as NodePort",
    ),
}

SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: kube-apiserver, namespace: hosted-hosted}
spec: {type: LoadBalancer}
status:
  loadBalancer:
    ingress: [{ip: 10.0.2.20}]
"""


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule(rule: str, files: Files) -> None:
    change, text = CASES[rule]
    report = lint(change(files))
    found = only(report, rule)
    assert any(text in m for m in found), [str(f) for f in report.findings]
    assert all(
        f.line > 0 or f.rule.startswith("cross.dns") for f in report.findings if f.rule == rule
    )


def test_multipath_relax_needed_for_several_node_asns(files: Files) -> None:
    changed = edit(
        files,
        FRR,
        " neighbor 192.168.125.21 peer-group HCP-NODES\n",
        " neighbor 192.168.125.21 peer-group HCP-NODES\n neighbor 192.168.125.21 remote-as 64514\n",
    )
    assert only(lint(changed), "router.multipath-relax")
    relaxed = edit(
        changed,
        FRR,
        " bgp log-neighbor-changes\n",
        " bgp log-neighbor-changes\n bgp bestpath as-path multipath-relax\n",
    )
    assert not only(lint(relaxed), "router.multipath-relax")


def test_undefined_route_map_denies_everything(files: Files) -> None:
    report = lint(edit(files, FRR, "route-map HCPLB-FROM-NODES in", "route-map NOPE in"))
    assert only(report, "frr.undefined") and only(report, "router.policy.rejects-vip")


# --- the session table -------------------------------------------------------------------------


def statuses(report: LintReport) -> list[str]:
    return [s.status for s in report.sessions]


def test_session_asn_mismatch(files: Files) -> None:
    report = lint(edit(files, PEERS, "myASN: 64513", "myASN: 64599"))
    assert statuses(report) == ["asn-mismatch"] * 3
    (finding,) = [f for f in report.findings if f.rule == "session.asn-mismatch"]
    assert "router expects AS 64513, node speaks AS 64599" in finding.message
    assert finding.file == FRR and finding.line > 0


def test_session_router_asn_mismatch(files: Files) -> None:
    report = lint(edit(files, PEERS, "peerASN: 64512", "peerASN: 64500"))
    assert statuses(report) == ["asn-mismatch"] * 3


def test_session_password_mismatch_never_shows_the_password(files: Files) -> None:
    changed = edit(
        files,
        FRR,
        " neighbor HCP-NODES passive\n",
        " neighbor HCP-NODES passive\n neighbor HCP-NODES password Zz9-secret\n",
    )
    report = lint(changed)
    assert statuses(report) == ["password-mismatch"] * 3
    assert "Zz9-secret" not in repr(report.to_json()) + repr([s.to_json() for s in report.sessions])
    secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: pw, namespace: openshift-operators}\ntype: kubernetes.io/basic-auth\nstringData: {password: Other-1}\n"
    both = edit(
        {**changed, "cluster/secret.yaml": secret},
        PEERS,
        "  bfdProfile: hcplb-bfd\n",
        "  bfdProfile: hcplb-bfd\n  passwordSecret: {name: pw}\n",
    )
    report = lint(both)
    assert statuses(report) == ["password-mismatch"] * 3
    assert "the passwords differ" in report.sessions[0].detail
    same = both | {"cluster/secret.yaml": secret.replace("Other-1", "Zz9-secret")}
    assert statuses(lint(same)) == ["matched"] * 3


def test_session_bfd_on_one_side(files: Files) -> None:
    report = lint(edit(files, PEERS, "  bfdProfile: hcplb-bfd\n", ""))
    assert statuses(report) == ["bfd-one-side"] * 3
    assert [f.severity for f in report.findings if f.rule == "session.bfd-one-side"] == [
        Severity.warning
    ]


def test_session_port_mismatch(files: Files) -> None:
    report = lint(
        edit(
            files, PEERS, "  bfdProfile: hcplb-bfd\n", "  bfdProfile: hcplb-bfd\n  peerPort: 1179\n"
        )
    )
    assert statuses(report) == ["port-mismatch"] * 3


def test_session_unknown_remote(files: Files) -> None:
    report = lint(edit(files, PEERS, "peerAddress: 192.168.125.1", "peerAddress: 192.168.125.9"))
    assert "unknown-remote" in statuses(report)
    assert "half-open" in statuses(report)  # and the router now waits for nodes that never dial


def test_session_half_open_router_side(files: Files) -> None:
    changed = edit(
        files,
        FRR,
        " neighbor 192.168.125.22 peer-group HCP-NODES\n neighbor 192.168.125.22 description master-2\n",
        "",
    )
    report = lint({**changed, "nodes.yaml": NODES})
    assert statuses(report).count("half-open") == 1
    assert [s.node for s in report.sessions if s.status == "half-open"] == ["master-2"]


NODES = "".join(
    f"---\napiVersion: v1\nkind: Node\nmetadata: {{name: master-{i}, labels: {{kubernetes.io/hostname: master-{i}}}}}\n"
    f"status: {{addresses: [{{type: InternalIP, address: 192.168.125.2{i}}}]}}\n"
    for i in range(3)
)


def test_dynamic_neighbors_match_by_listen_range(files: Files) -> None:
    conf = files[FRR]
    for i in range(3):
        conf = conf.replace(
            f" neighbor 192.168.125.2{i} peer-group HCP-NODES\n neighbor 192.168.125.2{i} description master-{i}\n",
            "",
        )
    conf = conf.replace(
        " neighbor HCP-NODES peer-group\n",
        " neighbor HCP-NODES peer-group\n bgp listen range 192.168.125.0/24 peer-group HCP-NODES\n",
    )
    report = lint({**files, FRR: conf, "nodes.yaml": NODES})
    assert statuses(report) == ["matched"] * 3
    assert report.exit_code == 0, [str(f) for f in report.findings]

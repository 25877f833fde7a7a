"""lint's readers: FRR configs, manifests, DNS and host files; bad input is a located finding."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hcplb.cli import app
from hcplb.lint.dnsfiles import read_hosts, read_nsupdate, read_zone
from hcplb.lint.engine import lint_paths
from hcplb.lint.frr.parse import parse_frr
from hcplb.lint.frr.policy import inbound_verdict, prefix_list_verdict
from hcplb.lint.hostfiles import flavour_of, read_firewall
from hcplb.lint.k8s import read_manifests
from hcplb.lint.sources import read_texts
from hcplb.runner import run

from .conftest import ROOT, need_tool

GUIDE = ROOT / "tests" / "fixtures" / "guide"


def net(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text)


# --- frr.conf ------------------------------------------------------------------------------------


def test_guide_frr_conf() -> None:
    config, problems = parse_frr((GUIDE / "frr.conf").read_text(), "frr.conf")
    assert problems == ()
    bgp = config.main_bgp
    assert bgp is not None and bgp.asn == 64512 and bgp.router_id == "192.168.125.1"
    assert not bgp.ebgp_requires_policy and bgp.ebgp_requires_policy_line == 6
    assert [nb.name for nb in bgp.sessions()] == [
        "192.168.125.20",
        "192.168.125.21",
        "192.168.125.22",
    ]
    assert all(bgp.activated(nb) and bgp.remote_asn(nb) == 64513 for nb in bgp.sessions())


PEER_GROUP = """\
frr defaults traditional
hostname edge
ip prefix-list VIPS seq 5 permit 10.0.2.0/28 ge 32
ip prefix-list VIPS seq 10 deny any
route-map IN permit 10
 match ip address prefix-list VIPS
exit
route-map IN permit 20
 match community SOME
exit
bfd
 profile fast
  receive-interval 100
  transmit-interval 100
  detect-multiplier 3
 exit
exit
router bgp 64512
 bgp router-id 10.255.0.1
 no bgp default ipv4-unicast
 neighbor NODES peer-group
 neighbor NODES remote-as external
 neighbor NODES bfd profile fast
 neighbor NODES password s3cret
 bgp listen range 192.168.125.0/24 peer-group NODES
 neighbor 192.168.125.20 peer-group NODES
 address-family ipv4 unicast
  neighbor NODES activate
  neighbor NODES route-map IN in
  maximum-paths 8
 exit-address-family
exit
"""


def test_peer_group_inheritance_and_policy() -> None:
    config, problems = parse_frr(PEER_GROUP, "edge.conf")
    assert problems == ()
    bgp = config.main_bgp
    assert bgp is not None and config.name() == "edge"
    nb = bgp.effective("192.168.125.20")
    assert nb.bfd and nb.bfd_profile == ("fast", 23) and nb.password == ("s3cret", 24)
    assert bgp.activated(nb) and bgp.remote_asn(nb) == "external"
    assert bgp.listen_ranges[0][:2] == (net("192.168.125.0/24"), "NODES")
    assert bgp.afs["ipv4 unicast"].maximum_paths == (8, 30)
    assert config.bfd_profiles["fast"].receive_interval == 100
    assert inbound_verdict(config, nb, net("10.0.2.5/32")) == "permit"
    assert (
        inbound_verdict(config, nb, net("10.0.2.0/28")) == "maybe"
    )  # entry 20 matches on communities
    assert prefix_list_verdict(config, "VIPS", net("10.0.2.0/28")) == "deny"
    assert prefix_list_verdict(config, "MISSING", net("10.0.2.5/32")) == "deny"


@pytest.mark.parametrize(
    ("line", "rule", "text"),
    [
        (
            "  neighbor 192.168.125.30 bfd",
            "frr.syntax",
            "specify remote-as or peer-group commands first",
        ),
        ("  neighbor 192.168.125.30 remote-as sixty", "frr.syntax", "is not an AS number"),
        (
            "  neighbor 192.168.125.30 peer-group NOPE",
            "frr.syntax",
            "peer-group 'NOPE' does not exist",
        ),
        ("  bgp router-id 2001:db8::1", "frr.router-id", "is not an IPv4 address"),
        ("ip prefix-list X permit 10.0.0.0/24 ge 8", "frr.syntax", "invalid prefix range"),
        ("ip prefix-list X permit 10.0.0.0/33", "frr.syntax", "is not a prefix"),
        (
            "frobnicate the router",
            "frr.unknown",
            "unknown command in router bgp 'frobnicate the …'",
        ),
        ("    neighbor 192.168.125.20 route-map NOWHERE in", "frr.undefined", "route-map NOWHERE"),
    ],
)
def test_frr_problems_are_located(line: str, rule: str, text: str) -> None:
    conf = (GUIDE / "frr.conf").read_text()
    if line.startswith("    "):
        conf = conf.replace("  exit-address-family\n", line + "\n  exit-address-family\n")
    elif line.startswith("  "):
        conf = conf.replace("  ! Define your MetalLB nodes\n", line + "\n")
    else:
        conf += line + "\n"
    _, problems = parse_frr(conf, "frr.conf")
    matching = [p for p in problems if p.rule == rule and text in p.message]
    assert matching, problems
    assert matching[0].line == conf.splitlines().index(line) + 1


def test_unknown_command_never_shows_a_password() -> None:
    text = (
        "password-ish thing\nfoo password hunter2\nkey-string hunter3\n"
        "router bgp 64512\n neighbor 192.168.125.20 remote-as 64513\n"
        " neighbor 192.168.125.20 passwd hunter4\n"
    )
    _, problems = parse_frr(text, "frr.conf")
    unknown = [p.message for p in problems if p.rule == "frr.unknown"]
    assert len(unknown) == 4, problems
    assert not any(s in m for m in unknown for s in ("hunter2", "hunter3", "hunter4"))


def test_vrf_instances_are_kept_apart() -> None:
    config, _ = parse_frr(
        "router bgp 64512 vrf red\n neighbor 10.0.0.1 remote-as 1\nexit\nrouter bgp 64512\n", "f"
    )
    assert [b.vrf for b in config.bgp] == ["red", None] and config.main_bgp is not None


# --- manifests -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("apiVersion: v1\nkind: Secret\nmetadata: {name: a\n", 4, "YAML syntax"),
        ("kind: A\nkind: B\n", 2, "is repeated"),
        ("- just\n- a list\n", 1, "is not a mapping"),
        ("---\nfoo: bar\n", 2, "not a Kubernetes object"),
        ("apiVersion: v1\nkind: Secret\nmetadata: {name: a}\n---\n\tbad: tab\n", 5, "YAML syntax"),
    ],
)
def test_bad_yaml_is_a_located_finding(text: str, line: int, message: str) -> None:
    _, problems = read_manifests(text, "m.yaml")
    assert [(p.file, p.line) for p in problems] == [("m.yaml", line)]
    assert message in problems[0].message


def test_kind_list_and_recursive_aliases() -> None:
    text = (
        "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Node, metadata: {name: n1}}\n"
    )
    manifests, problems = read_manifests(text, "m.yaml")
    assert [m.ref for m in manifests] == ["Node n1"] and problems == []
    deep = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: &a {k: *a}\n"
    manifests, problems = read_manifests(deep, "m.yaml")
    assert len(manifests) == 1


# --- DNS -----------------------------------------------------------------------------------------


def test_zone_file() -> None:
    text = (
        "$ORIGIN example.lab.\n$TTL 300\n@ IN SOA ns1 admin (\n 1 3600 600 86400 300 )\n"
        "api.c1 IN A 10.0.2.20\n       IN AAAA 2001:db8::20\napi-int.c1. 60 IN A 10.0.2.20\n"
        "www CNAME api.c1\nbad IN A 10.0.2.300\n"
    )
    records, problems = read_zone(text, "z")
    assert [(r.name, r.rtype, r.value, r.line) for r in records if r.rtype != "SOA"] == [
        ("api.c1.example.lab", "A", "10.0.2.20", 5),
        ("api.c1.example.lab", "AAAA", "2001:db8::20", 6),
        ("api-int.c1", "A", "10.0.2.20", 7),
        ("www.example.lab", "CNAME", "api.c1.example.lab", 8),
    ]
    assert [(p.rule, p.line) for p in problems] == [("dns.syntax", 9)]


def test_hosts_and_nsupdate() -> None:
    records, problems = read_hosts(
        "# c\n10.0.2.20 api.c1.lab api-int.c1.lab\nnot-an-ip x\n", "hosts"
    )
    assert [(r.name, r.line) for r in records] == [("api.c1.lab", 2), ("api-int.c1.lab", 2)]
    assert [p.line for p in problems] == [3]
    text = "zone lab.\nupdate delete api.c1.lab. A\nupdate add api.c1.lab. 300 A 10.0.2.20\nsend\n"
    records, problems = read_nsupdate(text, "nsupdate.txt")
    assert [(r.name, r.value, r.line) for r in records] == [
        ("api.c1.lab", "10.0.2.20", 3)
    ] and problems == []


# --- host files ----------------------------------------------------------------------------------


def test_firewall_flavours() -> None:
    firewalld = "firewall-cmd --permanent --add-port=179/tcp\nfirewall-cmd --reload\n"
    assert flavour_of(firewalld, "fw.sh") == "firewalld"
    fw, _ = read_firewall(firewalld, "fw.sh", "firewalld")
    assert fw.verdict("tcp", 179, "203.0.113.1")[0] == "accept"
    rich = 'firewall-cmd --add-rich-rule=\'rule family="ipv4" source address="192.168.125.20" port port="179" protocol="tcp" accept\'\n'
    fw, _ = read_firewall(rich, "fw.sh", "firewalld")
    assert fw.verdict("tcp", 179, "192.168.125.20")[0] == "accept"
    assert fw.verdict("tcp", 179, "203.0.113.1")[0] == "drop"  # zones reject what they do not list
    nft = "table inet f {\n set peers { type ipv4_addr; elements = { 192.168.125.20 } }\n chain input {\n  ip saddr @peers tcp dport 179 accept\n  tcp dport 179 drop\n }\n}\n"
    fw, _ = read_firewall(nft, "f.nft", "nftables")
    assert fw.verdict("tcp", 179, "192.168.125.20")[0] == "accept"
    assert fw.verdict("tcp", 179, "192.168.125.21")[0] == "drop"
    assert fw.verdict("tcp", 179, "2001:db8::1")[0] == "drop"


def test_every_flavour_rendered_lints_clean() -> None:
    for site in ("per-node-asn.yaml", "dynamic.yaml"):  # firewalld, nftables
        report = lint_paths([ROOT / "tests" / "sites" / site])
        assert report.exit_code == 0, [str(f) for f in report.findings]


# --- whole files and the command line ------------------------------------------------------------


def test_unreadable_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "blob.yaml").write_bytes(b"\xff\xfe\x00garbage")
    report = lint_paths([tmp_path / "blob.yaml", tmp_path / "missing.conf"])
    assert {(Path(f.file).name, f.rule) for f in report.findings} == {
        ("blob.yaml", "read.file"),
        ("missing.conf", "read.file"),
    }
    assert report.exit_code == 1


def test_empty_input_is_an_error(tmp_path: Path) -> None:
    assert lint_paths([tmp_path]).rules() == {"read.empty"}


def test_unknown_files_are_skipped_with_a_note() -> None:
    inputs, read = read_texts([("notes.txt", "hello\nworld\n")])
    assert [f.rule for f in read] == ["read.skip"] and inputs.files == ("notes.txt",)


runner = CliRunner()


def test_cli_exit_codes_and_json(tmp_path: Path) -> None:
    result = runner.invoke(app, ["lint", "--output", "json", str(GUIDE)])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False and set(data) == {"ok", "findings", "sessions"}
    assert set(data["findings"][0]) == {"rule", "severity", "file", "line", "message", "hint"}
    assert runner.invoke(app, ["lint", str(ROOT / "examples" / "seed.yaml")]).exit_code == 0
    result = runner.invoke(app, ["lint", str(GUIDE / "90-routing.conf")])
    assert result.exit_code == 3  # the ECMP hash warning only
    assert "warning" in result.stdout


def test_cli_import(tmp_path: Path) -> None:
    out = tmp_path / "site.yaml"
    result = runner.invoke(app, ["import", str(GUIDE), "-o", str(out), "--name", "lab"])
    assert result.exit_code == 0, result.output
    assert "name: lab" in out.read_text()
    again = runner.invoke(app, ["import", str(GUIDE), "-o", str(out)])
    assert again.exit_code == 1 and "--force" in again.output
    linted = runner.invoke(app, ["lint", str(out)])
    assert linted.exit_code == 3 and "placeholder still marked TODO" in linted.output  # warnings
    out.write_text(out.read_text().replace("# TODO:", "# confirmed:"))
    assert runner.invoke(app, ["lint", str(out)]).exit_code == 0


@pytest.mark.parametrize(
    "conf",
    [GUIDE / "frr.conf", ROOT / "tests" / "fixtures" / "frr" / "show-running.conf"],
    ids=["guide", "show-running"],
)
def test_configs_real_frr_accepts_read_without_findings(conf: Path) -> None:
    """FRR is the judge: what `vtysh -C` accepts, the reader reads without complaint."""
    assert run([need_tool("vtysh"), "-C", "-f", str(conf)], timeout=20).rc == 0
    config, problems = parse_frr(conf.read_text(), str(conf))
    assert problems == () and config.main_bgp is not None


@pytest.mark.parametrize("line", ["frobnicate the router", " neighbor 192.168.125.20 frobnicate"])
def test_what_real_frr_rejects_is_reported(line: str, tmp_path: Path) -> None:
    conf = tmp_path / "frr.conf"
    text = (GUIDE / "frr.conf").read_text()
    if line.startswith(" "):
        text = text.replace("  ! Define your MetalLB nodes\n", line + "\n")
    else:
        text += line + "\n"
    conf.write_text(text)
    assert run([need_tool("vtysh"), "-C", "-f", str(conf)], timeout=20).rc != 0
    _, problems = parse_frr(conf.read_text(), str(conf))
    assert [p.rule for p in problems] == ["frr.unknown"]


def test_firewall_rules_of_other_chains_are_not_about_the_router() -> None:
    rules = "-A FORWARD -p tcp --dport 179 -j ACCEPT\n-A INPUT -s 10.0.0.1 -p tcp --dport 179 -j ACCEPT\n"
    fw, _ = read_firewall(rules, "x.rules", "iptables")
    assert [r.line for r in fw.rules] == [2]
    nft = (
        "table inet f {\n chain fwd {\n  type filter hook forward priority 0;\n  tcp dport 179 accept\n }\n"
        " chain input {\n  type filter hook input priority 0;\n  tcp dport 179 drop\n }\n}\n"
    )
    fw, _ = read_firewall(nft, "f.nft", "nftables")
    assert [(r.line, r.action) for r in fw.rules] == [(8, "drop")]

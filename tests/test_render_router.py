"""router/: golden files, real FRR parsing (`vtysh -C`), shellcheck, and where the password goes."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from hcplb.errors import RenderError
from hcplb.plan import NODE_PEER_GROUP, plan_site
from hcplb.render import render_site
from hcplb.render.files import RenderedFile
from hcplb.render.frr import IBGP_PEER_GROUP
from hcplb.render.profile import Profile, parse_profile
from hcplb.render.router import render_router_files
from hcplb.render.secrets import Secrets, resolve_site_secrets
from hcplb.runner import run
from hcplb.spec import load_site
from tests.conftest import EXAMPLES, GOLDEN, missing

SITES = Path(__file__).resolve().parent / "sites"
CASES = {
    "seed": EXAMPLES / "seed.yaml",
    "ibgp": SITES / "ibgp.yaml",
    "dynamic": SITES / "dynamic.yaml",
    "two-routers": SITES / "two-routers.yaml",
    "no-bfd": SITES / "no-bfd.yaml",
    "password": SITES / "password.yaml",
    "per-node-asn": SITES / "per-node-asn.yaml",
    "mixed-asn": SITES / "mixed-asn.yaml",
    "ipv6": EXAMPLES / "ipv6.yaml",
    "dualstack": EXAMPLES / "dualstack.yaml",
    "dualstack-sessions": SITES / "dualstack-sessions.yaml",
}
# (golden directory, site case, profile)
RENDERS = [(case, case, "hcplb") for case in CASES] + [
    ("seed-guide", "seed", "guide"),
    ("two-routers-guide", "two-routers", "guide"),
]
# Not a real secret: a value with shell- and FRR-special characters to prove it is carried as is.
TEST_PASSWORD = "hcplb-test-md5!#$x"

Render = Callable[[str, str], list[RenderedFile]]


def render_case(case: str, profile: str = "hcplb") -> list[RenderedFile]:
    """The router files of one case (the password case reads HCPLB_TEST_BGP_PASSWORD)."""
    loaded = load_site(CASES[case])
    secrets = resolve_site_secrets(loaded.site, base_dir=CASES[case].parent)
    rendered = render_site(loaded.site, secrets, profile=parse_profile(profile))
    return [f for f in rendered.files if f.path.startswith("router/")]


@pytest.fixture
def render(monkeypatch: pytest.MonkeyPatch) -> Render:
    monkeypatch.setenv("HCPLB_TEST_BGP_PASSWORD", TEST_PASSWORD)
    return render_case


def _by_path(files: list[RenderedFile]) -> dict[str, RenderedFile]:
    return {f.path: f for f in files}


def _write(files: list[RenderedFile], root: Path) -> dict[str, Path]:
    paths = {}
    for f in files:
        target = root / f.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f.content, encoding="utf-8")
        target.chmod(f.mode)
        paths[f.path] = target
    return paths


@pytest.mark.parametrize(("golden", "case", "profile"), RENDERS, ids=[r[0] for r in RENDERS])
def test_golden(render: Render, update_golden: bool, golden: str, case: str, profile: str) -> None:
    files = render(case, profile)
    directory = GOLDEN / "router" / golden
    rendered = {f.path.removeprefix("router/"): f.content for f in files}
    if update_golden:
        shutil.rmtree(directory, ignore_errors=True)
        for name, content in rendered.items():
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            (directory / name).write_text(content, encoding="utf-8")
    on_disk = {
        str(p.relative_to(directory)): p.read_text(encoding="utf-8")
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }
    assert sorted(on_disk) == sorted(rendered), "file set differs (pytest --update-golden)"
    for name, content in rendered.items():
        assert content == on_disk[name], f"{golden}/{name} differs (pytest --update-golden)"


def test_layout_one_router(render: Render) -> None:
    files = render("seed", "hcplb")
    assert [(f.path, f.kind, oct(f.mode)) for f in files] == [
        ("router/frr.conf", "frr", "0o644"),
        ("router/daemons", "daemons", "0o644"),
        ("router/90-hcplb.conf", "sysctl", "0o644"),
        ("router/iptables.rules", "firewall", "0o644"),
        ("router/ip6tables.rules", "firewall", "0o644"),
        ("router/setup.sh", "script", "0o755"),
        ("router/drain-pin.sh", "script", "0o755"),
    ]


def test_layout_several_routers_and_flavours(render: Render) -> None:
    paths = [f.path for f in render("two-routers", "hcplb")]
    assert "router/frr-a/iptables.rules" in paths
    assert "router/frr-b/firewalld.sh" in paths
    assert {p.split("/")[1] for p in paths} == {"frr-a", "frr-b"}
    assert "router/hcplb.nft" in [f.path for f in render("ibgp", "hcplb")]


@pytest.mark.parametrize(("golden", "case", "profile"), RENDERS, ids=[r[0] for r in RENDERS])
def test_vtysh_accepts_every_frr_conf(
    render: Render, tmp_path: Path, golden: str, case: str, profile: str
) -> None:
    paths = _write(render(case, profile), tmp_path)
    confs = [p for name, p in paths.items() if name.endswith("frr.conf")]
    assert confs
    for conf in confs:
        result = run(["vtysh", "-C", "-f", str(conf)], timeout=30)
        assert result.rc == 0, f"{golden}: {result.stdout}{result.stderr}"


@pytest.mark.parametrize(("golden", "case", "profile"), RENDERS, ids=[r[0] for r in RENDERS])
def test_shellcheck_scripts(
    render: Render, tmp_path: Path, golden: str, case: str, profile: str
) -> None:
    paths = _write(render(case, profile), tmp_path)
    scripts = [str(p) for name, p in paths.items() if name.endswith(".sh")]
    assert scripts
    result = run(["shellcheck", "--severity=style", *scripts], timeout=60)
    assert result.rc == 0, result.stdout


@pytest.mark.parametrize("case", list(CASES))
def test_hcplb_profile_is_secure(render: Render, case: str) -> None:
    """Every peer-group (IPv4 `HCP-NODES`, IPv6 `HCP-NODES-V6`) is passive with both
    route-maps; every prefix-list entry accepts host routes only (/32, /128)."""
    files = _by_path(render(case, "hcplb"))
    for path, f in files.items():
        if path.endswith("frr.conf"):
            lines = [line.strip() for line in f.content.splitlines()]
            assert "no bgp ebgp-requires-policy" not in lines
            assert lines[2] == "frr defaults traditional"
            groups = {ln.split()[1] for ln in lines if ln.endswith(" peer-group")}
            assert groups & {NODE_PEER_GROUP, f"{NODE_PEER_GROUP}-V6"}
            for group in groups:
                assert f"neighbor {group} passive" in lines
                assert f"neighbor {group} route-map HCPLB-FROM-NODES in" in lines
                assert f"neighbor {group} route-map HCPLB-TO-NODES out" in lines
            assert "route-map HCPLB-TO-NODES deny 10" in lines
            entries = [ln for ln in lines if ln.startswith(("ip prefix-list", "ipv6 prefix-list"))]
            assert entries
            for line in entries:
                assert line.endswith(" ge 32" if line.startswith("ip ") else " ge 128"), line
        if path.endswith("90-hcplb.conf"):
            assert "fib_multipath_hash_policy = 1" in f.content


def test_seed_policy_values(render: Render) -> None:
    conf = _by_path(render("seed", "hcplb"))["router/frr.conf"].content
    for line in (
        "ip prefix-list HCPLB-VIP-POOLS seq 5 permit 10.0.2.20/32 ge 32",
        f" neighbor {NODE_PEER_GROUP} remote-as 64513",
        f" neighbor {NODE_PEER_GROUP} timers 30 90",
        f" neighbor {NODE_PEER_GROUP} timers connect 10",
        f" neighbor {NODE_PEER_GROUP} bfd profile hcplb-bfd",
        f"  neighbor {NODE_PEER_GROUP} maximum-prefix 1 restart 5",
        "  maximum-paths 3",
        " neighbor 192.168.125.22 peer-group HCP-NODES",
    ):
        assert line + "\n" in conf
    assert "multipath-relax" not in conf
    assert "maximum-paths ibgp" not in conf


def test_ibgp_same_asn(render: Render) -> None:
    files = _by_path(render("ibgp", "hcplb"))
    conf = files["router/frr.conf"].content
    assert f" neighbor {NODE_PEER_GROUP} remote-as 64512\n" in conf
    assert "  maximum-paths ibgp 3\n" in conf
    assert "  maximum-paths 3\n" not in conf
    assert "  echo-mode\n  " not in conf and "  passive-mode\n  echo-mode\n" in conf
    # A /28 and a range summarized to /31 + /32, each accepting only host routes.
    assert "permit 10.0.2.16/28 ge 32" in conf
    assert "permit 10.0.3.10/31 ge 32" in conf
    assert "permit 10.0.3.12/32 ge 32" in conf
    # BFD echo packets return with the router's own source address.
    assert "ip saddr 192.168.125.1 udp dport 3785 accept" in files["router/hcplb.nft"].content


def test_ipv6_router_is_hardened_like_ipv4(render: Render) -> None:
    files = _by_path(render("ipv6", "hcplb"))
    conf = files["router/frr.conf"].content
    for line in (
        "ipv6 prefix-list HCPLB-VIP-POOLS-V6 seq 5 permit 2001:db8:2::20/124 ge 128",
        "route-map HCPLB-FROM-NODES permit 20\n match ipv6 address prefix-list HCPLB-VIP-POOLS-V6",
        " bgp router-id 192.168.125.1",
        " neighbor HCP-NODES-V6 bfd profile hcplb-bfd",
        " neighbor HCP-NODES-V6 timers 30 90",
        " neighbor 2001:db8:125::22 peer-group HCP-NODES-V6",
        " address-family ipv6 unicast\n  neighbor HCP-NODES-V6 activate",
        "  neighbor HCP-NODES-V6 maximum-prefix 16 restart 5",
        "  maximum-paths 3",
    ):
        assert line + "\n" in conf
    assert "address-family ipv4" not in conf and "ip prefix-list" not in conf
    sysctl = files["router/90-hcplb.conf"].content
    assert "net.ipv6.conf.all.forwarding = 1\n" in sysctl
    assert "net.ipv6.fib_multipath_hash_policy = 1\n" in sysctl
    v6 = files["router/ip6tables.rules"].content
    assert "-A HCPLB-INPUT -s 2001:db8:125::20/128 -p tcp -m tcp --dport 179 -j ACCEPT" in v6
    assert "-s " not in files["router/iptables.rules"].content  # no IPv4 peer: drop only


def test_dualstack_sessions_activate_both_families_on_the_ipv4_group(render: Render) -> None:
    conf = _by_path(render("dualstack-sessions", "hcplb"))["router/frr-a/frr.conf"].content
    v6_block = conf[conf.index(" address-family ipv6 unicast") :]
    assert "  neighbor HCP-NODES activate\n" in v6_block
    assert "HCP-NODES-V6" not in conf and " neighbor 2001:" not in conf


def test_dualstack_firewalls_name_both_families(render: Render) -> None:
    files = _by_path(render("dualstack", "hcplb"))
    nft = files["router/frr-a/hcplb.nft"].content
    assert "ip6 saddr @bgp_peers6 tcp dport 179 accept" in nft
    assert "elements = { 2001:db8:125::20, 2001:db8:125::21, 2001:db8:125::22 }" in nft
    firewalld = files["router/frr-b/firewalld.sh"].content
    assert 'family="ipv6" source address="2001:db8:125::21" port port="179"' in firewalld
    assert 'family="ipv4" source address="192.168.125.21" port port="179"' in firewalld


def test_dynamic_listen_range(render: Render) -> None:
    files = _by_path(render("dynamic", "hcplb"))
    conf = files["router/frr.conf"].content
    assert f" bgp listen range 192.168.125.0/24 peer-group {NODE_PEER_GROUP}\n" in conf
    assert " neighbor 192.168.125.20 " not in conf
    assert "elements = { 192.168.125.0/24 }" in files["router/hcplb.nft"].content


def test_per_node_asn_pins_each_asn_and_relaxes_multipath(render: Render) -> None:
    conf = _by_path(render("per-node-asn", "hcplb"))["router/frr.conf"].content
    assert " bgp bestpath as-path multipath-relax\n" in conf
    assert f" neighbor {NODE_PEER_GROUP} remote-as" not in conf
    for asn, address in ((64513, 20), (64514, 21), (64515, 22)):
        assert f" neighbor 192.168.125.{address} remote-as {asn}\n" in conf


def test_mixed_ibgp_ebgp_uses_two_peer_groups(render: Render) -> None:
    conf = _by_path(render("mixed-asn", "hcplb"))["router/frr.conf"].content
    assert f" neighbor 192.168.125.22 peer-group {IBGP_PEER_GROUP}\n" in conf
    assert f" neighbor {IBGP_PEER_GROUP} remote-as 64512\n" in conf
    assert "  maximum-paths 3\n  maximum-paths ibgp 3\n" in conf


def test_no_bfd(render: Render) -> None:
    files = _by_path(render("no-bfd", "hcplb"))
    conf = files["router/frr.conf"].content
    assert not [line for line in conf.splitlines() if "bfd" in line and line[:1] != "!"]
    assert f" neighbor {NODE_PEER_GROUP} timers 0 0\n" in conf
    assert "bfdd=no\n" in files["router/daemons"].content
    assert "3784" not in files["router/iptables.rules"].content


def test_daemons_is_debians_shape(render: Render) -> None:
    daemons = _by_path(render("seed", "hcplb"))["router/daemons"].content
    assert "bgpd=yes\n" in daemons and "bfdd=yes\n" in daemons and "ospfd=no\n" in daemons
    debian = Path("/etc/frr/daemons")
    if debian.exists():
        # Same variables in the same order as the packaged file (its values aside).
        def keys(text: str) -> list[str]:
            return [line.split("=")[0] for line in text.splitlines() if line[:1].isalpha()]

        assert keys(daemons) == keys(debian.read_text(encoding="utf-8"))


def test_password_only_in_frr_conf(render: Render) -> None:
    files = render("password", "hcplb")
    holders = [f for f in files if TEST_PASSWORD in f.content]
    assert [f.path for f in holders] == ["router/frr.conf"]
    frr = holders[0]
    assert frr.secret and frr.mode == 0o600
    assert f" neighbor {NODE_PEER_GROUP} password {TEST_PASSWORD}\n" in frr.content
    assert all(not f.secret for f in files if f is not frr)


def test_password_written_with_mode_0600(render: Render, tmp_path: Path) -> None:
    paths = _write(render("password", "hcplb"), tmp_path)
    assert paths["router/frr.conf"].stat().st_mode & 0o777 == 0o600


def test_guide_profile_ignores_password(render: Render) -> None:
    assert not any(TEST_PASSWORD in f.content for f in render("password", "guide"))


def test_missing_password_value_is_an_error() -> None:
    loaded = load_site(CASES["password"])
    with pytest.raises(RenderError, match="env:HCPLB_TEST_BGP_PASSWORD"):
        render_router_files(plan_site(loaded.site), Secrets())


@pytest.mark.parametrize("bad", ["has space", "x" * 81, "tab\there", "é"])
def test_unusable_password_is_refused_without_showing_it(bad: str) -> None:
    loaded = load_site(CASES["password"])
    with pytest.raises(RenderError) as info:
        render_router_files(plan_site(loaded.site), Secrets(bgp_password=bad))
    assert bad not in str(info.value)


def test_guide_profile_is_the_guides_config(render: Render) -> None:
    files = _by_path(render("seed", "guide"))
    conf = files["router/frr.conf"].content
    assert "  no bgp ebgp-requires-policy\n" in conf
    assert "    neighbor 192.168.125.21 activate\n" in conf
    for absent in ("route-map", "bfd", "timers", "passive", "maximum"):
        assert absent not in conf
    assert "bgpd=yes\n" in files["router/daemons"].content
    assert "bfdd=no\n" in files["router/daemons"].content
    assert files["router/90-hcplb.conf"].content == "net.ipv4.ip_forward = 1\n"
    assert "-I INPUT -p tcp --dport 179 -j ACCEPT\n" in files["router/iptables.rules"].content


def test_unknown_profile_is_an_error(render: Render) -> None:
    with pytest.raises(RenderError) as info:
        render("seed", "hardened")
    assert str(info.value) == "unknown profile 'hardened' (known: hcplb, guide)"
    loaded = load_site(CASES["seed"])
    with pytest.raises(RenderError, match="unknown profile 'guide '"):
        render_site(loaded.site, Secrets(), profile="guide ")  # type: ignore[arg-type]
    assert parse_profile("guide") is Profile.guide


def _firewalld_parser() -> str | None:
    """Why firewalld's own rich-rule parser (Debian python3-firewall) cannot run, or None."""
    probe = run(["/usr/bin/python3", "-c", "import firewall.core.rich"], timeout=30)
    return None if probe.ok else "python3-firewall is not installed (run make setup)"


@pytest.mark.parametrize("case", ["per-node-asn", "two-routers"])
def test_firewalld_rich_rules_parse(render: Render, case: str) -> None:
    reason = _firewalld_parser()
    if reason is not None:
        missing(reason)
    scripts = [f.content for f in render(case, "hcplb") if f.path.endswith("firewalld.sh")]
    rules = re.findall(r"--add-rich-rule='([^']*)'", "".join(scripts))
    assert rules
    check = (
        "import sys\n"
        "from firewall.core.rich import Rich_Rule\n"
        "for line in sys.stdin.read().splitlines():\n"
        "    assert str(Rich_Rule(rule_str=line)) == line, line\n"
    )
    result = run(["/usr/bin/python3", "-c", check], input="\n".join(rules), timeout=30)
    assert result.rc == 0, result.stderr

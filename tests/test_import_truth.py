"""`hcplb import` tells the truth: unreadable or useless input fails, placeholders stay apart."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from hcplb.cli import app
from hcplb.importer import import_site
from hcplb.lint.engine import lint_paths
from hcplb.spec import load_site_text

NODES_FRR = """frr defaults traditional
router bgp 64512
 neighbor 192.168.125.20 remote-as 64513
 neighbor 192.168.125.21 remote-as 64513
 address-family ipv4 unicast
  neighbor 192.168.125.20 activate
  neighbor 192.168.125.21 activate
 exit-address-family
"""
PEER = """apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: upstream, namespace: metallb-system}
spec: {peerAddress: 192.168.125.1, peerASN: 64512, myASN: 64513}
"""
POOL = """apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: api, namespace: metallb-system}
spec: {addresses: [10.0.2.0/28]}
"""


def _write(tmp: Path, files: dict[str, str]) -> list[Path]:
    for name, text in files.items():
        (tmp / name).write_text(text)
    return [tmp / name for name in files]


def test_nothing_usable_exits_non_zero_and_writes_nothing(tmp_path: Path) -> None:
    paths = _write(tmp_path, {"notes.txt": "just some words\n", "hosts": "127.0.0.1 localhost\n"})
    out = tmp_path / "site.yaml"
    result = CliRunner().invoke(app, ["import", *map(str, paths), "-o", str(out)])
    assert result.exit_code != 0
    assert "nothing usable found" in result.output
    assert not out.exists()
    empty = _write(tmp_path, {"empty.yaml": "\n"})
    result = CliRunner().invoke(app, ["import", *map(str, empty + paths), "-o", str(out)])
    assert result.exit_code != 0
    assert f"{tmp_path / 'empty.yaml'}: error: [read.file] the file is empty" in result.output


def test_an_unreadable_file_is_named_and_fails_the_import(tmp_path: Path) -> None:
    paths = _write(tmp_path, {"frr.conf": NODES_FRR, "peer.yaml": PEER})
    missing = tmp_path / "gone.yaml"
    out = tmp_path / "site.yaml"
    result = CliRunner().invoke(app, ["import", *map(str, paths), str(missing), "-o", str(out)])
    assert result.exit_code != 0
    assert f"{missing}: error: [read.file] no such file or directory" in result.output
    assert not out.exists()


def test_usable_files_import_with_exit_zero(tmp_path: Path) -> None:
    paths = _write(tmp_path, {"frr.conf": NODES_FRR, "peer.yaml": PEER, "pool.yaml": POOL})
    imported = import_site(paths)
    assert imported.ok and imported.usable, imported.blocking


def test_router_address_comes_from_the_bgppeer_whose_asns_match(tmp_path: Path) -> None:
    imported = import_site(_write(tmp_path, {"frr.conf": NODES_FRR, "peer.yaml": PEER}))
    site = load_site_text(imported.text, "i.yaml").site
    assert site.spec.routers[0].address == "192.168.125.1"
    assert site.spec.routers[0].router_id == "192.168.125.1"


def test_a_placeholder_router_address_never_widens_the_machine_network(tmp_path: Path) -> None:
    imported = import_site(_write(tmp_path, {"frr.conf": NODES_FRR}))
    assert "machineNetwork: 192.168.125.0/24" in imported.text
    # The made-up router address is outside it: import says which field blocks the render.
    assert not imported.ok
    assert any("imported.yaml:" in reason for reason in imported.blocking)


def test_a_bgppeer_in_two_files_is_one_router(tmp_path: Path) -> None:
    paths = _write(tmp_path, {"a.yaml": PEER, "b.yaml": PEER, "pool.yaml": POOL})
    site = load_site_text(import_site(paths).text, "i.yaml").site
    assert len(site.spec.routers) == 1


def test_a_placeholder_node_never_lands_in_a_pool(tmp_path: Path) -> None:
    pool = POOL.replace("10.0.2.0/28", "192.168.125.10-192.168.125.20")
    imported = import_site(_write(tmp_path, {"peer.yaml": PEER, "pool.yaml": pool}))
    line = next(ln for ln in imported.text.splitlines() if "node-0" in ln or "address: 192" in ln)
    assert line
    for n in range(10, 21):
        assert f"address: 192.168.125.{n} " not in imported.text + " "


def test_lint_and_render_warn_while_todos_remain(tmp_path: Path) -> None:
    imported = import_site(
        _write(tmp_path, {"frr.conf": NODES_FRR, "peer.yaml": PEER, "p.yaml": POOL})
    )
    spec = tmp_path / "site.yaml"
    spec.write_text(imported.text)
    report = lint_paths([spec])
    todo = [f for f in report.findings if "placeholder still marked TODO" in f.message]
    assert len(todo) == imported.text.count("# TODO:")
    assert all(f.hint for f in todo)
    result = CliRunner().invoke(app, ["render", str(spec), "-o", str(tmp_path / "out")])
    assert "placeholder still marked TODO" in result.output
    done = imported.text.replace("# TODO:", "# was:")
    spec.write_text(done)
    assert not [f for f in lint_paths([spec]).findings if "TODO" in f.message]


def test_lint_pairs_a_router_without_address_with_the_bgppeer_whose_asns_match(
    tmp_path: Path,
) -> None:
    report = lint_paths(_write(tmp_path, {"frr.conf": NODES_FRR, "peer.yaml": PEER}))
    assert [s.status for s in report.sessions] == ["matched", "matched"]
    unknown = [f for f in report.findings if f.rule == "router.address.unknown"]
    assert len(unknown) == 1 and "192.168.125.1" in unknown[0].hint
    assert not [f for f in report.findings if f.rule.startswith("session.")]
    other = PEER.replace("peerASN: 64512", "peerASN: 64999")  # ASNs do not match: no pairing
    report = lint_paths(_write(tmp_path, {"peer.yaml": other}))
    assert not [f for f in report.findings if f.rule == "router.address.unknown"]


def test_inputs_that_all_fail_to_parse_fail_the_import(tmp_path: Path) -> None:
    paths = _write(tmp_path, {"a.yaml": "kind: [unclosed\n", "b.yaml": "key: 'open\n"})
    out = tmp_path / "site.yaml"
    result = CliRunner().invoke(app, ["import", *map(str, paths), "-o", str(out)])
    assert result.exit_code != 0
    assert "read.yaml" in result.output and "nothing usable found" in result.output
    assert not out.exists()

"""`--router` to site router, the one parser of verify and apply: exact host matches only."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from hcplb.cli import app
from hcplb.errors import TargetError
from hcplb.spec import load_site
from hcplb.targets.routers import parse_router_options
from tests.conftest import EXAMPLES

FLEET = EXAMPLES / "fleet.yaml"
ROUTERS = load_site(FLEET).site.spec.routers
SEED_ROUTERS = load_site(EXAMPLES / "seed.yaml").site.spec.routers


def parsed(*values: str, lab: bool = False) -> list[tuple[str, str]]:
    return [(o.router.name, o.target) for o in parse_router_options(values, ROUTERS, lab=lab)]


def test_a_one_router_site_takes_any_target() -> None:
    for value in ("local", "ssh://a@b", "ssh://root@192.168.125.23"):
        (option,) = parse_router_options([value], SEED_ROUTERS)
        assert (option.router.name, option.target) == ("frr", value)
    (option,) = parse_router_options(["frr=ssh://a@b:22"], SEED_ROUTERS)
    assert option.target == "ssh://a@b:22"


def test_address_and_host_name_match_whole() -> None:
    assert parsed("ssh://root@192.168.125.2", "ssh://admin@frr-a:2222") == [
        ("frr-b", "ssh://root@192.168.125.2"),
        ("frr-a", "ssh://admin@frr-a:2222"),
    ]
    assert parsed("frr-b=local") == [("frr-b", "local")]


def test_a_node_address_is_no_router() -> None:
    # 192.168.125.23 (node mgmt-3) contains "192.168.125.2" (router frr-b): not a match
    with pytest.raises(TargetError) as info:
        parsed("ssh://root@192.168.125.23")
    assert str(info.value) == (
        "--router ssh://root@192.168.125.23: which router is it? the site has routers "
        "frr-a, frr-b (hint: --router NAME=ssh://root@192.168.125.23)"
    )


def test_unknown_name_and_twice() -> None:
    with pytest.raises(TargetError, match=r"the site has no router 'x' \(it has frr-a, frr-b\)"):
        parsed("x=local")
    with pytest.raises(TargetError, match="router frr-a is given twice"):
        parsed("frr-a=local", "ssh://root@192.168.125.1")
    with pytest.raises(TargetError, match=r"which router is it\?"):
        parsed("local")


def test_lab_targets_are_host_names() -> None:
    assert parsed("frr-a", "frr-b", lab=True) == [("frr-a", "frr-a"), ("frr-b", "frr-b")]


@pytest.mark.parametrize("command", ["apply", "verify"])
def test_apply_and_verify_refuse_the_node(command: str) -> None:
    result = CliRunner().invoke(
        app,
        [command, str(FLEET), "--router", "ssh://root@192.168.125.23", "--dry-run"]
        if command == "apply"
        else [command, str(FLEET), "--router", "ssh://root@192.168.125.23"],
    )
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "which router is it? the site has routers frr-a, frr-b" in result.output

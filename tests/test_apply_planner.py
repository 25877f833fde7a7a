"""The apply planner: steps in order, one render per apply, options refused before any I/O."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hcplb.apply import planner
from hcplb.apply.planner import ApplyOptions, ClusterStep, DnsStep, RouterStep, plan_apply
from hcplb.errors import TargetError
from hcplb.plan import plan_site
from hcplb.spec import load_site
from tests.conftest import EXAMPLES

FLEET = plan_site(load_site(EXAMPLES / "fleet.yaml").site)


def test_cluster_then_routers_then_dns_from_one_render(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = planner.render_site

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append("render")
        return real(*args, **kwargs)

    monkeypatch.setattr(planner, "render_site", counted)
    options = ApplyOptions(
        routers=("frr-b=local", "ssh://root@192.168.125.1"),
        dns=True,
        dns_server="[fd00::53]:5353",
        cluster=True,
    )
    planned = plan_apply(FLEET, options, base_dir=Path("."))
    assert calls == ["render"]
    cluster, frr_b, frr_a, dns = planned.steps
    assert isinstance(cluster, ClusterStep) and cluster.manifests
    assert isinstance(frr_b, RouterStep) and (frr_b.router.name, frr_b.target) == ("frr-b", "local")
    assert isinstance(frr_a, RouterStep) and frr_a.router.name == "frr-a"
    assert frr_a.frr_conf == planned.rendered.get("router/frr-a/frr.conf").content
    assert frr_a.frr_conf != frr_b.frr_conf
    assert "frr_conf" not in repr(frr_a)
    assert dns == DnsStep("fd00::53", 5353)


def test_a_node_target_is_refused_before_rendering() -> None:
    options = ApplyOptions(routers=("ssh://root@192.168.125.23",))
    with pytest.raises(TargetError, match=r"which router is it\? the site has routers frr-a"):
        plan_apply(FLEET, options, base_dir=Path("."))


@pytest.mark.parametrize(
    ("options", "text"),
    [
        (ApplyOptions(), "nothing to apply"),
        (ApplyOptions(lab="x", dns=True), "--dns with --lab would send updates"),
    ],
)
def test_refused_options(options: ApplyOptions, text: str) -> None:
    with pytest.raises(TargetError, match=text):
        plan_apply(FLEET, options, base_dir=Path("."))


def test_host_port() -> None:
    assert planner.parse_host_port(None) == (None, 53)
    assert planner.parse_host_port("192.0.2.1:5353") == ("192.0.2.1", 5353)
    assert planner.parse_host_port("ns1.example") == ("ns1.example", 53)

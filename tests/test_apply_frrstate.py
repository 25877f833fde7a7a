"""Router state as `apply --router` reads it, on FRR 8.4 answers captured in tests/data/frr."""

from __future__ import annotations

from pathlib import Path

from hcplb.apply.frrstate import (
    Expected,
    Observed,
    expected_state,
    missing,
    parse_fib_nexthops,
    parse_sessions,
    strip_running_config,
)
from hcplb.plan import plan_site
from hcplb.spec import LoadedSite

DATA = Path(__file__).parent / "data" / "frr"
NODES = ("192.168.125.20", "192.168.125.21", "192.168.125.22")


def read(name: str) -> str:
    return (DATA / name).read_text()


def test_sessions_established_policy_and_stopped() -> None:
    assert parse_sessions(read("established.summary.json")) == dict.fromkeys(NODES, "Established")
    assert set(parse_sessions(read("policy.summary.json")).values()) == {"Established (Policy)"}
    assert parse_sessions(read("bad-peer-as.summary.json"))["192.168.125.20"] != "Established"
    assert parse_sessions(read("bgpd-stopped.bgp.txt")) == {}


def test_fib_nexthops() -> None:
    assert parse_fib_nexthops(read("established.route-vip.json"), "10.0.2.20/32") == NODES
    assert len(parse_fib_nexthops(read("maxpaths1.route-vip.json"), "10.0.2.20/32")) == 1
    assert parse_fib_nexthops("{}", "10.0.2.20/32") == ()
    assert parse_fib_nexthops("zebra is not running", "10.0.2.20/32") == ()


def test_expected_state_of_the_seed(seed: LoadedSite) -> None:
    plan = plan_site(seed.site)
    assert expected_state(plan, plan.routers[0]) == Expected(NODES, {"10.0.2.20/32": NODES})


def test_missing_names_each_gap() -> None:
    expected = Expected(NODES, {"10.0.2.20/32": NODES})
    observed = Observed(
        {"192.168.125.20": "Established", "192.168.125.21": "Active"},
        {"10.0.2.20/32": ("192.168.125.20",)},
    )
    assert missing(expected, observed) == [
        "session 192.168.125.21: Active",
        "session 192.168.125.22: not configured",
        "10.0.2.20/32: nexthops 192.168.125.21, 192.168.125.22 missing (FIB has 192.168.125.20)",
    ]
    converged = Observed(dict.fromkeys(NODES, "Established"), {"10.0.2.20/32": NODES})
    assert missing(expected, converged) == []


def test_running_config_header_is_stripped() -> None:
    text = strip_running_config(read("established.running-config.txt"))
    assert text.startswith("!\nfrr version 8.4.4\n")
    assert "Building configuration" not in text and not text.rstrip().endswith("end")

"""The one converged model: lab, verify and apply expect the same state, for both profiles."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from hcplb.apply.frrstate import expected_state
from hcplb.converged import converged_site, route_problem, session_problem
from hcplb.errors import LabError
from hcplb.frrjson import PeerSummary, parse_answer, parse_bgp_neighbors, parse_bgp_summary
from hcplb.lab.cluster import expectations, simulate_site
from hcplb.metallb import EXCLUDE_LABEL
from hcplb.plan import plan_site
from hcplb.probes.expect import expect_site
from hcplb.render.secrets import Secrets
from hcplb.spec import LoadedSite, load_site

from .conftest import EXAMPLES

DATA = Path(__file__).parent / "data" / "frr"
SITES = Path(__file__).parent / "sites"
NODES = ("192.168.125.20", "192.168.125.21", "192.168.125.22")


@pytest.mark.parametrize("site", ["seed.yaml", "fleet.yaml"])
@pytest.mark.parametrize("profile", ["hcplb", "guide"])
def test_lab_verify_and_apply_expect_the_same_routers(site: str, profile: str) -> None:
    plan = plan_site(load_site(EXAMPLES / site).site)
    converged = converged_site(plan, Secrets(), profile=profile)
    verify = expect_site(plan, Secrets(), profile=profile)
    lab = expectations(converged)
    for router in converged.routers:
        by_verify = next(r for r in verify.routers if r.name == router.name)
        assert (by_verify.sessions, by_verify.vips) == (router.sessions, router.vips)
        assert lab.sessions[router.name] == sorted(n.address for n in router.sessions)
        assert lab.routes[router.name] == {p: list(h) for p, h in router.routes.items()}
        if profile == "hcplb":  # apply renders and confirms the hcplb profile
            spec_router = next(r for r in plan.routers if r.name == router.name)
            applied = expected_state(plan, spec_router)
            assert (list(applied.sessions), dict(applied.routes)) == (
                lab.sessions[router.name],
                {p: tuple(h) for p, h in lab.routes[router.name].items()},
            )
    assert lab.names == {c: a.vip for a in verify.clusters for c in (a.api_name, a.api_int_name)}
    assert lab.urls == [a.url for a in verify.clusters]


def test_guide_profile_is_computed_not_assumed(seed: LoadedSite) -> None:
    """The guide's files lack the MetalLB CR (an installed MetalLB is its prerequisite): the
    model runs MetalLB as installed instead of assuming that every node announces."""
    plan = plan_site(seed.site)
    converged = converged_site(plan, Secrets(), profile="guide")
    assert converged.notes == () and converged.problems == ()
    assert converged.routers[0].routes == {"10.0.2.20/32": NODES}
    assert expect_site(plan, Secrets(), profile="guide").notes == ()


def test_guide_fleet_shows_metallb_real_allocation() -> None:
    """One open pool allocates in Service order, so DNS names the wrong VIPs: every party sees
    the VIP MetalLB would not announce, and the lab refuses to build such a site."""
    plan = plan_site(load_site(EXAMPLES / "fleet.yaml").site)
    converged = converged_site(plan, Secrets(), profile="guide")
    assert converged.problems and "but the site publishes" in converged.problems[0]
    assert any(not a.announcers for r in converged.routers for a in r.vips)
    assert converged.problems[0] in expect_site(plan, Secrets(), profile="guide").notes
    with pytest.raises(LabError, match="but the site publishes"):
        simulate_site(plan, Secrets(), profile="guide")


def test_a_drained_node_announces_nothing(seed: LoadedSite) -> None:
    plan = plan_site(seed.site)
    drained = converged_site(plan, Secrets(), extra_labels={"master-0": {EXCLUDE_LABEL: ""}})
    assert drained.routers[0].routes == {"10.0.2.20/32": NODES[1:]}


def test_session_rule_on_captured_frr() -> None:
    def peers(state: str) -> dict[str, PeerSummary]:
        text = (DATA / f"{state}.summary.json").read_text()
        return dict(parse_bgp_summary(parse_answer(text).data).peers)

    established = peers("established")
    assert [session_problem(established.get(n)) for n in NODES] == [None, None, None]
    policy = peers("policy")
    assert all("Policy" in (session_problem(p) or "") for p in policy.values())
    assert session_problem(None) == "not configured"
    # `(Policy)` hidden in the summary (a passive neighbor): the neighbor's detail still says it
    hidden = replace(policy["192.168.125.20"], peer_state="OK")
    neighbors = parse_bgp_neighbors(parse_answer((DATA / "policy.neighbors.json").read_text()).data)
    assert session_problem(hidden) is None
    assert "Policy" in (session_problem(hidden, neighbors["192.168.125.20"]) or "")


def test_route_rule_needs_every_nexthop_and_tolerates_extras() -> None:
    assert route_problem("10.0.2.20/32", NODES, NODES) is None
    assert route_problem("10.0.2.20/32", NODES[:2], NODES) is None
    assert route_problem("10.0.2.20/32", NODES, ()) == (
        f"10.0.2.20/32: nexthops {', '.join(NODES)} missing (FIB has no route)"
    )


def test_an_unresolved_password_does_not_change_who_announces() -> None:
    """verify without the secrets and apply's wait compute the same state as with them."""
    plan = plan_site(load_site(SITES / "password.yaml").site)
    without = converged_site(plan, Secrets())
    known = converged_site(plan, Secrets(bgp_password="s3cret-canary"))
    assert without.problems == () and without.notes == known.notes
    assert without.routers == known.routers and without.apis == known.apis
    assert not any(m.get("kind") == "Secret" for m in without.manifests)  # what render writes

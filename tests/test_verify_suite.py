"""The verify suite and CLI without a network: a router target that answers with captured FRR
output, a vantage with canned DNS/API results, the fake Kubernetes API. Deadlines, exit codes,
the JSON shape, the table, --watch."""

from __future__ import annotations

import _thread
import html
import json
import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hcplb.cli import app, verify_cmds
from hcplb.errors import TargetError
from hcplb.plan import plan_site
from hcplb.probes.expect import SiteExpect, expect_site
from hcplb.probes.model import Probe, Report, Status
from hcplb.probes.sources import Prepared
from hcplb.probes.suite import VerifyTargets, verify
from hcplb.probes.watch import Tracker
from hcplb.render.secrets import Secrets
from hcplb.runner import Result
from hcplb.spec import load_site
from hcplb.targets.base import Target

DATA = Path(__file__).parent / "data" / "frr"
CAPTURED_SITE = DATA / "site.yaml"
FILES = {
    "show bgp summary json": "summary",
    "show bgp neighbors json": "neighbors",
    "show bgp ipv4 unicast 10.0.2.20/32 json": "bgp-vip",
    "show ip route 10.0.2.20/32 json": "route-vip",
    "show bfd peers json": "bfd",
}
SYSCTL = "net.ipv4.ip_forward = 1\nnet.ipv4.fib_multipath_hash_policy = {hash}\n"


class CapturedRouter(Target):
    """Answers vtysh with what a real FRR said in `state` (tests/data/frr)."""

    def __init__(
        self, state: str = "established", *, hash_policy: int = 1, hang: bool = False
    ) -> None:
        self.state = state
        self.hash_policy = hash_policy
        self.hang = hang
        self.name = f"captured {state}"
        self.calls: list[tuple[str, ...]] = []

    def run(self, argv: Sequence[str], *, timeout: float, input: str | None = None) -> Result:
        self.calls.append(tuple(argv))
        if self.hang:
            time.sleep(timeout)
            raise TargetError(f"{self.name}: timed out after {timeout:g} s: {argv[0]}")
        if argv[0] == "vtysh":
            commands = [argv[i + 1] for i, a in enumerate(argv) if a == "-c"]
            out = "".join((DATA / f"{self.state}.{FILES[c]}.json").read_text() for c in commands)
        elif argv[0] == "sysctl":
            out = SYSCTL.format(hash=self.hash_policy)
        else:  # frr-reload.py --test: no difference
            out = "\nLines To Delete\n===============\n\nLines To Add\n============\n"
        return Result(tuple(argv), 0, out, "", 0.01)


HEALTHY_TLS = {
    "tcp": {"ok": True, "error": ""},
    "tls": {"ok": True, "verified": True, "error": "", "version": "TLSv1.3"},
    "cert": {
        "dns": ["api-int.hosted.hypershift.lab", "api.hosted.hypershift.lab"],
        "ip": ["10.0.2.20"],
    },
    "http": [{"path": "/readyz", "status": 200, "node": "master-1", "body": "ok", "error": ""}],
    "attempts": 1,
    "failed": 0,
}


class CannedVantage:
    name = "canned"

    def __init__(self, address: str = "10.0.2.20") -> None:
        self.address = address
        self.tasks: list[dict[str, Any]] = []

    def run_tasks(
        self, tasks: Sequence[dict[str, Any]], *, timeout: float
    ) -> dict[str, dict[str, Any]]:
        self.tasks = list(tasks)
        results: dict[str, dict[str, Any]] = {}
        for t in tasks:
            if t["kind"] == "dns":
                results[t["id"]] = {"status": "NOERROR", "addresses": [self.address], "error": ""}
            elif t["kind"] == "tls":
                results[t["id"]] = HEALTHY_TLS
        return results


@pytest.fixture
def expect() -> SiteExpect:
    captured = load_site(CAPTURED_SITE)  # the site the FRR answers were captured from
    return expect_site(plan_site(captured.site), Secrets(), frr_confs={"frr": "hostname frr\n"})


def targets(router: Target | None = None, **kw: Any) -> VerifyTargets:
    routers = {"frr": router} if router is not None else {}
    defaults: dict[str, Any] = {
        "vantage": CannedVantage(),
        "resolvers": ("192.0.2.53",),
        "ca_pem": "CA",
    }
    return VerifyTargets(routers=routers, **{**defaults, **kw})


def test_healthy_site_passes(expect: SiteExpect) -> None:
    router = CapturedRouter()
    report = verify(expect, targets(router), timeout=2)
    assert report.exit_code == 0, [p for p in report.probes if p.status is not Status.pass_]
    assert [p.id for p in report.probes if p.status is Status.skip] == ["cluster"]
    assert [p.system for p in report.probes] == sorted(
        (p.system for p in report.probes), key=["router", "dns", "api", "cluster"].index
    )
    assert sorted(c[0] for c in router.calls) == ["sh", "sysctl", "vtysh", "vtysh", "vtysh"]


def test_warnings_only_exit_3(expect: SiteExpect) -> None:
    report = verify(expect, targets(CapturedRouter(hash_policy=0)), timeout=2)
    assert report.ok and report.exit_code == 3
    assert [p.id for p in report.with_status(Status.warn)] == [
        "router/frr/sysctl/fib_multipath_hash_policy"
    ]


def test_failure_exit_1(expect: SiteExpect) -> None:
    report = verify(expect, targets(CapturedRouter("speaker-stopped")), timeout=2)
    assert not report.ok and report.exit_code == 1


def test_a_hanging_router_costs_its_timeout_only(expect: SiteExpect) -> None:
    started = time.monotonic()
    report = verify(expect, targets(CapturedRouter(hang=True)), timeout=0.5)
    assert time.monotonic() - started < 2.0
    router = [p for p in report.probes if p.system == "router"]
    assert router and all(p.status in (Status.fail, Status.skip) for p in router)
    assert "timed out after 0.5 s" in router[0].message
    assert report.get("api/hosted-hosted/tcp").status is Status.pass_  # the rest still ran


def test_missing_targets_are_skipped_and_say_so(expect: SiteExpect) -> None:
    report = verify(expect, VerifyTargets(), timeout=1)
    assert [(p.id, p.status.value, p.message) for p in report.probes] == [
        ("router/frr", "skip", "no --router given for this router"),
        ("api", "skip", "no client to probe from"),
        ("cluster", "skip", "no --kubeconfig given"),
    ]
    assert report.exit_code == 0


def test_a_crashing_check_is_reported_not_raised(expect: SiteExpect) -> None:
    class Broken(CannedVantage):
        def run_tasks(
            self, tasks: Sequence[dict[str, Any]], *, timeout: float
        ) -> dict[str, dict[str, Any]]:
            raise RuntimeError("boom")

    report = verify(expect, targets(CapturedRouter(), vantage=Broken()), timeout=1)
    (crash,) = [p for p in report.probes if p.system == "api"]
    assert crash.status is Status.fail and crash.message == "internal error: RuntimeError: boom"


def test_report_json_shape() -> None:
    report = Report.of(
        [
            Probe("dns/x", "dns", Status.pass_, "A 1", "A 1"),
            Probe("router/r/asn", "router", Status.warn, "e", "o", "m", "h"),
        ],
        1.23456,
    )
    assert report.to_json() == {
        "ok": True,
        "duration_s": 1.235,
        "probes": [
            {
                "id": "router/r/asn",
                "system": "router",
                "status": "warn",
                "expected": "e",
                "observed": "o",
                "message": "m",
                "hint": "h",
            },
            {
                "id": "dns/x",
                "system": "dns",
                "status": "pass",
                "expected": "A 1",
                "observed": "A 1",
                "message": "",
                "hint": "",
            },
        ],
    }


# -- the CLI -------------------------------------------------------------------------------------


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, expect: SiteExpect) -> dict[str, Any]:
    """`hcplb verify SITE` with prepare_live swapped for captured targets."""
    state: dict[str, Any] = {"router": CapturedRouter()}

    def fake_prepare(site: Path, **kw: Any) -> Prepared:
        state["kw"] = kw
        plan = plan_site(load_site(CAPTURED_SITE).site)
        return Prepared(expect, targets(_Switch(state)), ("s3cret",), ("a note",), plan=plan)

    monkeypatch.setattr(verify_cmds, "prepare_live", fake_prepare)
    return state


SEED = str(CAPTURED_SITE)


def test_cli_table(cli: dict[str, Any]) -> None:
    result = CliRunner().invoke(app, ["verify", SEED, "--router", "local"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for text in (
        "router",
        "dns",
        "api",
        "cluster",
        "frr/session/master-0",
        "✓ pass",
        "OK: 19 pass, 0 fail, 0 warn, 1 skip",
    ):
        assert text in result.output
    assert cli["kw"]["routers"] == ["local"]


def test_cli_json_failure(cli: dict[str, Any]) -> None:
    cli["router"] = CapturedRouter("policy")
    result = CliRunner().invoke(app, ["verify", SEED, "-O", "json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["ok"] is False
    failing = [p["id"] for p in data["probes"] if p["status"] == "fail"]
    assert "router/frr/session/master-0" in failing


def _wait_calls(state: dict[str, Any], count: int) -> None:
    deadline = time.monotonic() + 20
    while state.get("calls", 0) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def test_cli_watch_prints_only_changes_as_json_lines(cli: dict[str, Any]) -> None:
    """A session drops and comes back: one JSON line each, stamped; Ctrl-C ends with exit 0."""
    cli["router"] = CapturedRouter()

    finished = threading.Event()

    def drive() -> None:
        for calls, router in ((10, "speaker-stopped"), (30, "established"), (50, None)):
            _wait_calls(cli, calls)
            if finished.is_set():
                return
            if router is None:
                _thread.interrupt_main()  # Ctrl-C
                return
            cli["router"] = CapturedRouter(router)

    driver = threading.Thread(target=drive, daemon=True)
    driver.start()
    try:
        result = CliRunner().invoke(
            app, ["verify", SEED, "--watch", "--interval", "50ms", "-O", "json"]
        )
    finally:
        finished.set()
    driver.join(5)
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    session = [c for c in lines if c["id"] == "router/frr/session/master-2"]
    assert [(c["was"], c["now"]) for c in session] == [("pass", "fail"), ("fail", "pass")]
    assert session[0]["at"] <= session[1]["at"]
    assert session[0]["hint"] and session[0]["time"].endswith("Z")
    assert all(c["was"] != c["now"] for c in lines)  # only changes
    assert result.exit_code == 0, result.output  # the last state passed


def test_cli_watch_table_and_interval_errors(cli: dict[str, Any]) -> None:
    result = CliRunner().invoke(app, ["verify", SEED, "--watch", "--interval", "often"])
    assert result.exit_code == 1
    assert "--interval 'often': not a duration" in result.output
    result = CliRunner().invoke(app, ["verify", SEED, "--watch", "-O", "html", "--report", "x"])
    assert "--watch prints changes as they come" in result.output
    result = CliRunner().invoke(app, ["verify", SEED, "-O", "html"])
    assert result.exit_code == 1
    assert "--output html writes a page: give --report FILE" in result.output


def test_tracker_baseline_changes_and_exit_code() -> None:
    tracker = Tracker()
    ok = Probe("router/r/session/n", "router", Status.pass_)
    bad = Probe("router/r/session/n", "router", Status.fail, hint="h")
    other = Probe("dns/x", "dns", Status.warn)
    assert tracker.update("router r", [ok], 1.0) == []
    assert tracker.update("dns", [other], 1.0)[0].was is None  # an unhealthy baseline is shown
    changes = tracker.update("router r", [bad], 2.0)
    assert [(c.id, c.was, c.now, c.at) for c in changes] == [
        ("router/r/session/n", "pass", "fail", 2.0)
    ]
    assert tracker.exit_code() == 1
    assert [(c.was, c.now) for c in tracker.update("router r", [], 3.0)] == [("fail", "absent")]
    assert tracker.exit_code() == 3


def test_cli_html_report(cli: dict[str, Any], tmp_path: Path) -> None:
    cli["router"] = CapturedRouter("speaker-stopped")
    page = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["verify", SEED, "-O", "html", "--report", str(page)])
    assert result.exit_code == 1, result.output
    text = html.unescape(page.read_text())  # Graphviz writes '-' in ids as &#45;
    assert 'id="session.frr.master-2" class="edge status-fail"' in text
    assert 'id="session.frr.master-0" class="edge status-pass"' in text
    assert '<tr class="status-fail" id="probe-router/frr/session/master-2">' in text
    assert "FAILED:" in result.output
    # self-contained: nothing to fetch (only the SVG namespace URIs name a host)
    assert not re.findall(r'(?:src|href)="(?!data:|#)', text)
    assert set(re.findall(r"https?://[^\s\"']+", text)) <= {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xlink",
    }


class _Switch(Target):
    """A router target that delegates to whatever the test put in state['router'] now."""

    name = "switch"

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    def run(self, argv: Sequence[str], *, timeout: float, input: str | None = None) -> Result:
        self.state["calls"] = self.state.get("calls", 0) + 1
        return self.state["router"].run(argv, timeout=timeout, input=input)


def test_cli_needs_a_site_or_a_lab() -> None:
    result = CliRunner().invoke(app, ["verify"])
    assert result.exit_code == 1
    assert "give a site spec, or --lab NAME" in result.output

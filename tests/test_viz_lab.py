"""On the seed lab: `verify --watch` reports a node's `lab fail` and `lab heal` within 2 s of
each; the HTML report of the lab with that node failed, loaded in headless Chromium, shows the
node's session red (the colour the browser drew) and the failed probe's hint. One lab for the
module, always torn down; Chromium loads only the local file."""

from __future__ import annotations

import html
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, Any

import pytest
from typer.testing import CliRunner

from hcplb.cli import app
from hcplb.lab import Lab, faults
from hcplb.lab.verification import prepare_lab
from hcplb.probes.model import Report, Status
from hcplb.probes.suite import verify

from . import browser
from .conftest import EXAMPLES, running_lab

pytestmark = pytest.mark.lab

NODE, ROUTER = "master-0", "frr"
SESSION = f"router/{ROUTER}/session/{NODE}"
RED, GREEN = "rgb(198, 40, 40)", "rgb(46, 125, 50)"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with running_lab(
        tmp_path_factory, EXAMPLES / "seed.yaml", f"z{os.getpid() % 100000}-viz"
    ) as lab:
        yield lab


def _lines(stream: IO[str], into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


def _next_change(
    changes: queue.Queue[str], id: str, now: str, deadline: float, since: float = 0.0
) -> dict[str, Any]:
    """The next change of `id` to `now` stamped at or after `since` (Unix time)."""
    while True:
        try:
            line = changes.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no change of {id} to {now} in time") from None
        change = json.loads(line)
        if change["id"] == id and change["now"] == now and change["at"] >= since:
            return dict(change)


def _wait_stderr(lines: queue.Queue[str], text: str, deadline: float) -> None:
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"{text!r} never printed") from None
        if text in line:
            return


def test_watch_reports_fail_and_heal_within_2s(lab: Lab) -> None:
    argv = [
        str(Path(sys.executable).with_name("hcplb")), "verify", "--lab", lab.name,
        "--watch", "--interval", "200ms", "--timeout", "5", "-O", "json",
    ]  # fmt: skip
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    out: queue.Queue[str] = queue.Queue()
    err: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None and proc.stderr is not None
    threading.Thread(target=_lines, args=(proc.stdout, out), daemon=True).start()
    threading.Thread(target=_lines, args=(proc.stderr, err), daemon=True).start()
    try:
        _wait_stderr(err, f"router {ROUTER}:", time.monotonic() + 60)  # the baseline is in
        _healthy_session(lab)
        failed = faults.fail(lab, NODE, "down")
        change = _next_change(out, SESSION, "fail", time.monotonic() + 30, since=failed.at)
        assert change["was"] == "pass"
        assert 0 <= change["at"] - failed.at <= 2.0, change
        print(f"watch: session down reported {change['at'] - failed.at:.2f} s after lab fail")
        started = time.time()
        faults.heal(lab, NODE, timeout=90)
        healed = time.time()
        change = _next_change(out, SESSION, "pass", time.monotonic() + 30, since=started)
        assert change["was"] == "fail"
        assert started <= change["at"] <= healed + 2.0, (change, started, healed)
        print(f"watch: session up reported {change['at'] - healed:+.2f} s from lab heal's return")
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert proc.wait(timeout=30) in (0, 1, 3)
        tail = "".join(iter_queue(err))
        assert "Traceback" not in tail and "stopped" in tail
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        if faults.faults_of(lab, NODE):
            faults.heal(lab, NODE, timeout=90)


def _healthy_session(lab: Lab) -> None:
    """Wait until the router has the session (a loaded machine may still be converging)."""
    prepared = prepare_lab(lab.name, timeout=5)
    try:
        deadline = time.monotonic() + 60
        while verify(prepared.expect, prepared.targets, timeout=5).get(SESSION).status is not (
            Status.pass_
        ):
            assert time.monotonic() < deadline, f"{SESSION} never passed before the fault"
            time.sleep(0.5)
    finally:
        prepared.close()


def iter_queue(q: queue.Queue[str]) -> Iterator[str]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            yield q.get(timeout=0.5)
        except queue.Empty:
            return


class _Dom(HTMLParser):
    """The attributes of every element with an id, and the text of each table row."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, dict[str, str]] = {}
        self.rows: dict[str, str] = {}
        self._row: str | None = None
        self.body: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if "id" in values:
            self.by_id[values["id"]] = values
        if tag == "tr" and values.get("id", "").startswith("probe-"):
            self._row = values["id"].removeprefix("probe-")
            self.rows[self._row] = ""
        if tag == "body":
            self.body = values

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._row is not None:
            self.rows[self._row] += data + " "


def test_html_report_of_a_failed_node_in_chromium(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a generous probe timeout: on a loaded machine a 1.5 s probe of a healthy session can time out
    prepared = prepare_lab(lab.name, timeout=5)
    try:
        faults.fail(lab, NODE, "down")
        others = [f"router/{ROUTER}/session/{n}" for n in ("master-1", "master-2")]

        def settled(r: Report) -> bool:
            return r.get(SESSION).status is Status.fail and all(
                r.get(o).status is Status.pass_ for o in others
            )

        deadline = time.monotonic() + 60
        report = verify(prepared.expect, prepared.targets, timeout=5)
        while not settled(report) and time.monotonic() < deadline:
            time.sleep(0.2)
            report = verify(prepared.expect, prepared.targets, timeout=5)
        assert settled(report), [(p.id, p.status.value) for p in report.probes]
        page = tmp_path / "report.html"
        # the CLI probes again: on a loaded machine a healthy session may flap (BFD 100 ms x3),
        # so the page is taken again until it shows the settled state (a few tries)
        for _ in range(5):
            result = CliRunner().invoke(
                app,
                [
                    "verify",
                    "--lab",
                    lab.name,
                    "--timeout",
                    "5",
                    "-O",
                    "html",
                    "--report",
                    str(page),
                ],
            )
            assert result.exit_code == 1, result.output
            text = html.unescape(page.read_text())
            if all(
                f'id="session.{ROUTER}.{n}" class="edge status-pass"' in text
                for n in ("master-1", "master-2")
            ):
                break
        profile = tmp_path / "chromium-profile"
        dom = browser.dump_dom(page, profile)
        shot = browser.screenshot(page, profile, tmp_path / "report.png")
        print(f"screenshot for a human: {shot}")
        parsed = _Dom()
        parsed.feed(dom)
        assert int(parsed.body.get("data-ready", "0")) > 0, "the page's script did not run"
        failed = parsed.by_id[f"session.{ROUTER}.{NODE}"]
        assert "status-fail" in failed["class"] and failed["data-drawn-stroke"] == RED
        for other in ("master-1", "master-2"):
            ok = parsed.by_id[f"session.{ROUTER}.{other}"]
            assert "status-pass" in ok["class"] and ok["data-drawn-stroke"] == GREEN
        assert "status-fail" in parsed.by_id[f"node.{NODE}"]["class"]
        hint = report.get(SESSION).hint
        assert hint and " ".join(hint.split()) in " ".join(parsed.rows[SESSION].split())
        assert shot.stat().st_size > 10_000
    finally:
        prepared.close()
        faults.heal(lab, NODE, timeout=90)

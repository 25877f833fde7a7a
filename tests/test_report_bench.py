"""bench failover --report: one self-contained page with the figures, the plot and the site's
picture (failed node red). The benchmark itself is replaced by a synthetic result (the real one
is a benchmark, not a test)."""

from __future__ import annotations

import html
import importlib.util
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hcplb.bench import failover
from hcplb.bench.failover import FailoverReport, RunResult
from hcplb.bench.loadgen import Record
from hcplb.cli import app
from tests.conftest import EXAMPLES, missing

FAULT = 1_000_000.0


def _run(n: int) -> RunResult:
    records = tuple(
        Record(i, FAULT - 1 + i * 0.01, 0.002, "ok" if not 100 <= i < 130 else "timeout",
               f"master-{i % 3}" if not 100 <= i < 130 else None)
        for i in range(400)
    )  # fmt: skip
    return RunResult(
        run=n, node="master-0", fault_at=FAULT, withdrawal_s=0.31 + n / 100, bounded=False,
        requests=400, failed_requests=30, blackholed=30, rehash_resets=0,
        failed_outside_window=0, longest_failure_window_s=0.3, heal_at=FAULT + 2.5,
        recovery_s=1.2, failed_after_heal=0, served_by={"master-1": 185, "master-2": 185},
        outcomes={"ok": 370, "timeout": 30}, records=records,
    )  # fmt: skip


def test_failover_report_page(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if importlib.util.find_spec("matplotlib") is None:
        missing("matplotlib not installed (make setup installs the [plot] extra)")
    synthetic = FailoverReport(
        str(EXAMPLES / "seed.yaml"), "hcplb", "down", 200.0, 240.0, (_run(1), _run(2)), 11.5,
        "1.00 1.00 1.00", "2.00 1.50 1.00",
    )  # fmt: skip
    monkeypatch.setattr(failover, "run_failover", lambda *a, **kw: synthetic)
    page = tmp_path / "failover.html"
    result = CliRunner().invoke(
        app, ["bench", "failover", str(EXAMPLES / "seed.yaml"), "--mode", "down",
              "--report", str(page)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = html.unescape(page.read_text())
    assert re.search(r'id="figure-withdrawal_s"><td>nexthop withdrawn after \(s\)</td>'
                     r'<td class="num">0.32</td><td class="num">0.325</td><td class="num">0.33</td>',
                     text)  # fmt: skip
    assert '<img alt="failover plot" src="data:image/png;base64,iVBOR' in text
    assert 'id="session.frr.master-0" class="edge status-fail"' in text
    assert 'id="session.frr.master-1" class="edge"' in text
    assert "machine load 1.00 1.00 1.00 → 2.00 1.50 1.00" in text
    assert not re.findall(r'(?:src|href)="(?!data:|#)', text)

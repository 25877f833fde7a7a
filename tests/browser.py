"""Headless Chromium for tests that look at a page the way a person would: it loads only the
local file it is given (no network: background services, QUIC, sync and updates are off) with a
fresh profile, and gives back the DOM after the page's scripts ran, or a screenshot."""

from __future__ import annotations

from pathlib import Path

from hcplb.runner import Result, run
from tests.conftest import need_tool

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
)


def chromium() -> str:
    """The browser's path; a skip (a failure under CI) when it is not installed."""
    return need_tool("chromium")


def dump_dom(page: Path, profile: Path, *, budget_ms: int = 0) -> str:
    """The DOM after load (after `budget_ms` of virtual time, for pages that render later)."""
    extra = [f"--virtual-time-budget={budget_ms}"] if budget_ms else []
    result = _run([*extra, "--dump-dom", page.resolve().as_uri()], profile)
    assert result.ok, result.stderr[-2000:]
    return result.stdout


def screenshot(page: Path, profile: Path, out: Path, *, size: str = "1300,1500") -> Path:
    _run([f"--window-size={size}", f"--screenshot={out}", page.resolve().as_uri()], profile)
    return out


def _run(args: list[str], profile: Path) -> Result:
    return run([chromium(), *FLAGS, f"--user-data-dir={profile}", *args], timeout=120)

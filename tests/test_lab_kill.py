"""`lab down` after `lab up` was SIGKILLed half way leaves nothing: no namespace, process,
file or link."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hcplb.lab import down, list_labs
from hcplb.lab.netns import namespaces
from hcplb.lab.procs import alive
from hcplb.lab.state import netns_prefix, read_state
from hcplb.runner import run

from .conftest import EXAMPLES

pytestmark = pytest.mark.lab


@pytest.fixture
def labs_dir(tmp_path: Path) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HCPLB_LAB_DIR", str(tmp_path))
        yield tmp_path


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_down_after_sigkill_of_up_leaves_nothing(labs_dir: Path) -> None:
    name = f"t{os.getpid() % 100000}-kill"
    directory = labs_dir / name
    hcplb = Path(sys.executable).with_name("hcplb")
    proc = subprocess.Popen(
        [str(hcplb), "lab", "up", str(EXAMPLES / "seed.yaml"), "--name", name],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # wait until the build is half way: the router's FRR runs, the nodes' not yet all
        deadline = time.monotonic() + 60
        while True:
            state = read_state(name) if directory.is_dir() else None
            started = [p for p in state.processes if p.pid] if state else []
            if len(started) >= 4:
                break
            assert proc.poll() is None, "lab up finished before it could be killed"
            assert time.monotonic() < deadline, "lab up never got half way"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    state = read_state(name)
    assert state is not None and state.phase == "building"
    assert any(s.name == name and s.phase == "interrupted" for s in list_labs())
    pids = [p.pid for p in state.processes if p.pid]
    assert any(alive(pid) for pid in pids), "killing `lab up` should have left processes running"
    assert [n for n in namespaces() if n.startswith(netns_prefix(name))]

    down(name)

    assert not [n for n in namespaces() if n.startswith(netns_prefix(name))]
    assert not [pid for pid in pids if alive(pid)]
    assert not _processes_mentioning(str(directory))
    assert not directory.exists()
    links = json.loads(run(["ip", "-j", "link", "show"], timeout=10).stdout or "[]")
    assert not [link["ifname"] for link in links if link["ifname"].startswith(state.lab_id)]
    assert all(s.name != name for s in list_labs())

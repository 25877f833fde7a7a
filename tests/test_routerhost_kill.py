"""`lab down` after `lab up --router-host systemd` was SIGKILLed while the router booted: no
process (supervisor, nspawn, the container's systemd), mount, overlay, namespace or file left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hcplb.lab import down, image, nspawn
from hcplb.lab.netns import namespaces
from hcplb.lab.procs import alive
from hcplb.lab.state import netns_prefix, read_state

from .conftest import EXAMPLES, missing

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture
def labs_dir(tmp_path: Path) -> Iterator[Path]:
    if image.find_image() is None:
        missing("no router image (run `hcplb lab image build`; `make test` builds it)")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HCPLB_LAB_DIR", str(tmp_path))
        yield tmp_path


def _mounts_under(directory: Path) -> list[str]:
    return [m for m in Path("/proc/self/mountinfo").read_text().splitlines() if str(directory) in m]


def test_down_after_sigkill_of_up_while_the_router_boots(labs_dir: Path) -> None:
    name = f"t{os.getpid() % 100000}-rhkill"
    directory = labs_dir / name
    hcplb = Path(sys.executable).with_name("hcplb")
    argv = [str(hcplb), "lab", "up", str(EXAMPLES / "seed.yaml"), "--name", name]
    proc = subprocess.Popen(
        [*argv, "--router-host", "systemd"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # wait until the router's container runs its systemd (it is booting)
        deadline = time.monotonic() + 60
        while True:
            state = read_state(name) if directory.is_dir() else None
            record = nspawn.nspawn_record(state, "frr") if state else None
            leader = nspawn.leader_pid(record.pid) if record and record.pid else None
            if record is not None and record.pid and leader is not None:
                break
            assert proc.poll() is None, "lab up finished before it could be killed"
            assert time.monotonic() < deadline, "the router never started booting"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    state = read_state(name)
    assert state is not None and state.phase == "building" and state.mounts
    supervisor = record.pid
    runner = nspawn.nspawn_pid(supervisor)
    assert runner is not None and alive(supervisor) and alive(leader)
    assert _mounts_under(directory)

    down(name)

    assert not [n for n in namespaces() if n.startswith(netns_prefix(name))]
    assert not [pid for pid in (supervisor, runner, leader) if alive(pid)]
    assert not _mounts_under(directory)
    assert not directory.exists()
    machine = nspawn.machine_name(name, "frr")
    assert not list(Path("/run/systemd/nspawn").glob(f"*/{machine}"))

"""`lab down` while `lab up` builds the same lab, and the audit of what is left afterwards.

Shared by the lab test (a few rounds) and `benchmarks/lab_races.py` (20 rounds, timed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from hcplb.lab.hostfs import LAB_MARKER
from hcplb.lab.netns import namespaces
from hcplb.lab.procs import marked
from hcplb.lab.state import STATE_FILE, netns_prefix
from hcplb.runner import run

from ..conftest import EXAMPLES

HCPLB = str(Path(sys.executable).with_name("hcplb"))


@dataclass(frozen=True)
class Round:
    name: str
    started: int  # processes the up had journalled with a pid when down began
    up_rc: int
    down_rc: int
    down_seconds: float
    leftovers: tuple[str, ...]


def leftovers(labs: Path, name: str) -> list[str]:
    """Everything of lab `name` still on the machine: namespaces, processes, files, mounts."""
    left = [f"namespace {n}" for n in namespaces() if n.startswith(netns_prefix(name))]
    directory = str(labs / name)
    left += [f"process {pid}" for pid, where in marked(LAB_MARKER).items() if where == directory]
    left += [f"file {p}" for p in labs.iterdir() if p.name == name]
    left += [f"lock {p}" for p in (labs / ".locks").glob(f"{name}.*")]
    mounts = Path("/proc/self/mountinfo").read_text()
    left += [f"mount {line}" for line in mounts.splitlines() if directory in line]
    links = json.loads(run(["ip", "-j", "link", "show"], timeout=10).stdout or "[]")
    left += [f"link {x['ifname']}" for x in links if name in x.get("ifname", "")]
    return left


def _started(labs: Path, name: str) -> int:
    try:
        state = json.loads((labs / name / STATE_FILE).read_text())
    except (OSError, ValueError):
        return -1
    return sum(1 for p in state.get("processes", []) if p.get("pid"))


def race(labs: Path, name: str, *, after: int, deadline: float = 120.0) -> Round:
    """Start `lab up`; once it journalled `after` running processes (0: as soon as its journal
    exists), run `lab down`; wait for both; audit."""
    env = {**os.environ, "HCPLB_LAB_DIR": str(labs)}
    site = str(EXAMPLES / "seed.yaml")
    up = subprocess.Popen(
        [HCPLB, "lab", "up", site, "--name", name],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        limit = time.monotonic() + deadline
        while _started(labs, name) < after and up.poll() is None:
            assert time.monotonic() < limit, "lab up never got that far"
            time.sleep(0.02)
        started = _started(labs, name)
        began = time.monotonic()
        down = subprocess.run(
            [HCPLB, "lab", "down", name], env=env, capture_output=True, timeout=deadline
        )
        seconds = time.monotonic() - began
        up_rc = up.wait(timeout=deadline)
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
    if down.returncode != 0 and b"no lab named" in down.stderr:
        # down came before up claimed the name: a plain down of nothing; clean up after up
        subprocess.run([HCPLB, "lab", "down", name], env=env, capture_output=True, timeout=60)
    return Round(name, started, up_rc, down.returncode, seconds, tuple(leftovers(labs, name)))

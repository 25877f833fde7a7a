"""Lab state under attack: down during up (a few rounds here; 20 in benchmarks/lab_races.py),
a corrupt journal, a symlinked lab directory, orphans, the lock."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hcplb.errors import LabError
from hcplb.lab import down, list_labs, orphans
from hcplb.lab.hostfs import LAB_MARKER
from hcplb.lab.lock import holder, locked
from hcplb.lab.procs import alive

from .harness import hcplb
from .races import leftovers, race

pytestmark = pytest.mark.lab

ROUNDS = int(os.environ.get("HCPLB_RACE_ROUNDS", "2"))


@pytest.fixture
def labs(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "labs"
    root.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HCPLB_LAB_DIR", str(root))
        yield root


def _name(tag: str) -> str:
    return f"h{os.getpid() % 100000}-{tag}"


@pytest.mark.parametrize("after", [0, 4, 12][: max(1, ROUNDS + 1)])
def test_down_during_up_leaves_nothing(labs: Path, after: int) -> None:
    result = race(labs, _name(f"r{after}"), after=after)
    assert result.down_rc == 0, result
    assert result.leftovers == (), result
    assert not list_labs()


def test_corrupt_journal_is_listed_and_removed(labs: Path) -> None:
    name = _name("corrupt")
    (labs / name).mkdir()
    (labs / name / "state.json").write_text('{"name": ')
    assert [(s.name, s.phase) for s in list_labs()] == [(name, "corrupt")]
    down(name)
    assert not (labs / name).exists()


def test_symlinked_lab_directory_is_removed_never_followed(labs: Path, tmp_path: Path) -> None:
    name = _name("link")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious").write_text("keep\n")
    (labs / name).symlink_to(victim)
    answer = hcplb("lab", "down", name, cwd=tmp_path, env={"HCPLB_LAB_DIR": str(labs)})
    assert answer.rc == 0, str(answer)
    assert not (labs / name).is_symlink()
    assert (victim / "precious").read_text() == "keep\n"


def test_orphan_process_is_listed_and_removed_by_down(labs: Path) -> None:
    name = _name("orphan")
    directory = labs / name  # never created: the lab directory is gone
    proc = subprocess.Popen(
        ["sleep", "300"], env={**os.environ, LAB_MARKER: str(directory)}, start_new_session=True
    )
    try:
        found = [o for o in orphans() if o.lab == str(directory)]
        assert [o.kind for o in found] == ["process"]
        assert found[0].what.startswith(f"{proc.pid} sleep")
        down(name)
        proc.wait(timeout=10)
        assert not alive(proc.pid)
        assert leftovers(labs, name) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_down_of_nothing_is_a_clear_error(labs: Path) -> None:
    with pytest.raises(LabError, match="no lab named"):
        down(_name("none"))
    assert leftovers(labs, _name("none")) == []


def test_lock_excludes_a_second_holder_and_names_the_first(labs: Path) -> None:
    name = _name("lock")
    with locked(name, "up"):
        who = holder(name)
        assert who is not None and (who.pid, who.action) == (os.getpid(), "up")
        busy = rf"lab {name} is busy: `lab up` \(pid {os.getpid()}\)"
        with pytest.raises(LabError, match=busy), locked(name, "up"):
            pass
    assert not (labs / ".locks" / f"{name}.lock").exists()  # no lab: no lock file left

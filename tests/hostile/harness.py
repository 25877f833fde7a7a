"""Run the hcplb CLI in a subprocess with RLIMIT_AS and a timeout, and judge its answer."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

HCPLB = str(Path(sys.executable).with_name("hcplb"))
MEMORY_CAP = 512 << 20  # address space, bytes: "a few hundred MB"
TIME_LIMIT = 60.0  # seconds: a hang, not a slow machine (the CLI starts in ~1 s)
INTERNAL_ERROR = 70
# file:line:column: severity: ...
LOCATED = re.compile(r"^(?P<file>[^\n]+?):(?P<line>\d+):(?P<col>\d+): (?:error|warning):", re.M)


@dataclass(frozen=True)
class Answer:
    argv: tuple[str, ...]
    rc: int
    stdout: str
    stderr: str

    def located(self) -> list[tuple[str, int, int]]:
        return [(m["file"], int(m["line"]), int(m["col"])) for m in LOCATED.finditer(self.stderr)]

    def __str__(self) -> str:
        return f"{' '.join(self.argv)} -> {self.rc}\nstdout: {self.stdout[-800:]}\nstderr: {self.stderr[-1500:]}"


def _cap() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def hcplb(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    umask: int | None = None,
    timeout: float = TIME_LIMIT,
) -> Answer:
    """Run `hcplb ARGS`; a hang past `timeout` kills it and fails the calling test."""

    def preexec() -> None:
        _cap()
        if umask is not None:
            os.umask(umask)

    full = {**os.environ, "COLUMNS": "200", **(env or {})}
    argv = (HCPLB, *args)
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=full,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            preexec_fn=preexec,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(f"hcplb {' '.join(args)} ran past {timeout:g} s (a hang)") from None
    return Answer(argv, proc.returncode, proc.stdout, proc.stderr)


def assert_handled(answer: Answer, *, rc: int | tuple[int, ...] = (1, 2)) -> None:
    """A user error: the expected exit code, no traceback, no internal error, no MemoryError."""
    codes = (rc,) if isinstance(rc, int) else rc
    assert answer.rc != INTERNAL_ERROR, f"internal error:\n{answer}"
    assert answer.rc in codes, f"exit {answer.rc}, expected {codes}:\n{answer}"
    assert "Traceback" not in answer.stderr, str(answer)
    assert "MemoryError" not in answer.stderr, str(answer)

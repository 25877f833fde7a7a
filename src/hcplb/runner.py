"""The one way hcplb runs a subprocess: argv lists, a timeout, optionally inside a netns."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hcplb.errors import RunnerError


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    rc: int
    stdout: str
    stderr: str
    elapsed: float

    @property
    def ok(self) -> bool:
        return self.rc == 0


_HIDDEN_ENV: set[str] = set()


def hide_from_children(name: str) -> None:
    """Keep environment variable `name` (it holds a secret) out of every child process.

    A child's environment is readable by its user and, through /proc, by root tools; a
    secret reaches a child only on stdin or through a 0600 file.
    """
    _HIDDEN_ENV.add(name)


def child_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a child gets: `env` (default: ours) without the hidden variables."""
    source = os.environ if env is None else env
    return {k: v for k, v in source.items() if k not in _HIDDEN_ENV}


def netns_argv(netns: str | None, argv: Sequence[str]) -> list[str]:
    """Prefix argv so it runs inside the named network namespace."""
    if netns is None:
        return list(argv)
    return ["ip", "netns", "exec", netns, *argv]


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    netns: str | None = None,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = False,
) -> Result:
    """Run argv (in `netns` when given) and return its Result; kill it after `timeout` s."""
    full = netns_argv(netns, argv)
    started = time.monotonic()
    try:
        proc = subprocess.run(
            full,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=child_env(env),
            check=False,
        )
    except FileNotFoundError as exc:
        raise RunnerError(f"command not found: {full[0]} (running {' '.join(full)})") from exc
    except subprocess.TimeoutExpired as exc:
        raise RunnerError(f"timed out after {timeout:g} s: {' '.join(full)}") from exc
    result = Result(
        tuple(full), proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started
    )
    if check and not result.ok:
        detail = (result.stderr or result.stdout).strip().splitlines()
        last = detail[-1] if detail else ""
        raise RunnerError(f"exit {result.rc}: {' '.join(full)}: {last}")
    return result

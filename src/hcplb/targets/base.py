"""The one small interface every place hcplb acts on implements: run a command, write a file.

A router reached locally, over SSH, or inside a lab host looks the same to probes and to
apply (pyinfra's connectors, scrapli's transports): `run(argv, *, timeout, input=None)`
returns a `hcplb.runner.Result` whatever the exit code; `put(path, content, mode)` writes a
whole file atomically (write a temporary sibling, then rename). Failures to reach the target
at all, and timeouts, raise `TargetError` naming the target and the command.
"""

from __future__ import annotations

import abc
import shlex
from collections.abc import Sequence
from types import TracebackType

from hcplb.runner import Result
from hcplb.settings import COMMAND_TIMEOUT

__all__ = ["Target", "put_script"]


def put_script(path: str, mode: int) -> list[str]:
    """argv that writes stdin to `path` with `mode`, atomically, via a temporary sibling."""
    script = (
        'set -e; dir=$(dirname "$1"); tmp=$(mktemp "$dir/.hcplb.XXXXXX"); '
        'cat >"$tmp"; chmod "$2" "$tmp"; mv -f "$tmp" "$1"'
    )
    return ["sh", "-c", script, "sh", path, f"{mode:o}"]


class Target(abc.ABC):
    """Somewhere commands run: this machine, an SSH host, a lab host."""

    #: how people see it in messages: `local`, `ssh://admin@r1:22`, `lab seed/frr`
    name: str = "target"

    @abc.abstractmethod
    def run(self, argv: Sequence[str], *, timeout: float, input: str | None = None) -> Result:
        """Run argv there and wait at most `timeout` s; TargetError if it cannot run or times out."""

    def put(self, path: str, content: str, mode: int = 0o644) -> None:
        """Write `content` to `path` there (atomic rename); TargetError on failure."""
        from hcplb.errors import TargetError

        result = self.run(put_script(path, mode), timeout=COMMAND_TIMEOUT, input=content)
        if not result.ok:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise TargetError(
                f"{self.name}: cannot write {path}: {detail[-1] if detail else f'exit {result.rc}'}"
            )

    def close(self) -> None:  # noqa: B027 - most targets hold nothing
        """Release connections; the target must not be used afterwards."""

    def __enter__(self) -> Target:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def quote(argv: Sequence[str]) -> str:
        return shlex.join(argv)

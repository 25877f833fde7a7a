"""LocalTarget: commands run on this machine through `hcplb.runner`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hcplb.errors import RunnerError, TargetError
from hcplb.fsutil import FileError, write_atomic
from hcplb.runner import Result, run
from hcplb.targets.base import Target

__all__ = ["LocalTarget"]


class LocalTarget(Target):
    """This machine (optionally inside a network namespace, for tests and tools)."""

    def __init__(self, *, netns: str | None = None) -> None:
        self.netns = netns
        self.name = "local" if netns is None else f"local netns {netns}"

    def run(self, argv: Sequence[str], *, timeout: float, input: str | None = None) -> Result:
        try:
            return run(argv, timeout=timeout, netns=self.netns, input=input)
        except RunnerError as exc:
            raise TargetError(f"{self.name}: {exc}") from exc

    def put(self, path: str, content: str, mode: int = 0o644) -> None:
        # A network namespace does not change the filesystem: write directly.
        try:
            write_atomic(Path(path), content, mode=mode)
        except FileError as exc:
            raise TargetError(f"{self.name}: {exc}") from exc

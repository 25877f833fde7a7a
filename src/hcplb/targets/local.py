"""LocalTarget: commands run on this machine through `hcplb.runner`."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from hcplb.errors import RunnerError, TargetError
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
        target = Path(path)
        try:
            fd, tmp = tempfile.mkstemp(prefix=".hcplb.", dir=target.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(content)
                os.chmod(tmp, mode)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise TargetError(f"{self.name}: cannot write {path}: {exc.strerror or exc}") from exc

"""SshTarget: commands on a remote host over SSH (asyncssh), host key checked, key auth only.

asyncssh is asynchronous; the target keeps one connection on its own event loop thread so
callers (probe threads, apply) stay synchronous. Every call has a timeout, the connection
included. A user other than root runs commands through `sudo -n` (no password prompt ever).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncssh

from hcplb.errors import TargetError
from hcplb.runner import Result
from hcplb.settings import COMMAND_TIMEOUT
from hcplb.targets.base import Target

__all__ = ["SshTarget", "parse_ssh_url"]


def parse_ssh_url(url: str) -> tuple[str | None, str, int]:
    """(user, host, port) of `ssh://[user@]host[:port]`; TargetError with the expected form."""
    parts = urlsplit(url)
    try:
        port = parts.port or 22
    except ValueError:
        port = -1
    if parts.scheme != "ssh" or not parts.hostname or port <= 0 or parts.path not in ("", "/"):
        raise TargetError(f"not an SSH target: {url!r} (hint: ssh://user@host[:port])")
    return parts.username, parts.hostname, port


class SshTarget(Target):
    """`ssh://user@host:port`; `known_hosts` (default ~/.ssh/known_hosts) must hold its key."""

    def __init__(
        self,
        host: str,
        *,
        user: str | None = None,
        port: int = 22,
        known_hosts: str | Path | None = None,
        client_keys: Sequence[str | Path] | None = None,
        connect_timeout: float = COMMAND_TIMEOUT,
        sudo: bool | None = None,
    ) -> None:
        self.host = host
        self.user = user or os.environ.get("USER") or "root"
        self.port = port
        self.known_hosts = Path(known_hosts or Path.home() / ".ssh" / "known_hosts").expanduser()
        self.client_keys = [str(Path(k).expanduser()) for k in client_keys] if client_keys else None
        self.connect_timeout = connect_timeout
        self.sudo = self.user != "root" if sudo is None else sudo
        self.name = f"ssh://{self.user}@{host}:{port}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._conn: asyncssh.SSHClientConnection | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SshTarget:
        user, host, port = parse_ssh_url(url)
        return cls(host, user=user, port=port, **options)

    # -- the event loop thread -----------------------------------------------------------------

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name=f"hcplb-ssh-{self.host}", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def _call(self, coro: Any, timeout: float, what: str) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self._ensure_loop())
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise TargetError(f"{self.name}: timed out after {timeout:g} s: {what}") from None

    # -- connection ------------------------------------------------------------------------------

    async def _connect(self) -> asyncssh.SSHClientConnection:
        if self._conn is not None:
            return self._conn
        if not self.known_hosts.is_file():
            raise TargetError(
                f"{self.name}: no known_hosts file at {self.known_hosts}; the host key cannot be "
                f"checked (hint: verify the key's fingerprint, then `ssh-keyscan -p {self.port} "
                f"{self.host} >> {self.known_hosts}`)"
            )
        try:
            self._conn = await asyncssh.connect(
                self.host,
                port=self.port,
                username=self.user,
                known_hosts=str(self.known_hosts),
                client_keys=self.client_keys,
                password=None,
                kbdint_auth=False,
                preferred_auth="publickey",
                connect_timeout=self.connect_timeout,
                config=[],
            )
        except asyncssh.HostKeyNotVerifiable as exc:
            raise TargetError(
                f"{self.name}: host key not verified against {self.known_hosts}: {exc.reason} "
                "(hint: if the host was reinstalled, check its fingerprint and update known_hosts)"
            ) from None
        except asyncssh.PermissionDenied:
            raise TargetError(
                f"{self.name}: public key authentication refused "
                "(hint: put your key in the user's authorized_keys; passwords are never used)"
            ) from None
        except asyncssh.Error as exc:
            raise TargetError(f"{self.name}: SSH error: {exc.reason}") from None
        except (TimeoutError, OSError) as exc:
            reason = str(exc) or f"no answer within {self.connect_timeout:g} s"
            raise TargetError(f"{self.name}: cannot connect: {reason}") from None
        return self._conn

    async def _run(self, argv: Sequence[str], timeout: float, input: str | None) -> Result:
        conn = await self._connect()
        command = self.quote(["sudo", "-n", "--", *argv] if self.sudo else argv)
        started = time.monotonic()
        try:
            proc = await asyncio.wait_for(
                conn.run(command, input=input, check=False), timeout=timeout
            )
        except TimeoutError:
            raise TargetError(f"{self.name}: timed out after {timeout:g} s: {command}") from None
        except asyncssh.Error as exc:
            self._conn = None
            raise TargetError(f"{self.name}: {exc.reason}: {command}") from None
        rc = proc.exit_status if proc.exit_status is not None else 255
        return Result(
            tuple(argv),
            rc,
            _text(proc.stdout),
            _text(proc.stderr),
            time.monotonic() - started,
        )

    def run(self, argv: Sequence[str], *, timeout: float, input: str | None = None) -> Result:
        # the connection gets its own budget on the first call; each command gets `timeout`
        budget = timeout + (self.connect_timeout if self._conn is None else 0.0) + 1.0
        result: Result = self._call(self._run(argv, timeout, input), budget, self.quote(argv))
        return result

    def close(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        conn, self._conn = self._conn, None

        async def _close() -> None:
            if conn is not None:
                conn.close()
                await conn.wait_closed()

        with contextlib.suppress(TimeoutError, OSError, asyncssh.Error):
            asyncio.run_coroutine_threadsafe(_close(), loop).result(5.0)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5.0)
        loop.close()


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data

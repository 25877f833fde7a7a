"""Open-loop HTTPS load: new TLS connections at a steady rate, one JSON line per request.

Runs inside the lab's client host (`python -m hcplb.bench.loadgen ...`). Every request is a
new TCP connection and a verified TLS handshake (the CA file, the API name as SNI and for
hostname checking), `GET <path>` with `Connection: close`; the serving node comes from the
`X-Hcplb-Node` response header. The name is resolved once at start, as a client with a DNS
cache would; DNS is not what is measured.

`--hold S` makes every connection long-lived: after the first answer it stays open (HTTP
keep-alive) for S seconds and asks again; the outcome is the second answer's, the node the
first one's. A connection the router moves to another node mid-way is reset there.

Open loop: request `i` starts at `start + i / rate` whatever happened to the earlier ones, so
a blackholed node cannot slow the load down (a closed loop would hide failures). Each line:
`{"seq", "t", "elapsed", "outcome", "node", "error"}`, `t` the start as Unix time (shared by
every namespace of the machine), `outcome` one of OUTCOMES. The run ends after `--duration`
seconds or as soon as `--stop-file` exists, then waits for the requests still in flight.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import os
import socket
import ssl
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

__all__ = ["OUTCOMES", "LoadConfig", "Record", "main", "read_records", "run_load"]

OUTCOMES = (
    "ok",  # 2xx answer
    "http-error",  # an answer, not 2xx
    "connect-timeout",  # no SYN-ACK in time: blackholed
    "refused",  # RST to the SYN
    "unreachable",  # ICMP unreachable or no route
    "tls-error",  # handshake failed: certificate, name, protocol
    "reset",  # connection reset or closed after it was established
    "timeout",  # established, but no complete answer in time
    "error",  # anything else
)


@dataclass(frozen=True)
class LoadConfig:
    name: str
    port: int
    ca_file: str
    rate: float
    out: str
    address: str | None = None
    duration: float | None = None
    stop_file: str | None = None
    timeout: float = 1.0
    path: str = "/readyz"
    max_in_flight: int = 2000
    hold: float = 0.0


@dataclass(frozen=True)
class Record:
    seq: int
    t: float
    elapsed: float
    outcome: str
    node: str | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def _classify(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return "tls-error"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError | BrokenPipeError | asyncio.IncompleteReadError):
        return "reset"
    if isinstance(exc, OSError) and exc.errno is not None:
        if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return "unreachable"
        if exc.errno == errno.ECONNREFUSED:
            return "refused"
        if exc.errno in (errno.ECONNRESET, errno.EPIPE):
            return "reset"
    return "error"


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        key, sep, value = line.partition(":")
        if sep:
            headers[key.strip().lower()] = value.strip()
    return status, headers


async def _ask(
    cfg: LoadConfig, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, last: bool
) -> tuple[int, dict[str, str]]:
    """One GET on an open connection: its status and headers (body read and dropped)."""
    close = "Connection: close\r\n" if last else ""
    request = (
        f"GET {cfg.path} HTTP/1.1\r\nHost: {cfg.name}:{cfg.port}\r\n"
        f"User-Agent: hcplb-loadgen\r\nAccept: */*\r\n{close}\r\n"
    )
    writer.write(request.encode("ascii"))
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status, headers = _parse_head(head)
    length = int(headers.get("content-length", "0") or 0)
    if length:
        await reader.readexactly(length)
    return status, headers


async def _one(cfg: LoadConfig, ctx: ssl.SSLContext, address: str, seq: int) -> Record:
    started_wall = time.time()
    started = time.monotonic()
    node: str | None = None  # the node that answered first: where the connection lives

    def done(outcome: str, at: str | None = None, error: str | None = None) -> Record:
        elapsed = round(time.monotonic() - started, 6)
        return Record(seq, started_wall, elapsed, outcome, at or node, error)

    writer: asyncio.StreamWriter | None = None
    try:
        try:
            async with asyncio.timeout(cfg.timeout):
                reader, writer = await asyncio.open_connection(address, cfg.port)
        except TimeoutError:
            return done("connect-timeout")
        deadline = started + cfg.timeout * 2
        async with asyncio.timeout(max(0.05, deadline - time.monotonic())):
            await writer.start_tls(ctx, server_hostname=cfg.name)
            status, headers = await _ask(cfg, reader, writer, last=cfg.hold <= 0)
        node = headers.get("x-hcplb-node")
        if cfg.hold > 0 and 200 <= status < 300:
            await asyncio.sleep(cfg.hold)
            async with asyncio.timeout(cfg.timeout):
                status, headers = await _ask(cfg, reader, writer, last=True)
        if 200 <= status < 300:
            return done("ok", headers.get("x-hcplb-node"))
        return done("http-error", headers.get("x-hcplb-node"), f"HTTP {status}")
    except TimeoutError:
        return done("timeout")
    except asyncio.LimitOverrunError as exc:
        return done("error", None, f"bad answer: {exc}")
    except (OSError, ssl.SSLError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
        return done(_classify(exc), None, f"{type(exc).__name__}: {exc}"[:200])
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(0.2):
                    await writer.wait_closed()


def resolve(name: str, port: int) -> str:
    """The first address of `name` (A or AAAA: a hosted cluster's VIP is of one family) from
    the host's resolver."""
    infos = socket.getaddrinfo(name, port, socket.AF_UNSPEC, socket.SOCK_STREAM)
    if not infos:
        raise OSError(f"{name} has no address")
    return str(infos[0][4][0])


def _context(ca_file: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=ca_file)
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def _should_stop(cfg: LoadConfig, began: float) -> bool:
    if cfg.duration is not None and time.monotonic() - began >= cfg.duration:
        return True
    return cfg.stop_file is not None and os.path.exists(cfg.stop_file)


async def run_load(cfg: LoadConfig, sink: TextIO) -> int:
    """Run the load described by `cfg`, writing one JSON line per request to `sink`."""
    address = cfg.address or resolve(cfg.name, cfg.port)
    ctx = _context(cfg.ca_file)
    in_flight: set[asyncio.Task[Record]] = set()
    gate = asyncio.Semaphore(cfg.max_in_flight)
    count = 0

    def written(task: asyncio.Task[Record]) -> None:
        in_flight.discard(task)
        gate.release()
        problem = "cancelled" if task.cancelled() else repr(task.exception())
        if problem != "None":
            # _one records every failure it knows; a bug is recorded too, and the load goes on
            record = Record(-1, time.time(), 0.0, "error", None, problem[:200])
        else:
            record = task.result()
        sink.write(json.dumps(asdict(record), separators=(",", ":")) + "\n")

    began = time.monotonic()
    interval = 1.0 / cfg.rate
    last_flush = began
    while not _should_stop(cfg, began):
        due = began + count * interval
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await gate.acquire()
        task = asyncio.create_task(_one(cfg, ctx, address, count))
        in_flight.add(task)
        task.add_done_callback(written)
        count += 1
        if time.monotonic() - last_flush > 0.2:
            sink.flush()
            last_flush = time.monotonic()
    if in_flight:
        await asyncio.wait(set(in_flight))
    sink.flush()
    return count


def read_records(path: str | Path) -> list[Record]:
    """The records of a loadgen output file, ordered by start time (a torn last line is skipped)."""
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            continue
        records.append(Record(**data))
    records.sort(key=lambda r: (r.t, r.seq))
    return records


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m hcplb.bench.loadgen", description=__doc__)
    p.add_argument("--name", required=True, help="API name: SNI, Host header, certificate check")
    p.add_argument("--address", help="connect here instead of resolving --name")
    p.add_argument("--port", type=int, default=6443)
    p.add_argument("--ca", required=True, dest="ca_file", help="CA bundle to verify against")
    p.add_argument("--rate", type=float, default=200.0, help="new connections per second")
    p.add_argument("--duration", type=float, help="seconds to run")
    p.add_argument("--stop-file", help="stop as soon as this file exists")
    p.add_argument("--timeout", type=float, default=1.0, help="connect timeout, s")
    p.add_argument("--path", default="/readyz")
    p.add_argument(
        "--hold", type=float, default=0.0, help="keep each connection open S s, then ask again"
    )
    p.add_argument("--out", required=True, help="JSON lines file ('-' for stdout)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.duration is None and args.stop_file is None:
        print("loadgen: give --duration or --stop-file", file=sys.stderr)
        return 2
    if args.rate <= 0:
        print("loadgen: --rate must be positive", file=sys.stderr)
        return 2
    cfg = LoadConfig(**{k: v for k, v in vars(args).items()})
    try:
        if cfg.out == "-":
            count = asyncio.run(run_load(cfg, sys.stdout))
        else:
            with open(cfg.out, "w", encoding="utf-8") as sink:
                count = asyncio.run(run_load(cfg, sink))
    except OSError as exc:
        print(f"loadgen: {exc}", file=sys.stderr)
        return 1
    print(f"loadgen: {count} requests", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

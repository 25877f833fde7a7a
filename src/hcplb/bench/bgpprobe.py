"""An intruder's BGP attempt: open TCP 179 to a router, send OPEN, report what came back.

Runs inside the intruder's namespace (`python -m hcplb.bench.bgpprobe --router IP --asn N`)
and prints one JSON object: `tcp` (connected | timeout | refused | unreachable | error),
`answer` (open | keepalive | notification | closed | none), `established` (the router
answered OPEN and KEEPALIVE: it would peer with us) and the notification code when one came.
The probe never announces anything; it says goodbye with a Cease NOTIFICATION.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import json
import socket
import struct
import sys
import time
from collections.abc import Sequence
from typing import Any

__all__ = ["main", "open_message", "probe"]

MARKER = b"\xff" * 16
OPEN, UPDATE, NOTIFICATION, KEEPALIVE = 1, 2, 3, 4
AS_TRANS = 23456
_TYPES = {OPEN: "open", UPDATE: "update", NOTIFICATION: "notification", KEEPALIVE: "keepalive"}


def _message(kind: int, body: bytes = b"") -> bytes:
    return MARKER + struct.pack("!HB", 19 + len(body), kind) + body


def open_message(asn: int, router_id: str, hold: int = 90) -> bytes:
    """A BGP OPEN with the IPv4-unicast and 4-octet-AS capabilities (RFC 4271, 4760, 6793)."""
    caps = bytes([1, 4, 0, 1, 0, 1]) + bytes([65, 4]) + struct.pack("!I", asn)
    params = bytes([2, len(caps)]) + caps
    two_octet = asn if asn <= 0xFFFF else AS_TRANS
    body = struct.pack(
        "!BHH4sB", 4, two_octet, hold, ipaddress.IPv4Address(router_id).packed, len(params)
    )
    return _message(OPEN, body + params)


def _read_message(sock: socket.socket, deadline: float) -> tuple[int, bytes] | None:
    """One message (type, body); None when the peer closed the connection."""
    data = b""
    while len(data) < 19:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(19 - len(data))
        if not chunk:
            return None
        data += chunk
    length, kind = struct.unpack("!HB", data[16:19])
    body = b""
    while len(body) < length - 19:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(length - 19 - len(body))
        if not chunk:
            return None
        body += chunk
    return kind, body


def probe(
    router: str, asn: int, router_id: str, *, timeout: float = 3.0, port: int = 179
) -> dict[str, Any]:
    """Try to peer with `router`; what happened, as a JSON-ready dict."""
    result: dict[str, Any] = {"router": router, "port": port, "asn": asn, "tcp": "error",
                              "answer": "none", "established": False}  # fmt: skip
    started = time.monotonic()
    try:
        sock = socket.create_connection((router, port), timeout=timeout)
    except TimeoutError:
        result["tcp"] = "timeout"
        return result
    except OSError as exc:
        result["tcp"] = {
            errno.ECONNREFUSED: "refused",
            errno.EHOSTUNREACH: "unreachable",
            errno.ENETUNREACH: "unreachable",
        }.get(exc.errno or 0, "error")
        result["detail"] = str(exc)
        return result
    result["tcp"] = "connected"
    deadline = started + timeout * 2
    with sock:
        try:
            sock.sendall(open_message(asn, router_id))
            first = _read_message(sock, deadline)
            if first is None:
                result["answer"] = "closed"
                return result
            kind, body = first
            result["answer"] = _TYPES.get(kind, str(kind))
            if kind == NOTIFICATION and len(body) >= 2:
                result["notification"] = {"code": body[0], "subcode": body[1]}
            if kind != OPEN:
                return result
            sock.sendall(_message(KEEPALIVE))
            second = _read_message(sock, deadline)
            if second is not None and second[0] == KEEPALIVE:
                result["established"] = True
            elif second is not None and second[0] == NOTIFICATION and len(second[1]) >= 2:
                result["notification"] = {"code": second[1][0], "subcode": second[1][1]}
            sock.sendall(_message(NOTIFICATION, bytes([6, 2])))  # Cease / administrative shutdown
        except TimeoutError:
            result["detail"] = "no answer in time"
        except OSError as exc:
            result["detail"] = str(exc)
            if result["answer"] == "none":
                result["answer"] = "closed"
    return result


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hcplb.bench.bgpprobe", description=__doc__)
    p.add_argument("--router", required=True)
    p.add_argument("--asn", type=int, required=True)
    p.add_argument("--router-id", required=True)
    p.add_argument("--timeout", type=float, default=3.0)
    p.add_argument("--port", type=int, default=179)
    args = p.parse_args(argv)
    report = probe(args.router, args.asn, args.router_id, timeout=args.timeout, port=args.port)
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

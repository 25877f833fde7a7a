"""The intruder's BGP probe against tiny speakers on 127.0.0.1 (the lab tests use real FRR)."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable, Iterator

import pytest

from hcplb.bench.bgpprobe import KEEPALIVE, MARKER, NOTIFICATION, OPEN, open_message, probe


def _msg(kind: int, body: bytes = b"") -> bytes:
    return MARKER + struct.pack("!HB", 19 + len(body), kind) + body


def _serve(behaviour: Callable[[socket.socket], None]) -> Iterator[int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def loop() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(4096)
            behaviour(conn)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    listener.close()
    thread.join(timeout=2)


@pytest.fixture
def peering_speaker() -> Iterator[int]:
    def behaviour(conn: socket.socket) -> None:
        conn.sendall(_msg(OPEN, open_message(64512, "10.0.0.1")[19:]))
        conn.recv(4096)
        conn.sendall(_msg(KEEPALIVE))
        conn.recv(4096)

    yield from _serve(behaviour)


@pytest.fixture
def closing_speaker() -> Iterator[int]:
    yield from _serve(lambda conn: None)


@pytest.fixture
def refusing_speaker() -> Iterator[int]:
    def behaviour(conn: socket.socket) -> None:
        conn.sendall(_msg(NOTIFICATION, bytes([2, 2])))  # OPEN error / bad peer AS

    yield from _serve(behaviour)


def test_open_message_layout() -> None:
    msg = open_message(4200000001, "192.168.125.99")
    assert msg[:16] == MARKER
    length, kind = struct.unpack("!HB", msg[16:19])
    assert (length, kind) == (len(msg), OPEN)
    version, my_as, hold = struct.unpack("!BHH", msg[19:24])
    assert (version, my_as, hold) == (4, 23456, 90)  # AS_TRANS for a 4-octet ASN
    assert socket.inet_ntoa(msg[24:28]) == "192.168.125.99"
    assert struct.pack("!I", 4200000001) in msg


def test_a_router_that_peers_is_established(peering_speaker: int) -> None:
    result = probe("127.0.0.1", 64513, "10.0.0.2", port=peering_speaker, timeout=2)
    assert result["tcp"] == "connected"
    assert result["answer"] == "open"
    assert result["established"] is True


def test_a_router_that_closes_or_notifies_refuses(closing_speaker: int) -> None:
    result = probe("127.0.0.1", 64513, "10.0.0.2", port=closing_speaker, timeout=2)
    assert (result["tcp"], result["answer"], result["established"]) == (
        "connected",
        "closed",
        False,
    )


def test_notification_code_is_reported(refusing_speaker: int) -> None:
    result = probe("127.0.0.1", 64513, "10.0.0.2", port=refusing_speaker, timeout=2)
    assert result["answer"] == "notification"
    assert result["notification"] == {"code": 2, "subcode": 2}
    assert result["established"] is False


def test_closed_port_is_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    result = probe("127.0.0.1", 64513, "10.0.0.2", port=port, timeout=1)
    assert result["tcp"] == "refused"
    assert result["answer"] == "none"

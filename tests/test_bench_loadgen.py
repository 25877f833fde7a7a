"""The load generator against a real TLS server on 127.0.0.1 with a throwaway CA."""

from __future__ import annotations

import asyncio
import datetime
import http.server
import io
import ipaddress
import json
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hcplb.bench.loadgen import LoadConfig, read_records, run_load
from hcplb.bench.stats import failure_windows, served_by, summarize

NAME = "api.bench.test"


@dataclass(frozen=True)
class Pki:
    ca_file: Path
    cert_file: Path
    key_file: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_pki(tmp: Path, *, names: tuple[str, ...] = (NAME,)) -> Pki:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("throwaway CA"))
        .issuer_name(_name("throwaway CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    sans.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(tmp / "ca.pem", tmp / "cert.pem", tmp / "key.pem")
    pki.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pki


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        good = self.path in ("/readyz", "/drop")
        body = b"ok" if good else b"no"
        self.send_response(200 if good else 503)
        self.send_header("X-Hcplb-Node", "node-a")
        self.send_header("Content-Length", str(len(body)))
        if self.headers.get("Connection", "").lower() == "close" or self.path == "/once":
            self.send_header("Connection", "close")
            self.close_connection = True
        if self.path == "/drop":  # keep-alive promised, then the connection is gone
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    # The default listen backlog (5) drops SYNs at 100 new connections/s on a busy machine; a
    # dropped SYN is retried after 1 s, which the load generator reports as a connect timeout.
    request_queue_size = 4096


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[Pki, int]]:
    pki = make_pki(tmp_path)
    server = _Server(("127.0.0.1", 0), _Handler)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(pki.cert_file, pki.key_file)
    # The handshake happens in each request's thread, not in the accept loop: a slow handshake
    # on a loaded machine must not hold up the connections queued behind it.
    server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield pki, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(cfg: LoadConfig) -> list[dict[str, object]]:
    sink = io.StringIO()
    asyncio.run(run_load(cfg, sink))
    return [json.loads(line) for line in sink.getvalue().splitlines()]


def test_steady_rate_verified_tls_and_serving_node(tls_server: tuple[Pki, int]) -> None:
    pki, port = tls_server
    cfg = LoadConfig(
        name=NAME, address="127.0.0.1", port=port, ca_file=str(pki.ca_file), rate=100,
        duration=1.0, out="-",
    )  # fmt: skip
    rows = _run(cfg)
    # A starved machine starts fewer requests in the second, never more than the schedule allows.
    assert 1 <= len(rows) <= 101
    assert {r["outcome"] for r in rows} == {"ok"}
    assert {r["node"] for r in rows} == {"node-a"}
    assert sorted(int(str(r["seq"])) for r in rows) == list(range(len(rows)))
    # open loop: request i never starts before its slot (i / rate after the first), so the
    # starts are spread over the second, not bunched, whatever the machine's load
    by_seq = sorted(rows, key=lambda r: int(str(r["seq"])))
    first = float(str(by_seq[0]["t"]))
    for row in by_seq:
        slot = int(str(row["seq"])) / cfg.rate
        assert float(str(row["t"])) - first >= slot - 0.005, row


def test_held_connections_ask_twice_and_a_lost_one_names_its_node(
    tls_server: tuple[Pki, int],
) -> None:
    pki, port = tls_server
    cfg = LoadConfig(
        name=NAME, address="127.0.0.1", port=port, ca_file=str(pki.ca_file), rate=20,
        duration=0.3, out="-", hold=0.3, timeout=5.0,
    )  # fmt: skip
    rows = _run(cfg)
    assert rows and {r["outcome"] for r in rows} == {"ok"}
    assert all(float(str(r["elapsed"])) >= 0.3 for r in rows)
    # the server closes after the first answer (a 503 on /once: not asked again) ...
    closing = LoadConfig(
        name=NAME, address="127.0.0.1", port=port, ca_file=str(pki.ca_file), rate=20,
        duration=0.2, out="-", hold=0.2, timeout=5.0, path="/once",
    )  # fmt: skip
    assert {r["outcome"] for r in _run(closing)} == {"http-error"}
    # ... or drops a held connection (as a node does with a flow the router moved to it)
    dropped = LoadConfig(
        name=NAME, address="127.0.0.1", port=port, ca_file=str(pki.ca_file), rate=20,
        duration=0.2, out="-", hold=0.2, timeout=5.0, path="/drop",
    )  # fmt: skip
    rows = _run(dropped)
    assert {(r["outcome"], r["node"]) for r in rows} == {("reset", "node-a")}, rows


def test_wrong_name_is_a_tls_error(tls_server: tuple[Pki, int]) -> None:
    pki, port = tls_server
    cfg = LoadConfig(
        name="api.other.test", address="127.0.0.1", port=port, ca_file=str(pki.ca_file),
        rate=20, duration=0.2, out="-",
    )  # fmt: skip
    rows = _run(cfg)
    assert rows and {r["outcome"] for r in rows} == {"tls-error"}
    assert "certificate" in str(rows[0]["error"]).lower()


def test_untrusted_ca_is_a_tls_error(tls_server: tuple[Pki, int], tmp_path: Path) -> None:
    _, port = tls_server
    (tmp_path / "other").mkdir()
    other = make_pki(tmp_path / "other")
    cfg = LoadConfig(
        name=NAME, address="127.0.0.1", port=port, ca_file=str(other.ca_file), rate=20,
        duration=0.2, out="-",
    )  # fmt: skip
    assert {r["outcome"] for r in _run(cfg)} == {"tls-error"}


def test_closed_port_is_refused_and_http_errors_are_failures(
    tls_server: tuple[Pki, int],
) -> None:
    pki, port = tls_server
    refused = LoadConfig(
        name=NAME, address="127.0.0.1", port=_free_port(), ca_file=str(pki.ca_file), rate=20,
        duration=0.2, out="-",
    )  # fmt: skip
    assert {r["outcome"] for r in _run(refused)} == {"refused"}
    not_ready = LoadConfig(
        name=NAME, address="127.0.0.1", port=port, ca_file=str(pki.ca_file), rate=20,
        duration=0.2, out="-", path="/nope",
    )  # fmt: skip
    rows = _run(not_ready)
    assert {r["outcome"] for r in rows} == {"http-error"}
    assert rows[0]["error"] == "HTTP 503"


def test_silent_server_is_a_timeout(tls_server: tuple[Pki, int]) -> None:
    pki, _ = tls_server
    # A listener that never accepts: the handshake never completes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(100)
        cfg = LoadConfig(
            name=NAME, address="127.0.0.1", port=silent.getsockname()[1],
            ca_file=str(pki.ca_file), rate=20, duration=0.1, out="-", timeout=0.3,
        )  # fmt: skip
        rows = _run(cfg)
    assert rows and {r["outcome"] for r in rows} == {"timeout"}
    assert all(0.3 <= float(str(r["elapsed"])) < 1.0 for r in rows)


def test_module_entry_point_with_stop_file(tls_server: tuple[Pki, int], tmp_path: Path) -> None:
    pki, port = tls_server
    out, stop = tmp_path / "load.jsonl", tmp_path / "stop"
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "hcplb.bench.loadgen", "--name", NAME, "--address",
            "127.0.0.1", "--port", str(port), "--ca", str(pki.ca_file), "--rate", "50",
            "--stop-file", str(stop), "--out", str(out),
        ],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = 10.0
        started = time.monotonic()
        while time.monotonic() - started < deadline:
            if out.exists() and out.read_text().count("\n") >= 20:
                break
            time.sleep(0.05)
        stop.touch()
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    records = read_records(out)
    assert len(records) >= 20
    assert served_by(records) == {"node-a": len(records)}
    assert failure_windows(records, gap=0.1) == []


def test_summaries_and_failure_windows() -> None:
    from hcplb.bench.loadgen import Record

    assert summarize([3.0, None, 1.0, 2.0]).as_dict() == {
        "min": 1.0, "median": 2.0, "max": 3.0, "n": 3,
    }  # fmt: skip
    assert summarize([]).median is None
    assert summarize([5.0], bounded=True).as_dict()["bounded"] is True
    recs = [Record(i, t, 0.0, o, None) for i, (t, o) in enumerate(
        [(0.0, "ok"), (1.0, "connect-timeout"), (1.01, "ok"), (1.2, "refused"),
         (1.3, "ok"), (5.0, "reset"), (6.0, "ok")]
    )]  # fmt: skip
    windows = failure_windows(recs, gap=0.25)
    assert [(w.start, w.end, w.failed) for w in windows] == [(1.0, 1.2, 2), (5.0, 5.0, 1)]
    assert windows[0].length == pytest.approx(0.2)

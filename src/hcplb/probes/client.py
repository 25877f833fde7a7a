"""Probes that leave from a client: DNS questions and API connections (stdlib + dnspython).

The same code runs in-process (live sites) or inside the lab's client host as
`python -m hcplb.probes.client` (tasks as JSON on stdin, results as JSON on stdout), so no
probe packet of a lab run leaves from the machine's own namespace. Every network operation
has its own timeout; tasks run concurrently. Results are plain JSON-able dicts that
`hcplb.probes.dns` and `hcplb.probes.api` interpret.
"""

from __future__ import annotations

import json
import socket
import ssl
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["dns_query", "http_get", "run_tasks", "spread", "tls_attempts", "tls_check"]

Task = Mapping[str, Any]
_MAX_BODY = 2048


def _exchange(wire: bytes, resolver: str, timeout: float, *, tcp: bool) -> bytes:
    """One DNS message over UDP or TCP (2-byte length prefix), within `timeout`."""
    family = socket.AF_INET6 if ":" in resolver else socket.AF_INET
    kind = socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM
    with socket.socket(family, kind) as sock:
        sock.settimeout(timeout)
        sock.connect((resolver, 53))
        if not tcp:
            sock.send(wire)
            return sock.recv(65535)
        sock.sendall(len(wire).to_bytes(2, "big") + wire)
        data = b""
        while len(data) < 2 or len(data) < 2 + int.from_bytes(data[:2], "big"):
            chunk = sock.recv(65535)
            if not chunk:
                break
            data += chunk
        return data[2:]


def dns_query(resolver: str, name: str, timeout: float, rdtype: str = "A") -> dict[str, Any]:
    """The A (or AAAA) records of `name` at `resolver`: rcode, addresses (UDP, TCP when
    truncated).

    dnspython builds and parses the messages; the sockets are ours, because `dns.query`
    imports an HTTP stack (DNS over HTTPS) that costs more than the question itself.
    """
    import dns.exception
    import dns.flags
    import dns.message
    import dns.rcode
    import dns.rdatatype

    wanted = dns.rdatatype.AAAA if rdtype == "AAAA" else dns.rdatatype.A
    query = dns.message.make_query(name, wanted)
    started = time.monotonic()
    try:
        answer = dns.message.from_wire(_exchange(query.to_wire(), resolver, timeout, tcp=False))
        if answer.flags & dns.flags.TC:
            left = max(0.1, timeout - (time.monotonic() - started))
            answer = dns.message.from_wire(_exchange(query.to_wire(), resolver, left, tcp=True))
    except TimeoutError:
        return {"status": "timeout", "addresses": [], "error": f"no answer in {timeout:g} s"}
    except (OSError, dns.exception.DNSException) as exc:
        return {"status": "error", "addresses": [], "error": str(exc) or type(exc).__name__}
    addresses = sorted(
        {str(r.address) for rrset in answer.answer if rrset.rdtype == wanted for r in rrset}
    )
    return {
        "status": dns.rcode.to_text(answer.rcode()),
        "addresses": addresses,
        "error": "",
        "ms": round((time.monotonic() - started) * 1000, 1),
    }


def _context(ca_pem: str | None) -> ssl.SSLContext:
    if ca_pem is None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    ctx = ssl.create_default_context(cadata=ca_pem)
    ctx.check_hostname = False  # names are checked separately, to tell the two failures apart
    return ctx


def _cert_names(der: bytes | None) -> dict[str, Any]:
    if not der:
        return {"dns": [], "ip": [], "subject": ""}
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = san.get_values_for_type(x509.DNSName)
        ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        dns_names, ips = [], []
    return {"dns": sorted(dns_names), "ip": sorted(ips), "subject": cert.subject.rfc4514_string()}


def http_get(tls: ssl.SSLSocket, host: str, path: str) -> dict[str, Any]:
    """One HTTP/1.1 GET over an established TLS socket: status, node header, body start."""
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    tls.sendall(request.encode())
    data = b""
    length: int | None = None
    while True:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            if length is None:
                length = _content_length(data[:head_end]) or _MAX_BODY
            if len(data) - head_end - 4 >= min(length, _MAX_BODY):
                break
        chunk = tls.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    parts = lines[0].split(" ", 2) if lines and lines[0] else []
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    headers = {}
    for line in lines[1:]:
        key, sep, value = line.partition(":")
        if sep:
            headers[key.strip().lower()] = value.strip()
    return {
        "path": path,
        "status": status,
        "node": headers.get("x-hcplb-node", ""),
        "body": body[:_MAX_BODY].decode(errors="replace"),
        "error": "" if status else "no HTTP answer",
    }


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-length" and value.strip().isdigit():
            return int(value.strip())
    return None


def _connect(address: str, port: int, timeout: float) -> tuple[socket.socket | None, str]:
    try:
        return socket.create_connection((address, port), timeout=timeout), ""
    except TimeoutError:
        return None, f"connect timed out after {timeout:g} s"
    except OSError as exc:
        return None, exc.strerror or str(exc)


def tls_check(
    address: str,
    port: int,
    server_name: str,
    ca_pem: str | None,
    paths: Sequence[str],
    timeout: float,
) -> dict[str, Any]:
    """TCP connect, TLS handshake (chain verified against `ca_pem`), certificate names, GET."""
    result: dict[str, Any] = {"tcp": {}, "tls": {}, "cert": {}, "http": []}
    sock, error = _connect(address, port, timeout)
    result["tcp"] = {"ok": sock is not None, "error": error}
    if sock is None:
        return result
    try:
        tls = _context(ca_pem).wrap_socket(sock, server_hostname=server_name)
    except ssl.SSLCertVerificationError as exc:
        sock.close()
        result["tls"] = {"ok": False, "verified": False, "error": exc.verify_message or str(exc)}
        # the names are still worth showing: fetch the certificate without verification
        again, _ = _connect(address, port, timeout)
        if again is not None:
            try:
                with _context(None).wrap_socket(again, server_hostname=server_name) as plain:
                    result["cert"] = _cert_names(plain.getpeercert(binary_form=True))
            except (OSError, ssl.SSLError):
                again.close()
        return result
    except (OSError, ssl.SSLError) as exc:
        sock.close()
        result["tls"] = {"ok": False, "verified": None, "error": str(exc) or type(exc).__name__}
        return result
    with tls:
        result["tls"] = {
            "ok": True,
            "verified": ca_pem is not None,
            "error": "",
            "version": tls.version() or "",
        }
        result["cert"] = _cert_names(tls.getpeercert(binary_form=True))
        try:
            result["http"].append(http_get(tls, server_name, paths[0]))
        except (OSError, ssl.SSLError) as exc:
            result["http"].append({"path": paths[0], "status": 0, "error": str(exc) or "closed"})
    first = result["http"][0]
    if first["status"] in (401, 403) and len(paths) > 1:
        result["http"] += [
            _get_once(address, port, server_name, ca_pem, p, timeout) for p in paths[1:]
        ]
    return result


def _get_once(
    address: str, port: int, server_name: str, ca_pem: str | None, path: str, timeout: float
) -> dict[str, Any]:
    sock, error = _connect(address, port, timeout)
    if sock is None:
        return {"path": path, "status": 0, "node": "", "error": error}
    try:
        with _context(ca_pem).wrap_socket(sock, server_hostname=server_name) as tls:
            return http_get(tls, server_name, path)
    except (OSError, ssl.SSLError) as exc:
        sock.close()
        return {"path": path, "status": 0, "node": "", "error": str(exc) or type(exc).__name__}


def spread(
    address: str,
    port: int,
    server_name: str,
    ca_pem: str | None,
    count: int,
    timeout: float,
    path: str = "/readyz",
) -> dict[str, Any]:
    """`count` new connections: how many each node served (X-Hcplb-Node), and the errors.

    After the first timed-out connection, or twice `timeout`, no new connection is made: a
    dead VIP costs one timeout, not one per connection.
    """
    deadline = time.monotonic() + 2 * timeout
    silent = threading.Event()

    def once(_: int) -> dict[str, Any]:
        if time.monotonic() > deadline or silent.is_set():
            return {"path": path, "status": 0, "node": "", "error": "not tried (time budget)"}
        answer = _get_once(address, port, server_name, ca_pem, path, timeout)
        if "timed out" in str(answer.get("error", "")):
            silent.set()  # the VIP does not answer: stop opening connections to it
        return answer

    with ThreadPoolExecutor(max_workers=min(16, count)) as pool:
        answers = list(pool.map(once, range(count)))
    nodes = Counter(a["node"] for a in answers if a["status"] and a["node"])
    errors = sorted(
        (a["error"] for a in answers if not a["status"]), key=lambda e: "not tried" in e
    )
    return {
        "count": count,
        "nodes": dict(nodes),
        "errors": len(errors),
        "error": errors[0] if errors else "",
    }


def tls_attempts(
    address: str,
    port: int,
    server_name: str,
    ca_pem: str | None,
    paths: Sequence[str],
    timeout: float,
    attempts: int,
) -> dict[str, Any]:
    """`tls_check` until one attempt gets an HTTP answer (ECMP may land on a broken node)."""
    first: dict[str, Any] | None = None
    deadline = time.monotonic() + 2 * timeout  # retries never cost more than twice the timeout
    tried = 0
    for tried in range(1, max(1, attempts) + 1):
        result = tls_check(address, port, server_name, ca_pem, paths, timeout)
        ok = any(h.get("status") for h in result["http"])
        first = first or result
        if ok:
            return {**result, "attempts": tried, "failed": tried - 1}
        if result["tls"] and result["tls"].get("verified") is False:
            break  # an untrusted certificate does not get better by retrying
        if time.monotonic() > deadline or "timed out" in str(result["tcp"].get("error", "")):
            break  # a silent VIP stays silent: one timeout is the whole cost
    assert first is not None
    return {**first, "attempts": tried, "failed": tried}


def _run_one(task: Task) -> dict[str, Any]:
    kind = task["kind"]
    timeout = float(task.get("timeout", 3.0))
    if kind == "dns":
        return dns_query(task["resolver"], task["name"], timeout, str(task.get("type", "A")))
    if kind == "tls":
        return tls_attempts(
            task["address"],
            int(task["port"]),
            task["server_name"],
            task.get("ca_pem"),
            task.get("paths") or ["/readyz"],
            timeout,
            int(task.get("attempts", 1)),
        )
    if kind == "spread":
        return spread(
            task["address"],
            int(task["port"]),
            task["server_name"],
            task.get("ca_pem"),
            int(task["count"]),
            timeout,
        )
    raise ValueError(f"unknown task kind {kind!r}")


def run_tasks(tasks: Sequence[Task]) -> dict[str, dict[str, Any]]:
    """Run every task concurrently; results by task id (an unexpected error is a result too)."""

    def one(task: Task) -> tuple[str, dict[str, Any]]:
        try:
            return task["id"], _run_one(task)
        except Exception as exc:  # a bug here must not hide the other results
            return task["id"], {"crash": f"{type(exc).__name__}: {exc}"}

    if not tasks:
        return {}
    with ThreadPoolExecutor(max_workers=min(32, len(tasks))) as pool:
        return dict(pool.map(one, tasks))


def main() -> int:
    tasks = json.load(sys.stdin)["tasks"]
    json.dump({"results": run_tasks(tasks)}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())

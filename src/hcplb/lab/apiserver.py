"""The lab's kube-apiserver stand-in: HTTPS on every VIP of every node, one process per lab.

    python -m hcplb.lab.apiserver CONFIG.json      (or run this file directly)

CONFIG: {"generation": 1, "stopped": ["master-2"], "listeners": [{"node": "master-0",
"netns": "/run/netns/hcplb-seed.master-0", "address": "10.0.2.20" (or IPv6), "port": 6443,
"cert": "...pem", "key": "...key", "cluster": "hosted"}]}. Each listening socket is created
inside its node's network namespace (the main thread enters it with setns(2) for the
socket() call and returns), so one process serves every node: one interpreter and one TLS
context per certificate instead of one interpreter per node and a context per listener.

SIGHUP re-reads CONFIG: listeners no longer listed, or of a node in `stopped`, are closed
(their clients get a refused connection, as from a node whose API server is down), new ones
opened with freshly read certificates, the rest left untouched; then `<CONFIG>.applied` gets
the generation, so the lab knows when a change took effect. A node's `stopped` listeners come
back with the certificate files as they are then.

Answers `/version` (the kube-apiserver JSON shape), `/readyz`, `/livez` and `/healthz`; every
response carries `X-Hcplb-Node: <node>` and `X-Hcplb-Cluster`. One thread accepts on all
listeners; each connection gets a thread (the TLS handshake happens there, never in the
accept loop). Standard library only: it runs as a plain script in lab hosts.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import selectors
import signal
import socket
import socketserver
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Standard library only (this file runs as a script in lab hosts), so not from hcplb.settings.
HANDSHAKE_TIMEOUT = 10.0
CLONE_NEWNET = 0x40000000

VERSION = {
    "major": "1",
    "minor": "29",
    "gitVersion": "v1.29.10+hcplb-lab",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.21.13",
    "compiler": "gc",
    "platform": "linux/amd64",
}

Key = tuple[str, str, str, int, str, str, str]
"""(node, netns, address, port, cert, key, cluster): a listener is replaced when any differs"""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Listener

    def setup(self) -> None:
        self.request.settimeout(HANDSHAKE_TIMEOUT)
        self.request.do_handshake()
        super().setup()

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/version":
            self._send(200, "application/json", json.dumps(VERSION, indent=2) + "\n")
        elif path in ("/readyz", "/livez", "/healthz"):
            self._send(200, "text/plain; charset=utf-8", "ok")
        else:
            status = {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "message": f"the lab API stand-in serves no {path}",
                "reason": "NotFound",
                "code": 404,
            }
            self._send(404, "application/json", json.dumps(status) + "\n")

    def _send(self, code: int, ctype: str, body: str) -> None:
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Hcplb-Node", self.server.node)
        self.send_header("X-Hcplb-Cluster", self.server.cluster)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


class Listener(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # socketserver's default backlog is 5: a burst of new connections would overflow it and
    # the dropped SYNs would look like a dead node in `bench failover` (kube-apiserver: 4096)
    request_queue_size = 4096

    def __init__(self, spec: dict[str, Any], context: ssl.SSLContext) -> None:
        self.node = str(spec["node"])
        self.cluster = str(spec.get("cluster", ""))
        # TCPServer makes its socket of this family (the class default is AF_INET)
        self.address_family = socket.AF_INET6 if ":" in spec["address"] else socket.AF_INET
        with _netns(spec.get("netns")):
            super().__init__((spec["address"], int(spec.get("port", 6443))), Handler)
        self.socket = context.wrap_socket(
            self.socket, server_side=True, do_handshake_on_connect=False
        )

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the address (getfqdn): a DNS query per listener.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = (
            str(self.server_address[0]),
            int(self.server_address[1]),
        )

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client that goes away mid-handshake is not news


class _netns:
    """Enter a network namespace (a /run/netns path) for the block, then return to ours.

    setns(2) changes the calling thread only; only the main thread creates sockets."""

    _libc: Any = None

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.home = -1

    def __enter__(self) -> None:
        if not self.path:
            return
        if _netns._libc is None:
            _netns._libc = ctypes.CDLL(None, use_errno=True)
        self.home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(self.path, os.O_RDONLY)
        try:
            self._setns(target)
        finally:
            os.close(target)

    def __exit__(self, *exc: object) -> None:
        if self.home >= 0:
            try:
                self._setns(self.home)
            finally:
                os.close(self.home)

    def _setns(self, fd: int) -> None:
        if _netns._libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {self.path}: {os.strerror(err)}")


def _key(spec: dict[str, Any]) -> Key:
    return (
        str(spec["node"]),
        str(spec.get("netns") or ""),
        str(spec["address"]),
        int(spec.get("port", 6443)),
        str(spec["cert"]),
        str(spec["key"]),
        str(spec.get("cluster", "")),
    )


class Server:
    """Every listener of the config, kept in step with it on each `apply`."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.selector = selectors.DefaultSelector()
        self.listeners: dict[Key, Listener] = {}

    def apply(self) -> None:
        with open(self.path, encoding="utf-8") as handle:
            config = json.load(handle)
        stopped = set(config.get("stopped") or ())
        wanted = {_key(s): s for s in config["listeners"] if s["node"] not in stopped}
        for key in [k for k in self.listeners if k not in wanted]:
            listener = self.listeners.pop(key)
            self.selector.unregister(listener.socket)
            listener.server_close()
        contexts: dict[tuple[str, str], ssl.SSLContext] = {}  # read afresh on each apply
        for key, spec in wanted.items():
            if key in self.listeners:
                continue
            pair = (key[4], key[5])
            if pair not in contexts:
                contexts[pair] = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                contexts[pair].load_cert_chain(*pair)
            listener = Listener(spec, contexts[pair])
            self.listeners[key] = listener
            self.selector.register(listener.socket, selectors.EVENT_READ, listener)
        applied = self.path + ".applied"
        with open(applied + ".tmp", "w", encoding="utf-8") as handle:
            handle.write(f"{config.get('generation', 0)}\n")
        os.replace(applied + ".tmp", applied)
        nodes = len({k[0] for k in self.listeners})
        sys.stdout.write(f"serving {len(self.listeners)} listener(s) on {nodes} node(s)\n")
        sys.stdout.flush()

    def serve(self) -> None:
        wake_r, wake_w = socket.socketpair()
        wake_r.setblocking(False)
        wake_w.setblocking(False)
        signal.set_wakeup_fd(wake_w.fileno())
        signal.signal(signal.SIGHUP, lambda _sig, _frame: None)  # wakes the selector
        self.selector.register(wake_r, selectors.EVENT_READ, None)
        self.apply()
        while True:
            for key, _events in self.selector.select():
                if key.data is None:
                    while True:
                        try:
                            signals = wake_r.recv(64)
                        except BlockingIOError:
                            break
                        if signal.SIGHUP in signals:
                            self.apply()
                    continue
                try:
                    key.data.handle_request()
                except (TimeoutError, OSError):
                    continue


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: apiserver.py CONFIG.json\n")
        return 2
    _raise_fd_limit()  # a 32-node, 200-cluster lab holds 6,400 listening sockets
    Server(argv[1]).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

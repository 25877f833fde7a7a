"""The lab's kube-apiserver stand-in: HTTPS on every VIP a node serves, one process per node.

    python -m hcplb.lab.apiserver CONFIG.json      (or run this file directly)

CONFIG: {"node": "master-0", "listeners": [{"address": "10.0.2.20" (or IPv6), "port": 6443,
"cert": "...pem", "key": "...key", "cluster": "hosted"}]}. Answers `/version` (the
kube-apiserver JSON shape), `/readyz`, `/livez` and `/healthz`; every response carries
`X-Hcplb-Node: <node>`. One thread accepts on all listeners; each connection gets a thread
(the TLS handshake happens there, never in the accept loop). Standard library only, so the
process starts fast and small (the lab runs one per node, 32 of them in the scale bench).
"""

from __future__ import annotations

import json
import selectors
import socket
import socketserver
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Standard library only (this file runs as a script in lab hosts), so not from hcplb.settings.
HANDSHAKE_TIMEOUT = 10.0

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

    def __init__(self, spec: dict[str, Any], node: str) -> None:
        self.node = node
        self.cluster = str(spec.get("cluster", ""))
        # TCPServer makes its socket of this family (the class default is AF_INET)
        self.address_family = socket.AF_INET6 if ":" in spec["address"] else socket.AF_INET
        super().__init__((spec["address"], int(spec.get("port", 6443))), Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(spec["cert"], spec["key"])
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


def serve(config: dict[str, Any]) -> None:
    node = str(config["node"])
    selector = selectors.DefaultSelector()
    for spec in config["listeners"]:
        listener = Listener(spec, node)
        selector.register(listener.socket, selectors.EVENT_READ, listener)
    sys.stdout.write(f"serving {len(config['listeners'])} listener(s) as {node}\n")
    sys.stdout.flush()
    while True:
        for key, _events in selector.select():
            try:
                key.data.handle_request()
            except (TimeoutError, OSError):
                continue


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: apiserver.py CONFIG.json\n")
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        serve(json.load(handle))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

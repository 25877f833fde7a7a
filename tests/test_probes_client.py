"""DNS and API probes end to end on loopback: a real TLS server (test CA), a real DNS
responder, and the evaluation of what the client saw into probes and hints."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hcplb.converged import HostedApi, Peer
from hcplb.probes.api import api_tasks, cert_covers, evaluate_api, spread_count
from hcplb.probes.client import dns_query, run_tasks, spread, tls_attempts, tls_check
from hcplb.probes.dns import evaluate_dns
from hcplb.probes.expect import SiteExpect
from hcplb.probes.model import Status
from tests.conftest import missing, need_root

LOOP = "127.0.0.1"
API = "api.hosted.hypershift.lab"


# -- a CA, certificates, an HTTPS server ---------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    ca_pem: str
    other_ca_pem: str
    cert: Path
    key: Path


def _ca(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    ca_key, ca = _ca("test CA")
    _, other = _ca("another CA")
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, API)]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName(API),
                    x509.DNSName("*.apps.hypershift.lab"),
                    x509.IPAddress(ipaddress.ip_address(LOOP)),
                ]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    (d / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pem = serialization.Encoding.PEM
    return Pki(
        ca.public_bytes(pem).decode(),
        other.public_bytes(pem).decode(),
        d / "cert.pem",
        d / "key.pem",
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    readyz_status = 200

    def do_GET(self) -> None:
        status = self.readyz_status if self.path == "/readyz" else 200
        body = b"ok" if self.path == "/readyz" else b'{"major": "1", "minor": "29"}'
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Hcplb-Node", "n1")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@dataclass(frozen=True)
class Server:
    port: int
    handler: type[_Handler]


@pytest.fixture
def https(pki: Pki) -> Iterator[Server]:
    handler = type("Handler", (_Handler,), {"readyz_status": 200})
    server = ThreadingHTTPServer((LOOP, 0), handler)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(pki.cert, pki.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(server.server_address[1], handler)
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind((LOOP, 0))
        return int(s.getsockname()[1])


def site(port: int, *, addressed_by_ip: bool = False, nodes: int = 1) -> SiteExpect:
    announcers = tuple(Peer(f"n{i + 1}", f"192.0.2.{i + 1}", 64513) for i in range(nodes))
    cluster = HostedApi(
        key="hosted/hosted",
        name="hosted",
        namespace="hosted",
        control_plane_namespace="hosted-hosted",
        vip=LOOP,
        api_name=API,
        api_int_name="api-int.hosted.hypershift.lab",
        announcers=announcers,
        port=port,
        addressed_by_ip=addressed_by_ip,
    )
    return SiteExpect("s", (), (cluster,), "metallb-system", ())


def api_probes(result: dict[str, Any], port: int, *, ca: bool = True, **kw: Any) -> dict[str, Any]:
    probes = evaluate_api(site(port, **kw), {"api/hosted-hosted": result}, ca_given=ca)
    return {p.id.rsplit("/", 1)[-1]: p for p in probes}


# -- API ---------------------------------------------------------------------------------------------


def test_tls_verified_names_and_readyz(https: Server, pki: Pki) -> None:
    result = tls_check(LOOP, https.port, API, pki.ca_pem, ["/readyz", "/version"], 2.0)
    assert result["tcp"]["ok"] and result["tls"]["ok"] and result["tls"]["verified"]
    assert result["cert"]["dns"] == ["*.apps.hypershift.lab", API]
    assert result["cert"]["ip"] == [LOOP]
    assert result["http"] == [
        {"path": "/readyz", "status": 200, "node": "n1", "body": "ok", "error": ""}
    ]
    probes = api_probes(result, https.port)
    assert {k: p.status for k, p in probes.items()} == dict.fromkeys(
        ("tcp", "tls", "cert", "ready"), Status.pass_
    )
    assert probes["ready"].observed == "/readyz 200 'ok'"


def test_untrusted_ca(https: Server, pki: Pki) -> None:
    result = tls_attempts(LOOP, https.port, API, pki.other_ca_pem, ["/readyz"], 2.0, 8)
    assert result["attempts"] == 1  # an untrusted certificate is not retried
    assert result["tls"]["verified"] is False
    assert "unable to get local issuer certificate" in result["tls"]["error"]
    assert result["cert"]["dns"]  # names still read, without trust
    probes = api_probes(result, https.port)
    assert probes["tls"].status is Status.fail
    assert probes["tls"].hint.startswith("untrusted CA: the certificate does not chain")
    assert probes["cert"].status is Status.pass_
    assert probes["ready"].status is Status.skip


def test_name_mismatch(https: Server, pki: Pki) -> None:
    result = tls_check(LOOP, https.port, "api.other.example", pki.ca_pem, ["/readyz"], 2.0)
    assert result["tls"]["ok"]  # the chain is fine: the name is checked on its own
    expect = site(https.port)
    cluster = expect.clusters[0]
    other = SiteExpect(
        "s",
        (),
        (HostedApi(**{**cluster.__dict__, "api_name": "api.other.example"}),),
        "metallb-system",
        (),
    )
    probes = {p.id: p for p in evaluate_api(other, {"api/hosted-hosted": result}, ca_given=True)}
    cert = probes["api/hosted-hosted/cert"]
    assert (
        cert.status is Status.fail and cert.message == "api.other.example is not in the certificate"
    )
    assert cert.hint.startswith("TLS name mismatch")


def test_addressed_by_ip_needs_the_vip_in_the_certificate(https: Server, pki: Pki) -> None:
    result = tls_check(LOOP, https.port, API, pki.ca_pem, ["/readyz"], 2.0)
    assert api_probes(result, https.port, addressed_by_ip=True)["cert"].status is Status.pass_
    result["cert"]["ip"] = []
    assert api_probes(result, https.port, addressed_by_ip=True)["cert"].status is Status.fail


def test_anonymous_refused_is_a_warning(https: Server, pki: Pki) -> None:
    https.handler.readyz_status = 401
    result = tls_check(LOOP, https.port, API, pki.ca_pem, ["/readyz", "/version"], 2.0)
    assert [h["status"] for h in result["http"]] == [401, 200]
    assert api_probes(result, https.port)["ready"].status is Status.pass_  # /version answered
    https.handler.readyz_status = 401
    only = tls_check(LOOP, https.port, API, pki.ca_pem, ["/readyz"], 2.0)
    assert api_probes(only, https.port)["ready"].status is Status.warn


def test_without_ca_the_chain_is_not_checked(https: Server, pki: Pki) -> None:
    result = tls_check(LOOP, https.port, API, None, ["/readyz"], 2.0)
    probes = api_probes(result, https.port, ca=False)
    assert probes["tls"].status is Status.skip and probes["tls"].message.startswith("no --ca-file")
    assert probes["ready"].status is Status.pass_


def test_nothing_listening(pki: Pki) -> None:
    port = _closed_port()
    started = time.monotonic()
    result = tls_attempts(LOOP, port, API, pki.ca_pem, ["/readyz"], 2.0, 3)
    assert time.monotonic() - started < 1
    assert result["attempts"] == 3 and result["failed"] == 3  # refusals are retried, quickly
    probes = api_probes(result, port)
    assert probes["tcp"].status is Status.fail
    assert probes["tcp"].observed == "Connection refused"
    assert {probes[k].status for k in ("tls", "cert", "ready")} == {Status.skip}


def test_spread(https: Server, pki: Pki) -> None:
    result = spread(LOOP, https.port, API, pki.ca_pem, 12, 2.0)
    assert result == {"count": 12, "nodes": {"n1": 12}, "errors": 0, "error": ""}
    expect = site(https.port, nodes=2)
    (probe,) = [
        p
        for p in evaluate_api(
            expect, {"api/hosted-hosted/spread": result}, ca_given=True, spread=True
        )
        if p.id.endswith("spread")
    ]
    assert probe.status is Status.fail and probe.message == "no connection reached n2"
    assert probe.observed == "n1 12, n2 0 of 12"


def test_spread_is_measured_once_per_set_of_announcing_nodes() -> None:
    base = site(6443, nodes=2).clusters[0]
    fleet = tuple(
        replace(base, key=f"c/{i}", control_plane_namespace=f"c-{i}", announcers=hops)
        for i, hops in enumerate([base.announcers, base.announcers, base.announcers[:1]])
    )
    expect = replace(site(6443), clusters=fleet)
    tasks = api_tasks(expect, ca_pem=None, timeout=1.0, spread=True)
    assert [t["id"] for t in tasks if t["kind"] == "spread"] == ["api/c-0/spread", "api/c-2/spread"]
    probes = {p.id: p for p in evaluate_api(expect, {}, ca_given=False, spread=True)}
    assert probes["api/c-1/spread"].status is Status.skip
    assert "same nodes as c-0" in probes["api/c-1/spread"].message
    assert probes["api/c-2/spread"].status is Status.fail  # measured (no result here)


def test_spread_count() -> None:
    assert spread_count(1) == 4
    assert spread_count(3) == 37
    assert spread_count(5) == 70
    assert spread_count(64) == 200


@pytest.mark.parametrize(
    ("name", "sans", "covered"),
    [
        (API, [API], True),
        ("API.hosted.hypershift.lab", [API], True),
        ("x.apps.hypershift.lab", ["*.apps.hypershift.lab"], True),
        ("a.b.apps.hypershift.lab", ["*.apps.hypershift.lab"], False),
        ("apps.hypershift.lab", ["*.apps.hypershift.lab"], False),
        (API, ["api-int.hosted.hypershift.lab"], False),
    ],
)
def test_cert_covers(name: str, sans: list[str], covered: bool) -> None:
    assert cert_covers(name, sans) is covered


def test_run_tasks_survives_a_bad_task() -> None:
    results = run_tasks([{"id": "x", "kind": "nonsense"}])
    assert results["x"] == {"crash": "ValueError: unknown task kind 'nonsense'"}


# -- DNS -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolvers:
    good: str
    stale: str
    silent: str


def _responder(address: str, records: dict[str, str], stop: threading.Event) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 53))
    sock.settimeout(0.1)

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            query = dns.message.from_wire(data)
            answer = dns.message.make_response(query)
            name = query.question[0].name.to_text().rstrip(".")
            if name in records:
                answer.answer.append(dns.rrset.from_text(name + ".", 300, "IN", "A", records[name]))
            else:
                answer.set_rcode(dns.rcode.NXDOMAIN)
            answer.flags |= dns.flags.AA
            sock.sendto(answer.to_wire(), peer)

    threading.Thread(target=serve, daemon=True).start()
    return sock


@pytest.fixture(scope="module")
def resolvers() -> Iterator[Resolvers]:
    need_root("binding port 53")
    good, stale, silent = "127.0.53.1", "127.0.53.2", "127.0.53.3"
    stop = threading.Event()
    api_int = "api-int.hosted.hypershift.lab"
    try:
        socks = [
            _responder(good, {API: LOOP, api_int: LOOP}, stop),
            _responder(stale, {API: "10.9.9.9", api_int: LOOP}, stop),
        ]
        quiet = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        quiet.bind((silent, 53))  # bound and never read: questions vanish
    except OSError as exc:
        stop.set()
        missing(f"cannot bind port 53 on loopback: {exc}")
    try:
        yield Resolvers(good, stale, silent)
    finally:
        stop.set()
        for s in (*socks, quiet):
            s.close()


def test_dns_query(resolvers: Resolvers) -> None:
    ok = dns_query(resolvers.good, API, 1.0)
    assert (ok["status"], ok["addresses"]) == ("NOERROR", [LOOP])
    missing = dns_query(resolvers.good, "nope.hypershift.lab", 1.0)
    assert (missing["status"], missing["addresses"]) == ("NXDOMAIN", [])
    started = time.monotonic()
    silent = dns_query(resolvers.silent, API, 0.5)
    assert silent["status"] == "timeout" and time.monotonic() - started < 1.0


def test_dns_probes_and_agreement(resolvers: Resolvers) -> None:
    expect = site(6443)
    servers = [resolvers.good, resolvers.stale, resolvers.silent]
    tasks = [
        {"id": f"dns/{r}/{n}", "kind": "dns", "resolver": r, "name": n, "timeout": 0.5}
        for r in servers
        for n in (API, "api-int.hosted.hypershift.lab")
    ]
    probes = {p.id: p for p in evaluate_dns(expect, servers, run_tasks(tasks))}
    assert probes[f"dns/{resolvers.good}/{API}"].status is Status.pass_
    wrong = probes[f"dns/{resolvers.stale}/{API}"]
    assert wrong.status is Status.fail
    assert wrong.hint.startswith("the record points to 10.9.9.9, not the VIP 127.0.0.1")
    quiet = probes[f"dns/{resolvers.silent}/{API}"]
    assert quiet.status is Status.fail and quiet.hint.startswith("the resolver did not answer")
    assert probes[f"dns/agree/{API}"].status is Status.warn
    assert probes["dns/agree/api-int.hosted.hypershift.lab"].status is Status.pass_


def test_no_resolver_given_skips_and_says_so() -> None:
    probes = evaluate_dns(site(6443), [], {})
    assert [(p.id, p.status, p.message) for p in probes] == [
        (f"dns/{API}", Status.skip, "no --resolver given"),
        ("dns/api-int.hosted.hypershift.lab", Status.skip, "no --resolver given"),
    ]


def test_nxdomain_hint() -> None:
    result = {"status": "NXDOMAIN", "addresses": [], "error": ""}
    probes = evaluate_dns(site(6443), ["192.0.2.53"], {f"dns/192.0.2.53/{API}": result})
    assert probes[0].hint.startswith("the record does not exist (NXDOMAIN)")
    assert probes[1].message == "no result" and probes[1].status is Status.fail

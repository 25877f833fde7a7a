"""The lab CA and one serving certificate per hosted cluster (ECDSA P-256, `cryptography`)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hcplb.fsutil import write_atomic

VALIDITY = dt.timedelta(days=30)
KUBERNETES_NAMES = (
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)


@dataclass(frozen=True)
class Ca:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    cert_file: Path


@dataclass(frozen=True)
class Issued:
    cert_file: Path
    key_file: Path


def _write(path: Path, data: bytes, mode: int) -> None:
    write_atomic(path, data, mode=mode)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def make_ca(directory: Path, lab: str) -> Ca:
    """A fresh CA for one lab: `ca.pem` (0644) and `ca.key` (0600) in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"hcplb lab {lab} CA")])
    now = dt.datetime.now(dt.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file = directory / "ca.pem"
    _write(cert_file, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(directory / "ca.key", _key_pem(key), 0o600)
    return Ca(cert, key, cert_file)


def load_ca(cert_file: Path) -> Ca:
    """The lab CA `make_ca` wrote (`ca.pem`, with `ca.key` beside it)."""
    key = serialization.load_pem_private_key(
        cert_file.with_name("ca.key").read_bytes(), password=None
    )
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{cert_file.with_name('ca.key')}: not the lab CA's EC key")
    return Ca(x509.load_pem_x509_certificate(cert_file.read_bytes()), key, cert_file)


def issue(ca: Ca, directory: Path, stem: str, *, dns_names: list[str], ips: list[str]) -> Issued:
    """A serving certificate for `dns_names` + `ips` signed by the lab CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0])]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
        .sign(ca.key, hashes.SHA256())
    )
    cert_file = directory / f"{stem}.pem"
    key_file = directory / f"{stem}.key"
    _write(cert_file, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(key_file, _key_pem(key), 0o600)
    return Issued(cert_file, key_file)

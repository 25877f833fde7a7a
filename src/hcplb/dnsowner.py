"""ExternalDNS's TXT registry: who owns a DNS name, in ExternalDNS's own format (one home).

ExternalDNS (registry `txt`) marks each record it manages with a TXT record whose text is
`heritage=external-dns,external-dns/owner=<owner id>,external-dns/resource=<kind/ns/name>`
(labels after `heritage`, sorted by key; `endpoint/labels.go`). The TXT record's name is, in the
current ("new") format, the record type in lower case and a dash before the first label, then
the `--txt-prefix` before that: `<prefix>a-api.hosted.example.com` (`registry/mapper`,
`AffixNameMapper.ToTXTName`); releases before v0.12 wrote the TXT at `<prefix><name>` (the "old"
format, still read). A TXT whose text has no `heritage=external-dns` is not a registry record.

hcplb's static DNS apply reads these to leave ExternalDNS's names alone and never writes records
in this format for its own names; the lab writes them to behave as ExternalDNS would.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "HERITAGE",
    "HOSTNAME_ANNOTATION",
    "RECORD_TYPES",
    "Owner",
    "owned_name",
    "owners",
    "parse_txt",
    "registry_names",
    "registry_record",
    "service_resource",
    "txt_name",
    "txt_text",
]

HERITAGE = "external-dns"
# The Service annotation ExternalDNS's service source publishes (HyperShift sets it on the
# kube-apiserver Service from the APIServer strategy's loadBalancer.hostname).
HOSTNAME_ANNOTATION = "external-dns.alpha.kubernetes.io/hostname"
# The record types ExternalDNS's TXT registry puts into a TXT name (`getSupportedTypes`).
RECORD_TYPES = ("A", "AAAA", "CNAME", "NS", "MX", "SRV", "NAPTR")


@dataclass(frozen=True)
class Owner:
    """An ExternalDNS registry entry: the name it owns, the record type ("" in the old format),
    the owner id and the Kubernetes resource that asked for it (`service/ns/name`)."""

    name: str
    rtype: str
    owner: str
    resource: str = ""


def _lower(name: str) -> str:
    return name.rstrip(".").lower()


def txt_name(fqdn: str, rtype: str, prefix: str = "") -> str:
    """The registry TXT name of a record (new format): `<prefix><type>-<first label>.<rest>`."""
    first, dot, rest = _lower(fqdn).partition(".")
    return f"{prefix.lower()}{rtype.lower()}-{first}{dot}{rest}"


def registry_names(fqdn: str, rtype: str, prefix: str = "") -> tuple[str, ...]:
    """Where ExternalDNS may keep the registry record of `fqdn`: new format, then old."""
    return (txt_name(fqdn, rtype, prefix), f"{prefix.lower()}{_lower(fqdn)}")


def service_resource(namespace: str, name: str) -> str:
    """The `resource` label ExternalDNS's service source gives a record: `service/ns/name`."""
    return f"service/{namespace}/{name}"


def registry_record(
    fqdn: str, rtype: str, owner: str, resource: str, prefix: str = ""
) -> tuple[str, str]:
    """The TXT record (name, text) ExternalDNS writes beside a record it creates: current
    releases write only the new format."""
    return txt_name(fqdn, rtype, prefix), txt_text(owner, resource)


def txt_text(owner: str, resource: str) -> str:
    """The registry text ExternalDNS writes (without the zone file's quotes)."""
    labels = {"owner": owner, "resource": resource}
    return ",".join(
        [f"heritage={HERITAGE}"] + [f"{HERITAGE}/{k}={v}" for k, v in sorted(labels.items())]
    )


def parse_txt(text: str) -> dict[str, str] | None:
    """The labels of a registry text, or None when it is not ExternalDNS's (no or another
    heritage). Tokens that are not exactly `key=value` are skipped, as ExternalDNS does."""
    labels: dict[str, str] = {}
    heritage = False
    for token in text.strip('"').split(","):
        parts = token.split("=")
        if len(parts) != 2:
            continue
        key, value = parts
        if key == "heritage":
            if value != HERITAGE:
                return None
            heritage = True
        elif key.startswith(HERITAGE):
            labels[key.removeprefix(f"{HERITAGE}/")] = value
    return labels if heritage else None


def owned_name(txt: str, prefix: str = "") -> tuple[str, str] | None:
    """The (name, record type) a registry TXT name stands for; type "" for the old format;
    None when the TXT name does not carry `prefix`."""
    name = _lower(txt)
    prefix = prefix.lower()
    if not name.startswith(prefix):
        return None
    name = name[len(prefix) :]
    head = name.split("-", 1)[0]
    for rtype in RECORD_TYPES:
        if head == rtype.lower() and "-" in name:
            return name[len(head) + 1 :], rtype
    return name, ""


def owners(txts: Iterable[tuple[str, str]], prefix: str = "") -> Mapping[str, Owner]:
    """Registry entries by owned name, from (TXT name, TXT text) pairs; the new format wins."""
    found: dict[str, Owner] = {}
    for name, text in txts:
        labels = parse_txt(text)
        owned = owned_name(name, prefix) if labels is not None else None
        if labels is None or owned is None:
            continue
        entry = Owner(owned[0], owned[1], labels.get("owner", ""), labels.get("resource", ""))
        if owned[0] not in found or not found[owned[0]].rtype:
            found[owned[0]] = entry
    return found

"""`apply --dns`: RFC 2136 updates, signed with the site's TSIG key, to each zone's primary.

Ownership: hcplb keeps, per zone, a registry TXT RRset at `_hcplb.<zone>` with one record per
name a site owns (`"hcplb site=<site> name=<fqdn>"`). A name leaves the registry (and its A
RRset is deleted) only when it was registered by the same site and is no longer wanted, so
hcplb never deletes a record it did not create, and two sites can share a zone. A name that
already had an A record before hcplb is taken over (shown as a change) and registered.
All changes of one zone go in one UPDATE message, which the server applies all or nothing.

ExternalDNS: a name ExternalDNS owns (its TXT registry record, `hcplb.dnsowner`, under the
site's `txtPrefix` or none) is left alone and reported, never taken over; hcplb's own registry
is in its own format, so ExternalDNS never takes hcplb's names for its own either. With
`dns.provider: externaldns` ExternalDNS writes every record and `apply --dns` refuses.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update

from hcplb.dnsowner import Owner, owners, registry_names
from hcplb.errors import TargetError
from hcplb.plan import SitePlan
from hcplb.render.dns import DnsRecord, dns_zones

REGISTRY_LABEL = "_hcplb"


@dataclass(frozen=True)
class TsigKey:
    name: str
    algorithm: str
    secret: str

    def __repr__(self) -> str:
        return f"TsigKey(name={self.name!r}, algorithm={self.algorithm!r}, secret=<redacted>)"


@dataclass(frozen=True)
class DnsChange:
    """One change: `upsert` (A set to address), `delete` (stale A removed), `register` / `unregister`."""

    zone: str
    action: str
    name: str
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.action == "upsert":
            was = ", ".join(self.before) or "nothing"
            return f"{self.name} {_rtype(self.after)} {', '.join(self.after)} (was {was})"
        if self.action == "delete":
            what = f"{_rtype(self.before)} {', '.join(self.before)}"
            return f"{self.name} {what} deleted (no longer in the site)"
        return f"{self.name} {self.action}ed in {REGISTRY_LABEL}.{self.zone}"


@dataclass(frozen=True)
class DnsReport:
    server: str
    changes: tuple[DnsChange, ...]
    applied: bool
    checked: tuple[str, ...]
    # names ExternalDNS owns, left alone: "<name> (ExternalDNS owner <id>, <resource>)"
    left_alone: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def desired_records(plan: SitePlan) -> dict[str, list[DnsRecord]]:
    """The `api` and `api-int` records of every hosted cluster, grouped by zone, as rendered."""
    return dns_zones(plan)


def site_tsig_key(plan: SitePlan, secret: str | None) -> TsigKey:
    key = plan.site.spec.dns.tsig_key
    if key is None or not secret:
        raise TargetError(
            "spec.dns.tsigKey is not set: hcplb only sends signed updates "
            "(hint: add tsigKey {name, algorithm, secret: {env: ...}} to spec.dns)"
        )
    try:
        base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError):
        raise TargetError(
            f"the TSIG secret of key {key.name} is not base64 "
            "(hint: use the secret from `tsig-keygen`)"
        ) from None
    return TsigKey(key.name, key.algorithm, secret)


def _abs(name: str) -> dns.name.Name:
    return dns.name.from_text(name.rstrip(".") + ".")


def _registry_text(site: str, name: str) -> str:
    return f"hcplb site={site} name={name}"


def _parse_registry(text: str) -> tuple[str, str] | None:
    fields = dict(part.split("=", 1) for part in text.split()[1:] if "=" in part)
    if not text.startswith("hcplb ") or "site" not in fields or "name" not in fields:
        return None
    return fields["site"], fields["name"]


@dataclass(frozen=True)
class DnsServer:
    """Where updates and read-back queries go (TCP), and how long to wait for each answer."""

    host: str
    port: int
    timeout: float

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


_OTHER = {"A": "AAAA", "AAAA": "A"}


def _rtype(addresses: Sequence[str]) -> str:
    """A, AAAA, or A/AAAA for the addresses a change names."""
    kinds = sorted({"AAAA" if ":" in a else "A" for a in addresses}) or ["A"]
    return "/".join(kinds)


def _query(server: DnsServer, name: str, rdtype: str) -> dns.message.Message:
    query = dns.message.make_query(_abs(name), rdtype)
    try:
        return dns.query.tcp(query, server.host, port=server.port, timeout=server.timeout)
    except dns.exception.Timeout:
        raise TargetError(
            f"DNS server {server} did not answer within {server.timeout:g} s "
            f"(query {name} {rdtype}) (hint: check spec.dns.primary and that TCP 53 is open)"
        ) from None
    except OSError as exc:
        raise TargetError(
            f"cannot reach DNS server {server}: {exc.strerror or exc} (hint: check spec.dns.primary)"
        ) from None


def _texts(answer: dns.message.Message, name: str, rdtype: str) -> tuple[str, ...]:
    rrset = answer.get_rrset(
        answer.answer, _abs(name), dns.rdataclass.IN, dns.rdatatype.from_text(rdtype)
    )
    if rrset is None:
        return ()
    if rdtype == "TXT":
        return tuple(sorted(b"".join(r.strings).decode() for r in rrset))
    return tuple(sorted(r.to_text() for r in rrset))


def _observe(server: DnsServer, name: str, rdtype: str) -> tuple[tuple[str, ...], int | None]:
    response = _query(server, name, rdtype)
    rcode = response.rcode()
    if rcode == dns.rcode.REFUSED:
        raise TargetError(
            f"DNS server {server} refused a query for {name} "
            "(hint: the primary must allow queries from this host)"
        )
    if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        raise TargetError(f"DNS server {server} answered {dns.rcode.to_text(rcode)} for {name}")
    rrset = response.get_rrset(
        response.answer, _abs(name), dns.rdataclass.IN, dns.rdatatype.from_text(rdtype)
    )
    return _texts(response, name, rdtype), (rrset.ttl if rrset is not None else None)


def check_authority(server: DnsServer, zone: str) -> None:
    """The server must answer the zone's SOA authoritatively, else updates cannot work."""
    response = _query(server, zone, "SOA")
    rcode = response.rcode()
    authoritative = bool(response.flags & dns.flags.AA) and rcode == dns.rcode.NOERROR
    if not authoritative or not _texts(response, zone, "SOA"):
        answered = dns.rcode.to_text(rcode) if rcode != dns.rcode.NOERROR else "no AA flag"
        raise TargetError(
            f"DNS server {server} is not authoritative for zone {zone} ({answered}) "
            "(hint: spec.dns.primary must be the zone's primary server; check spec.dns.zone)"
        )


def externaldns_owner(
    server: DnsServer, record: DnsRecord, prefixes: Sequence[str]
) -> Owner | None:
    """ExternalDNS's registry entry for the record's name, under any of `prefixes`, if any."""
    for prefix in dict.fromkeys(prefixes):
        txts: list[tuple[str, str]] = []
        for name in registry_names(record.fqdn, record.rtype, prefix):
            texts, _ = _observe(server, name, "TXT")
            txts += [(name, text) for text in texts]
        found = owners(txts, prefix).get(record.fqdn.lower())
        if found is not None:
            return found
    return None


def foreign_records(
    server: DnsServer, records: Sequence[DnsRecord], prefixes: Sequence[str]
) -> dict[str, Owner]:
    """The wanted records whose names ExternalDNS owns, by name."""
    found = {}
    for record in records:
        owner = externaldns_owner(server, record, prefixes)
        if owner is not None:
            found[record.fqdn] = owner
    return found


def plan_zone(
    server: DnsServer, zone: str, records: Sequence[DnsRecord], site: str
) -> list[DnsChange]:
    """Compare the primary's answers with the wanted records: the changes to make, if any
    (`records` without the names ExternalDNS owns: see `foreign_records`)."""
    check_authority(server, zone)
    registry = f"{REGISTRY_LABEL}.{zone}"
    registered_texts, _ = _observe(server, registry, "TXT")
    owned = {
        parsed[1]
        for text in registered_texts
        if (parsed := _parse_registry(text)) is not None and parsed[0] == site
    }
    wanted = {r.fqdn for r in records}
    changes: list[DnsChange] = []
    for record in records:
        current, ttl = _observe(server, record.fqdn, record.rtype)
        # A VIP that changed family leaves its old record: the upsert removes it.
        stale, _ = _observe(server, record.fqdn, _OTHER[record.rtype])
        if current != (record.address,) or ttl != record.ttl or stale:
            changes.append(
                DnsChange(zone, "upsert", record.fqdn, current + stale, (record.address,))
            )
        if record.fqdn not in owned:
            changes.append(DnsChange(zone, "register", record.fqdn))
    for name in sorted(owned - wanted):
        current = _observe(server, name, "A")[0] + _observe(server, name, "AAAA")[0]
        changes.append(DnsChange(zone, "delete", name, current))
        changes.append(DnsChange(zone, "unregister", name))
    return changes


def update_message(
    zone: str,
    changes: Sequence[DnsChange],
    records: Mapping[str, DnsRecord],
    site: str,
    key: TsigKey,
) -> dns.update.UpdateMessage:
    keyring = dns.tsigkeyring.from_text({key.name: (key.algorithm, key.secret)})
    update = dns.update.UpdateMessage(
        _abs(zone), keyring=keyring, keyname=_abs(key.name), keyalgorithm=key.algorithm
    )
    registry = _abs(f"{REGISTRY_LABEL}.{zone}")
    for change in changes:
        if change.action == "upsert":
            record = records[change.name]
            update.replace(_abs(change.name), record.ttl, record.rtype, record.address)
            update.delete(_abs(change.name), _OTHER[record.rtype])
        elif change.action == "delete":
            update.delete(_abs(change.name), "A")
            update.delete(_abs(change.name), "AAAA")
        elif change.action == "register":
            text = '"' + _registry_text(site, change.name) + '"'
            update.add(registry, records[change.name].ttl, "TXT", text)
        elif change.action == "unregister":
            update.delete(registry, "TXT", '"' + _registry_text(site, change.name) + '"')
    return update


def send_update(
    server: DnsServer, zone: str, update: dns.update.UpdateMessage, key: TsigKey
) -> None:
    """Send one signed UPDATE; every way it can fail becomes a TargetError saying what to fix."""
    where = f"DNS server {server}, zone {zone}"
    try:
        response = dns.query.tcp(update, server.host, port=server.port, timeout=server.timeout)
    except dns.tsig.PeerBadKey:
        raise TargetError(
            f"{where}: the server does not know TSIG key {key.name} (BADKEY) "
            "(hint: the key name and algorithm must match the server's key statement)"
        ) from None
    except dns.tsig.PeerBadSignature:
        raise TargetError(
            f"{where}: the server rejected the signature of TSIG key {key.name} (BADSIG) "
            "(hint: the secret differs from the server's; check spec.dns.tsigKey.secret)"
        ) from None
    except dns.tsig.PeerBadTime:
        raise TargetError(
            f"{where}: the server rejected the update's time (BADTIME) "
            "(hint: the clocks of this host and the server differ by more than 5 minutes)"
        ) from None
    except (dns.tsig.PeerError, dns.tsig.BadSignature, dns.tsig.BadKey) as exc:
        raise TargetError(f"{where}: TSIG failure: {type(exc).__name__}") from None
    except dns.exception.Timeout:
        raise TargetError(
            f"{where}: no answer to the update within {server.timeout:g} s "
            "(hint: check spec.dns.primary and that TCP 53 is open to it)"
        ) from None
    except OSError as exc:
        raise TargetError(
            f"{where}: cannot send the update: {exc.strerror or exc} (hint: check spec.dns.primary)"
        ) from None
    rcode = response.rcode()
    if rcode == dns.rcode.NOERROR:
        return
    hints = {
        dns.rcode.REFUSED: f"the zone's allow-update / update-policy must grant the key {key.name}",
        dns.rcode.NOTAUTH: f"the server is not authoritative for {zone} or does not accept key "
        f"{key.name}; check spec.dns.zone, spec.dns.primary and the key",
        dns.rcode.NOTZONE: f"a name is outside {zone}; check spec.dns.zone",
        dns.rcode.SERVFAIL: "see the server's log (journal file permissions, for example)",
    }
    name = dns.rcode.to_text(rcode)
    hint = hints.get(rcode, "see the server's log")
    raise TargetError(f"{where}: the update was answered {name} (hint: {hint})")


def apply_dns(
    plan: SitePlan,
    tsig_secret: str | None,
    *,
    server: str | None = None,
    port: int = 53,
    dry_run: bool = False,
    timeout: float = 5.0,
) -> DnsReport:
    """Bring every zone to the site's records; send nothing when nothing differs, then read back."""
    dns_spec = plan.site.spec.dns
    if dns_spec.provider == "externaldns":
        raise TargetError(
            "spec.dns.provider is externaldns: ExternalDNS in the management cluster writes the "
            "api and api-int records, hcplb does not (hint: apply the rendered externaldns/ "
            "with --cluster, and leave out --dns)"
        )
    host = server or dns_spec.primary
    if host is None:
        raise TargetError(
            "no DNS primary: spec.dns.primary is not set "
            "(hint: set it, or pass --dns-server HOST[:PORT])"
        )
    key = site_tsig_key(plan, tsig_secret)
    target = DnsServer(host, port, timeout)
    site = plan.site.name
    prefixes = ("", dns_spec.external_dns.txt_prefix)
    zones: dict[str, list[DnsRecord]] = {}
    left_alone: list[str] = []
    for zone, wanted in desired_records(plan).items():
        check_authority(target, zone)
        foreign = foreign_records(target, wanted, prefixes)
        left_alone += [
            f"{name} (ExternalDNS owner {o.owner or '?'}, {o.resource or 'no resource'})"
            for name, o in foreign.items()
        ]
        zones[zone] = [r for r in wanted if r.fqdn not in foreign]
    all_changes: list[DnsChange] = []
    for zone, records in zones.items():
        changes = plan_zone(target, zone, records, site)
        all_changes += changes
        if dry_run or not changes:
            continue
        by_name = {r.fqdn: r for r in records}
        send_update(target, zone, update_message(zone, changes, by_name, site, key), key)
    checked: list[str] = []
    if not dry_run and all_changes:
        for zone, records in zones.items():
            checked += _read_back(target, zone, records, all_changes)
    return DnsReport(
        str(target),
        tuple(all_changes),
        not dry_run and bool(all_changes),
        tuple(checked),
        tuple(left_alone),
    )


def _read_back(
    server: DnsServer, zone: str, records: Sequence[DnsRecord], changes: Sequence[DnsChange]
) -> list[str]:
    """Query the primary again: every wanted record present, every deleted one gone."""
    checked = []
    for record in records:
        current, _ = _observe(server, record.fqdn, record.rtype)
        if current != (record.address,):
            raise TargetError(
                f"DNS server {server} accepted the update but {record.fqdn} answers "
                f"{', '.join(current) or 'nothing'}, not {record.address} "
                "(hint: another update may have raced this one; run apply again)"
            )
        checked.append(f"{record.fqdn} {record.rtype} {record.address}")
    for change in changes:
        if change.zone == zone and change.action == "delete":
            current = _observe(server, change.name, "A")[0]
            current += _observe(server, change.name, "AAAA")[0]
            if current:
                raise TargetError(
                    f"DNS server {server} still answers {change.name} {', '.join(current)} "
                    "after deleting it"
                )
            checked.append(f"{change.name} A/AAAA gone")
    return checked

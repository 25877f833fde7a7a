"""dns/: `api.` and `api-int.<name>.<baseDomain>` -> VIP for every hosted cluster.

Three ways to publish the same records: a BIND zone snippet per zone, an `nsupdate` input
(RFC 2136; its TSIG key lives in `dns/tsig.key`, never in the update itself) and `/etc/hosts`
lines. A record goes into `spec.dns.zone` when its name is inside that zone, otherwise into
the cluster's base domain, so a fleet over several base domains gets one zone each.
`zone_file` makes a complete, loadable zone (SOA, NS) for the rehearsal lab's BIND.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from dataclasses import dataclass

from hcplb.errors import RenderError
from hcplb.plan import SitePlan
from hcplb.render.files import RenderedFile
from hcplb.render.secrets import Secrets

__all__ = [
    "TSIG_KEY_FILE",
    "DnsRecord",
    "dns_records",
    "dns_zones",
    "hosts_lines",
    "nsupdate_script",
    "render_dns_files",
    "tsig_key_file",
    "zone_file",
    "zone_snippet",
]

TSIG_KEY_FILE = "dns/tsig.key"
NSUPDATE_FILE = "dns/nsupdate.txt"
HOSTS_FILE = "dns/hosts"


@dataclass(frozen=True)
class DnsRecord:
    """One address record: absolute name (no trailing dot), the zone that holds it, address, TTL."""

    fqdn: str
    zone: str
    address: str
    ttl: int

    @property
    def rtype(self) -> str:
        return "A" if ipaddress.ip_address(self.address).version == 4 else "AAAA"

    @property
    def relative(self) -> str:
        """The owner name relative to its zone (`@` for the apex)."""
        return "@" if self.fqdn == self.zone else self.fqdn.removesuffix(f".{self.zone}")


def _inside(name: str, zone: str) -> bool:
    return name == zone or name.endswith(f".{zone}")


def dns_records(plan: SitePlan) -> list[DnsRecord]:
    """`api` then `api-int` of every hosted cluster, in the spec's order."""
    dns = plan.site.spec.dns
    records = []
    for cp in plan.clusters:
        for name in (cp.api_name, cp.api_int_name):
            zone = dns.zone if dns.zone and _inside(name, dns.zone) else cp.cluster.base_domain
            records.append(DnsRecord(name, zone, cp.vip, dns.ttl))
    return records


def dns_zones(plan: SitePlan) -> dict[str, list[DnsRecord]]:
    """The records grouped by zone, zones in order of first use."""
    zones: dict[str, list[DnsRecord]] = {}
    for record in dns_records(plan):
        zones.setdefault(record.zone, []).append(record)
    return zones


def _record_lines(records: list[DnsRecord]) -> list[str]:
    width = max(len(r.relative) for r in records)
    return [f"{r.relative:<{width}} {r.ttl} IN {r.rtype} {r.address}" for r in records]


def zone_snippet(plan: SitePlan, zone: str) -> str:
    """The records of one zone, relative to it, to paste into that zone's file."""
    return _snippet(plan, zone, dns_zones(plan)[zone])


def _snippet(plan: SitePlan, zone: str, records: list[DnsRecord]) -> str:
    head = [
        f"; hcplb: API records of site {plan.site.name} for zone {zone}, relative to {zone}.",
        f"; Add them to the zone's file, increase the SOA serial, then: rndc reload {zone}",
    ]
    return "\n".join(head + _record_lines(records)) + "\n"


def zone_file(plan: SitePlan, zone: str, *, ns_address: str | None = None, serial: int = 1) -> str:
    """A complete zone BIND can load: SOA, NS `ns1.<zone>` at `ns_address`, and the records.

    `ns_address` defaults to `spec.dns.primary`, else 127.0.0.1. `zone` may hold no record.
    """
    address = ns_address or plan.site.spec.dns.primary or "127.0.0.1"
    ttl = plan.site.spec.dns.ttl
    ns_type = "A" if ipaddress.ip_address(address).version == 4 else "AAAA"
    lines = [
        f"; hcplb: zone {zone} of site {plan.site.name}",
        f"$ORIGIN {zone}.",
        f"$TTL {ttl}",
        f"@ IN SOA ns1.{zone}. hostmaster.{zone}. ({serial} 3600 600 604800 {ttl})",
        f"@ IN NS ns1.{zone}.",
        f"ns1 IN {ns_type} {address}",
    ]
    records = dns_zones(plan).get(zone)
    if records:
        lines += _record_lines(records)
    return "\n".join(lines) + "\n"


def nsupdate_script(
    plan: SitePlan,
    *,
    server: str | None = None,
    port: int | None = None,
    key_file: str | None = None,
) -> str:
    """`nsupdate` input that upserts every record, one UPDATE per zone.

    `server` defaults to `spec.dns.primary` (without one, nsupdate asks the zone's SOA).
    `key_file` only changes the usage line: the key is given with `nsupdate -k`, never inline.
    """
    dns = plan.site.spec.dns
    server = server or dns.primary
    if key_file is None and dns.tsig_key is not None:
        key_file = TSIG_KEY_FILE
    run = f"nsupdate -k {key_file} {NSUPDATE_FILE}" if key_file else f"nsupdate {NSUPDATE_FILE}"
    lines = [
        f"; hcplb: API records of site {plan.site.name} as RFC 2136 updates (delete, then add).",
        f"; Run: {run}",
    ]
    if key_file is None:
        lines.append("; No TSIG key in the spec: the server must accept unsigned updates from you.")
    if server:
        lines.append(f"server {server}" + (f" {port}" if port else ""))
    else:
        lines.append("; No spec.dns.primary: nsupdate sends each update to the zone's SOA primary.")
    for zone, records in dns_zones(plan).items():
        lines.append(f"zone {zone}.")
        for r in records:
            lines.append(f"update delete {r.fqdn}. {r.rtype}")
            lines.append(f"update add {r.fqdn}. {r.ttl} {r.rtype} {r.address}")
        lines.append("send")
    return "\n".join(lines) + "\n"


def hosts_lines(plan: SitePlan) -> str:
    """/etc/hosts lines: one per hosted cluster, both names."""
    head = f"# hcplb: API names of site {plan.site.name}, for hosts that cannot use the DNS records"
    lines = [head] + [f"{cp.vip} {cp.api_name} {cp.api_int_name}" for cp in plan.clusters]
    return "\n".join(lines) + "\n"


def tsig_key_file(plan: SitePlan, secret: str) -> str:
    """The TSIG key in BIND's `key` syntax (for `nsupdate -k` and named.conf `include`)."""
    key = plan.site.spec.dns.tsig_key
    assert key is not None
    try:
        base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError):
        raise RenderError(
            "the TSIG secret is not base64 (spec.dns.tsigKey.secret; hint: tsig-keygen makes one)"
        ) from None
    return f'key "{key.name}" {{\n\talgorithm {key.algorithm};\n\tsecret "{secret}";\n}};\n'


def render_dns_files(plan: SitePlan, secrets: Secrets) -> list[RenderedFile]:
    """A zone snippet per zone, the nsupdate input, hosts lines, and the TSIG key when set."""
    files = [
        RenderedFile(f"dns/{zone}.records", _snippet(plan, zone, records), kind="zone snippet")
        for zone, records in dns_zones(plan).items()
    ]
    files.append(RenderedFile(NSUPDATE_FILE, nsupdate_script(plan), kind="nsupdate"))
    files.append(RenderedFile(HOSTS_FILE, hosts_lines(plan), kind="hosts"))
    if plan.site.spec.dns.tsig_key is not None and secrets.tsig_secret:
        files.append(
            RenderedFile(
                TSIG_KEY_FILE,
                tsig_key_file(plan, secrets.tsig_secret),
                mode=0o600,
                secret=True,
                kind="tsig key",
            )
        )
    return files

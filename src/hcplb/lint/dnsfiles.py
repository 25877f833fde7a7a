"""Read DNS records from zone files, nsupdate scripts and /etc/hosts lines, with line numbers.

Only address records (A, AAAA) and CNAMEs matter to lint; other types are read and kept.
Names are lower-case and absolute (no trailing dot) when the origin is known.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from hcplb import gotext
from hcplb.lint.findings import Finding, Where, error, warning

_CLASSES = {"IN", "CH", "HS", "ANY", "NONE"}
_TTL = re.compile(r"^\d+[smhdwSMHDW]?(\d+[smhdwSMHDW])*\Z")
_TYPE = re.compile(r"^[A-Z][A-Z0-9]*\Z")


@dataclass(frozen=True)
class Record:
    name: str
    rtype: str
    value: str
    file: str
    line: int

    @property
    def where(self) -> Where:
        return Where(self.file, self.line)


def _absolute(name: str, origin: str | None) -> str:
    name = name.lower()
    if name == "@":
        return origin or "@"
    if name.endswith("."):
        return name.rstrip(".")
    return f"{name}.{origin}" if origin else name


def _check_address(record: Record) -> Finding | None:
    family = 4 if record.rtype == "A" else 6
    try:
        address = ipaddress.ip_address(record.value)
    except ValueError:
        address = None
    if address is None or address.version != family:
        return error(
            record.where,
            "dns.syntax",
            f"{record.rtype} record for {record.name}: {record.value!r} is not an IPv{family} address",
        )
    return None


def _record(words: list[str], owner: str, origin: str | None, file: str, n: int) -> Record | None:
    """`[ttl] [class] TYPE rdata...` after the owner; None if it does not parse."""
    rest = list(words)
    for _ in range(2):
        if rest and (_TTL.match(rest[0]) or rest[0].upper() in _CLASSES):
            rest = rest[1:]
    if len(rest) < 2 or not _TYPE.match(rest[0].upper()):
        return None
    rtype, data = rest[0].upper(), " ".join(rest[1:])
    if rtype == "CNAME":
        data = _absolute(data, origin)
    return Record(_absolute(owner, origin), rtype, data, file, n)


def read_zone(
    text: str, file: str, origin: str | None = None
) -> tuple[list[Record], list[Finding]]:
    """A BIND zone file or snippet: $ORIGIN, $TTL, owner inheritance, parentheses."""
    records: list[Record] = []
    findings: list[Finding] = []
    owner: str | None = None
    depth = 0
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(";", 1)[0]
        if depth > 0:
            depth += line.count("(") - line.count(")")
            continue
        if not line.strip():
            continue
        words = line.split()
        if words[0].upper() == "$ORIGIN" and len(words) >= 2:
            origin = words[1].lower().rstrip(".")
            continue
        if words[0].startswith("$"):
            continue
        depth = line.count("(") - line.count(")")
        if line[0] in " \t":
            if owner is None:
                findings.append(
                    warning(Where(file, n), "dns.syntax", "record without an owner name")
                )
                continue
            record = _record(words, owner, origin, file, n)
        else:
            owner = words[0]
            record = _record(words[1:], owner, origin, file, n)
        if record is None:
            findings.append(
                warning(Where(file, n), "dns.syntax", f"cannot read zone line {line.strip()!r}")
            )
            continue
        if record.rtype in ("A", "AAAA") and (problem := _check_address(record)):
            findings.append(problem)
            continue
        records.append(record)
    return records, findings


def read_nsupdate(text: str, file: str) -> tuple[list[Record], list[Finding]]:
    """`update add NAME TTL [class] TYPE DATA` lines of an nsupdate script."""
    records: list[Record] = []
    findings: list[Finding] = []
    origin: str | None = None
    for n, raw in enumerate(text.splitlines(), start=1):
        words = raw.split(";", 1)[0].split()
        if len(words) >= 2 and words[0] == "origin":
            origin = words[1].lower().rstrip(".")
        if len(words) < 2 or words[0] != "update" or words[1] not in ("add", "delete", "del"):
            continue
        if words[1] != "add":
            continue
        record = _record(
            words[3:], words[2] if words[2].endswith(".") else words[2] + ".", origin, file, n
        )
        if record is None:
            findings.append(
                warning(Where(file, n), "dns.syntax", f"cannot read update {raw.strip()!r}")
            )
            continue
        if record.rtype in ("A", "AAAA") and (problem := _check_address(record)):
            findings.append(problem)
            continue
        records.append(record)
    return records, findings


def read_hosts(text: str, file: str) -> tuple[list[Record], list[Finding]]:
    """/etc/hosts lines: `ADDRESS NAME [ALIAS...]`."""
    records: list[Record] = []
    findings: list[Finding] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        try:
            address = ipaddress.ip_address(words[0])
        except ValueError:
            findings.append(
                warning(
                    Where(file, n), "dns.syntax", f"{words[0]!r} is not an address (hosts line)"
                )
            )
            continue
        if len(words) < 2:
            findings.append(warning(Where(file, n), "dns.syntax", "hosts line without a name"))
            continue
        rtype = "A" if address.version == 4 else "AAAA"
        records += [
            Record(name.lower().rstrip("."), rtype, str(address), file, n) for name in words[1:]
        ]
    return records, findings


def _dnsmasq_record(n: int, key: str, value: str, file: str) -> list[Record] | str:
    """The records of one `host-record=` or `address=` line, or what is wrong with it."""
    if key == "host-record":
        parts = [p.strip() for p in value.split(",") if p.strip()]
        names = [p for p in parts if not gotext.parse_ip(p) and not p.isdigit()]
        ips = [p for p in parts if gotext.parse_ip(p)]
        if not names or not ips:
            return "host-record= needs NAME[,NAME...],ADDRESS[,ADDRESS]"
    else:  # address=/name[/name...]/ADDRESS
        parts = value.split("/")
        if len(parts) < 3 or parts[0] != "":
            return "address= needs /NAME/ADDRESS"
        names, ips = [p for p in parts[1:-1] if p], [parts[-1]] if parts[-1] else []
        if not ips:
            return []  # `address=/name/` answers locally with no address: legal, no record
        if not gotext.parse_ip(ips[0]):
            return f"address=/.../{parts[-1]}: not an address"
    out = []
    for ip in ips:
        rtype = "A" if ipaddress.ip_address(ip).version == 4 else "AAAA"
        out += [Record(name.lower().rstrip("."), rtype, ip, file, n) for name in names]
    return out


def read_dnsmasq(text: str, file: str) -> tuple[list[Record], list[Finding]]:
    """dnsmasq `host-record=` and `address=/NAME/ADDRESS` lines; other options are not DNS data."""
    records: list[Record] = []
    findings: list[Finding] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        key, _, value = line.partition("=")
        if key.strip() not in ("host-record", "address"):
            continue
        found = _dnsmasq_record(n, key.strip(), value.strip(), file)
        if isinstance(found, str):
            findings.append(warning(Where(file, n), "dns.syntax", found, "see dnsmasq(8)"))
        else:
            records += found
    return records, findings

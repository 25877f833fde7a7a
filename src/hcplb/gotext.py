"""Go's formatting and parsing, so hcplb reads durations and repeats MetalLB's messages as Go does.

`%q` of a string is a double-quoted Go string; `%q` of an integer is a single-quoted rune
(MetalLB prints aggregation lengths that way); durations print as `time.Duration.String()`.
"""

from __future__ import annotations

import ipaddress
import json
import re

_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_ESCAPES = {7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v", 92: "\\\\"}


def q(value: str) -> str:
    """Go's %q of a string (close enough: JSON escaping, non-ASCII kept)."""
    return json.dumps(value, ensure_ascii=False)


def q_int(value: int) -> str:
    """Go's %q of an integer: the rune as a quoted character literal."""
    if value < 0 or value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
        return "'\ufffd'"
    if value == 39:
        return "'\\''"
    if value in _ESCAPES:
        return f"'{_ESCAPES[value]}'"
    char = chr(value)
    if value < 32 or value == 127:
        return f"'\\x{value:02x}'"
    if not char.isprintable():
        return f"'\\u{value:04x}'" if value <= 0xFFFF else f"'\\U{value:08x}'"
    return f"'{char}'"


def parse_duration(text: str) -> float | None:
    """Seconds from a Go duration string ("1m30s", "500ms", "0"); None if Go would reject it."""
    if not isinstance(text, str):
        return None
    s = text.strip()
    sign = 1.0
    if s[:1] in ("+", "-"):
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        return None
    total, pos = 0.0, 0
    while pos < len(s):
        match = _PART.match(s, pos)
        if not match:
            return None
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    return sign * total


def format_duration(seconds: float) -> str:
    """time.Duration.String(): 1m30s, 500ms, 1.5s, 0s, 1h0m0s."""
    nanos = round(seconds * 1e9)
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    nanos = abs(nanos)
    if nanos < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if nanos >= size:
                return sign + _trim(nanos / size) + unit
    hours, rest = divmod(nanos, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    secs = _trim(rest / 1e9) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}"
    if minutes:
        return f"{sign}{minutes}m{secs}"
    return sign + secs


def _trim(value: float) -> str:
    text = f"{value:.9f}".rstrip("0").rstrip(".")
    return text or "0"


def parse_ip(text: object) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """net.ParseIP: v4 or v6 text; no zones, no prefixes, no hostnames."""
    if not isinstance(text, str) or "%" in text or "/" in text:
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def parse_cidr(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """net.ParseCIDR: host bits allowed (masked away)."""
    if "/" not in text or "%" in text:
        return None
    addr, _, length = text.partition("/")
    if not length.isdigit() or parse_ip(addr) is None:
        return None
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def ip16(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bytes:
    """The 16-byte form Go keeps (IPv4 as ::ffff:a.b.c.d), for byte comparisons."""
    if addr.version == 4:
        return b"\x00" * 10 + b"\xff\xff" + addr.packed
    return addr.packed

"""Pure parsers of FRR's text answers (frr-reload.py --test, sysctl); no I/O here.

FRR's JSON answers are read by `hcplb.frrjson`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ReloadDiff", "parse_reload_diff", "parse_sysctl"]


# -- sysctl ------------------------------------------------------------------------------------


def parse_sysctl(text: str) -> dict[str, str]:
    """`sysctl KEY...` output (`key = value` lines) as a dict."""
    result = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            result[key.strip()] = value.strip()
    return result


# -- frr-reload.py --test ----------------------------------------------------------------------

# Lines FRR never shows back in `show running-config`, so frr-reload.py always wants to add
# them, and lines zebra derives from the kernel: not drift. (FRR 8.4 BFD profile defaults.)
_DEFAULT_LEAVES = {
    "detect-multiplier 3",
    "receive-interval 300",
    "transmit-interval 300",
    "echo-interval 50",
    "echo receive-interval 50",
    "echo transmit-interval 50",
    "minimum-ttl 254",
    "no passive-mode",
    "no echo-mode",
}
_KERNEL_DERIVED = {"ip forwarding", "ipv6 forwarding", "no ip forwarding", "no ipv6 forwarding"}


@dataclass(frozen=True)
class ReloadDiff:
    """frr-reload.py's change: each entry is its context path, outermost first."""

    delete: tuple[tuple[str, ...], ...]
    add: tuple[tuple[str, ...], ...]

    @property
    def empty(self) -> bool:
        return not self.delete and not self.add

    def lines(self) -> list[str]:
        """`- a / b` and `+ a / b`: one line per change, context joined with ' / '."""
        return [f"- {' / '.join(e)}" for e in self.delete] + [
            f"+ {' / '.join(e)}" for e in self.add
        ]


def _entries(lines: list[str]) -> list[tuple[str, ...]]:
    """Group `context\\n  leaf` blocks: a block starts at every unindented line."""
    entries: list[list[str]] = []
    for line in lines:
        if not line.strip():
            continue
        if not line.startswith(" ") or not entries:
            entries.append([line.strip()])
        else:
            entries[-1].append(line.strip())
    return [tuple(e) for e in entries]


def _benign(entry: tuple[str, ...], *, added: bool) -> bool:
    if len(entry) == 1 and entry[0] in _KERNEL_DERIVED:
        return True
    return added and entry[0] == "bfd" and len(entry) == 3 and entry[2] in _DEFAULT_LEAVES


def parse_reload_diff(stdout: str) -> ReloadDiff:
    """`frr-reload.py --test --stdout FILE` output, without FRR's own no-op noise."""
    sections: dict[str, list[str]] = {"delete": [], "add": []}
    current: str | None = None
    for line in stdout.splitlines():
        if line.startswith("Lines To Delete"):
            current = "delete"
        elif line.startswith("Lines To Add"):
            current = "add"
        elif line.startswith("====="):
            continue
        elif current is not None:
            sections[current].append(line)
    delete = tuple(e for e in _entries(sections["delete"]) if not _benign(e, added=False))
    add = tuple(e for e in _entries(sections["add"]) if not _benign(e, added=True))
    return ReloadDiff(delete, add)

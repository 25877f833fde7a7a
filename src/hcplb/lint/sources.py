"""Find and read lint's inputs: which file is a router config, a manifest, a zone, a firewall.

Every reader is guarded: a file that cannot be read, or a reader bug on strange input, is a
finding at that file, never an exception.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from hcplb.lint.dnsfiles import Record, read_dnsmasq, read_hosts, read_nsupdate, read_zone
from hcplb.lint.findings import Finding, Where, error, info
from hcplb.lint.frr.model import FrrConfig
from hcplb.lint.frr.parse import parse_frr
from hcplb.lint.hostfiles import (
    Daemons,
    Firewall,
    Sysctl,
    flavour_of,
    read_daemons,
    read_firewall,
    read_sysctl,
)
from hcplb.lint.k8s import Manifest, read_manifests

_MAX_BYTES = 8 * 1024 * 1024
_YAML = (".yaml", ".yml", ".json")
_ZONE_LINE = re.compile(r"\s(IN\s+)?(A|AAAA|SOA|NS|CNAME)\s+\S", re.I)
_HOSTS_LINE = re.compile(r"^\s*([0-9.]+|[0-9a-fA-F:]+:[0-9a-fA-F:.]*)\s+[A-Za-z0-9]")
_SITE = re.compile(r"^apiVersion:\s*['\"]?hcplb\.io/", re.M)


@dataclass(frozen=True)
class Inputs:
    """Everything read from the files given to lint."""

    files: tuple[str, ...] = ()
    routers: tuple[FrrConfig, ...] = ()
    manifests: tuple[Manifest, ...] = ()
    records: tuple[Record, ...] = ()
    dns_files: tuple[str, ...] = ()
    daemons: tuple[Daemons, ...] = ()
    sysctls: tuple[Sysctl, ...] = ()
    firewalls: tuple[Firewall, ...] = ()
    sites: tuple[str, ...] = ()


@dataclass
class _Collector:
    files: list[str] = field(default_factory=list)
    routers: list[FrrConfig] = field(default_factory=list)
    manifests: list[Manifest] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    dns_files: list[str] = field(default_factory=list)
    daemons: list[Daemons] = field(default_factory=list)
    sysctls: list[Sysctl] = field(default_factory=list)
    firewalls: list[Firewall] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def freeze(self) -> Inputs:
        return Inputs(
            tuple(self.files),
            tuple(self.routers),
            tuple(self.manifests),
            tuple(self.records),
            tuple(self.dns_files),
            tuple(self.daemons),
            tuple(self.sysctls),
            tuple(self.firewalls),
            tuple(self.sites),
        )


def _kind_of(name: str, text: str) -> str | None:
    lower = name.lower()
    if lower.endswith((".md", ".key", ".pem", ".crt", ".svg", ".html", ".png")):
        return None
    if lower.endswith(_YAML):
        return (
            "site" if _SITE.search(text) and re.search(r"^kind:\s*Site\b", text, re.M) else "yaml"
        )
    if lower == "frr.conf" or (
        lower.endswith(".conf") and re.search(r"^\s*router bgp", text, re.M)
    ):
        return "frr"
    if lower == "daemons":
        return "daemons"
    if re.search(r"^\s*(host-record=|address=/)", text, re.M):
        return "dnsmasq"
    if re.search(r"^\s*(sysctl\s+(-w\s+)?)?net\.ipv[46]\.\S+\s*=", text, re.M):
        return "sysctl"
    if lower.endswith((".zone", ".db")) or lower.startswith("db.") or "$ORIGIN" in text:
        return "zone"
    if lower.endswith(".nsupdate") or re.search(r"^\s*update\s+add\s", text, re.M):
        return "nsupdate"
    flavour = flavour_of(text, lower)
    if flavour is not None:
        return f"firewall:{flavour}"
    if lower.endswith(".sh"):
        return None
    if lower in ("hosts", "etc-hosts") or lower.endswith(".hosts"):
        return "hosts"
    lines = [
        ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith(("#", ";"))
    ]
    if lines and all(_HOSTS_LINE.match(ln) for ln in lines):
        return "hosts"
    if lines and any(_ZONE_LINE.search(ln) for ln in lines):
        return "zone"
    return "unknown"


def _read_one(c: _Collector, display: str, name: str, text: str) -> None:
    kind = _kind_of(name, text)
    if kind is None:
        return
    c.files.append(display)
    if kind == "site":
        c.sites.append(display)
    elif kind == "yaml":
        manifests, findings = read_manifests(text, display)
        c.manifests += manifests
        c.findings += findings
    elif kind == "frr":
        config, frr_findings = parse_frr(text, display)
        if config.speaker_side():
            c.findings.append(
                info(
                    Where(display),
                    "read.node-side",
                    "a node's own FRR config (a MetalLB/frr-k8s speaker: per-neighbor "
                    "`<neighbor>-pl-ipv4` prefix-lists and `-in`/`-out` route-maps), not the "
                    "upstream router's: not read as a router",
                    "pass the upstream router's frr.conf (or `show running-config` on it)",
                )
            )
            return
        c.routers.append(config)
        c.findings += frr_findings
    elif kind == "daemons":
        c.daemons.append(read_daemons(text, display))
    elif kind == "sysctl":
        c.sysctls.append(read_sysctl(text, display))
    elif kind in ("zone", "nsupdate", "hosts", "dnsmasq"):
        reader: Callable[[str, str], tuple[list[Record], list[Finding]]] = {
            "zone": read_zone,
            "nsupdate": read_nsupdate,
            "hosts": read_hosts,
            "dnsmasq": read_dnsmasq,
        }[kind]
        records, findings = reader(text, display)
        c.records += records
        c.dns_files.append(display)
        c.findings += findings
    elif kind.startswith("firewall:"):
        firewall, findings = read_firewall(text, display, kind.split(":", 1)[1])
        if firewall.rules or not name.lower().endswith(".sh"):
            c.firewalls.append(firewall)
            c.findings += findings
    else:
        c.findings.append(
            info(Where(display), "read.skip", "not a file lint knows how to read; skipped")
        )


def _guarded(c: _Collector, display: str, name: str, text: str) -> None:
    try:
        _read_one(c, display, name, text)
    except Exception as exc:  # a reader bug must not hide the other files' findings
        c.findings.append(
            error(
                Where(display),
                "read.internal",
                f"could not read this file ({type(exc).__name__}: {exc})",
                "please report it with the file attached",
            )
        )


def _expand(paths: Iterable[Path]) -> Iterable[tuple[Path, str]]:
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path).parts
                if child.is_file() and not any(p.startswith(".") for p in rel):
                    yield child, str(child)
        else:
            yield path, str(path)


def read_paths(paths: Iterable[Path]) -> tuple[Inputs, list[Finding]]:
    """Read files and directories (recursively, hidden entries skipped)."""
    c = _Collector()
    for path, display in _expand(paths):
        try:
            if path.exists() and not path.is_file():
                c.findings.append(error(Where(display), "read.file", "not a regular file"))
                continue
            if path.stat().st_size > _MAX_BYTES:
                c.findings.append(error(Where(display), "read.file", "file is too large to lint"))
                continue
            text = path.read_text(encoding="utf-8")
            if not text.strip():
                c.findings.append(error(Where(display), "read.file", "the file is empty"))
                continue
        except FileNotFoundError:
            c.findings.append(error(Where(display), "read.file", "no such file or directory"))
            continue
        except (OSError, UnicodeDecodeError) as exc:
            c.findings.append(error(Where(display), "read.file", f"cannot read: {exc}"))
            continue
        _guarded(c, display, path.name, text)
    return c.freeze(), c.findings


def read_texts(
    files: Iterable[tuple[str, str]], *, prefix: str = ""
) -> tuple[Inputs, list[Finding]]:
    """Read in-memory files given as (relative path, text), e.g. a render."""
    c = _Collector()
    for rel, text in files:
        _guarded(c, f"{prefix}{rel}", rel.rsplit("/", 1)[-1], text)
    return c.freeze(), c.findings

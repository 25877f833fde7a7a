"""Read a router's host files: FRR's `daemons`, sysctl snippets, and its firewall rules.

The firewall is reduced to an ordered list of rules about the BGP and BFD ports, enough to ask
"is TCP 179 accepted from this source?" for iptables-save files or commands, nftables files and
firewalld commands (rich rules, ports, services).
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass

from hcplb.lint.findings import Finding, Where, warning

Proto = str  # tcp | udp


@dataclass(frozen=True)
class Daemons:
    file: str
    enabled: dict[str, int]  # daemon -> line, for `name=yes`
    bgpd_port: int | None = None  # from bgpd_options -p


@dataclass(frozen=True)
class Sysctl:
    file: str
    values: dict[str, tuple[str, int]]


@dataclass(frozen=True)
class FwRule:
    """One rule about a port: sources None means any source."""

    file: str
    line: int
    proto: Proto
    ports: frozenset[int]
    sources: tuple[str, ...] | None
    action: str  # accept | drop
    order: int = 0
    family: int | None = None  # 4, 6, or None for both

    def applies(self, proto: Proto, port: int, source: str) -> bool | None:
        """True/False, or None when a source is a named set we cannot see."""
        if proto != self.proto or port not in self.ports:
            return False
        if self.family is not None and ipaddress.ip_address(source).version != self.family:
            return False
        if self.sources is None:
            return True
        address = ipaddress.ip_address(source)
        unknown = False
        for entry in self.sources:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                unknown = True
        return None if unknown else False


@dataclass(frozen=True)
class Firewall:
    file: str
    flavour: str  # iptables | nftables | firewalld
    rules: tuple[FwRule, ...]
    default: str  # accept | drop

    def verdict(self, proto: Proto, port: int, source: str) -> tuple[str, FwRule | None]:
        """accept, drop or unknown, and the rule that decided (None: the default)."""
        for rule in sorted(self.rules, key=lambda r: r.order):
            applies = rule.applies(proto, port, source)
            if applies is None:
                return "unknown", rule
            if applies:
                return rule.action, rule
        return self.default, None


def read_daemons(text: str, file: str) -> Daemons:
    enabled: dict[str, int] = {}
    port: int | None = None
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        key, _, value = line.partition("=")
        value = value.strip().strip("\"'")
        if value == "yes":
            enabled[key.strip()] = n
        if key.strip() == "bgpd_options" and (match := re.search(r"-p\s*(\d+)", value)):
            port = int(match.group(1))
    return Daemons(file, enabled, port)


def read_sysctl(text: str, file: str) -> Sysctl:
    values: dict[str, tuple[str, int]] = {}
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if line.startswith("sysctl "):
            line = line.split(None, 1)[1].removeprefix("-w ").strip()
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip().replace("/", ".")] = (value.strip(), n)
    return Sysctl(file, values)


def _ports(text: str) -> frozenset[int]:
    ports: set[int] = set()
    for part in re.split(r"[,\s{}]+", text):
        if not part:
            continue
        first, _, last = part.replace("-", ":").partition(":")
        if first.isdigit() and (not last or last.isdigit()):
            ports.update(range(int(first), int(last or first) + 1))
    return frozenset(ports)


_NOT_INPUT = ("FORWARD", "OUTPUT", "PREROUTING", "POSTROUTING")


def _iptables(text: str, file: str) -> tuple[list[FwRule], str]:
    rules: list[FwRule] = []
    default = "accept"
    file_family = 6 if "ip6tables" in file.rsplit("/", 1)[-1] else None
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if line.startswith(":INPUT") and "DROP" in line:
            default = "drop"
        if not re.search(r"(^|\s)-[AI]\s", line) and "-P INPUT" not in line:
            continue
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        if "-P" in words and "DROP" in words:
            default = "drop"
            continue
        opts: dict[str, str] = {}
        for i, word in enumerate(words[:-1]):
            opts.setdefault(word, words[i + 1])
        chain = opts.get("-A") or opts.get("-I") or opts.get("--append") or opts.get("--insert")
        if chain in _NOT_INPUT:
            continue
        proto = opts.get("-p") or opts.get("--protocol")
        target = opts.get("-j") or opts.get("--jump") or ""
        port_text = opts.get("--dport") or opts.get("--dports") or opts.get("--destination-port")
        if (
            proto not in ("tcp", "udp")
            or not port_text
            or target not in ("ACCEPT", "DROP", "REJECT")
        ):
            continue
        source = opts.get("-s") or opts.get("--source")
        if "--match-set" in opts:
            source = f"set:{opts['--match-set']}"
        sources = tuple(source.split(",")) if source else None
        action = "accept" if target == "ACCEPT" else "drop"
        order = -n if " -I " in f" {line} " and "INPUT" in words else n
        tool = next((w for w in words if w.endswith("iptables")), "")
        family = 6 if tool.endswith("ip6tables") else 4 if tool else file_family or 4
        rules.append(FwRule(file, n, proto, _ports(port_text), sources, action, order, family))
    return rules, default


def _nft_sets(text: str) -> dict[str, tuple[str, ...]]:
    sets: dict[str, tuple[str, ...]] = {}
    for match in re.finditer(r"set\s+([\w-]+)\s*\{(.*?)\n\s*\}", text, re.S):
        elements = re.search(r"elements\s*=\s*\{([^}]*)\}", match.group(2), re.S)
        if elements:
            sets[match.group(1)] = tuple(
                e.strip() for e in elements.group(1).split(",") if e.strip()
            )
    return sets


def _nftables(text: str, file: str) -> tuple[list[FwRule], str]:
    sets = _nft_sets(text)
    rules: list[FwRule] = []
    default = "accept"
    table_family: int | None = None
    other_hook = False  # inside a chain hooked to forward/output/...: not traffic to the router
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        table = re.match(r"table\s+(inet|ip|ip6)\b", line)
        if table:
            table_family = {"inet": None, "ip": 4, "ip6": 6}[table.group(1)]
        if line.startswith("chain "):
            other_hook = False
        hook = re.search(r"\bhook\s+(\w+)", line)
        if hook:
            other_hook = hook.group(1) != "input"
        if other_hook:
            continue
        if "hook input" in line and "policy drop" in line:
            default = "drop"
        match = re.search(r"\b(tcp|udp)\s+dport\s+(\{[^}]*\}|\S+)", line)
        verdict = re.search(r"\b(accept|drop|reject)\b", line)
        if not match or not verdict:
            continue
        source = re.search(r"\b(ip6?)\s+saddr\s+(\{[^}]*\}|\S+)", line)
        sources: tuple[str, ...] | None = None
        family = table_family
        if source:
            family = 6 if source.group(1) == "ip6" else 4
            value = source.group(2)
            if value.startswith("@"):
                sources = sets.get(value[1:], (f"set:{value[1:]}",))
            else:
                sources = tuple(v.strip() for v in value.strip("{} ").split(",") if v.strip())
        action = "accept" if verdict.group(1) == "accept" else "drop"
        rules.append(
            FwRule(file, n, match.group(1), _ports(match.group(2)), sources, action, n, family)
        )
    return rules, default


def _firewalld(text: str, file: str) -> tuple[list[FwRule], str]:
    rules: list[FwRule] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0]
        if "firewall-cmd" not in line and not line.strip().startswith("fw "):
            continue
        in_policy = "--policy" in line
        for match in re.finditer(r"--add-port[= ](\d+(?:-\d+)?)/(tcp|udp)", line):
            rules.append(FwRule(file, n, match.group(2), _ports(match.group(1)), None, "accept", n))
        if re.search(r"--add-service[= ]bgp\b", line):
            rules.append(FwRule(file, n, "tcp", frozenset({179}), None, "accept", n))
        rich = re.search(r"--add-rich-rule[= ](['\"])(.*)\1", line)
        if not rich:
            continue
        body = rich.group(2)
        port = re.search(r'port\s+port="?(\d+(?:-\d+)?)"?\s+protocol="?(tcp|udp)"?', body)
        verdict = re.search(r"\b(accept|drop|reject)\b\s*$", body.strip())
        if not port or not verdict:
            continue
        source = re.search(r'source\s+address="?([^"\s]+)"?', body)
        priority = re.search(r'priority="?(-?\d+)"?', body)
        fam = re.search(r'family="?ipv([46])"?', body)
        order = int(priority.group(1)) if priority else 0
        order = order * 100000 - (10**9 if in_policy else 0) + n
        rules.append(
            FwRule(
                file,
                n,
                port.group(2),
                _ports(port.group(1)),
                (source.group(1),) if source else None,
                "accept" if verdict.group(1) == "accept" else "drop",
                order,
                int(fam.group(1)) if fam else None,
            )
        )
    # firewalld zones reject what they do not list.
    return rules, "drop"


def flavour_of(text: str, name: str) -> str | None:
    """iptables, nftables, firewalld, or None when the text is no firewall we can read."""
    if "firewall-cmd" in text or name.startswith("firewalld"):
        return "firewalld"
    if re.search(r"^\s*(table\s+(inet|ip|ip6)\s|nft\s)", text, re.M) or name.endswith(".nft"):
        return "nftables"
    if re.search(r"(^|\s)-[AIP]\s+\S+", text, re.M) and ("iptables" in text or "*filter" in text):
        return "iptables"
    return None


def read_firewall(text: str, file: str, flavour: str) -> tuple[Firewall, list[Finding]]:
    reader = {"iptables": _iptables, "nftables": _nftables, "firewalld": _firewalld}[flavour]
    rules, default = reader(text, file)
    findings: list[Finding] = []
    if not rules:
        findings.append(
            warning(
                Where(file, 1),
                "firewall.unreadable",
                f"no rule about TCP 179 or UDP 3784/3785 found in this {flavour} file",
                "lint reads iptables-save/iptables commands, nft files and firewall-cmd commands",
            )
        )
    return Firewall(file, flavour, tuple(rules), default), findings

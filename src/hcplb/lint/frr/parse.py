"""Read an FRR config (`frr.conf`) into the few facts lint needs, each with its line number.

Not a full FRR grammar: `router bgp` (neighbors, peer-groups, listen ranges, address-families),
`route-map`, `ip[v6] prefix-list`, `bfd` profiles and interface addresses. As in vtysh, a line
that is not a command of the current block is retried in the enclosing one; what is unknown at
the top is reported, never raised.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace

from hcplb.lint.findings import Finding, Where, error, warning
from hcplb.lint.frr import model as m
from hcplb.lint.frr.neighbor import NEIGHBOR_OPTIONS, apply_neighbor

_TOP_WORDS = frozenset(
    "frr hostname log password enable service banner debug no ip ipv6 router route-map bfd "  # noqa: SIM905
    "interface line end exit vrf key access-list agentx bgp mpls segment-routing zebra fpm "
    "table allow-external-route-update nexthop-group pbr-map affinity-map srv6 username "
    "domainname rpki mac evpn write-integrated-vtysh-config ip-forwarding router-id".split()
)
# Commands of `router bgp` itself (address-families have far more; those are not listed).
_BGP_WORDS = frozenset(
    "bgp neighbor address-family timers network redistribute maximum-paths aggregate-address "  # noqa: SIM905
    "distance coalesce-time write-quanta read-quanta update-delay table-map no exit end "
    "description".split()
)
_BLOCK_WORDS = frozenset(
    "router route-map interface line vrf key frr hostname segment-routing rpki agentx service "  # noqa: SIM905
    "password enable access-list nexthop-group pbr-map".split()
)
_TOP_PREFIXES = (
    "ip prefix-list",
    "ipv6 prefix-list",
    "ip route ",
    "ipv6 route ",
    "ip community-list",
    "log ",
    "debug ",
    "no router ",
    "no route-map ",
    "no ip prefix-list",
)
_TOP_BGP_LISTS = (
    "bgp as-path",
    "bgp community-list",
    "bgp large-community-list",
    "bgp extcommunity-list",
)

_SHOW_HEADERS = ("Building configuration...", "Current configuration:")


def _starts_block(w: list[str]) -> bool:
    """A command of the top level, wherever it appears (as vtysh falls back to it)."""
    text = " ".join(w)
    if w[0] in _BLOCK_WORDS or (w[0] == "bfd" and len(w) == 1):
        return True
    return text.startswith(_TOP_PREFIXES) or text.startswith(_TOP_BGP_LISTS)


@dataclass
class _Parser:
    file: str
    findings: list[Finding] = field(default_factory=list)
    config: m.FrrConfig = field(default_factory=lambda: m.FrrConfig(""))
    bgp: m.BgpInstance | None = None
    af: str | None = None
    route_map: tuple[str, int] | None = None
    bfd_profile: str | None = None
    ctx: str = "top"

    def where(self, line: int) -> Where:
        return Where(self.file, line)

    def bad(self, line: int, message: str, hint: str = "") -> None:
        self.findings.append(error(self.where(line), "frr.syntax", message, hint))

    # --- dispatch -----------------------------------------------------------------------------

    def feed(self, number: int, words: list[str]) -> None:
        if self.ctx == "top" and " ".join(words) in _SHOW_HEADERS:
            return  # the banner of `show running-config` output, not a command
        for _ in range(4):
            if self._handle(self.ctx, number, words):
                return
            if self.ctx == "top":
                break
            self._pop()
        self._unknown(number, words)

    def _unknown(self, number: int, words: list[str], where: str = "") -> None:
        # Never echo a value: an unknown or misspelt command may carry a secret (`passwd X`,
        # `key-string X`), so at most its first three words are shown, never its last.
        shown = [*words[: min(3, len(words) - 1)], "…"] if len(words) > 1 else words
        self.findings.append(
            warning(
                self.where(number),
                "frr.unknown",
                f"unknown command {where}{' '.join(shown)!r}",
                "check it with `vtysh -C -f` on the router",
            )
        )

    def _pop(self) -> None:
        if self.ctx == "af":
            self._store_bgp()
            self.ctx, self.af = "bgp", None
        elif self.ctx == "bfd-profile":
            self.ctx, self.bfd_profile = "bfd", None
        else:
            self._store_bgp()
            self.ctx, self.bgp, self.af, self.route_map = "top", None, None, None

    def _handle(self, ctx: str, n: int, w: list[str]) -> bool:
        """Handle the line in `ctx`; False sends it to the enclosing block."""
        head = w[0]
        if ctx == "top":
            return self._top(n, w)
        if _starts_block(w):
            return False
        if ctx == "bgp":
            if head not in _BGP_WORDS:
                self._unknown(n, w, "in router bgp ")
                return True
            return self._bgp(n, w)
        if ctx == "af":
            return self._af(n, w)
        if head in ("exit", "end") and ctx in ("route-map", "interface", "other"):
            self._pop()
            return True
        if ctx == "route-map":
            self._route_map_line(n, w)
        elif ctx == "interface" and head == "ip" and len(w) >= 3 and w[1] == "address":
            self._interface_address(n, w[2])
        elif ctx in ("bfd", "bfd-profile", "bfd-peer"):
            return self._bfd(ctx, n, w)
        return True

    # --- top level ----------------------------------------------------------------------------

    def _top(self, n: int, w: list[str]) -> bool:
        head = w[0]
        cfg = self.config
        if head == "frr" and len(w) >= 3 and w[1] == "defaults":
            self.config = replace(cfg, defaults=w[2], defaults_line=n)
        elif head == "hostname" and len(w) >= 2:
            self.config = replace(cfg, hostname=w[1], hostname_line=n)
        elif head == "router" and len(w) >= 2 and w[1] == "bgp":
            self._router_bgp(n, w)
        elif head == "router":
            self.ctx = "other"
        elif head == "route-map":
            self._route_map_start(n, w)
        elif head in ("ip", "ipv6") and len(w) >= 2 and w[1] == "prefix-list":
            self._prefix_list(n, w)
        elif head == "bfd" and len(w) == 1:
            self.ctx = "bfd"
        elif head == "interface" and len(w) >= 2:
            self.ctx = "interface"
        elif head in ("line", "vrf", "key", "segment-routing", "rpki", "nexthop-group", "pbr-map"):
            self.ctx = "other"
        elif head not in _TOP_WORDS:
            return False
        return True

    def _router_bgp(self, n: int, w: list[str]) -> None:
        asn = m.parse_asn(w[2]) if len(w) >= 3 else None
        if asn is None:
            self.bad(n, f"'router bgp' needs an AS number, got {' '.join(w[2:])!r}")
            asn = 0
        vrf = w[4] if len(w) >= 5 and w[3] == "vrf" else None
        self.bgp = m.BgpInstance(asn=asn, vrf=vrf, line=n)
        self.ctx = "bgp"

    def _store_bgp(self) -> None:
        if self.bgp is None:
            return
        others = tuple(b for b in self.config.bgp if b.line != self.bgp.line)
        self.config = replace(self.config, bgp=(*others, self.bgp))

    def _route_map_start(self, n: int, w: list[str]) -> None:
        if len(w) < 3 or w[2] not in ("permit", "deny"):
            self.bad(n, "route-map needs a name and permit|deny", "route-map NAME permit 10")
            self.ctx = "other"
            return
        seq = int(w[3]) if len(w) >= 4 and w[3].isdigit() else 10
        entry = m.RouteMapEntry(action=w[2], seq=seq, line=n)
        entries = {e.seq: e for e in self.config.route_maps.get(w[1], ())}
        entries[seq] = entry
        maps = dict(self.config.route_maps)
        maps[w[1]] = tuple(sorted(entries.values(), key=lambda e: e.seq))
        self.config = replace(self.config, route_maps=maps)
        self.route_map, self.ctx = (w[1], seq), "route-map"

    def _route_map_line(self, n: int, w: list[str]) -> None:
        assert self.route_map is not None
        name, seq = self.route_map
        entries = list(self.config.route_maps[name])
        for i, entry in enumerate(entries):
            if entry.seq == seq:
                if w[0] == "match":
                    entries[i] = replace(entry, matches=(*entry.matches, tuple(w[1:])))
                elif w[0] in ("call", "continue", "on-match"):
                    entries[i] = replace(entry, flow=True)
        maps = dict(self.config.route_maps)
        maps[name] = tuple(entries)
        self.config = replace(self.config, route_maps=maps)

    def _prefix_list(self, n: int, w: list[str]) -> None:
        family = 4 if w[0] == "ip" else 6
        if len(w) < 4:
            self.bad(n, "incomplete prefix-list", "ip prefix-list NAME seq 5 permit PREFIX")
            return
        name, rest = w[2], w[3:]
        if rest[0] == "description":
            return
        key = (family, name)
        existing = self.config.prefix_lists.get(key, ())
        seq = (max((e.seq for e in existing), default=0) // 5 + 1) * 5
        if rest[0] == "seq" and len(rest) >= 2:
            if not rest[1].isdigit():
                self.bad(n, f"prefix-list sequence {rest[1]!r} is not a number")
                return
            seq, rest = int(rest[1]), rest[2:]
        entry = m.parse_prefix_entry(rest, family, seq, n)
        if isinstance(entry, str):
            self.bad(
                n, f"prefix-list {name}: {entry}", "ip prefix-list NAME permit 10.0.0.0/24 ge 32"
            )
            return
        lists = dict(self.config.prefix_lists)
        lists[key] = tuple(sorted((*existing, entry), key=lambda e: e.seq))
        self.config = replace(self.config, prefix_lists=lists)

    def _interface_address(self, n: int, text: str) -> None:
        try:
            iface = ipaddress.ip_interface(text)
        except ValueError:
            self.bad(n, f"{text!r} is not an interface address")
            return
        self.config = replace(self.config, addresses=(*self.config.addresses, (str(iface.ip), n)))

    # --- bfd ----------------------------------------------------------------------------------

    def _bfd(self, ctx: str, n: int, w: list[str]) -> bool:
        head = w[0]
        if head in ("exit", "end"):
            if ctx == "bfd":
                self.ctx = "top"
            else:
                self.ctx, self.bfd_profile = "bfd", None
            return True
        if ctx == "bfd" and head == "profile" and len(w) >= 2:
            profiles = dict(self.config.bfd_profiles)
            profiles.setdefault(w[1], m.BfdProfile(name=w[1], line=n))
            self.config = replace(self.config, bfd_profiles=profiles)
            self.ctx, self.bfd_profile = "bfd-profile", w[1]
            return True
        if ctx == "bfd" and head == "peer":
            self.ctx = "bfd-peer"
            return True
        if ctx == "bfd-profile" and self.bfd_profile is not None:
            return self._bfd_profile_line(n, w)
        return ctx == "bfd-peer" and head not in _TOP_WORDS

    def _bfd_profile_line(self, n: int, w: list[str]) -> bool:
        assert self.bfd_profile is not None
        profile = self.config.bfd_profiles[self.bfd_profile]
        keys = {
            "receive-interval": "receive_interval",
            "transmit-interval": "transmit_interval",
            "detect-multiplier": "detect_multiplier",
            "minimum-ttl": "minimum_ttl",
        }
        head = w[0]
        if head in keys and len(w) >= 2:
            if not w[1].isdigit():
                self.bad(n, f"{head} {w[1]!r} is not a number")
                return True
            profile = replace(profile, **{keys[head]: int(w[1])})  # type: ignore[arg-type]
        elif head == "echo-mode":
            profile = replace(profile, echo_mode=True)
        elif head == "passive-mode":
            profile = replace(profile, passive_mode=True)
        elif head not in ("echo", "echo-interval", "shutdown", "no"):
            return False
        profiles = dict(self.config.bfd_profiles)
        profiles[profile.name] = profile
        self.config = replace(self.config, bfd_profiles=profiles)
        return True

    # --- router bgp ---------------------------------------------------------------------------

    def _bgp(self, n: int, w: list[str]) -> bool:
        assert self.bgp is not None
        bgp = self.bgp
        text = " ".join(w)
        if w[0] in ("exit", "end"):
            self._pop()
            return True
        if w[0] == "address-family":
            self.ctx, self.af = "af", " ".join(w[1:3]) if len(w) >= 3 else " ".join(w[1:])
            return True
        if text.startswith("bgp router-id"):
            value = w[2] if len(w) >= 3 else ""
            try:
                ipaddress.IPv4Address(value)
            except ValueError:
                self.findings.append(
                    error(
                        self.where(n),
                        "frr.router-id",
                        f"router-id {value!r} is not an IPv4 address",
                        "FRR's router-id is a 32-bit dotted quad, also on IPv6-only routers",
                    )
                )
            self.bgp = replace(bgp, router_id=value, router_id_line=n)
        elif text == "no bgp ebgp-requires-policy":
            self.bgp = replace(bgp, ebgp_requires_policy=False, ebgp_requires_policy_line=n)
        elif text == "bgp ebgp-requires-policy":
            self.bgp = replace(bgp, ebgp_requires_policy=True, ebgp_requires_policy_line=n)
        elif text == "no bgp default ipv4-unicast":
            self.bgp = replace(bgp, default_ipv4_unicast=False)
        elif text.startswith("bgp bestpath as-path multipath-relax"):
            self.bgp = replace(bgp, multipath_relax=True, multipath_relax_line=n)
        elif text.startswith("bgp listen range") and len(w) >= 6 and w[4] == "peer-group":
            try:
                net = ipaddress.ip_network(w[3], strict=False)
            except ValueError:
                self.bad(n, f"listen range {w[3]!r} is not a prefix")
                return True
            self.bgp = replace(bgp, listen_ranges=(*bgp.listen_ranges, (net, w[5], n)))
        elif text.startswith("bgp listen limit") and len(w) >= 4 and w[3].isdigit():
            self.bgp = replace(bgp, listen_limit=int(w[3]))
        elif w[0] == "timers" and len(w) >= 4 and w[1] == "bgp":
            self._timers(n, w[2:4], None)
        elif w[0] in ("neighbor", "no") and (w[0] == "neighbor" or w[1:2] == ["neighbor"]):
            self._neighbor(n, w, "ipv4 unicast", at_bgp_level=True)
        elif w[0] == "maximum-paths":
            self._af(n, w, "ipv4 unicast")
        return True

    def _timers(self, n: int, values: list[str], neighbor: str | None) -> None:
        assert self.bgp is not None
        if not all(v.isdigit() for v in values):
            self.bad(n, f"timers {' '.join(values)!r} are not numbers", "timers KEEPALIVE HOLD")
            return
        keepalive, hold = int(values[0]), int(values[1])
        if hold != 0 and (hold < 3 or keepalive > hold):
            self.bad(n, f"timers {keepalive} {hold}: hold must be 0 or >= 3 and >= keepalive")
        if neighbor is None:
            self.bgp = replace(self.bgp, timers=(keepalive, hold))

    def _af(self, n: int, w: list[str], af: str | None = None) -> bool:
        assert self.bgp is not None
        af = af or self.af or "ipv4 unicast"
        if w[0] in ("exit-address-family", "exit"):
            self._pop()
            return True
        if w[0] == "end":
            self._pop()
            self._pop()
            return True
        if w[0] in ("neighbor", "no") and (w[0] == "neighbor" or w[1:2] == ["neighbor"]):
            self._neighbor(n, w, af, at_bgp_level=False)
            return True
        if w[0] == "maximum-paths" and len(w) >= 2:
            ibgp = w[1] == "ibgp"
            value = w[2] if ibgp and len(w) >= 3 else w[1]
            if not value.isdigit():
                self.bad(n, f"maximum-paths {value!r} is not a number")
                return True
            current = self.bgp.afs.get(af, m.AfConfig())
            if ibgp:
                current = replace(current, maximum_paths_ibgp=(int(value), n))
            else:
                current = replace(current, maximum_paths=(int(value), n))
            afs = dict(self.bgp.afs)
            afs[af] = current
            self.bgp = replace(self.bgp, afs=afs)
        return True

    def _neighbor(self, n: int, w: list[str], af: str, *, at_bgp_level: bool) -> None:
        negate = w[0] == "no"
        words = w[1:] if negate else w
        if len(words) < 2:
            self.bad(n, "neighbor needs an address, interface or peer-group name")
            return
        name, rest = words[1], words[2:]
        if rest and rest[0] not in NEIGHBOR_OPTIONS:
            self._unknown(n, w, "neighbor option ")
            return
        assert self.bgp is not None
        result = apply_neighbor(self.bgp, name, rest, af, n, negate=negate, bgp_level=at_bgp_level)
        if isinstance(result, str):
            self.bad(n, f"neighbor {name}: {result}")
            return
        self.bgp = result


def parse_frr(text: str, file: str) -> tuple[m.FrrConfig, tuple[Finding, ...]]:
    """The config and the problems found while reading it (never raises on bad input)."""
    parser = _Parser(file)
    parser.config = m.FrrConfig(file)
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("!", "#")):
            continue
        words = line.split()
        if words[0] == "end" and parser.ctx != "top":
            while parser.ctx != "top":
                parser._pop()
            continue
        parser.feed(number, words)
    while parser.ctx != "top":
        parser._pop()
    parser._store_bgp()
    config = parser.config
    findings = list(parser.findings) + m.check_references(config)
    return config, tuple(findings)

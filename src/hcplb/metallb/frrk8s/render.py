"""frr.conf as frr-k8s's templates write it for one node (frr.tmpl and its sub-templates).

Counters number prefix-list entries per list and route-map entries per neighbor ID (the
`-out` and `-in` maps of a neighbor share one counter). Lists and orders are the model's:
the controller sorts and merges, the template only prints. Blank lines are laid out for
reading (never two in a row); frr-k8s leaves whitespace-only lines, so compare ignoring blank
lines and trailing spaces, as for MetalLB's FRR mode.
"""

from __future__ import annotations

from collections.abc import Iterator

from hcplb.metallb.frr import BfdProfile
from hcplb.metallb.frrk8s.model import FrrK8sConfig, NeighborConfig, RouterConfig

__all__ = ["render_frrk8s"]

_DEBUG_LINES = (
    "debug zebra events",
    "debug zebra nht",
    "debug zebra kernel",
    "debug zebra rib",
    "debug zebra nexthop",
    "debug bgp neighbor-events",
    "debug bgp updates",
    "debug bgp keepalives",
    "debug bgp nht",
    "debug bgp zebra",
    "debug bfd network",
    "debug bfd peer",
    "debug bfd zebra",
)


class _Counters:
    def __init__(self) -> None:
        self._values: dict[str, int] = {}

    def __call__(self, name: str) -> int:
        self._values[name] = self._values.get(name, 0) + 1
        return self._values[name]


def _filters(n: NeighborConfig, count: _Counters) -> Iterator[str]:
    """The `neighborfilters` template: outgoing modifiers and allow-lists, then incoming."""
    nid, out = n.id, n.outgoing
    for pl in out.prefix_lists:
        for prefix in sorted(pl.prefixes):
            yield f"{pl.family} prefix-list {pl.name} seq {count(pl.name)} permit {prefix}"
        yield ""
        yield f"route-map {nid}-out permit {count(nid)}"
        yield f"  match {pl.family} address prefix-list {pl.name}"
        yield f"  {pl.set_statement}"
        yield "  on-match next"
        yield ""
    for fam, word, prefixes in (("ipv4", "ip", out.prefixes_v4), ("ipv6", "ipv6", out.prefixes_v6)):
        name = f"{nid}-allowed-{fam}"
        if not prefixes:
            yield f"{word} prefix-list {name} seq {count(name)} deny any"
        for p in prefixes:
            yield f"{word} prefix-list {name} seq {count(name)} permit {p}"
        yield ""
    yield f"route-map {nid}-out permit {count(nid)}"
    yield f"  match ip address prefix-list {nid}-allowed-ipv4"
    if out.next_hop_v4:
        yield f"  set ip next-hop {out.next_hop_v4}"
    yield ""
    yield f"route-map {nid}-out permit {count(nid)}"
    yield f"  match ipv6 address prefix-list {nid}-allowed-ipv6"
    if out.next_hop_v6:
        yield f"  set ipv6 next-hop global {out.next_hop_v6}"
    yield ""
    allowed = f"{nid}-inpl-{n.family}"
    for f in n.incoming.filters:
        yield f"{f.frr_family} prefix-list {allowed} seq {count(allowed)} permit {f.prefix}{f.matcher}"
    if n.incoming.all:
        yield f"ip prefix-list {allowed} seq {count(allowed)} permit any"
        yield f"ipv6 prefix-list {allowed} seq {count(allowed)} permit any"
    else:
        if not n.incoming.prefixes_v4:
            yield f"ip prefix-list {allowed} seq {count(allowed)} deny any"
        if not n.incoming.prefixes_v6:
            yield f"ipv6 prefix-list {allowed} seq {count(allowed)} deny any"
    yield ""
    if n.always_block:
        denied = f"{nid}-denied-inpl-{n.family}"
        for f in n.always_block:
            yield f"{f.frr_family} prefix-list {denied} seq {count(denied)} permit {f.prefix}{f.matcher}"
        yield ""
        for word in ("ip", "ipv6"):
            yield f"route-map {nid}-in deny {count(nid)}"
            yield f"  match {word} address prefix-list {denied}"
    for word in ("ip", "ipv6"):
        yield f"route-map {nid}-in permit {count(nid)}"
        yield f"  match {word} address prefix-list {allowed}"
    yield ""


def _disable_connected_check(n: NeighborConfig, my_asn: int) -> bool:
    """frr-k8s's mustDisableConnectedCheck: only single-hop IPv6 eBGP sessions."""
    if n.family != "ipv6" or n.ebgp_multihop:
        return False
    if n.iface:
        return True
    if n.asn == "internal":
        return False
    return n.asn == "external" or n.asn != str(my_asn)


def _session(n: NeighborConfig, my_asn: int) -> Iterator[str]:
    """The `neighborsession` template."""
    peer = n.peer
    if n.iface:
        yield f"  neighbor {n.iface} interface remote-as {n.asn}"
    else:
        yield f"  neighbor {n.addr} remote-as {n.asn}"
    if n.ebgp_multihop:
        yield f"  neighbor {peer} ebgp-multihop"
    if n.local_asn:
        yield f"  neighbor {peer} local-as {n.local_asn} no-prepend replace-as"
    if n.port is not None:
        yield f"  neighbor {peer} port {n.port}"
    if n.keepalive_time is not None and n.hold_time is not None:
        yield f"  neighbor {peer} timers {n.keepalive_time} {n.hold_time}"
    if n.connect_time is not None:
        yield f"  neighbor {peer} timers connect {n.connect_time}"
    if n.password:
        yield f"  neighbor {peer} password {n.password}"
    if n.src_addr:
        yield f"  neighbor {peer} update-source {n.src_addr}"
    if n.graceful_restart:
        yield f"  neighbor {peer} graceful-restart"
    if n.bfd_profile:
        yield f"  neighbor {peer} bfd"
        yield f"  neighbor {peer} bfd profile {n.bfd_profile}"
    if _disable_connected_check(n, my_asn):
        yield f"  neighbor {n.addr} disable-connected-check"


def _activate(n: NeighborConfig) -> Iterator[str]:
    """The `neighborenableipfamily` template (unicast unless addressFamilies says otherwise)."""
    unicast = not n.address_families or "unicast" in n.address_families
    for fam in ("ipv4", "ipv6"):
        if unicast and n.family in (fam, "dual"):
            yield ""
            yield f"  address-family {fam} unicast"
            yield f"    neighbor {n.peer} activate"
            yield f"    neighbor {n.peer} route-map {n.id}-in in"
            yield f"    neighbor {n.peer} route-map {n.id}-out out"
            yield "  exit-address-family"


def _router(r: RouterConfig) -> Iterator[str]:
    yield f"router bgp {r.my_asn}" + (f" vrf {r.vrf}" if r.vrf else "")
    yield "  no bgp ebgp-requires-policy"
    yield "  no bgp network import-check"
    yield "  no bgp default ipv4-unicast"
    yield "  bgp graceful-restart preserve-fw-state"
    yield ""
    if r.router_id:
        yield f"  bgp router-id {r.router_id}"
    if r.import_vrfs:
        for fam in ("ipv4", "ipv6"):
            yield f"  address-family {fam} unicast"
            yield from (f"    import vrf {v}" for v in r.import_vrfs)
            yield "  exit-address-family"
    for n in r.neighbors:
        yield from _session(n, r.my_asn)
    for n in r.neighbors:
        yield from _activate(n)
    for fam, prefixes in (("ipv4", r.prefixes_v4), ("ipv6", r.prefixes_v6)):
        if prefixes:
            yield f"  address-family {fam} unicast"
            yield from (f"    network {p}" for p in prefixes)
            yield "  exit-address-family"
    yield ""


def _bfd_profile(p: BfdProfile) -> Iterator[str]:
    yield f"  profile {p.name}"
    if p.receive_interval is not None:
        yield f"    receive-interval {p.receive_interval}"
    if p.transmit_interval is not None:
        yield f"    transmit-interval {p.transmit_interval}"
    if p.detect_multiplier is not None:
        yield f"    detect-multiplier {p.detect_multiplier}"
    if p.echo_mode:
        yield "    echo-mode"
    if p.echo_interval is not None:
        yield f"    echo transmit-interval {p.echo_interval}"
        yield f"    echo receive-interval {p.echo_interval}"
    if p.passive_mode:
        yield "    passive-mode"
    if p.minimum_ttl is not None:
        yield f"    minimum-ttl {p.minimum_ttl}"


def _lines(config: FrrK8sConfig) -> Iterator[str]:
    yield f"log stdout {config.log_level}"
    yield "log timestamp precision 3"
    if config.log_level == "debugging":
        yield from _DEBUG_LINES
    yield f"hostname {config.hostname}"
    yield "ip nht resolve-via-default"
    yield "ipv6 nht resolve-via-default"
    yield ""
    count = _Counters()
    for r in config.routers:
        for n in r.neighbors:
            yield from _filters(n, count)
    for r in config.routers:
        yield from _router(r)
    if config.bfd_profiles:
        yield "bfd"
        for p in config.bfd_profiles:
            yield from _bfd_profile(p)
    if config.extra_config:
        yield ""
        yield from config.extra_config.splitlines()


def render_frrk8s(config: FrrK8sConfig) -> str:
    """The node's frr.conf text, ending with one newline."""
    out: list[str] = []
    for line in _lines(config):
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"

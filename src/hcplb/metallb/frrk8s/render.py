"""frr.conf as frr-k8s's templates write it for one node (frr.tmpl and its sub-templates).

Counters number prefix-list entries per list and route-map entries per neighbor ID (the
`-out` and `-in` maps of a neighbor share one counter). Lists and orders are the model's:
the controller sorts and merges, the template only prints. Blank lines are laid out for
reading (never two in a row); frr-k8s leaves whitespace-only lines, so compare ignoring blank
lines and trailing spaces, as for MetalLB's FRR mode.

The text MetalLB's template shares lives in `_frrtext`; what is frr-k8s's own stays here:
incoming and always-block lists, next hops, `import vrf`, address families other than
unicast, a blank line before each activated family, echo transmit-interval first.
"""

from __future__ import annotations

from collections.abc import Iterator

from hcplb.metallb import _frrtext as frrtext
from hcplb.metallb.frrk8s.model import FrrK8sConfig, NeighborConfig, RouterConfig

__all__ = ["render_frrk8s"]


def _filters(n: NeighborConfig, count: frrtext.Counters) -> Iterator[str]:
    """The `neighborfilters` template: outgoing modifiers and allow-lists, then incoming."""
    nid, out = n.id, n.outgoing
    for pl in out.prefix_lists:
        yield from frrtext.modifier_lines(
            nid, pl.name, pl.family, pl.prefixes, pl.set_statement, count
        )
    for fam, word, prefixes in (("ipv4", "ip", out.prefixes_v4), ("ipv6", "ipv6", out.prefixes_v6)):
        yield from frrtext.allowed_lines(f"{nid}-allowed-{fam}", word, prefixes, count)
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


def _activate(n: NeighborConfig) -> Iterator[str]:
    """The `neighborenableipfamily` template (unicast unless addressFamilies says otherwise)."""
    unicast = not n.address_families or "unicast" in n.address_families
    for fam in ("ipv4", "ipv6"):
        if unicast and n.family in (fam, "dual"):
            yield ""  # a blank line before each family (MetalLB's: one per neighbor)
            yield from frrtext.activate_lines(n.peer, n.id, fam)


def _router(r: RouterConfig) -> Iterator[str]:
    yield from frrtext.router_head(r.my_asn, r.vrf, r.router_id)
    if r.import_vrfs:
        for fam in ("ipv4", "ipv6"):
            yield f"  address-family {fam} unicast"
            yield from (f"    import vrf {v}" for v in r.import_vrfs)
            yield "  exit-address-family"
    for n in r.neighbors:
        peer = frrtext.Peer(n.addr, n.iface, n.asn, n.family, n.port, n.src_addr)
        yield from frrtext.session_lines(n, peer, r.my_asn, zero_is_unset=False)
    for n in r.neighbors:
        yield from _activate(n)
    yield from frrtext.network_lines(r.prefixes_v4, r.prefixes_v6)
    yield ""


def _lines(config: FrrK8sConfig) -> Iterator[str]:
    yield from frrtext.header_lines(config.log_level, config.hostname)
    count = frrtext.Counters()
    for r in config.routers:
        for n in r.neighbors:
            yield from _filters(n, count)
    for r in config.routers:
        yield from _router(r)
    if config.bfd_profiles:
        yield from frrtext.bfd_lines(config.bfd_profiles, echo_transmit_first=True)
    if config.extra_config:
        yield ""
        yield from config.extra_config.splitlines()


def render_frrk8s(config: FrrK8sConfig) -> str:
    """The node's frr.conf text, ending with one newline."""
    return frrtext.layout(_lines(config))

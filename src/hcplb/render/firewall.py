"""The router's firewall in its flavour: BGP and BFD only from the cluster nodes.

Every flavour accepts TCP 179 (BGP) and UDP 3784/3785 (BFD control/echo, when BFD is on)
from the node addresses (the machine network with dynamic peering), drops those ports from
anyone else on IPv4 and IPv6, and leaves all other traffic alone:

- iptables: `iptables.rules` / `ip6tables.rules` fill a chain of their own, `HCPLB-INPUT`,
  loaded with `iptables-restore --noflush` (which flushes and refills only that chain) and
  hooked once at the top of INPUT.
- nftables: `hcplb.nft` replaces a table of its own, `inet hcplb`, atomically.
- firewalld: `firewalld.sh` (re)creates a policy `hcplb-bgp` from zone ANY to HOST with a
  negative priority, so it is evaluated before every zone and cannot be undone by a zone
  that opens the `bgp` service; its target stays CONTINUE for everything else.

The lab applies the nftables equivalent (`render_nft_equivalent`) for firewalld routers.
"""

from __future__ import annotations

from collections.abc import Iterator

from hcplb.plan import SitePlan
from hcplb.spec.models import Firewall, Router

__all__ = [
    "BFD_PORTS",
    "BGP_PORT",
    "FIREWALLD_POLICY",
    "IPTABLES_CHAIN",
    "NFT_TABLE",
    "firewall_filenames",
    "firewall_sources",
    "host_of",
    "nft_table_head",
    "render_firewalld_script",
    "render_iptables_rules",
    "render_nft_equivalent",
]

BGP_PORT = 179
BFD_PORTS = (3784, 3785)  # single-hop control, echo (RFC 5881)
_BFD_ECHO = 3785
IPTABLES_CHAIN = "HCPLB-INPUT"
NFT_TABLE = "inet hcplb"
FIREWALLD_POLICY = "hcplb-bgp"


def _host(address: str) -> str:
    return f"{address}/{128 if ':' in address else 32}"


def host_of(source: str) -> str:
    """A source as nft, firewalld and listings write one host: without its /32 or /128."""
    return source.removesuffix("/32").removesuffix("/128")


def firewall_sources(plan: SitePlan, family: int | None = None) -> tuple[str, ...]:
    """Who may open BGP/BFD to the router (of one IP `family`, or all): the nodes' session
    addresses, or the machine networks when peering is dynamic."""
    if plan.site.spec.bgp.peering == "dynamic":
        nets = [plan.machine_network_of(f) for f in sorted({p.family for p in plan.peerings})]
        found = tuple(n for n in nets if n is not None)
    else:
        found = tuple(dict.fromkeys(_host(p.node_address) for p in plan.peerings))
    return tuple(s for s in found if family is None or (6 if ":" in s else 4) == family)


def _echo_sources(plan: SitePlan, router: Router, family: int = 4) -> tuple[str, ...]:
    """BFD echo packets come back looped by the node with the router's own source address
    (IPv4 only: MetalLB refuses echo mode towards IPv6 pools)."""
    address = router.address_of(family)
    if plan.bfd is not None and plan.bfd.echo_mode and family == 4 and address is not None:
        return (_host(address),)
    return ()


def _header(plan: SitePlan, router: Router) -> list[str]:
    ports = f"BGP (TCP {BGP_PORT})"
    if plan.bfd is not None:
        ports += f" and BFD (UDP {BFD_PORTS[0]}, {BFD_PORTS[1]})"
    return [
        f"# hcplb: router {router.name} (site {plan.site.name}).",
        f"# Accept {ports} only from the cluster nodes, drop those ports",
        "# from anyone else (IPv4 and IPv6), and leave all other traffic alone.",
        "# This router's other BGP neighbours, if any, need their own accept rule before this one.",
    ]


def render_iptables_rules(plan: SitePlan, router: Router, *, family: int) -> str:
    """An iptables-restore file (IPv4 or IPv6) for `iptables-restore --noflush`."""
    lines = _header(plan, router)
    tool = "iptables" if family == 4 else "ip6tables"
    lines += [
        f"# Load: {tool}-restore --noflush <this file>   (refills chain {IPTABLES_CHAIN} only)",
        f"# Hook once: {tool} -C INPUT -j {IPTABLES_CHAIN} || {tool} -I INPUT 1 -j {IPTABLES_CHAIN}",
        "*filter",
        f":{IPTABLES_CHAIN} - [0:0]",
    ]
    bfd = ",".join(str(p) for p in BFD_PORTS)
    for source in firewall_sources(plan, family):
        lines.append(f"-A {IPTABLES_CHAIN} -s {source} -p tcp -m tcp --dport {BGP_PORT} -j ACCEPT")
        if plan.bfd is not None:
            lines.append(
                f"-A {IPTABLES_CHAIN} -s {source} -p udp -m multiport --dports {bfd} -j ACCEPT"
            )
    for source in _echo_sources(plan, router, family):
        lines.append(f"-A {IPTABLES_CHAIN} -s {source} -p udp -m udp --dport {_BFD_ECHO} -j ACCEPT")
    lines.append(f"-A {IPTABLES_CHAIN} -p tcp -m tcp --dport {BGP_PORT} -j DROP")
    if plan.bfd is not None:
        lines.append(f"-A {IPTABLES_CHAIN} -p udp -m multiport --dports {bfd} -j DROP")
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


# nft's words per family: the set's name, its type, the address match.
_NFT = {4: ("bgp_peers", "ipv4_addr", "ip"), 6: ("bgp_peers6", "ipv6_addr", "ip6")}


def _nft_families(plan: SitePlan) -> tuple[int, ...]:
    return tuple(f for f in (4, 6) if firewall_sources(plan, f))


def _nft_rules(plan: SitePlan, router: Router) -> Iterator[str]:
    bfd = "{ " + ", ".join(str(p) for p in BFD_PORTS) + " }"
    for family in _nft_families(plan):
        name, _, match = _NFT[family]
        yield f"\t\t{match} saddr @{name} tcp dport {BGP_PORT} accept"
        if plan.bfd is not None:
            yield f"\t\t{match} saddr @{name} udp dport {bfd} accept"
    for source in _echo_sources(plan, router):
        yield f"\t\tip saddr {host_of(source)} udp dport {_BFD_ECHO} accept"
    yield f"\t\ttcp dport {BGP_PORT} drop"
    if plan.bfd is not None:
        yield f"\t\tudp dport {bfd} drop"


def render_nft_equivalent(plan: SitePlan, router: Router) -> str:
    """An `nft -f` file with its own table `inet hcplb`, replaced atomically on every load.

    It is the nftables flavour's file and, for a firewalld router, what the lab applies in
    its namespace in place of the firewalld policy (same accepts and drops).
    """
    lines = _header(plan, router) + nft_table_head()
    for family in _nft_families(plan):
        name, kind, _ = _NFT[family]
        elements = ", ".join(host_of(s) for s in firewall_sources(plan, family))
        lines += [
            f"\tset {name} {{",
            f"\t\ttype {kind}",
            "\t\tflags interval",
            f"\t\telements = {{ {elements} }}",
            "\t}",
            "",
        ]
    lines += [
        "\tchain input {",
        "\t\t# Before the usual filter chains, so a drop here wins.",
        "\t\ttype filter hook input priority filter - 10; policy accept;",
        *_nft_rules(plan, router),
        "\t}",
        "}",
    ]
    return "\n".join(lines) + "\n"


def nft_table_head() -> list[str]:
    """The lines that open table `inet hcplb`, replacing it whole on every load."""
    return [
        f"# Load: nft -f <this file>   (replaces table {NFT_TABLE} only)",
        f"table {NFT_TABLE}",
        f"delete table {NFT_TABLE}",
        f"table {NFT_TABLE} {{",
    ]


def _rich(rule: str) -> str:
    return f"fw --policy=\"$policy\" --add-rich-rule='{rule}'"


def render_firewalld_script(plan: SitePlan, router: Router) -> str:
    """A bash script that (re)creates the firewalld policy and reloads firewalld."""
    lines = ["#!/bin/bash", *_header(plan, router), "set -euo pipefail", ""]
    lines += [
        "# A policy from any zone to the host itself (firewalld >= 0.9); its negative priority",
        "# puts it before the zones. Recreated on every run so removed nodes lose access.",
        f"policy={FIREWALLD_POLICY}",
        'fw() { firewall-cmd --permanent "$@" >/dev/null; }',
        "if firewall-cmd --permanent --get-policies | tr ' ' '\\n' | grep -qxF \"$policy\"; then",
        '\tfw --delete-policy="$policy"',
        "fi",
        'fw --new-policy="$policy"',
        'fw --policy="$policy" --add-ingress-zone=ANY',
        'fw --policy="$policy" --add-egress-zone=HOST',
        'fw --policy="$policy" --set-priority=-100',
    ]
    bgp = f'port port="{BGP_PORT}" protocol="tcp"'
    bfd_ports = [f'port port="{p}" protocol="udp"' for p in BFD_PORTS]
    for source in firewall_sources(plan):
        address = host_of(source)
        family = "ipv6" if ":" in source else "ipv4"
        prefix = f'rule priority="-10" family="{family}" source address="{address}"'
        lines.append(_rich(f"{prefix} {bgp} accept"))
        if plan.bfd is not None:
            lines += [_rich(f"{prefix} {port} accept") for port in bfd_ports]
    for source in _echo_sources(plan, router):
        address = host_of(source)
        lines.append(
            _rich(
                f'rule priority="-10" family="ipv4" source address="{address}" '
                f'port port="{_BFD_ECHO}" protocol="udp" accept'
            )
        )
    lines.append(_rich(f'rule priority="10" {bgp} drop'))
    if plan.bfd is not None:
        lines += [_rich(f'rule priority="10" {port} drop') for port in bfd_ports]
    lines.append("firewall-cmd --reload >/dev/null")
    return "\n".join(lines) + "\n"


def firewall_filenames(router: Router) -> tuple[str, ...]:
    """The firewall files rendered for a router's flavour, relative to its router directory."""
    if router.firewall is Firewall.iptables:
        return ("iptables.rules", "ip6tables.rules")
    if router.firewall is Firewall.nftables:
        return ("hcplb.nft",)
    return ("firewalld.sh",)

"""Host preparation of a router: FRR's daemons file, sysctl, and the commands a lab netns needs.

The daemons file keeps the shape of the one Debian's frr package installs (same variables,
same order, vty bound to loopback), so it is a drop-in for /etc/frr/daemons on Debian and
RHEL alike; only the daemons hcplb needs are switched on (zebra and staticd always run).
"""

from __future__ import annotations

from dataclasses import dataclass

from hcplb.plan import SitePlan
from hcplb.render.firewall import (
    IPTABLES_CHAIN,
    render_iptables_rules,
    render_nft_equivalent,
)
from hcplb.spec.models import Firewall, Router

__all__ = [
    "SYSCTL_FILENAME",
    "HostCommand",
    "daemons_file",
    "netns_host_commands",
    "render_daemons",
    "render_sysctl",
    "sysctl_settings",
]

SYSCTL_FILENAME = "90-hcplb.conf"

_DAEMONS = (
    "bgpd",
    "ospfd",
    "ospf6d",
    "ripd",
    "ripngd",
    "isisd",
    "pimd",
    "pim6d",
    "ldpd",
    "nhrpd",
    "eigrpd",
    "babeld",
    "sharpd",
    "pbrd",
    "bfdd",
    "fabricd",
    "vrrpd",
    "pathd",
)
_V6_VTY = {"ospf6d", "ripngd", "pim6d"}
_OPTION_DAEMONS = ("zebra", *_DAEMONS[:-4], "staticd", *_DAEMONS[-4:])


def _option_line(daemon: str) -> str:
    extra = " -s 90000000" if daemon == "zebra" else ""
    address = "::1" if daemon in _V6_VTY else "127.0.0.1"
    name = f"{daemon}_options="
    return f'{name}"{" " * (16 - len(name))}-A {address}{extra}"'


def render_daemons(plan: SitePlan) -> str:
    """/etc/frr/daemons: bgpd on, bfdd on when BFD is."""
    return daemons_file({"bgpd", "bfdd"} if plan.bfd is not None else {"bgpd"})


def daemons_file(wanted: set[str]) -> str:
    """A daemons file with just `wanted` switched on (zebra and staticd always run)."""
    lines = [
        "# Which FRR daemons the frr service starts (read by frrinit.sh / watchfrr).",
        f"# hcplb: {' and '.join(d for d in _DAEMONS if d in wanted)} for the MetalLB peering;"
        " everything else stays off.",
        "#",
        "# A daemon started for the first time needs its config file present and owned by",
        "# frr:frr; hcplb uses the integrated /etc/frr/frr.conf.",
        "#",
        "# The watchfrr, zebra and staticd daemons are always started.",
        "#",
    ]
    lines += [f"{d}={'yes' if d in wanted else 'no'}" for d in _DAEMONS]
    lines += [
        "",
        "#",
        "# Load the integrated frr.conf with `vtysh -b` when the daemons start.",
        "#",
        "vtysh_enable=yes",
    ]
    lines += [_option_line(d) for d in _OPTION_DAEMONS]
    lines += [
        "",
        "",
        "# Options given to every daemon.",
        "#",
        '#frr_global_options=""',
        "",
        "# Options for watchfrr, before its list of daemons.",
        "#",
        '#watchfrr_options=""',
        "",
        "# Configuration profile (frr.conf pins `frr defaults traditional` itself).",
        "#",
        '#frr_profile="traditional"',
        '#frr_profile="datacenter"',
        "",
        "# Maximum number of file descriptors per daemon.",
        "#",
        "#MAX_FDS=1024",
        "",
        "# A command to start a daemon through, e.g. bgpd_wrap=...; all_wrap for every daemon.",
        "#",
        '#all_wrap=""',
    ]
    return "\n".join(lines) + "\n"


_SYSCTL = {
    4: (("net.ipv4.ip_forward", "1"), ("net.ipv4.fib_multipath_hash_policy", "1")),
    6: (("net.ipv6.conf.all.forwarding", "1"), ("net.ipv6.fib_multipath_hash_policy", "1")),
}


def sysctl_settings(families: tuple[int, ...] = (4,)) -> tuple[tuple[str, str], ...]:
    """The kernel settings of a router of a site with these IP families, in the order they
    are applied (IPv4's first)."""
    return tuple(kv for f in sorted(families) for kv in _SYSCTL[f])


def render_sysctl(plan: SitePlan, router: Router) -> str:
    """/etc/sysctl.d/90-hcplb.conf."""
    forwarding: list[str] = []
    hashing: list[str] = []
    for key, value in sysctl_settings(plan.families):
        (hashing if "multipath" in key else forwarding).append(f"{key} = {value}\n")
    return (
        f"# hcplb: router {router.name} (site {plan.site.name}).\n"
        "# Route traffic for the MetalLB VIPs to the cluster nodes.\n"
        + "".join(forwarding)
        + "# Hash ECMP paths on the L4 five-tuple: each connection picks a node, so connections\n"
        "# from one client spread over all nodes (the default L3 hash sends them all to one).\n"
        + "".join(hashing)
    )


@dataclass(frozen=True)
class HostCommand:
    """One command to run inside a router's network namespace, with text for its stdin."""

    argv: tuple[str, ...]
    input: str | None = None


def netns_host_commands(plan: SitePlan, router: Router) -> tuple[HostCommand, ...]:
    """sysctl and firewall commands that prepare a fresh lab namespace as this router.

    Run each with `hcplb.runner.run(cmd.argv, input=cmd.input, netns=NS, timeout=...,
    check=True)`. An iptables router gets its iptables files; nftables and firewalld
    routers get the nftables file (firewalld's policy has the same accepts and drops).
    The INPUT hook is inserted unconditionally: meant for a namespace made for the lab.
    """
    commands = [
        HostCommand(("sysctl", "-qw", f"{key}={value}"))
        for key, value in sysctl_settings(plan.families)
    ]
    if router.firewall is Firewall.iptables:
        for family in (4, 6):
            tool = "iptables" if family == 4 else "ip6tables"
            rules = render_iptables_rules(plan, router, family=family)
            commands.append(HostCommand((f"{tool}-restore", "--noflush"), rules))
            commands.append(HostCommand((tool, "-I", "INPUT", "1", "-j", IPTABLES_CHAIN)))
    else:
        nft = render_nft_equivalent(plan, router)
        commands.append(HostCommand(("nft", "-f", "-"), nft))
    return tuple(commands)

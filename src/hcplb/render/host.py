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
    "IPTABLES_PACKAGE",
    "SYSCTL_FILENAME",
    "HostCommand",
    "daemons_file",
    "firewall_steps",
    "netns_host_commands",
    "persist_iptables",
    "render_daemons",
    "render_setup_script",
    "render_sysctl",
    "setup_script",
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


def sysctl_settings() -> tuple[tuple[str, str], ...]:
    """The kernel settings of a router, in the order they are applied."""
    return (("net.ipv4.ip_forward", "1"), ("net.ipv4.fib_multipath_hash_policy", "1"))


def render_sysctl(plan: SitePlan, router: Router) -> str:
    """/etc/sysctl.d/90-hcplb.conf."""
    return (
        f"# hcplb: router {router.name} (site {plan.site.name}).\n"
        "# Route traffic for the MetalLB VIPs to the cluster nodes.\n"
        "net.ipv4.ip_forward = 1\n"
        "# Hash ECMP paths on the L4 five-tuple: each connection picks a node, so connections\n"
        "# from one client spread over all nodes (the default L3 hash sends them all to one).\n"
        "net.ipv4.fib_multipath_hash_policy = 1\n"
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
        HostCommand(("sysctl", "-qw", f"{key}={value}")) for key, value in sysctl_settings()
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


_SETUP_HEAD = """\
#!/bin/bash
# hcplb: set up router {router} (site {site}) from the files beside this script.
# The guide's router steps as one idempotent script: run it as root, again after every
# `hcplb render`; it changes only what differs. It never prints frr.conf (it may hold
# the BGP password).
set -euo pipefail

here=$(cd -- "$(dirname -- "${{BASH_SOURCE[0]}}")" && pwd)
daemons_changed=no
conf_changed=no

say() {{ printf '==> %s\\n' "$*"; }}
die() {{
\tprintf 'setup.sh: %s\\n' "$*" >&2
\texit 1
}}

# put SRC DEST MODE [OWNER:GROUP]: install SRC when DEST differs; fails (1) when unchanged.
put() {{
\tif cmp -s "$1" "$2"; then
\t\treturn 1
\tfi
\tinstall -D -m "$3" "$1" "$2"
\tif [ -n "${{4:-}}" ]; then
\t\tchown "$4" "$2"
\tfi
}}

# pkg NAME...: install packages with dnf or apt-get.
apt_updated=no
pkg() {{
\tif command -v dnf >/dev/null 2>&1; then
\t\tdnf install -y "$@"
\telif command -v apt-get >/dev/null 2>&1; then
\t\tif [ "$apt_updated" = no ]; then
\t\t\tapt-get update -qq
\t\t\tapt_updated=yes
\t\tfi
\t\tDEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
\telse
\t\tdie "neither dnf nor apt-get found: install $* first"
\tfi
}}

[ "$(id -u)" -eq 0 ] || die "run me as root"

say "FRR package"
command -v vtysh >/dev/null 2>&1 || pkg frr
# systemctl reload frr runs frr-reload.py: part of frr on RHEL, of frr-pythontools on Debian.
if [ ! -e /usr/libexec/frr/frr-reload.py ] && [ ! -e /usr/lib/frr/frr-reload.py ]; then
\tpkg frr-pythontools
fi

say "check frr.conf with FRR's own parser before changing anything"
if ! out=$(vtysh -C -f "$here/frr.conf" 2>&1); then
\tprintf '%s\\n' "$out" | sed -E 's/(password).*/\\1 <redacted>/' >&2
\tdie "FRR rejects frr.conf; nothing was changed"
fi

say "sysctl: {sysctl_what}"
put "$here/{sysctl}" /etc/sysctl.d/{sysctl} 0644 || true
sysctl -q -p /etc/sysctl.d/{sysctl}
"""

_SETUP_TAIL = """\

say "FRR daemons: {daemons}"
if put "$here/daemons" /etc/frr/daemons 0640 frr:frr; then
\tdaemons_changed=yes
fi

say "frr.conf"
if [ -f /etc/frr/frr.conf ] && [ ! -e /etc/frr/frr.conf.before-hcplb ] &&
\t! cmp -s "$here/frr.conf" /etc/frr/frr.conf; then
\tcp -p /etc/frr/frr.conf /etc/frr/frr.conf.before-hcplb
fi
if put "$here/frr.conf" /etc/frr/frr.conf 0640 frr:frr; then
\tconf_changed=yes
fi

say "frr service"
systemctl enable --quiet frr
if [ "$daemons_changed" = yes ] || ! systemctl is-active --quiet frr; then
\tsystemctl restart frr
elif [ "$conf_changed" = yes ]; then
\tsystemctl reload frr
else
\tsay "frr is running with this configuration already"
fi
say "done; check the sessions: vtysh -c 'show bgp summary'"
"""

_PERSIST_IPTABLES = """\
# Saved the guide's way (/etc/sysconfig, RHEL iptables-services) or Debian's iptables-persistent.
if [ -d /etc/sysconfig ]; then
\tiptables-save >/etc/sysconfig/iptables
{save6_rhel}elif [ -d /etc/iptables ]; then
\tiptables-save >/etc/iptables/rules.v4
{save6_deb}else
\tsay "note: the rules are live but not saved for the next boot (no iptables-persistent)"
fi
"""


IPTABLES_PACKAGE = "command -v iptables-restore >/dev/null 2>&1 || pkg iptables"


def persist_iptables(*, six: bool) -> str:
    """setup.sh lines that save the live iptables rules (and ip6tables') for the next boot."""
    return _PERSIST_IPTABLES.format(
        save6_rhel="\tip6tables-save >/etc/sysconfig/ip6tables\n" if six else "",
        save6_deb="\tip6tables-save >/etc/iptables/rules.v6\n" if six else "",
    ).rstrip("\n")


def firewall_steps(router: Router) -> str:
    """setup.sh lines that load the router's firewall files and keep them for the next boot."""
    if router.firewall is Firewall.iptables:
        lines = [IPTABLES_PACKAGE]
        for tool, rules in (("iptables", "iptables.rules"), ("ip6tables", "ip6tables.rules")):
            lines += [
                f'{tool}-restore --noflush "$here/{rules}"',
                f"{tool} -C INPUT -j {IPTABLES_CHAIN} 2>/dev/null ||"
                f" {tool} -I INPUT 1 -j {IPTABLES_CHAIN}",
            ]
        lines.append(persist_iptables(six=True))
        return "\n".join(lines)
    if router.firewall is Firewall.nftables:
        return "\n".join(
            [
                "command -v nft >/dev/null 2>&1 || pkg nftables",
                'put "$here/hcplb.nft" /etc/hcplb/hcplb.nft 0644 || true',
                "nft -f /etc/hcplb/hcplb.nft",
                "# Loaded at boot by the nftables service through an include in its config.",
                "include='include \"/etc/hcplb/hcplb.nft\"'",
                "for conf in /etc/sysconfig/nftables.conf /etc/nftables.conf; do",
                '\tif [ -f "$conf" ]; then',
                '\t\tgrep -qxF "$include" "$conf" || printf \'%s\\n\' "$include" >>"$conf"',
                "\t\tbreak",
                "\tfi",
                "done",
                "systemctl enable --quiet nftables",
            ]
        )
    return "\n".join(
        [
            "command -v firewall-cmd >/dev/null 2>&1 || pkg firewalld",
            "firewall-cmd --state >/dev/null 2>&1 ||"
            ' die "firewalld is not running: systemctl enable --now firewalld, then run me again"',
            'bash "$here/firewalld.sh"',
        ]
    )


def setup_script(
    plan: SitePlan,
    router: Router,
    *,
    sysctl: tuple[tuple[str, str], ...],
    daemons: str,
    firewall: str,
    firewall_lines: str,
) -> str:
    """A setup.sh: package, frr.conf check, sysctl, firewall, daemons, frr.conf, service."""
    sysctl_what = ", ".join(f"{k}={v}" for k, v in sysctl)
    return (
        _SETUP_HEAD.format(
            router=router.name, site=plan.site.name, sysctl=SYSCTL_FILENAME, sysctl_what=sysctl_what
        )
        + f'\nsay "firewall ({router.firewall.value}): {firewall}"\n'
        + firewall_lines
        + "\n"
        + _SETUP_TAIL.format(daemons=daemons)
    )


def render_setup_script(plan: SitePlan, router: Router) -> str:
    """router/setup.sh: the guide's router steps as one idempotent script."""
    bfd = plan.bfd is not None
    return setup_script(
        plan,
        router,
        sysctl=sysctl_settings(),
        daemons="bgpd, bfdd" if bfd else "bgpd",
        firewall="BGP" + (" and BFD" if bfd else "") + " only from the cluster nodes",
        firewall_lines=firewall_steps(router),
    )

"""A router's host preparation as one list of steps: `setup.sh` is written from it, and
`apply --router --yes` performs the same steps through a Target (`hcplb.apply.preflight`).

A step is what one preflight check fixes (its `id`); its actions are of three kinds, each
with one meaning in both places:

- `Put`: install a rendered file (`setup.sh`: its `put` helper; apply: an atomic write),
  then chown it when an owner is given (a failed chown is an error in both);
- `Run`: a command; with `file`, the rendered file is its input (`setup.sh` passes
  `"$here/FILE"`, apply feeds it on stdin, after `stdin_arg` when the tool needs one);
- `Shell`: a POSIX shell snippet that may use the helpers `say`, `die` and `pkg`
  (`setup.sh` defines them; apply runs `sh -c` with the same definitions first).

An action only for the next boot (`boot`) is skipped where /etc is shared (a lab router); one
with `where="script"` or `where="apply"` belongs to one side only (the frr.conf check and the
service restarts, which `setup.sh` and apply each do in their own way).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from hcplb.plan import SitePlan
from hcplb.render.firewall import FIREWALLD_POLICY, IPTABLES_CHAIN, NFT_TABLE
from hcplb.render.host import SYSCTL_FILENAME, sysctl_settings
from hcplb.settings import FRR_DAEMONS, HOST_TIMEOUT, INSTALL_TIMEOUT
from hcplb.spec.models import Firewall, Router

__all__ = [
    "HELPERS",
    "Action",
    "HostStep",
    "Put",
    "Run",
    "Shell",
    "daemons_step",
    "firewalld_actions",
    "frr_package_steps",
    "host_steps",
    "iptables_package",
    "nftables_actions",
    "persist_iptables",
    "render_setup_script",
    "setup_script",
    "sysctl_step",
]

Where = Literal["both", "script", "apply"]


@dataclass(frozen=True)
class Put:
    what: str
    file: str
    """a rendered file of the router's directory"""
    path: str
    mode: int = 0o644
    owner: str = ""
    flag: str = ""
    """setup.sh: the variable set to `yes` when the file changed"""
    boot: bool = False
    where: Where = "both"
    timeout: float = HOST_TIMEOUT


@dataclass(frozen=True)
class Run:
    what: str
    argv: tuple[str, ...]
    file: str = ""
    stdin_arg: str = ""
    boot: bool = False
    where: Where = "both"
    timeout: float = HOST_TIMEOUT


@dataclass(frozen=True)
class Shell:
    what: str
    script: str
    boot: bool = False
    where: Where = "both"
    timeout: float = HOST_TIMEOUT


Action = Put | Run | Shell


@dataclass(frozen=True)
class HostStep:
    id: str
    """the preflight check this step fixes"""
    title: str
    """what setup.sh says before it ('' continues the step before)"""
    actions: tuple[Action, ...]


HELPERS = """\
say() { printf '==> %s\\n' "$*"; }
die() {
\tprintf 'setup.sh: %s\\n' "$*" >&2
\texit 1
}

# put SRC DEST MODE [OWNER:GROUP]: install SRC when DEST differs; fails (1) when unchanged.
put() {
\tif cmp -s "$1" "$2"; then
\t\treturn 1
\tfi
\tinstall -D -m "$3" "$1" "$2"
\tif [ -n "${4:-}" ]; then
\t\tchown "$4" "$2"
\tfi
}

# pkg NAME...: install packages with dnf or apt-get.
apt_updated=no
pkg() {
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
}
"""

_HEAD = """\
#!/bin/bash
# hcplb: set up router {router} (site {site}) from the files beside this script.
# The guide's router steps as one idempotent script: run it as root, again after every
# `hcplb render`; it changes only what differs. It never prints frr.conf (it may hold
# the BGP password).
set -euo pipefail

here=$(cd -- "$(dirname -- "${{BASH_SOURCE[0]}}")" && pwd)
daemons_changed=no
conf_changed=no

"""
_ROOT = """
[ "$(id -u)" -eq 0 ] || die "run me as root"
"""

_TAIL = """\

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
# Saved for the next boot the guide's way (/etc/sysconfig, RHEL iptables-services) or with
# Debian's iptables-persistent (its netfilter-persistent service restores /etc/iptables at boot).
if [ -d /etc/sysconfig ]; then
\tiptables-save >/etc/sysconfig/iptables
{save6_rhel}else
\t[ -d /etc/iptables ] || pkg iptables-persistent
\tiptables-save >/etc/iptables/rules.v4
{save6_deb}\tsystemctl enable --quiet netfilter-persistent
fi"""

_FIREWALLD_WHEN_CHANGED = """\
if put "$here/firewalld.sh" /etc/hcplb/firewalld.sh 0700 ||
\t! {loaded} >/dev/null 2>&1; then
\tbash /etc/hcplb/firewalld.sh
else
\tsay "firewalld runs these rules already"
fi"""

_FRR_CHECK = """\
if ! out=$(vtysh -C -f "$here/frr.conf" 2>&1); then
\tprintf '%s\\n' "$out" | sed -E 's/(password).*/\\1 <redacted>/' >&2
\tdie "FRR rejects frr.conf; nothing was changed"
fi"""

_NFT_INCLUDE = """\
# Loaded at boot by the nftables service through an include in its config.
include='include "/etc/hcplb/hcplb.nft"'
for conf in /etc/sysconfig/nftables.conf /etc/nftables.conf; do
\tif [ -f "$conf" ]; then
\t\tgrep -qxF "$include" "$conf" || printf '%s\\n' "$include" >>"$conf"
\t\tbreak
\tfi
done"""


def persist_iptables(*, six: bool) -> Shell:
    """Save the live iptables rules (and ip6tables') for the next boot."""
    script = _PERSIST_IPTABLES.format(
        save6_rhel="\tip6tables-save >/etc/sysconfig/ip6tables\n" if six else "",
        save6_deb="\tip6tables-save >/etc/iptables/rules.v6\n" if six else "",
    )
    return Shell("save the rules for the next boot (RHEL or Debian layout)", script, boot=True)


def iptables_package() -> Shell:
    return Shell(
        "iptables installed",
        "command -v iptables-restore >/dev/null 2>&1 || pkg iptables",
        timeout=INSTALL_TIMEOUT,
    )


def frr_package_steps() -> tuple[HostStep, ...]:
    """FRR and frr-reload.py installed, and (setup.sh) frr.conf checked by FRR's parser."""
    reload = (
        "# systemctl reload frr runs frr-reload.py: part of frr on RHEL, of frr-pythontools "
        "on Debian.\nif [ ! -e /usr/libexec/frr/frr-reload.py ] && "
        "[ ! -e /usr/lib/frr/frr-reload.py ]; then\n\tpkg frr-pythontools\nfi"
    )
    return (
        HostStep(
            "frr-installed",
            "FRR package",
            (
                Shell(
                    "install FRR",
                    "command -v vtysh >/dev/null 2>&1 || pkg frr",
                    timeout=INSTALL_TIMEOUT,
                ),
            ),
        ),
        HostStep(
            "frr-reload", "", (Shell("install frr-pythontools", reload, timeout=INSTALL_TIMEOUT),)
        ),
        HostStep(
            "frr-conf",
            "check frr.conf with FRR's own parser before changing anything",
            (Shell("check frr.conf", _FRR_CHECK, where="script"),),
        ),
    )


def sysctl_step(settings: Sequence[tuple[str, str]]) -> HostStep:
    path = f"/etc/sysctl.d/{SYSCTL_FILENAME}"
    return HostStep(
        "sysctl",
        "sysctl: " + ", ".join(f"{k}={v}" for k, v in settings),
        (
            Put(f"install {path}", SYSCTL_FILENAME, path),
            Run("load it", ("sysctl", "-q", "-p", path)),
        ),
    )


def _restart_frr(why: str) -> Run:
    return Run(why, ("systemctl", "restart", "frr"), where="apply")


def daemons_step(daemons: str) -> HostStep:
    return HostStep(
        "frr-daemons",
        f"FRR daemons: {daemons}",
        (
            Put(
                "install the rendered /etc/frr/daemons",
                "daemons",
                FRR_DAEMONS,
                0o640,
                owner="frr:frr",
                flag="daemons_changed",
            ),
            _restart_frr("restart FRR so it starts the enabled daemons"),
        ),
    )


def firewalld_actions(
    loaded: str = f"firewall-cmd --info-policy={FIREWALLD_POLICY}",
) -> tuple[Action, ...]:
    """`loaded`: a command that fails when firewalld does not run the rules (setup.sh)."""
    return (
        Shell(
            "firewalld installed",
            "command -v firewall-cmd >/dev/null 2>&1 || pkg firewalld",
            timeout=INSTALL_TIMEOUT,
        ),
        Shell(
            "firewalld running",
            'firewall-cmd --state >/dev/null 2>&1 || die "firewalld is not running: systemctl'
            ' enable --now firewalld, then run me again"',
        ),
        Run(
            f"(re)create firewalld policy {FIREWALLD_POLICY}",
            ("bash",),
            file="firewalld.sh",
            where="apply",  # apply runs it when its check found the policy missing or different
        ),
        # firewalld.sh deletes the policy and reloads firewalld: setup.sh runs it only when it
        # changed or the policy is not loaded, so a second run changes nothing.
        Shell(
            f"(re)create firewalld policy {FIREWALLD_POLICY} when it changed",
            _FIREWALLD_WHEN_CHANGED.format(loaded=loaded),
            where="script",
        ),
    )


def _firewall_actions(router: Router) -> tuple[Action, ...]:
    if router.firewall is Firewall.iptables:
        actions: list[Action] = [iptables_package()]
        for tool, rules in (("iptables", "iptables.rules"), ("ip6tables", "ip6tables.rules")):
            actions += [
                Run(
                    f"{tool}: fill chain {IPTABLES_CHAIN}",
                    (f"{tool}-restore", "--noflush"),
                    file=rules,
                ),
                Shell(
                    f"{tool}: hook {IPTABLES_CHAIN} at the top of INPUT",
                    f"{tool} -C INPUT -j {IPTABLES_CHAIN} 2>/dev/null ||"
                    f" {tool} -I INPUT 1 -j {IPTABLES_CHAIN}",
                ),
            ]
        return (*actions, persist_iptables(six=True))
    if router.firewall is Firewall.nftables:
        return nftables_actions()
    return firewalld_actions()


def nftables_actions() -> tuple[Action, ...]:
    return (
        Shell(
            "nftables installed",
            "command -v nft >/dev/null 2>&1 || pkg nftables",
            timeout=INSTALL_TIMEOUT,
        ),
        Put("install /etc/hcplb/hcplb.nft", "hcplb.nft", "/etc/hcplb/hcplb.nft", boot=True),
        Run(f"load table {NFT_TABLE}", ("nft", "-f"), file="hcplb.nft", stdin_arg="-"),
        Shell("include it in the nftables service config", _NFT_INCLUDE, boot=True),
        Run(
            "enable the nftables service",
            ("systemctl", "enable", "--quiet", "nftables"),
            boot=True,
        ),
    )


def host_steps(plan: SitePlan, router: Router) -> tuple[HostStep, ...]:
    """hcplb's preparation of a router, in setup.sh's order."""
    bfd = plan.bfd is not None
    what = "BGP" + (" and BFD" if bfd else "") + " only from the cluster nodes"
    return (
        *frr_package_steps(),
        sysctl_step(sysctl_settings(plan.families)),
        HostStep(
            "firewall", f"firewall ({router.firewall.value}): {what}", _firewall_actions(router)
        ),
        daemons_step("bgpd, bfdd" if bfd else "bgpd"),
        HostStep("frr-running", "", (_restart_frr("restart FRR"),)),
    )


def _shell(action: Action) -> str:
    if isinstance(action, Shell):
        return action.script
    if isinstance(action, Run):
        return shlex.join(action.argv) + (f' "$here/{action.file}"' if action.file else "")
    owner = f" {action.owner}" if action.owner else ""
    put = f'put "$here/{action.file}" {action.path} {action.mode:04o}{owner}'
    if action.flag:
        return f"if {put}; then\n\t{action.flag}=yes\nfi"
    return f"{put} || true"


def setup_script(plan: SitePlan, router: Router, steps: Sequence[HostStep]) -> str:
    """setup.sh: the helpers, then every step's actions in order, then frr.conf and the service."""
    lines: list[str] = []
    for step in steps:
        body = [_shell(a) for a in step.actions if a.where != "apply"]
        if not body:
            continue
        if step.title:
            lines += ["", f'say "{step.title}"']
        lines += body
    head = _HEAD.format(router=router.name, site=plan.site.name) + HELPERS + _ROOT
    return head + "\n".join(lines) + "\n" + _TAIL


def render_setup_script(plan: SitePlan, router: Router) -> str:
    """router/setup.sh: the guide's router steps, hardened, as one idempotent script."""
    return setup_script(plan, router, host_steps(plan, router))

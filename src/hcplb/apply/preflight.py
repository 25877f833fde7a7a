"""Router preflight: is the host ready for the FRR change, and the steps that make it so.

The steps are `router/setup.sh`'s, from the one list both are made of
(`hcplb.render.hostprep.host_steps`): each check observes the host and names the step that
fixes it, performed only where the observation differs (pyinfra-style), so running it twice
changes nothing the second time. Boot persistence outside /etc/frr and /etc/sysctl.d (the
saved iptables rules, the nftables include) is skipped when `persist` is False (the lab, whose
routers share the machine's /etc).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hcplb.errors import TargetError
from hcplb.plan import SitePlan
from hcplb.render.files import RenderedSite
from hcplb.render.firewall import (
    FIREWALLD_POLICY,
    IPTABLES_CHAIN,
    NFT_TABLE,
    firewall_sources,
    host_of,
)
from hcplb.render.host import sysctl_settings
from hcplb.render.hostprep import HELPERS, Action, HostStep, Put, Run, host_steps
from hcplb.render.router import router_dir
from hcplb.runner import Result
from hcplb.settings import FRR_DAEMONS, FRR_RELOAD_PATHS, HOST_TIMEOUT
from hcplb.spec.models import Firewall, Router
from hcplb.targets import Target

RELOAD_PATHS = FRR_RELOAD_PATHS
TIMEOUT = HOST_TIMEOUT


@dataclass(frozen=True)
class HostCheck:
    id: str
    ok: bool
    observed: str
    expected: str
    fix: tuple[Action, ...] = field(default_factory=tuple)


def _fix(steps: Sequence[HostStep], check: str, *, persist: bool) -> tuple[Action, ...]:
    """What apply does to fix `check`: its step's actions, less setup.sh-only and boot ones."""
    step = next(s for s in steps if s.id == check)
    return tuple(a for a in step.actions if a.where != "script" and (persist or not a.boot))


def _sh(script: str, *args: str) -> tuple[str, ...]:
    return ("sh", "-c", script, "sh", *args)


def router_file(rendered: RenderedSite, plan: SitePlan, router: Router, name: str) -> str:
    return rendered.get(f"{router_dir(plan, router)}/{name}").content


def check_host(
    target: Target,
    plan: SitePlan,
    router: Router,
    rendered: RenderedSite,
    *,
    persist: bool = True,
) -> list[HostCheck]:
    """Observe the host; every check says what it saw and the actions that would fix it."""
    steps = host_steps(plan, router)
    checks = [_frr_installed(target, steps), _reload_present(target, steps)]
    if not checks[0].ok:
        return checks  # nothing else can be checked without FRR
    checks += _daemons(target, plan, steps)
    checks.append(_sysctl(target, steps, plan.families))
    checks.append(
        _firewall(target, plan, router, rendered, _fix(steps, "firewall", persist=persist))
    )
    return checks


def reload_script(target: Target) -> str | None:
    """Where frr-reload.py is on this host (Debian: frr-pythontools; RHEL: frr)."""
    script = 'for p in "$@"; do if [ -e "$p" ]; then echo "$p"; exit 0; fi; done; exit 1'
    result = target.run(_sh(script, *RELOAD_PATHS), timeout=TIMEOUT)
    return result.stdout.strip() if result.ok and result.stdout.strip() else None


def _frr_installed(target: Target, steps: Sequence[HostStep]) -> HostCheck:
    found = target.run(_sh("command -v vtysh"), timeout=TIMEOUT)
    return HostCheck(
        "frr-installed",
        found.ok,
        found.stdout.strip() if found.ok else "vtysh not found",
        "FRR installed (vtysh)",
        _fix(steps, "frr-installed", persist=True),
    )


def _reload_present(target: Target, steps: Sequence[HostStep]) -> HostCheck:
    path = reload_script(target)
    return HostCheck(
        "frr-reload",
        path is not None,
        path or "frr-reload.py not found",
        "frr-reload.py (frr-pythontools on Debian)",
        _fix(steps, "frr-reload", persist=True),
    )


def _daemons(target: Target, plan: SitePlan, steps: Sequence[HostStep]) -> list[HostCheck]:
    wanted = ["bgpd"] + (["bfdd"] if plan.bfd is not None else [])
    text = target.run(("cat", FRR_DAEMONS), timeout=TIMEOUT).stdout
    enabled = set(re.findall(r"^\s*(\w+)\s*=\s*yes\s*$", text, re.MULTILINE))
    off = [d for d in wanted if d not in enabled]
    checks = [
        HostCheck(
            "frr-daemons",
            not off,
            "enabled: " + (", ".join(d for d in wanted if d in enabled) or "none of them"),
            f"{', '.join(wanted)}=yes in {FRR_DAEMONS}",
            _fix(steps, "frr-daemons", persist=True),
        )
    ]
    stopped = [
        d
        for d in wanted
        if not target.run(("vtysh", "-d", d, "-c", "show version"), timeout=TIMEOUT).ok
    ]
    checks.append(
        HostCheck(
            "frr-running",
            not stopped,
            "not running: " + ", ".join(stopped) if stopped else "running",
            f"{', '.join(wanted)} running",
            # enabling the daemons restarts FRR already
            () if off else _fix(steps, "frr-running", persist=True),
        )
    )
    return checks


def _sysctl(target: Target, steps: Sequence[HostStep], families: tuple[int, ...]) -> HostCheck:
    seen = []
    ok = True
    for key, value in sysctl_settings(families):
        current = target.run(("sysctl", "-n", key), timeout=TIMEOUT).stdout.strip()
        seen.append(f"{key}={current or '?'}")
        ok = ok and current == value
    return HostCheck(
        "sysctl",
        ok,
        ", ".join(seen),
        ", ".join(f"{k}={v}" for k, v in sysctl_settings(families)),
        _fix(steps, "sysctl", persist=True),
    )


def _firewall(
    target: Target,
    plan: SitePlan,
    router: Router,
    rendered: RenderedSite,
    fix: tuple[Action, ...],
) -> HostCheck:
    sources = [host_of(s) for s in firewall_sources(plan)]
    if router.firewall is Firewall.iptables:
        return _iptables(target, plan, router, rendered, fix)
    if router.firewall is Firewall.nftables:
        listing = target.run(("nft", "list", "table", *NFT_TABLE.split()), timeout=TIMEOUT)
        ok = (
            listing.ok
            and all(s in listing.stdout for s in sources)
            and "dport 179 drop" in listing.stdout
        )
        return HostCheck(
            "firewall",
            ok,
            f"table {NFT_TABLE} "
            + ("present" if listing.ok else "missing")
            + ("" if ok else " or incomplete"),
            f"table {NFT_TABLE}: BGP/BFD only from {', '.join(sources)}",
            fix,
        )
    info = target.run(
        ("firewall-cmd", "--permanent", "--info-policy", FIREWALLD_POLICY), timeout=TIMEOUT
    )
    ok = info.ok and all(s in info.stdout for s in sources)
    return HostCheck(
        "firewall",
        ok,
        f"firewalld policy {FIREWALLD_POLICY} " + ("present" if info.ok else "missing"),
        f"firewalld policy {FIREWALLD_POLICY}: BGP/BFD only from {', '.join(sources)}",
        fix,
    )


def _rule_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.startswith("-A ")]


def _iptables(
    target: Target,
    plan: SitePlan,
    router: Router,
    rendered: RenderedSite,
    fix: tuple[Action, ...],
) -> HostCheck:
    ok = True
    seen = []
    for tool, name in (("iptables", "iptables.rules"), ("ip6tables", "ip6tables.rules")):
        try:
            rules = router_file(rendered, plan, router, name)
        except KeyError:
            continue
        listing = target.run((tool, "-S", IPTABLES_CHAIN), timeout=TIMEOUT)
        hooked = target.run((tool, "-C", "INPUT", "-j", IPTABLES_CHAIN), timeout=TIMEOUT).ok
        same = listing.ok and _rule_lines(listing.stdout) == _rule_lines(rules)
        seen.append(
            f"{tool}: chain {IPTABLES_CHAIN} "
            + ("as rendered" if same else "differs" if listing.ok else "missing")
            + ("" if hooked else ", not hooked into INPUT")
        )
        ok = ok and same and hooked
    return HostCheck(
        "firewall",
        ok,
        "; ".join(seen),
        f"chain {IPTABLES_CHAIN}: BGP/BFD only from the nodes, hooked into INPUT",
        fix,
    )


def in_lab(target: Target) -> str | None:
    """The lab's name when the target is a lab router reached over SSH (its sshd sets it)."""
    result = target.run(("printenv", "HCPLB_LAB"), timeout=TIMEOUT)
    return result.stdout.strip() or None if result.ok else None


def perform(target: Target, action: Action, content: Callable[[str], str]) -> Result | None:
    """Carry out one action there (`content(name)`: a rendered file); the Result of a command.

    TargetError when a file cannot be installed or its owner set (never ignored).
    """
    if isinstance(action, Put):
        directory = posixpath.dirname(action.path)
        made = target.run(("mkdir", "-p", directory), timeout=TIMEOUT)
        if not made.ok:
            raise TargetError(f"{target}: cannot create {directory}: {made.stderr.strip()}")
        target.put(action.path, content(action.file), action.mode)
        if action.owner:
            owned = target.run(("chown", action.owner, action.path), timeout=TIMEOUT)
            if not owned.ok:
                raise TargetError(
                    f"{target}: chown {action.owner} {action.path}: {owned.stderr.strip()}"
                )
        return None
    if isinstance(action, Run):
        if not action.file:
            return target.run(action.argv, timeout=action.timeout)
        argv = (*action.argv, action.stdin_arg) if action.stdin_arg else action.argv
        return target.run(argv, timeout=action.timeout, input=content(action.file))
    return target.run(_sh(HELPERS + action.script), timeout=action.timeout)


def prepare_host(
    target: Target,
    plan: SitePlan,
    router: Router,
    rendered: RenderedSite,
    *,
    fix: bool,
    persist: bool = True,
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[list[HostCheck], list[str]]:
    """Check the host; with `fix`, perform the steps of every failing check and check again.

    Returns the final checks and the steps performed. TargetError when a step fails or a
    check still fails after its steps.
    """
    checks = check_host(target, plan, router, rendered, persist=persist)
    if all(c.ok for c in checks) or not fix:
        return checks, []
    done: list[str] = []

    def content(name: str) -> str:
        return router_file(rendered, plan, router, name)

    for check in [c for c in checks if not c.ok]:
        for action in check.fix:
            progress(f"{router.name}: {action.what}")
            try:
                result = perform(target, action, content)
            except TargetError as exc:
                raise TargetError(f"router {router.name}: {check.id}: {exc}") from None
            if result is not None and not result.ok:
                detail = (result.stderr or result.stdout).strip().splitlines()
                raise TargetError(
                    f"router {router.name}: {check.id}: {action.what} failed: "
                    f"{detail[-1] if detail else f'exit {result.rc}'}"
                )
            done.append(f"{check.id}: {action.what}")
    checks = check_host(target, plan, router, rendered, persist=persist)
    still = [c for c in checks if not c.ok]
    if still:
        raise TargetError(
            f"router {router.name}: still not ready after fixing: "
            + "; ".join(f"{c.id}: {c.observed}" for c in still)
        )
    return checks, done

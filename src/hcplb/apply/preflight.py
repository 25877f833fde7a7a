"""Router preflight: is the host ready for the FRR change, and the steps that make it so.

The same host preparation as the rendered `router/setup.sh` (FRR and frr-reload.py installed,
bgpd/bfdd enabled and running, sysctl, firewall), split into checks that observe the host and
steps that change it only where the observation differs (pyinfra-style), so running it twice
changes nothing the second time. Boot persistence outside /etc/frr and /etc/sysctl.d (the
saved iptables rules, the nftables include) is skipped when `persist` is False (the lab, whose
routers share the machine's /etc).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from hcplb.errors import TargetError
from hcplb.plan import SitePlan
from hcplb.render.files import RenderedSite
from hcplb.render.firewall import (
    FIREWALLD_POLICY,
    IPTABLES_CHAIN,
    NFT_TABLE,
    firewall_sources,
)
from hcplb.render.host import SYSCTL_FILENAME, sysctl_settings
from hcplb.render.router import router_dir
from hcplb.runner import Result
from hcplb.settings import FRR_RELOAD_PATHS, HOST_TIMEOUT, INSTALL_TIMEOUT
from hcplb.spec.models import Firewall, Router
from hcplb.targets import Target

RELOAD_PATHS = FRR_RELOAD_PATHS
TIMEOUT = HOST_TIMEOUT

_PKG = (
    'if command -v dnf >/dev/null 2>&1; then dnf install -y "$@"; '
    "elif command -v apt-get >/dev/null 2>&1; then apt-get update -qq && "
    'DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"; '
    'else echo "neither dnf nor apt-get found" >&2; exit 1; fi'
)
_PERSIST_IPTABLES = (
    "if [ -d /etc/sysconfig ]; then iptables-save >/etc/sysconfig/iptables; "
    "ip6tables-save >/etc/sysconfig/ip6tables; "
    "elif [ -d /etc/iptables ]; then iptables-save >/etc/iptables/rules.v4; "
    "ip6tables-save >/etc/iptables/rules.v6; fi"
)
_NFT_INCLUDE = (
    "include='include \"/etc/hcplb/hcplb.nft\"'; "
    "for conf in /etc/sysconfig/nftables.conf /etc/nftables.conf; do "
    'if [ -f "$conf" ]; then grep -qxF "$include" "$conf" || '
    'printf \'%s\\n\' "$include" >>"$conf"; break; fi; done'
)


@dataclass(frozen=True)
class Step:
    """One change: write `content` to `path`, or run `argv` (with `input` on stdin)."""

    what: str
    argv: tuple[str, ...] = ()
    input: str | None = None
    path: str = ""
    content: str = ""
    mode: int = 0o644
    timeout: float = TIMEOUT


@dataclass(frozen=True)
class HostCheck:
    id: str
    ok: bool
    observed: str
    expected: str
    fix: tuple[Step, ...] = field(default_factory=tuple)


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
    """Observe the host; every check says what it saw and the steps that would fix it."""
    checks = [_frr_installed(target), _reload_present(target)]
    if not checks[0].ok:
        return checks  # nothing else can be checked without FRR
    checks += _daemons(target, plan, router, rendered)
    checks.append(_sysctl(target, plan, router, rendered))
    checks.append(_firewall(target, plan, router, rendered, persist=persist))
    return checks


def reload_script(target: Target) -> str | None:
    """Where frr-reload.py is on this host (Debian: frr-pythontools; RHEL: frr)."""
    script = 'for p in "$@"; do if [ -e "$p" ]; then echo "$p"; exit 0; fi; done; exit 1'
    result = target.run(_sh(script, *RELOAD_PATHS), timeout=TIMEOUT)
    return result.stdout.strip() if result.ok and result.stdout.strip() else None


def _frr_installed(target: Target) -> HostCheck:
    found = target.run(_sh("command -v vtysh"), timeout=TIMEOUT)
    return HostCheck(
        "frr-installed",
        found.ok,
        found.stdout.strip() if found.ok else "vtysh not found",
        "FRR installed (vtysh)",
        (Step("install FRR", _sh(_PKG, "frr"), timeout=INSTALL_TIMEOUT),),
    )


def _reload_present(target: Target) -> HostCheck:
    path = reload_script(target)
    return HostCheck(
        "frr-reload",
        path is not None,
        path or "frr-reload.py not found",
        "frr-reload.py (frr-pythontools on Debian)",
        (Step("install frr-pythontools", _sh(_PKG, "frr-pythontools"), timeout=INSTALL_TIMEOUT),),
    )


def _restart_frr() -> Step:
    return Step("restart FRR so it starts the enabled daemons", ("systemctl", "restart", "frr"))


def _daemons(
    target: Target, plan: SitePlan, router: Router, rendered: RenderedSite
) -> list[HostCheck]:
    wanted = ["bgpd"] + (["bfdd"] if plan.bfd is not None else [])
    text = target.run(("cat", "/etc/frr/daemons"), timeout=TIMEOUT).stdout
    enabled = set(re.findall(r"^\s*(\w+)\s*=\s*yes\s*$", text, re.MULTILINE))
    off = [d for d in wanted if d not in enabled]
    fix = (
        Step(
            "install the rendered /etc/frr/daemons",
            path="/etc/frr/daemons",
            content=router_file(rendered, plan, router, "daemons"),
            mode=0o640,
        ),
        Step("daemons owned by frr", ("chown", "frr:frr", "/etc/frr/daemons")),
        _restart_frr(),
    )
    checks = [
        HostCheck(
            "frr-daemons",
            not off,
            "enabled: " + (", ".join(d for d in wanted if d in enabled) or "none of them"),
            f"{', '.join(wanted)}=yes in /etc/frr/daemons",
            fix,
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
            () if off else (_restart_frr(),),  # enabling them restarts FRR already
        )
    )
    return checks


def _sysctl(target: Target, plan: SitePlan, router: Router, rendered: RenderedSite) -> HostCheck:
    seen = []
    ok = True
    for key, value in sysctl_settings():
        current = target.run(("sysctl", "-n", key), timeout=TIMEOUT).stdout.strip()
        seen.append(f"{key}={current or '?'}")
        ok = ok and current == value
    path = f"/etc/sysctl.d/{SYSCTL_FILENAME}"
    return HostCheck(
        "sysctl",
        ok,
        ", ".join(seen),
        ", ".join(f"{k}={v}" for k, v in sysctl_settings()),
        (
            Step(
                f"install {path}",
                path=path,
                content=router_file(rendered, plan, router, SYSCTL_FILENAME),
            ),
            Step("load it", ("sysctl", "-q", "-p", path)),
        ),
    )


def _firewall(
    target: Target, plan: SitePlan, router: Router, rendered: RenderedSite, *, persist: bool
) -> HostCheck:
    sources = [s.removesuffix("/32") for s in firewall_sources(plan)]
    if router.firewall is Firewall.iptables:
        return _iptables(target, plan, router, rendered, persist=persist)
    if router.firewall is Firewall.nftables:
        listing = target.run(("nft", "list", "table", *NFT_TABLE.split()), timeout=TIMEOUT)
        ok = (
            listing.ok
            and all(s in listing.stdout for s in sources)
            and "dport 179 drop" in listing.stdout
        )
        text = router_file(rendered, plan, router, "hcplb.nft")
        steps = [Step(f"load table {NFT_TABLE}", ("nft", "-f", "-"), input=text)]
        if persist:
            steps += [
                Step("install /etc/hcplb/hcplb.nft", path="/etc/hcplb/hcplb.nft", content=text),
                Step("include it in the nftables service config", _sh(_NFT_INCLUDE)),
                Step("enable the nftables service", ("systemctl", "enable", "--quiet", "nftables")),
            ]
        return HostCheck(
            "firewall",
            ok,
            f"table {NFT_TABLE} "
            + ("present" if listing.ok else "missing")
            + ("" if ok else " or incomplete"),
            f"table {NFT_TABLE}: BGP/BFD only from {', '.join(sources)}",
            tuple(steps),
        )
    info = target.run(
        ("firewall-cmd", "--permanent", "--info-policy", FIREWALLD_POLICY), timeout=TIMEOUT
    )
    ok = info.ok and all(s in info.stdout for s in sources)
    script = router_file(rendered, plan, router, "firewalld.sh")
    return HostCheck(
        "firewall",
        ok,
        f"firewalld policy {FIREWALLD_POLICY} " + ("present" if info.ok else "missing"),
        f"firewalld policy {FIREWALLD_POLICY}: BGP/BFD only from {', '.join(sources)}",
        (Step(f"(re)create firewalld policy {FIREWALLD_POLICY}", ("bash", "-s"), input=script),),
    )


def _rule_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.startswith("-A ")]


def _iptables(
    target: Target, plan: SitePlan, router: Router, rendered: RenderedSite, *, persist: bool
) -> HostCheck:
    ok = True
    seen = []
    steps: list[Step] = []
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
        steps.append(
            Step(
                f"{tool}: fill chain {IPTABLES_CHAIN}",
                (f"{tool}-restore", "--noflush"),
                input=rules,
            )
        )
        steps.append(
            Step(
                f"{tool}: hook {IPTABLES_CHAIN} at the top of INPUT",
                _sh(
                    f"{tool} -C INPUT -j {IPTABLES_CHAIN} 2>/dev/null || {tool} -I INPUT 1 -j {IPTABLES_CHAIN}"
                ),
            )
        )
    if persist:
        steps.append(
            Step("save the rules for the next boot (RHEL or Debian layout)", _sh(_PERSIST_IPTABLES))
        )
    return HostCheck(
        "firewall",
        ok,
        "; ".join(seen),
        f"chain {IPTABLES_CHAIN}: BGP/BFD only from the nodes, hooked into INPUT",
        tuple(steps),
    )


def in_lab(target: Target) -> str | None:
    """The lab's name when the target is a lab router reached over SSH (its sshd sets it)."""
    result = target.run(("printenv", "HCPLB_LAB"), timeout=TIMEOUT)
    return result.stdout.strip() or None if result.ok else None


def run_step(target: Target, step: Step) -> Result | None:
    """Perform one step; the Result of a command (None for a file write)."""
    if step.path:
        target.put(step.path, step.content, step.mode)
        return None
    return target.run(step.argv, timeout=step.timeout, input=step.input)


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
    for check in [c for c in checks if not c.ok]:
        for step in check.fix:
            progress(f"{router.name}: {step.what}")
            result = run_step(target, step)
            if result is not None and not result.ok:
                detail = (result.stderr or result.stdout).strip().splitlines()
                raise TargetError(
                    f"router {router.name}: {check.id}: {step.what} failed: "
                    f"{detail[-1] if detail else f'exit {result.rc}'}"
                )
            done.append(f"{check.id}: {step.what}")
    checks = check_host(target, plan, router, rendered, persist=persist)
    still = [c for c in checks if not c.ok]
    if still:
        raise TargetError(
            f"router {router.name}: still not ready after fixing: "
            + "; ".join(f"{c.id}: {c.observed}" for c in still)
        )
    return checks, done

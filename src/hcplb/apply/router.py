"""`apply --router`: change a router's FRR safely, like a router's commit-confirmed.

1. the candidate is uploaded to a temporary file and checked with `vtysh -C -f`:
   a config FRR rejects never reaches the running daemons;
2. nothing to do when /etc/frr/frr.conf already is the candidate and the running config is
   still the one hcplb left after its last apply (a snapshot in /etc/frr/hcplb.applied):
   FRR hides default values, so frr-reload.py's diff is never empty for them;
3. `frr-reload.py --test` shows the change (secrets redacted; a non-zero exit is an error,
   since on a broken file it prints a destructive diff);
4. the running config and frr.conf are backed up (/etc/frr/hcplb.backup*), the candidate
   becomes /etc/frr/frr.conf (the pre-hcplb file kept once as frr.conf.before-hcplb) and
   `frr-reload.py --reload /etc/frr/frr.conf` applies it (given any other file,
   frr-reload.py would overwrite frr.conf with `write memory`, losing its comments);
5. wait until every expected session is Established (not Policy) and every VIP is in
   the FIB with its nexthops, within `confirm_timeout`; then the snapshot is written;
6. not converged: reload the running-config backup, put the previous frr.conf back, wait
   for what was up before, and report what did not come up. `confirm_timeout=0` commits
   without waiting (a first install before the cluster side exists).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hcplb.apply.frrsecrets import password_commands
from hcplb.apply.frrstate import (
    Expected,
    Observed,
    expected_state,
    missing,
    parse_fib_nexthops,
    parse_sessions,
    strip_running_config,
)
from hcplb.apply.preflight import TIMEOUT, reload_script
from hcplb.errors import TargetError
from hcplb.plan import SitePlan
from hcplb.probes.frr import parse_reload_diff
from hcplb.secrets import redact_config
from hcplb.settings import CONVERGE_TIMEOUT, FRR_CONF, FRR_ETC, RELOAD_TIMEOUT, ROLLBACK_WAIT
from hcplb.spec.models import Router
from hcplb.targets import Target

CANDIDATE = f"{FRR_ETC}/hcplb.candidate"
BACKUP = f"{FRR_ETC}/hcplb.backup"
BACKUP_FILE = f"{FRR_ETC}/hcplb.backup-frr.conf"
APPLIED = f"{FRR_ETC}/hcplb.applied"
PASSWORDS = f"{FRR_ETC}/hcplb.passwords"
KEPT = f"{FRR_CONF}.before-hcplb"
POLL = 0.5

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RouterReport:
    router: str
    changed: bool
    diff: tuple[str, ...]
    """redacted `- a / b` / `+ a / b` of frr-reload.py's diff (FRR's no-op noise left out)"""
    converged_s: float | None = None
    message: str = ""


class _Frr:
    """The router's FRR through a Target, with every message redacted."""

    def __init__(self, target: Target, router: Router, secrets: Sequence[str]) -> None:
        self.target = target
        self.router = router
        self.secrets = list(secrets)
        self.reload = reload_script(target)
        self._log_level: bool | None = None

    def run(self, argv: Sequence[str], timeout: float = TIMEOUT) -> tuple[int, str, str]:
        result = self.target.run(argv, timeout=timeout)
        return result.rc, self.clean(result.stdout), self.clean(result.stderr)

    def clean(self, text: str) -> str:
        return redact_config(text, self.secrets)

    def fail(self, what: str, detail: str, hint: str = "") -> TargetError:
        lines = [ln for ln in detail.strip().splitlines() if ln.strip()]
        last = "; ".join(lines[-3:]) if lines else "no output"
        text = f"router {self.router.name}: {what}: {last}"
        return TargetError(text + (f" (hint: {hint})" if hint else ""))

    def cat(self, path: str) -> str | None:
        result = self.target.run(("cat", path), timeout=TIMEOUT)
        return result.stdout if result.ok else None

    def running(self) -> str:
        """The running config as a loadable file (never shown: it may hold the password)."""
        result = self.target.run(("vtysh", "-c", "show running-config"), timeout=TIMEOUT)
        if not result.ok:
            detail = self.clean(result.stderr or result.stdout)
            raise self.fail("cannot read the running config", detail, "is FRR running?")
        return strip_running_config(result.stdout)

    def reload_file(self, path: str, *, test: bool) -> tuple[int, str, str]:
        if self.reload is None:
            raise self.fail("frr-reload.py not found", "", "install frr-pythontools (Debian)")
        if test:
            return self.run((self.reload, "--test", path), timeout=RELOAD_TIMEOUT)
        # its file of added lines (in /var/run/frr) may hold a password: readable by root only;
        # at its default level it logs those lines to /var/log/frr/frr-reload.log
        umask = ("sh", "-c", 'umask 077 && exec "$@"', "sh")
        quiet = ("--log-level", "warning") if self._logs_by_level() else ()
        return self.run((*umask, self.reload, "--reload", *quiet, path), timeout=RELOAD_TIMEOUT)

    def _logs_by_level(self) -> bool:
        """Whether this frr-reload.py takes --log-level (older ones log every line they add)."""
        if self._log_level is None:
            assert self.reload is not None
            result = self.target.run((self.reload, "--help"), timeout=TIMEOUT)
            self._log_level = "--log-level" in result.stdout
        return self._log_level

    def align_passwords(self, running: str, wanted: str) -> None:
        """Give the running BGP passwords the values of `wanted` through a 0600 file.

        frr-reload.py would remove a changed password with `vtysh -c 'no ... password OLD'`,
        on a command line any local user can read (`hcplb.apply.frrsecrets`).
        """
        commands = password_commands(running, wanted)
        if not commands:
            return
        self.target.put(PASSWORDS, commands, 0o600)
        try:
            rc, out, err = self.run(("vtysh", "-f", PASSWORDS))
        finally:
            self.remove(PASSWORDS)
        if rc != 0:
            raise self.fail("setting the BGP password failed", err or out)

    def observe(self, expected: Expected) -> Observed:
        _, summary, _ = self.run(("vtysh", "-c", "show bgp summary json"))
        routes = {}
        for prefix in expected.routes:
            _, text, _ = self.run(("vtysh", "-c", f"show ip route {prefix} json"))
            routes[prefix] = parse_fib_nexthops(text, prefix)
        return Observed(parse_sessions(summary), routes)

    def remove(self, *paths: str) -> None:
        self.target.run(("rm", "-f", *paths), timeout=TIMEOUT)


def wait_converged(
    frr: _Frr, expected: Expected, timeout: float, progress: Progress
) -> tuple[float | None, list[str]]:
    """Seconds until converged (None if not within `timeout`) and what was still missing."""
    started = time.monotonic()
    deadline = started + timeout
    last: list[str] = []
    while True:
        last = missing(expected, frr.observe(expected))
        if not last:
            return time.monotonic() - started, []
        if time.monotonic() >= deadline:
            return None, last
        progress(f"waiting: {len(last)} thing(s) not up yet ({last[0]})")
        time.sleep(POLL)


def apply_router(
    target: Target,
    plan: SitePlan,
    router: Router,
    frr_conf: str,
    *,
    secrets: Sequence[str] = (),
    dry_run: bool = False,
    confirm_timeout: float = CONVERGE_TIMEOUT,
    progress: Progress = lambda _: None,
) -> RouterReport:
    """Bring the router's FRR to `frr_conf` (see the module docstring for the guarantees)."""
    frr = _Frr(target, router, secrets)
    # 1. FRR's own parser first: a rejected config never reaches the daemons
    target.put(CANDIDATE, frr_conf, 0o600)
    try:
        rc, out, err = frr.run(("vtysh", "-C", "-f", CANDIDATE))
        if rc != 0:
            raise frr.fail(
                "FRR rejects the new config; the router was not changed", out + "\n" + err
            )
        # 2. nothing changed since the last apply of this very file
        running = frr.running()
        if frr.cat(FRR_CONF) == frr_conf and frr.cat(APPLIED) == running:
            return RouterReport(router.name, False, (), message="no change: FRR runs this config")
        # 3. the change, as frr-reload.py computes it
        rc, out, err = frr.reload_file(CANDIDATE, test=True)
        if rc != 0:
            raise frr.fail("frr-reload.py --test failed; the router was not changed", err or out)
        diff = parse_reload_diff(out)
        shown = tuple(diff.lines())
        if dry_run:
            return RouterReport(router.name, not diff.empty, shown, message="dry run")
        if diff.empty:
            _install(frr, frr_conf)
            _snapshot(frr)
            return RouterReport(
                router.name, False, (), message="running config already matched; frr.conf saved"
            )
        # 4. backups, the new frr.conf, reload
        expected = expected_state(plan, router)
        before = frr.observe(expected)
        target.put(BACKUP, running, 0o600)
        old_file = frr.cat(FRR_CONF)
        target.put(BACKUP_FILE, old_file or "", 0o600)
        progress(f"{router.name}: reloading FRR ({len(shown)} line(s) change)")
        try:
            _install(frr, frr_conf)
            frr.align_passwords(running, frr_conf)
            rc, out, err = frr.reload_file(FRR_CONF, test=False)
        except TargetError:
            _rollback(frr, running, old_file, before, confirm_timeout, progress)
            raise
        if rc != 0:
            _rollback(frr, running, old_file, before, confirm_timeout, progress)
            raise frr.fail(
                "frr-reload.py --reload failed; rolled back to the previous config", err or out
            )
        # 5. commit-confirmed: converge or roll back
        if confirm_timeout <= 0:
            _snapshot(frr)
            return RouterReport(router.name, True, shown, None, "applied (not confirmed)")
        seconds, not_up = wait_converged(frr, expected, confirm_timeout, progress)
        if seconds is None:
            back = _rollback(frr, running, old_file, before, confirm_timeout, progress)
            raise TargetError(
                f"router {router.name}: not converged within {confirm_timeout:g} s, rolled back "
                f"to the previous config ({back}). Not up: "
                + "; ".join(not_up)
                + " (hint: hcplb verify names the likely cause; is the cluster side applied?)"
            )
        _snapshot(frr)
        return RouterReport(router.name, True, shown, seconds, f"converged in {seconds:.1f} s")
    finally:
        frr.remove(CANDIDATE)


def _install(frr: _Frr, frr_conf: str) -> None:
    """Make the candidate /etc/frr/frr.conf (keeping the pre-hcplb file once)."""
    keep = (
        f"if [ -f {FRR_CONF} ] && [ ! -e {KEPT} ] && ! cmp -s {CANDIDATE} {FRR_CONF}; then "
        f"cp -p {FRR_CONF} {KEPT}; fi"
    )
    rc, out, err = frr.run(("sh", "-c", keep))
    if rc != 0:
        raise frr.fail(f"cannot keep the previous frr.conf as {KEPT}", err or out)
    _put_frr_conf(frr, frr_conf)


def _put_frr_conf(frr: _Frr, text: str) -> None:
    """/etc/frr/frr.conf owned by frr:frr, as FRR's own `write memory` leaves it."""
    frr.target.put(FRR_CONF, text, 0o640)
    rc, out, err = frr.run(("chown", "frr:frr", FRR_CONF))
    if rc != 0:
        raise frr.fail(f"cannot give {FRR_CONF} to frr:frr", err or out)


def _snapshot(frr: _Frr) -> None:
    """Remember the running config this apply left, to recognise "no change" next time."""
    frr.target.put(APPLIED, frr.running(), 0o600)


def _rollback(
    frr: _Frr,
    backup: str,
    old_file: str | None,
    before: Observed,
    timeout: float,
    progress: Progress,
) -> str:
    """Reload the backup, restore frr.conf, wait for what was up before; a short account."""
    progress(f"{frr.router.name}: rolling back to the previous config")
    try:
        frr.align_passwords(frr.running(), backup)
    except TargetError as exc:
        raise TargetError(
            f"ROLLBACK FAILED: {exc} (hint: the previous running config is in {BACKUP} on the "
            f"router: frr-reload.py --reload {BACKUP})"
        ) from None
    rc, out, err = frr.reload_file(BACKUP, test=False)
    if rc != 0:
        raise frr.fail(
            "ROLLBACK FAILED: reloading the backup did not work; the previous running config "
            f"is in {BACKUP} and the previous frr.conf in {BACKUP_FILE} on the router",
            err or out,
            f"restore them by hand: frr-reload.py --reload {BACKUP}",
        )
    if old_file is not None:  # frr-reload.py wrote the running config over frr.conf
        _put_frr_conf(frr, old_file)
    was_up = Expected(
        tuple(a for a, s in before.sessions.items() if s == "Established"),
        {vip: hops for vip, hops in before.routes.items() if hops},
    )
    if not was_up.sessions and not was_up.routes:
        return "nothing was up before"
    seconds, still = wait_converged(frr, was_up, max(timeout, ROLLBACK_WAIT), progress)
    if seconds is None:
        return "but not everything came back: " + "; ".join(still)
    return f"{len(was_up.sessions)} session(s) back in {seconds:.1f} s"

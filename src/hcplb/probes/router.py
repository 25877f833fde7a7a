"""Router probes: what one FRR router shows about the nodes' sessions, the VIPs and itself.

`observe_router` asks the router (five commands at once, each with the timeout), and
`evaluate_router` turns the answers into probes without any I/O (tested on captured JSON).
A command that could not run at all is a `Failed`: every probe needing it fails with why.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from hcplb.errors import HcplbError
from hcplb.frrjson import Answer, parse_answer, split_answers
from hcplb.probes import hints
from hcplb.probes.expect import RouterExpect
from hcplb.probes.frr import ReloadDiff, parse_reload_diff, parse_sysctl
from hcplb.probes.model import Probe, fail, passed, skip, warn
from hcplb.probes.routing import (
    Failed,
    RouterObservation,
    RouterView,
    bfd_probe,
    session_probe,
    view_of,
    vip_fib_probe,
    vip_paths_probe,
)
from hcplb.runner import Result
from hcplb.secrets import redact_config
from hcplb.settings import COMMAND_TIMEOUT
from hcplb.targets.base import Target

__all__ = [
    "Failed",
    "RouterObservation",
    "evaluate_router",
    "observe_router",
    "probe_router",
    "redact_config",
]

SYSTEM = "router"
RELOAD_SCRIPT = (
    "for r in /usr/lib/frr/frr-reload.py /usr/libexec/frr/frr-reload.py; do "
    '[ -x "$r" ] && break; done; '
    '[ -x "$r" ] || { echo "frr-reload.py not found" >&2; exit 127; }; '
    'f=$(mktemp); cat >"$f"; "$r" --test --stdout "$f"; rc=$?; rm -f "$f"; exit $rc'
)
_DRIFT_LINES = 12
# frr-reload.py is a Python program that asks vtysh twice: on a busy router it needs more
# than a probe's timeout. An unreachable router still costs one timeout (every command fails
# at the connection); only a router that answers slowly can make the drift check wait longer.


def _vtysh(*commands: str) -> list[str]:
    argv = ["vtysh"]
    for c in commands:
        argv += ["-c", c]
    return argv


def observe_router(target: Target, expect: RouterExpect, *, timeout: float) -> RouterObservation:
    """Ask the router everything at once; each command gets `timeout` s."""
    prefixes = tuple(dict.fromkeys(v.prefix for v in expect.vips))
    bgp_cmds = ["show bgp summary json", "show bgp neighbors json"] + [
        f"show bgp {'ipv6' if ':' in p else 'ipv4'} unicast {p} json" for p in prefixes
    ]
    zebra_cmds = [f"show {'ipv6' if ':' in p else 'ip'} route {p} json" for p in prefixes]

    def call(argv: list[str], input: str | None = None, limit: float = timeout) -> Result | Failed:
        try:
            return target.run(argv, timeout=limit, input=input)
        except HcplbError as exc:
            return Failed(str(exc))

    jobs: dict[str, Callable[[], Result | Failed]] = {
        "bgpd": lambda: call(_vtysh(*bgp_cmds)),
        "zebra": lambda: call(_vtysh(*zebra_cmds)),
        "sysctl": lambda: call(["sysctl", *(k for k, _ in expect.sysctl)]),
    }
    if expect.bfd is not None:
        jobs["bfd"] = lambda: call(_vtysh("show bfd peers json"))
    if expect.frr_conf is not None:
        conf = expect.frr_conf
        jobs["drift"] = lambda: call(
            ["sh", "-c", RELOAD_SCRIPT], conf, max(timeout, COMMAND_TIMEOUT)
        )
    got = _gather(jobs, slow={"drift"})

    def answers(name: str, count: int) -> tuple[Answer, ...] | Failed:
        r = got[name]
        return r if isinstance(r, Failed) else tuple(split_answers(r.stdout or r.stderr, count))

    bfd = got.get("bfd")
    return RouterObservation(
        bgpd=answers("bgpd", len(bgp_cmds)),
        zebra=answers("zebra", len(zebra_cmds)) if zebra_cmds else (),
        bfd=None if bfd is None else bfd if isinstance(bfd, Failed) else _one(bfd),
        sysctl=got["sysctl"],
        drift=got.get("drift"),
        prefixes=prefixes,
    )


def _gather(
    jobs: dict[str, Callable[[], Result | Failed]], *, slow: set[str]
) -> dict[str, Result | Failed]:
    """Run the jobs in daemon threads. The `slow` ones are waited for only while the router
    answers the others: when every quick job failed, the router is gone and a slow job that is
    still hanging is abandoned (a daemon thread never holds up the process's exit)."""
    got: dict[str, Result | Failed] = {}
    threads = {}
    for name, job in jobs.items():

        def work(name: str = name, job: Callable[[], Result | Failed] = job) -> None:
            got[name] = job()

        threads[name] = threading.Thread(target=work, daemon=True, name=f"hcplb-router-{name}")
        threads[name].start()
    for name, thread in threads.items():
        if name not in slow:
            thread.join()
    quick = [got[n] for n in jobs if n not in slow]
    gone = bool(quick) and all(isinstance(r, Failed) for r in quick)
    for name in slow & set(threads):
        if not gone:
            threads[name].join()
        got.setdefault(name, Failed("not run: the router did not answer"))
    return got


def _one(result: Result) -> Answer:
    return parse_answer(result.stdout or result.stderr)


def probe_router(
    target: Target, expect: RouterExpect, *, timeout: float, secrets: Sequence[str] = ()
) -> list[Probe]:
    """Observe then evaluate one router."""
    return evaluate_router(
        expect, observe_router(target, expect, timeout=timeout), secrets=secrets, target=target.name
    )


# -- evaluation (pure) ---------------------------------------------------------------------------


def evaluate_router(
    expect: RouterExpect,
    obs: RouterObservation,
    *,
    secrets: Sequence[str] = (),
    target: str = "the router",
) -> list[Probe]:
    """Every probe of one router from its answers."""
    view = view_of(obs, target)
    base = f"router/{expect.name}"
    probes = [_daemons(base, expect, view)]
    probes.append(_asn(base, expect, view))
    probes += [session_probe(base, expect, node, view) for node in expect.sessions]
    for vip in expect.vips:
        probes.append(vip_paths_probe(base, expect, vip.prefix, vip.announcers, view))
        probes.append(vip_fib_probe(base, expect, vip.prefix, vip.announcers, view))
    if expect.bfd is not None:
        probes += [bfd_probe(base, expect, node, view) for node in expect.sessions]
    probes += _sysctl(base, expect, obs.sysctl, target)
    probes.append(_drift(base, expect, obs.drift, secrets))
    return probes


def _daemons(base: str, expect: RouterExpect, view: RouterView) -> Probe:
    wanted = ["zebra", "bgpd"] + (["bfdd"] if expect.bfd is not None else [])
    expected = ", ".join(wanted) + " running"
    errors = [
        (m, h)
        for m, h in (
            (view.zebra_error, view.zebra_hint),
            (view.bgp_error, view.bgp_hint),
            (view.bfd_error, view.bfd_hint),
        )
        if m
    ]
    if errors:
        return fail(
            f"{base}/daemons",
            SYSTEM,
            expected,
            "; ".join(m for m, _ in errors),
            errors[0][0],
            errors[0][1],
        )
    return passed(f"{base}/daemons", SYSTEM, expected, ", ".join(wanted) + " answer")


def _asn(base: str, expect: RouterExpect, view: RouterView) -> Probe:
    id = f"{base}/asn"
    expected = f"router bgp {expect.asn}"
    if view.summary is None:
        return fail(id, SYSTEM, expected, "", view.bgp_error, view.bgp_hint)
    if not view.summary.configured:
        return fail(id, SYSTEM, expected, "no BGP instance", "FRR has no `router bgp`", hints.DRIFT)
    local = {p.local_as for p in view.summary.peers.values()} | {view.summary.local_as}
    wrong = sorted(a for a in local if a != expect.asn)
    if wrong:
        return fail(
            id,
            SYSTEM,
            expected,
            f"AS {wrong[0]}",
            f"the router presents AS {wrong[0]}",
            hints.bad_peer_as_router(wrong[0], expect.asn),
        )
    return passed(id, SYSTEM, expected, f"AS {view.summary.local_as}")


def _sysctl(base: str, expect: RouterExpect, result: Result | Failed, target: str) -> list[Probe]:
    values = {} if isinstance(result, Failed) else parse_sysctl(result.stdout)
    probes = []
    for key, value in expect.sysctl:
        family = "ipv6/" if key.startswith("net.ipv6.") else ""  # both families hash ECMP
        id = f"{base}/sysctl/{family}{key.rsplit('.', 1)[-1]}"
        expected = f"{key} = {value}"
        if isinstance(result, Failed):
            probes.append(
                fail(id, SYSTEM, expected, "", result.message, hints.router_unreachable(target))
            )
            continue
        got = values.get(key, "missing")
        if got == value:
            probes.append(passed(id, SYSTEM, expected, f"{key} = {got}"))
        elif key.endswith(("ip_forward", ".forwarding")):
            hint = hints.IP_FORWARD if family == "" else hints.IP6_FORWARD
            probes.append(
                fail(id, SYSTEM, expected, f"{key} = {got}", "IP forwarding is off", hint)
            )
        else:
            probes.append(
                warn(
                    id,
                    SYSTEM,
                    expected,
                    f"{key} = {got}",
                    "L3-only ECMP hash",
                    hints.MULTIPATH_HASH,
                )
            )
    return probes


def _drift(
    base: str, expect: RouterExpect, result: Result | Failed | None, secrets: Sequence[str]
) -> Probe:
    id = f"{base}/config"
    expected = "running config = rendered frr.conf"
    if expect.frr_conf is None or result is None:
        return skip(id, SYSTEM, "no rendered frr.conf to compare with", expected)
    if isinstance(result, Failed):
        return skip(id, SYSTEM, f"cannot compare: {result.message}", expected)
    if result.rc == 127:
        return skip(id, SYSTEM, "frr-reload.py not found (install frr-pythontools)", expected)
    diff: ReloadDiff = parse_reload_diff(result.stdout)
    if result.rc != 0 and diff.empty:
        detail = redact_config((result.stderr or result.stdout).strip(), secrets)
        return warn(
            id,
            SYSTEM,
            expected,
            detail.splitlines()[-1] if detail else "",
            f"frr-reload.py failed (exit {result.rc})",
            hints.DRIFT,
        )
    if diff.empty:
        return passed(id, SYSTEM, expected, "no difference")
    lines = [redact_config(line, secrets) for line in diff.lines()]
    shown = lines[:_DRIFT_LINES] + (
        [f"... {len(lines) - _DRIFT_LINES} more"] if len(lines) > _DRIFT_LINES else []
    )
    return warn(
        id,
        SYSTEM,
        expected,
        "\n".join(shown),
        f"running config differs from the rendered one ({len(lines)} line(s))",
        hints.DRIFT,
    )

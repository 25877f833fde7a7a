"""setup.sh and apply's preflight are made of one list of host steps: the same actions."""

from __future__ import annotations

import shlex
from collections.abc import Sequence

import pytest

from hcplb.apply.preflight import HostCheck, check_host, prepare_host
from hcplb.errors import TargetError
from hcplb.plan import plan_site
from hcplb.render import render_site
from hcplb.render.hostprep import HELPERS, Put, Run, Shell, host_steps
from hcplb.render.secrets import Secrets
from hcplb.runner import Result
from hcplb.spec import load_site
from hcplb.targets import Target
from tests.conftest import EXAMPLES

FLEET = plan_site(load_site(EXAMPLES / "fleet.yaml").site)
RENDERED = render_site(FLEET.site, Secrets())


@pytest.mark.parametrize("index", range(len(FLEET.routers)))
def test_every_action_is_in_setup_sh(index: int) -> None:
    r = FLEET.routers[index]
    script = RENDERED.get(f"router/{r.name}/setup.sh").content
    assert HELPERS in script
    for step in host_steps(FLEET, r):
        for action in step.actions:
            if action.where == "apply":
                continue
            if isinstance(action, Shell):
                assert action.script in script
            elif isinstance(action, Run):
                assert shlex.join(action.argv) in script
            else:
                assert f'put "$here/{action.file}" {action.path} {action.mode:04o}' in script


class Host(Target):
    """A router that has FRR and nothing else prepared; records what apply does."""

    name = "fake"

    def __init__(self, chown_fails: bool = False) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.chown_fails = chown_fails

    def run(self, argv: Sequence[str], *, timeout: float, input: str | None = None) -> Result:
        self.calls.append(tuple(argv))
        rc = 0
        out = ""
        if argv[:2] == ("sh", "-c") and argv[2] == "command -v vtysh":
            out = "/usr/bin/vtysh\n"
        elif argv[0] == "cat":
            out = "bgpd=yes\nbfdd=yes\n"
        elif argv[0] == "sysctl" and argv[1] == "-n":
            out = "0\n"
        elif argv[0] in ("nft", "iptables", "ip6tables") and "-f" not in argv:
            rc = 1
        elif argv[0] == "chown" and self.chown_fails:
            rc, out = 1, "chown: invalid user: 'frr:frr'"
        return Result(tuple(argv), rc, out, out if rc else "", 0.0)

    def put(self, path: str, content: str, mode: int = 0o644) -> None:
        self.calls.append(("put", path, oct(mode)))


def test_apply_performs_the_steps_of_setup_sh() -> None:
    frr_a = FLEET.routers[0]
    host = Host()
    checks = check_host(host, FLEET, frr_a, RENDERED, persist=True)
    firewall = next(c for c in checks if c.id == "firewall")
    (step,) = [s for s in host_steps(FLEET, frr_a) if s.id == "firewall"]
    assert isinstance(firewall, HostCheck) and not firewall.ok
    assert firewall.fix == step.actions  # persist: every action, boot ones included
    in_lab = check_host(host, FLEET, frr_a, RENDERED, persist=False)
    lab_fix = next(c for c in in_lab if c.id == "firewall").fix
    assert [a.what for a in lab_fix] == ["nftables installed", "load table inet hcplb"]
    host.calls.clear()
    with pytest.raises(TargetError, match="still not ready"):  # the fake never changes
        prepare_host(host, FLEET, frr_a, RENDERED, fix=True, persist=True)
    assert ("nft", "-f", "-") in host.calls
    assert ("put", "/etc/hcplb/hcplb.nft", "0o644") in host.calls
    shells = [c[2] for c in host.calls if c[:2] == ("sh", "-c") and len(c) > 2]
    assert any(s.startswith(HELPERS) and "pkg nftables" in s for s in shells)


def test_a_failed_chown_is_an_error() -> None:
    frr_b = FLEET.routers[1]
    host = Host(chown_fails=True)
    host.run = _daemons_off(host)  # type: ignore[method-assign]
    with pytest.raises(TargetError, match=r"frr-daemons: fake: chown frr:frr /etc/frr/daemons"):
        prepare_host(host, FLEET, frr_b, RENDERED, fix=True, persist=False)


def _daemons_off(host: Host):  # type: ignore[no-untyped-def]
    original = host.run

    def run(argv: Sequence[str], *, timeout: float, input: str | None = None) -> Result:
        if argv[0] == "cat":
            return Result(tuple(argv), 0, "bgpd=no\n", "", 0.0)
        return original(argv, timeout=timeout, input=input)

    return run


def test_put_action_carries_owner() -> None:
    (daemons,) = [s for s in host_steps(FLEET, FLEET.routers[0]) if s.id == "frr-daemons"]
    put = daemons.actions[0]
    assert isinstance(put, Put) and put.owner == "frr:frr" and put.mode == 0o640

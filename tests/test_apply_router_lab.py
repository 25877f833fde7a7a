"""`apply --router` and `apply --dns` in a bare lab, over real SSH from the lab's client host.

One bare lab of the seed site per module (routers run FRR with an empty config, no sysctl,
no firewall; BIND runs with the site's TSIG key). The tests run in file order: the first
brings the lab to the converged state through `hcplb apply --router ssh://... --yes`, the
others start from it. The lab is removed at the end even when a test fails.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hcplb import lab as labs
from hcplb import runner
from hcplb.apply.frrstate import parse_fib_nexthops, parse_sessions
from hcplb.apply.router import APPLIED, FRR_CONF, apply_router
from hcplb.cli import app
from hcplb.errors import TargetError
from hcplb.lab import Lab
from hcplb.lab.converge import wait
from hcplb.lab.sshd import LabSsh, start_sshd
from hcplb.render import render_site
from hcplb.render.secrets import Secrets
from hcplb.runner import Result
from hcplb.secrets import resolve_secret
from hcplb.spec.models import SecretRef
from hcplb.targets import LabTarget
from tests.conftest import EXAMPLES, need_tool

pytestmark = [pytest.mark.lab, pytest.mark.slow]

HCPLB = str(Path(sys.executable).with_name("hcplb"))
NODES = ["192.168.125.20", "192.168.125.21", "192.168.125.22"]
SECRET = base64.b64encode(b"hcplb-lab-apply-test-secret-0001").decode()
WRONG = base64.b64encode(b"not-the-secret-the-server-knows!").decode()


@dataclass(frozen=True)
class Setup:
    lab: Lab
    ssh: LabSsh
    site: Path
    wrong_key_site: Path


def _site(directory: Path, secret_file: str) -> Path:
    text = (
        (EXAMPLES / "seed.yaml")
        .read_text()
        .replace(
            "    # tsigKey: {name: hcplb-key, algorithm: hmac-sha256, secret: {env: HCPLB_TSIG_SECRET}}",
            f"    tsigKey: {{name: hcplb-key, algorithm: hmac-sha256, secret: {{file: {secret_file}}}}}",
        )
    )
    text = text.replace("    # primary: 192.168.125.53", "    primary: 192.168.130.53")
    assert "secret: {file:" in text and "  primary: 192.168.130.53" in text
    path = directory / f"site-{secret_file}.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    directory = tmp_path_factory.mktemp("apply-lab")
    directory.chmod(0o755)
    (directory / "tsig.secret").write_text(SECRET)
    (directory / "wrong.secret").write_text(WRONG)
    for secret in ("tsig.secret", "wrong.secret"):
        (directory / secret).chmod(0o600)  # readable by others: hcplb warns, as ssh does
    site = _site(directory, "tsig.secret")
    name = f"apply{int(time.time() * 1000) % 100000}"
    lab = labs.up(site, name=name, bare=True)
    try:
        yield Setup(lab, start_sshd(lab, "frr"), site, _site(directory, "wrong.secret"))
    finally:
        labs.down(name)


def hcplb_on_client(setup: Setup, *args: str, timeout: float = 180) -> Result:
    """`hcplb ARGS...` run as the lab's client host (its packets never leave the lab)."""
    return setup.lab.run("client", [HCPLB, *args], timeout=timeout)


def ssh_args(setup: Setup) -> list[str]:
    return [
        "--router",
        setup.ssh.url,
        "--ssh-key",
        str(setup.ssh.key_file),
        "--known-hosts",
        str(setup.ssh.known_hosts),
    ]


def router_state(lab: Lab) -> tuple[dict[str, str], tuple[str, ...]]:
    summary = lab.run("frr", ["vtysh", "-c", "show bgp summary json"], timeout=10).stdout
    route = lab.run("frr", ["vtysh", "-c", "show ip route 10.0.2.20/32 json"], timeout=10).stdout
    return parse_sessions(summary), parse_fib_nexthops(route, "10.0.2.20/32")


def files(lab: Lab) -> str:
    """Content and mtime of the files apply writes: equal means nothing was touched."""
    stat = lab.run("frr", ["stat", "-c", "%n %Y %s", FRR_CONF, APPLIED], timeout=10).stdout
    running = lab.run("frr", ["vtysh", "-c", "show running-config"], timeout=10).stdout
    return stat + running


def good_conf(lab: Lab) -> str:
    return render_site(lab.plan.site, Secrets()).get("router/frr.conf").content


def test_apply_over_ssh_converges_the_bare_lab(setup: Setup) -> None:
    before, _ = router_state(setup.lab)
    assert before == {}
    result = hcplb_on_client(
        setup, "apply", str(setup.site), *ssh_args(setup), "--yes", "-O", "json"
    )
    assert result.ok, result.stderr
    report = json.loads(result.stdout)["routers"][0]
    assert report["changed"] and report["converged_s"] is not None
    assert {f.split(":")[0] for f in report["fixed"]} == {"sysctl", "firewall"}
    # sshd of a lab router tells apply it is in a lab: no boot files outside /etc/frr
    assert not [f for f in report["fixed"] if "next boot" in f]
    assert "+ router bgp 64512" in report["diff"]
    sessions, nexthops = router_state(setup.lab)
    assert sessions == dict.fromkeys(NODES, "Established")
    assert list(nexthops) == NODES
    # the lab's own convergence probes (sessions, FIB, DNS and HTTPS from the client) pass
    converged = wait(setup.lab, setup.lab.expect, timeout=30)
    assert converged.ok, converged.failing()
    # and so does `hcplb verify --lab` (routers probed inside, DNS/API from the client)
    verify = CliRunner().invoke(app, ["verify", "--lab", setup.lab.name, "-O", "json"])
    probes = json.loads(verify.stdout)["probes"]
    assert verify.exit_code == 0, [p for p in probes if p["status"] != "pass"]


def test_second_apply_changes_nothing(setup: Setup) -> None:
    before = files(setup.lab)
    result = hcplb_on_client(setup, "apply", str(setup.site), *ssh_args(setup), "-O", "json")
    assert result.ok, result.stderr
    report = json.loads(result.stdout)["routers"][0]
    assert report["changed"] is False and report["diff"] == [] and report["fixed"] == []
    assert report["message"] == "no change: FRR runs this config"
    assert all(check["ok"] for check in report["preflight"])
    assert files(setup.lab) == before


def test_config_frr_rejects_never_reaches_the_router(setup: Setup) -> None:
    before = files(setup.lab)
    broken = good_conf(setup.lab).replace(" maximum-paths 3", " maximum-pathz 3")
    target = LabTarget(setup.lab, "frr")
    with pytest.raises(TargetError) as info:
        apply_router(target, setup.lab.plan, setup.lab.plan.routers[0], broken)
    assert "FRR rejects the new config; the router was not changed" in str(info.value)
    assert "maximum-pathz" in str(info.value)
    assert files(setup.lab) == before


def test_wrong_asn_is_rolled_back_and_sessions_come_back(setup: Setup) -> None:
    good = good_conf(setup.lab)
    wrong = good.replace("remote-as 64513", "remote-as 64599")
    assert wrong != good
    target = LabTarget(setup.lab, "frr")
    started = time.monotonic()
    with pytest.raises(TargetError) as info:
        apply_router(target, setup.lab.plan, setup.lab.plan.routers[0], wrong, confirm_timeout=6)
    text = str(info.value)
    assert "not converged within 6 s, rolled back to the previous config" in text
    assert "3 session(s) back in" in text
    assert "session 192.168.125.20:" in text
    assert time.monotonic() - started < 90
    sessions, nexthops = router_state(setup.lab)
    assert sessions == dict.fromkeys(NODES, "Established")
    assert list(nexthops) == NODES
    assert setup.lab.run("frr", ["cat", FRR_CONF], timeout=10).stdout == good
    # the rolled-back router is exactly what the last apply left: applying it again is a no-op
    again = apply_router(target, setup.lab.plan, setup.lab.plan.routers[0], good)
    assert not again.changed and again.message == "no change: FRR runs this config"


def test_dry_run_shows_the_diff_and_changes_nothing(setup: Setup) -> None:
    before = files(setup.lab)
    wrong = good_conf(setup.lab).replace("maximum-paths 3", "maximum-paths 2")
    target = LabTarget(setup.lab, "frr")
    report = apply_router(target, setup.lab.plan, setup.lab.plan.routers[0], wrong, dry_run=True)
    assert report.diff == (
        "- router bgp 64512 / address-family ipv4 unicast / no maximum-paths 3",
        "+ router bgp 64512 / address-family ipv4 unicast / maximum-paths 2",
    )
    assert report.changed
    assert files(setup.lab) == before


def point_api_elsewhere(setup: Setup) -> None:
    update = setup.lab.run(
        "dns",
        ["nsupdate", "-k", "/etc/bind/tsig.key"],
        timeout=10,
        input="server 127.0.0.1\nupdate delete api.hosted.hypershift.lab A\n"
        "update add api.hosted.hypershift.lab 300 A 10.9.9.9\nsend\n",
    )
    assert update.ok, update.stderr


def test_dns_apply_from_the_client(setup: Setup) -> None:
    dns = setup.lab.host("dns").primary_address
    # someone pointed api at the wrong address: apply takes the name over and fixes it
    point_api_elsewhere(setup)
    assert dns == "192.168.130.53"  # spec.dns.primary: apply needs no --dns-server
    args = ["apply", str(setup.site), "--dns", "-O", "json"]
    result = hcplb_on_client(setup, *args)
    assert result.ok, result.stderr
    report = json.loads(result.stdout)["dns"]
    assert "api.hosted.hypershift.lab A 10.0.2.20 (was 10.9.9.9)" in report["changes"]
    assert "api.hosted.hypershift.lab A 10.0.2.20" in report["checked"]
    dig = setup.lab.run("client", ["dig", "+short", "api.hosted.hypershift.lab"], timeout=10)
    assert dig.stdout.strip() == "10.0.2.20"
    again = hcplb_on_client(setup, *args)
    assert json.loads(again.stdout)["dns"]["changes"] == []


def test_dns_wrong_tsig_key_is_a_clear_error(setup: Setup) -> None:
    dns = setup.lab.host("dns").primary_address
    point_api_elsewhere(setup)  # so there is something to update
    args = ["apply", str(setup.wrong_key_site), "--dns", "--dns-server", dns]
    result = hcplb_on_client(setup, *args)
    assert result.rc == 1
    assert result.stderr.strip() == (
        f"DNS server {dns}:53, zone hypershift.lab: the server rejected the signature of TSIG "
        "key hcplb-key (BADSIG) (hint: the secret differs from the server's; check "
        "spec.dns.tsigKey.secret)"
    )
    assert WRONG not in result.stderr and "Traceback" not in result.stderr
    dig = setup.lab.run("client", ["dig", "+short", "api.hosted.hypershift.lab"], timeout=10)
    assert dig.stdout.strip() == "10.9.9.9"  # the refused update changed nothing


def test_secrets_never_in_diffs_or_errors(setup: Setup) -> None:
    password = "s3cret-Bgp-pw"
    conf = good_conf(setup.lab).replace(
        " neighbor HCP-NODES passive\n",
        f" neighbor HCP-NODES passive\n neighbor HCP-NODES password {password}\n",
    )
    target = LabTarget(setup.lab, "frr")
    router = setup.lab.plan.routers[0]
    report = apply_router(target, setup.lab.plan, router, conf, secrets=[password], dry_run=True)
    assert "+ router bgp 64512 / neighbor HCP-NODES password <redacted>" in report.diff
    assert password not in repr(report)
    broken = conf.replace(f"password {password}", f"passwordz {password}")
    with pytest.raises(TargetError) as info:
        apply_router(target, setup.lab.plan, router, broken, secrets=[password])
    assert "FRR rejects the new config" in str(info.value) and "<redacted>" in str(info.value)
    assert password not in str(info.value)


def _traced(monkeypatch: pytest.MonkeyPatch, logs: Path) -> list[tuple[list[str], dict[str, str]]]:
    """Run every child of `hcplb.runner.run` under strace: each execve of it and of its
    descendants (frr-reload.py's vtysh calls included) is logged with argv and environment."""
    need_tool("strace")
    seen: list[tuple[list[str], dict[str, str]]] = []
    real = subprocess.run

    def traced(argv: list[str], **kwargs: Any) -> Any:
        seen.append((list(argv), dict(kwargs.get("env") or os.environ)))
        log = logs / f"trace.{len(seen)}"
        strace = ["strace", "-f", "-qq", "-v", "-s", "65536", "-e", "trace=execve", "-o", str(log)]
        return real([*strace, *argv], **kwargs)

    monkeypatch.setattr(runner.subprocess, "run", traced)
    return seen


def test_password_change_and_rollback_never_on_a_command_line(
    setup: Setup, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    old, new = "hcplb-old-pw-4a7c1e", "hcplb-new-pw-93d2b8"
    monkeypatch.setenv("HCPLB_TEST_BGP_PASSWORD", new)
    resolve_secret(SecretRef(env="HCPLB_TEST_BGP_PASSWORD"), field="spec.bgp.password")
    good = good_conf(setup.lab)
    line = " neighbor HCP-NODES passive\n"

    def with_password(password: str) -> str:
        # and a peer-group the router does not have yet: frr-reload.py adds it, password included
        extra = (
            " neighbor HCPLB-TEST peer-group\n neighbor HCPLB-TEST remote-as 64999\n"
            f" neighbor HCPLB-TEST password {password}\n"
        )
        return good.replace(line, f"{line} neighbor HCP-NODES password {password}\n{extra}")

    with_old, with_new = with_password(old), with_password(new)
    target = LabTarget(setup.lab, "frr")
    plan, router = setup.lab.plan, setup.lab.plan.routers[0]
    secrets = [old, new]
    seen = _traced(monkeypatch, tmp_path)
    # the router gets the old password (the nodes have none: committed without confirmation)
    apply_router(target, plan, router, with_old, secrets=secrets, confirm_timeout=0)
    running = setup.lab.run("frr", ["vtysh", "-c", "show running-config"], timeout=10).stdout
    assert f"neighbor HCP-NODES password {old}" in running
    # a change to the new one that does not converge: rolled back to the old one
    with pytest.raises(TargetError) as info:
        apply_router(target, plan, router, with_new, secrets=secrets, confirm_timeout=2)
    assert "rolled back to the previous config" in str(info.value)
    running = setup.lab.run("frr", ["vtysh", "-c", "show running-config"], timeout=10).stdout
    assert f"neighbor HCP-NODES password {old}" in running
    # and back to no password, converged
    back = apply_router(target, plan, router, good, secrets=secrets, confirm_timeout=120)
    assert back.changed and back.converged_s is not None
    monkeypatch.undo()
    # the recorder saw the reloads and frr-reload.py's own vtysh calls
    traces = "".join(p.read_text(errors="replace") for p in sorted(tmp_path.glob("trace.*")))
    assert "frr-reload.py" in traces and '"--reload"' in traces and 'vtysh", "-c"' in traces
    # nor did frr-reload.py's own log
    log = setup.lab.run("frr", ["cat", "/var/log/frr/frr-reload.log"], timeout=10).stdout
    for secret in secrets:
        assert secret not in traces
        assert secret not in log
        for argv, env in seen:
            assert not any(secret in word for word in argv), argv
            assert "HCPLB_TEST_BGP_PASSWORD" not in env
            assert not any(secret in value for value in env.values())

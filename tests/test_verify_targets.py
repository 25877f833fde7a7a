"""Targets: local runs and atomic writes; SSH against a real sshd on loopback (key auth,
host key checked, timeouts)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hcplb.errors import TargetError
from hcplb.runner import Result
from hcplb.targets import LabTarget, LocalTarget, open_target
from hcplb.targets.ssh import SshTarget, parse_ssh_url
from tests.conftest import need_root, need_tool

SSHD = Path("/usr/sbin/sshd")


def test_local_run_and_put(tmp_path: Path) -> None:
    target = open_target("local")
    result = target.run(["sh", "-c", "cat; echo err >&2; exit 3"], timeout=5, input="hi")
    assert (result.rc, result.stdout, result.stderr) == (3, "hi", "err\n")
    path = tmp_path / "f.conf"
    target.put(str(path), "content\n", 0o600)
    assert path.read_text() == "content\n"
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["f.conf"]  # no temporary left behind


def test_local_timeout_is_a_target_error() -> None:
    started = time.monotonic()
    with pytest.raises(TargetError, match=r"local: timed out after 0.3 s: sleep 60"):
        LocalTarget().run(["sleep", "60"], timeout=0.3)
    assert time.monotonic() - started < 60  # cut at the timeout, not waited for


def test_local_put_into_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="cannot write"):
        LocalTarget().put(str(tmp_path / "missing" / "f"), "x", 0o644)


@dataclass
class FakeLab:
    name: str = "seed"
    calls: list[tuple[str, tuple[str, ...], str | None]] | None = None

    def run(self, host: str, argv: object, *, timeout: float, input: str | None = None) -> Result:
        argv = tuple(argv)  # type: ignore[arg-type]
        assert self.calls is not None
        self.calls.append((host, argv, input))
        proc = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout)
        return Result(argv, proc.returncode, proc.stdout, proc.stderr, 0.0)


def test_lab_target_runs_through_the_lab_and_puts_via_stdin(tmp_path: Path) -> None:
    lab = FakeLab(calls=[])
    target = LabTarget(lab, "frr")
    assert target.name == "lab seed/frr"
    assert target.run(["echo", "x"], timeout=5).stdout == "x\n"
    target.put(str(tmp_path / "frr.conf"), "hostname frr\n", 0o640)
    assert (tmp_path / "frr.conf").read_text() == "hostname frr\n"
    assert oct((tmp_path / "frr.conf").stat().st_mode & 0o777) == "0o640"
    assert lab.calls is not None
    assert [c[0] for c in lab.calls] == ["frr", "frr"]
    assert lab.calls[1][2] == "hostname frr\n"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ssh://admin@r1.example.net", ("admin", "r1.example.net", 22)),
        ("ssh://r1:2222", (None, "r1", 2222)),
        ("ssh://root@192.0.2.1:22/", ("root", "192.0.2.1", 22)),
    ],
)
def test_parse_ssh_url(url: str, expected: tuple[str | None, str, int]) -> None:
    assert parse_ssh_url(url) == expected


@pytest.mark.parametrize("url", ["ssh://", "http://r1", "ssh://r1:x", "ssh://r1/path"])
def test_parse_ssh_url_rejects(url: str) -> None:
    with pytest.raises(TargetError, match=r"hint: ssh://user@host\[:port\]"):
        parse_ssh_url(url)


def test_unknown_target() -> None:
    with pytest.raises(TargetError, match="unknown target 'telnet://r1'"):
        open_target("telnet://r1")


# -- a real sshd on 127.0.0.1 ------------------------------------------------------------------


@dataclass(frozen=True)
class Sshd:
    port: int
    key: Path
    known_hosts: Path
    other_key: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    need_root("an sshd on loopback")
    need_tool("sshd")
    need_tool("ssh-keygen")
    d = tmp_path_factory.mktemp("sshd")
    _keygen(d / "host")
    _keygen(d / "client")
    _keygen(d / "stranger")
    (d / "authorized_keys").write_text((d / "client.pub").read_text())
    port = _free_port()
    config = d / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d / 'host'}\n"
        f"AuthorizedKeysFile {d / 'authorized_keys'}\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nUsePAM no\n"
        f"StrictModes no\nPidFile {d / 'sshd.pid'}\n"
    )
    host_pub = (d / "host.pub").read_text().split()
    (d / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation directory
    proc = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"sshd did not start: {proc.stderr.read() if proc.stderr else ''}"
                )
            time.sleep(0.05)
        yield Sshd(port, d / "client", d / "known_hosts", d / "stranger")
    finally:
        proc.terminate()
        proc.wait(5)


def _target(sshd: Sshd, **options: object) -> SshTarget:
    defaults: dict[str, object] = {
        "known_hosts": sshd.known_hosts,
        "client_keys": [sshd.key],
        "connect_timeout": 5.0,
    }
    defaults.update(options)
    return SshTarget.from_url(f"ssh://root@127.0.0.1:{sshd.port}", **defaults)


def test_ssh_run_put_and_reuse(sshd: Sshd, tmp_path: Path) -> None:
    with _target(sshd) as target:
        result = target.run(["sh", "-c", 'cat; echo "it\'s" >&2; exit 4'], timeout=5, input="hi")
        assert (result.rc, result.stdout, result.stderr) == (4, "hi", "it's\n")
        target.put(str(tmp_path / "x.conf"), "a b\n", 0o600)
        assert (tmp_path / "x.conf").read_text() == "a b\n"
        # one connection, reused: sshd sees every command come from the same client port
        seen = {
            target.run(["sh", "-c", "echo $SSH_CONNECTION"], timeout=5).stdout for _ in range(5)
        }
        assert len(seen) == 1 and seen.pop().startswith("127.0.0.1 ")


def test_ssh_command_timeout(sshd: Sshd) -> None:
    with _target(sshd) as target:
        started = time.monotonic()
        with pytest.raises(TargetError, match=r"timed out after 0.5 s: sleep 10"):
            target.run(["sleep", "10"], timeout=0.5)
        assert time.monotonic() - started < 10  # cut at the timeout, not waited for
        assert target.run(["echo", "still usable"], timeout=5).stdout == "still usable\n"


def test_ssh_unknown_host_key_is_refused(sshd: Sshd, tmp_path: Path) -> None:
    other = tmp_path / "known_hosts"
    stranger = (sshd.other_key.with_suffix(".pub")).read_text().split()
    other.write_text(f"[127.0.0.1]:{sshd.port} {stranger[0]} {stranger[1]}\n")
    with (
        _target(sshd, known_hosts=other) as target,
        pytest.raises(TargetError, match="host key not verified"),
    ):
        target.run(["true"], timeout=5)


def test_ssh_missing_known_hosts_is_refused(sshd: Sshd, tmp_path: Path) -> None:
    with (
        _target(sshd, known_hosts=tmp_path / "none") as target,
        pytest.raises(TargetError, match="no known_hosts file"),
    ):
        target.run(["true"], timeout=5)


def test_ssh_wrong_key_is_refused(sshd: Sshd) -> None:
    with (
        _target(sshd, client_keys=[sshd.other_key]) as target,
        pytest.raises(TargetError, match="public key authentication refused"),
    ):
        target.run(["true"], timeout=5)


def test_ssh_nobody_listening_costs_at_most_the_connect_timeout(tmp_path: Path) -> None:
    (tmp_path / "known_hosts").write_text("")
    port = _free_port()
    target = SshTarget(
        "127.0.0.1",
        user="root",
        port=port,
        connect_timeout=1.0,
        known_hosts=tmp_path / "known_hosts",
    )
    started = time.monotonic()
    with target, pytest.raises(TargetError, match=r"cannot connect"):
        target.run(["true"], timeout=1)
    assert time.monotonic() - started < 3

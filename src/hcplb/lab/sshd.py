"""sshd on a lab router, so `apply --router ssh://...` and `verify --router ssh://...` run over
real SSH (asyncssh, host key checked, key auth) from the lab's client host.

    ssh = start_sshd(lab, "frr")      # -> LabSsh(url, key_file, known_hosts, ...)
    lab.run("client", ["hcplb", "apply", site, "--router", ssh.url,
                       "--ssh-key", str(ssh.key_file), "--known-hosts", str(ssh.known_hosts)])

Keys live in the lab directory: one client key pair per lab (`ssh/id_ed25519`), one host key
per router (`hosts/<router>/ssh/`), and `ssh/known_hosts` naming every address of each router
that runs sshd. sshd is started with `lab.spawn`, so it is in the lab's journal and `lab down`
stops it; its sessions run as the router host (its netns and its /etc/frr), with
`HCPLB_LAB=<lab>` in their environment so `apply` knows not to write boot files outside the
router's private directories.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hcplb.errors import LabError
from hcplb.fsutil import write_atomic
from hcplb.lab.core import Lab
from hcplb.lab.procs import exit_note
from hcplb.settings import COMMAND_TIMEOUT

if TYPE_CHECKING:
    import asyncssh

SSHD = "/usr/sbin/sshd"
PORT = 22
ROLE = "sshd"
LAB_ENV = "HCPLB_LAB"


@dataclass(frozen=True)
class LabSsh:
    """How the client reaches a lab router over SSH."""

    router: str
    address: str
    url: str
    key_file: Path
    known_hosts: Path
    pid: int | None = None


def _new_key(comment: str) -> asyncssh.SSHKey:
    import asyncssh  # only booted routers need it: every lab command would pay its import

    return asyncssh.generate_private_key("ssh-ed25519", comment=comment)


def _client_key(lab: Lab) -> Path:
    directory = lab.state_dir / "ssh"
    directory.mkdir(mode=0o700, exist_ok=True)
    key_file = directory / "id_ed25519"
    if not key_file.exists():
        key = _new_key(f"hcplb-lab-{lab.name}")
        key.write_private_key(str(key_file))
        key.write_public_key(str(key_file) + ".pub")
        key_file.chmod(0o600)
    return key_file


def _host_key(lab: Lab, router: str) -> Path:
    directory = lab.host_dir(router) / "ssh"
    directory.mkdir(mode=0o700, exist_ok=True)
    key_file = directory / "ssh_host_ed25519_key"
    if not key_file.exists():
        key = _new_key(f"{router}.{lab.name}")
        key.write_private_key(str(key_file))
        key.write_public_key(str(key_file) + ".pub")
        key_file.chmod(0o600)
    return key_file


def _sshd_config(lab: Lab, router: str, host_key: Path, authorized: Path) -> Path:
    config = lab.host_dir(router) / "ssh" / "sshd_config"
    write_atomic(
        config,
        "\n".join(
            [
                f"# hcplb lab {lab.name}: sshd of router {router} (key auth only)",
                f"Port {PORT}",
                f"HostKey {host_key}",
                f"AuthorizedKeysFile {authorized}",
                "PidFile none",
                "PermitRootLogin prohibit-password",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "PrintMotd no",
                "UseDNS no",
                f"SetEnv {LAB_ENV}={lab.name}",
                "Subsystem sftp internal-sftp",
                "",
            ]
        ),
    )
    return config


def _known_hosts(lab: Lab, routers: list[str]) -> Path:
    """One line per router running sshd: all its addresses, its host key."""
    path = lab.state_dir / "ssh" / "known_hosts"
    lines = []
    for name in sorted(routers):
        public = (lab.host_dir(name) / "ssh" / "ssh_host_ed25519_key.pub").read_text().split()
        addresses = ",".join(ip for i in lab.host(name).interfaces for ip in i.ips)
        lines.append(f"{addresses} {public[0]} {public[1]}")
    write_atomic(path, "\n".join(lines) + "\n")
    return path


def _listening(lab: Lab, router: str) -> bool:
    return lab.listening(router, PORT)


def start_sshd(lab: Lab, router: str, *, timeout: float = 10.0) -> LabSsh:
    """Start sshd on a lab router (once; a second call returns the running one)."""
    host = lab.host(router)
    if host.role != "router":
        raise LabError(f"{router} is a {host.role}, not a router of lab {lab.name}")
    key_file = _client_key(lab)
    authorized = lab.state_dir / "ssh" / "authorized_keys"
    write_atomic(authorized, Path(str(key_file) + ".pub").read_text(), mode=0o600)
    host_key = _host_key(lab, router)
    config = _sshd_config(lab, router, host_key, authorized)
    # sshd retitles itself ("sshd: ... [listener]"), so the journal's command-line match cannot
    # find it again; listening on the port is what counts (`lab down` sweeps the namespace).
    pid = None
    if not _listening(lab, router):
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
        check = lab.run(router, [SSHD, "-t", "-f", str(config)], timeout=COMMAND_TIMEOUT)
        if not check.ok:
            raise LabError(f"sshd rejects its lab config: {check.stderr.strip()}")
        pid = lab.spawn(router, ROLE, [SSHD, "-D", "-e", "-f", str(config)])
        deadline = time.monotonic() + timeout
        while not _listening(lab, router):
            if time.monotonic() > deadline:
                log = lab.host_dir(router) / "log" / f"{ROLE}.log"
                raise LabError(
                    f"sshd on {router} is not listening after {timeout:g} s: {exit_note(log)}"
                )
            time.sleep(0.05)
    with_sshd = [
        h.name for h in lab.hosts if (lab.host_dir(h.name) / "ssh" / "sshd_config").exists()
    ]
    known = _known_hosts(lab, with_sshd)
    address = host.interfaces[0].ip
    return LabSsh(router, address, ssh_url(address), key_file, known, pid)


def ssh_url(address: str) -> str:
    """`ssh://root@ADDRESS:22`, an IPv6 address in brackets."""
    host = f"[{address}]" if ":" in address else address
    return f"ssh://root@{host}:{PORT}"

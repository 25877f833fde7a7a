"""Each lab host's view of the filesystem, and the wrapper that runs a command as that host.

A command runs as host H with

    ip netns exec <netns> unshare --mount --uts --propagation private -- <lab>/hosts/H/enter CMD...

`enter` (a small generated shell script) bind-mounts H's own directories from the lab
directory over the machine's usual paths (`/etc/frr`, `/run/frr`, `/etc/bind`,
`/etc/resolv.conf`, ...), sets the host name, exports the host's environment and execs CMD.
The mounts live in a private mount namespace created for that one command, so nothing
leaks into the machine, nothing needs cleaning up, and every tool works verbatim:
`vtysh`, `frr-reload.py`, `named -c /etc/bind/named.conf`, `dig`, `curl`.
"""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from hcplb.fsutil import write_atomic
from hcplb.lab.topology import Host, Role
from hcplb.settings import FRR_ETC, FRR_RUN

# (directory under the host's dir, path on a real machine) per role; a target that does not
# exist on this machine is skipped (a bind mount needs an existing mount point).
_FRR = (
    ("etc/frr", FRR_ETC),
    ("run/frr", FRR_RUN),
    ("log/frr", "/var/log/frr"),
    ("tmp/frr", "/var/tmp/frr"),
)
_BIND = (
    ("etc/bind", "/etc/bind"),
    ("cache/bind", "/var/cache/bind"),
    ("lib/bind", "/var/lib/bind"),
    ("run/named", "/run/named"),
)
MOUNTS: dict[Role, tuple[tuple[str, str], ...]] = {
    "router": (*_FRR, ("etc/sysctl.d", "/etc/sysctl.d")),
    "node": _FRR,
    "dns": _BIND,
    "client": (),
    "switch": (),
}
RESOLV = ("etc/resolv.conf", "/etc/resolv.conf")
FRR_OWNED = ("etc/frr", "run/frr", "log/frr", "tmp/frr")
ENTER = "enter"
LAB_MARKER = "HCPLB_LAB"


def host_dir(lab_dir: Path, host: str) -> Path:
    return lab_dir / "hosts" / host


def mounts_of(host: Host) -> tuple[tuple[str, str], ...]:
    extra = (RESOLV,) if host.role != "switch" else ()
    return tuple(m for m in (*MOUNTS[host.role], *extra) if os.path.exists(m[1]))


def prepare_host(
    lab_dir: Path, host: Host, *, resolver: str, env: Mapping[str, str] | None = None
) -> Path:
    """Create the host's directories, its resolv.conf and its `enter` script; return the script."""
    base = host_dir(lab_dir, host.name)
    (base / "log").mkdir(parents=True, exist_ok=True)
    for source, _target in mounts_of(host):
        path = base / source
        if source == RESOLV[0]:
            path.parent.mkdir(parents=True, exist_ok=True)
            text = f"# hcplb lab {lab_dir.name}: the lab's DNS server\nnameserver {resolver}\n"
            write_atomic(path, text)
        else:
            path.mkdir(parents=True, exist_ok=True)
    for owned in FRR_OWNED:
        if (base / owned).is_dir():
            shutil.chown(base / owned, "frr", "frr")
    script = base / ENTER
    write_atomic(script, enter_script(lab_dir.name, host, base, env or {}), mode=0o700)
    return script


def enter_script(lab: str, host: Host, base: Path, env: Mapping[str, str]) -> str:
    lines = [
        "#!/bin/sh",
        f"# hcplb lab {lab}: run a command as host {host.name} ({host.role}). Call it through",
        f"#   ip netns exec {host.netns} unshare --mount --uts --propagation private -- {base / ENTER} CMD...",
        "set -e",
    ]
    for source, target in mounts_of(host):
        lines.append(f"mount --bind {shlex.quote(str(base / source))} {shlex.quote(target)}")
    lines.append(f"hostname {shlex.quote(host.name)}")
    # marks every lab process, so one left in a namespace `ip netns` no longer lists is found
    lines.append(f"export {LAB_MARKER}={shlex.quote(str(base.parent.parent))}")
    for key, value in sorted(env.items()):
        lines.append(f"export {key}={shlex.quote(value)}")
    lines.append('exec "$@"')
    return "\n".join(lines) + "\n"


def wrap(netns: str, enter: Path, argv: Sequence[str]) -> list[str]:
    """The full argv that runs `argv` as the host whose netns and enter script are given."""
    return [
        "ip",
        "netns",
        "exec",
        netns,
        "unshare",
        "--mount",
        "--uts",
        "--propagation",
        "private",
        "--",
        str(enter),
        *argv,
    ]

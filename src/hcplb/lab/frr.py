"""FRR on a lab host, started the way frrinit.sh starts it on a real machine.

The host's `/etc/frr` holds `frr.conf`, `daemons` and `vtysh.conf` (integrated config). The
daemons named in `daemons` run in the foreground (pids tracked by the lab) without a config
file; once their vty sockets exist, `vtysh -b` loads `/etc/frr/frr.conf` into them, as
frrinit.sh does at boot. Nodes run bgpd with `-p 0` (no listener) like MetalLB's speaker.

`lab up` instead hands each daemon its own part of frr.conf (`split_config`) to read when it
starts (`-f`): FRR 8.4's bgpd holds every peer a vtysh load creates Idle until the route-map
delay timer ends (about 4 s after the load) and the first session then flaps on BFD; a daemon
that reads its file at start has neither (the running config is the same, see tests).
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from hcplb.errors import LabError
from hcplb.fsutil import owner_ids, write_atomic
from hcplb.settings import FRR_LIB

ALWAYS = ("zebra", "staticd")
ORDER = ("zebra", "bgpd", "bfdd", "staticd")
VTYSH_CONF = "service integrated-vtysh-config\n"
_ENABLED = re.compile(r"^\s*(\w+)\s*=\s*yes\s*$", re.MULTILINE)
_OPTIONS = re.compile(r'^\s*(\w+)_options\s*=\s*"([^"]*)"', re.MULTILINE)
_PROFILE_VAR = re.compile(r'^\s*frr_profile\s*=\s*"?(\w+)"?', re.MULTILINE)
_PROFILE = re.compile(r"^\s*frr defaults (\w+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Daemon:
    name: str
    options: tuple[str, ...]


def daemons_file(enabled: Mapping[str, Sequence[str]], *, always: Sequence[str] = ALWAYS) -> str:
    """A Debian-style `/etc/frr/daemons`: `<d>=yes` for each enabled daemon, with its options.

    `always` lists the daemons frrinit.sh starts regardless (zebra, staticd); MetalLB's speaker
    container runs only zebra, bgpd and bfdd, so nodes pass `always=("zebra",)`.
    """
    lines = ["# /etc/frr/daemons (hcplb lab)"]
    for daemon in ("bgpd", "ospfd", "ospf6d", "ripd", "ripngd", "isisd", "pimd", "bfdd", "staticd"):
        on = daemon in enabled or daemon in always
        lines.append(f"{daemon}={'yes' if on else 'no'}")
    lines.append("vtysh_enable=yes")
    for daemon, options in enabled.items():
        lines.append(f'{daemon}_options="{shlex.join(options)}"')
    return "\n".join(lines) + "\n"


def daemons_to_run(daemons_text: str, *, always: Sequence[str] = ALWAYS) -> list[Daemon]:
    """What frrinit.sh would start from a `daemons` file: `always`, then every `<d>=yes`."""
    wanted = set(always) | {d for d in _ENABLED.findall(daemons_text) if d != "vtysh_enable"}
    options = {d: tuple(shlex.split(o)) for d, o in _OPTIONS.findall(daemons_text)}
    names = [d for d in ORDER if d in wanted] + sorted(wanted - set(ORDER))
    return [Daemon(d, options.get(d, ("-A", "127.0.0.1"))) for d in names]


def profile_of(daemons_text: str, frr_conf: str) -> str:
    """`frr_profile` from `daemons`, else `frr defaults X` from frr.conf, else traditional."""
    match = _PROFILE_VAR.search(daemons_text) or _PROFILE.search(frr_conf)
    return match.group(1) if match else "traditional"


def write_config(frr_dir: Path, frr_conf: str, daemons_text: str) -> None:
    """Write `/etc/frr` of a host (owned by frr, frr.conf 0640 since it may hold a password)."""
    for name, text in (
        ("frr.conf", frr_conf),
        ("daemons", daemons_text),
        ("vtysh.conf", VTYSH_CONF),
    ):
        write_atomic(frr_dir / name, text, mode=0o640, owner=owner_ids("frr"))


def daemon_argv(daemon: Daemon, *, profile: str, config: str | None = None) -> list[str]:
    """The daemon's command line; `config` is a file it reads when it starts (`-f`)."""
    read = ["-f", config] if config else []
    return [f"{FRR_LIB}/{daemon.name}", "-F", profile, *daemon.options, *read]


_ROUTING = ("zebra", "bgpd")  # the daemons that keep prefix-lists and route-maps
_OWNERS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"router bgp\b"), ("bgpd",)),
    (re.compile(r"bfd$"), ("bfdd",)),
    (re.compile(r"ip(v6)? route "), ("staticd",)),
    (re.compile(r"(no )?ip(v6)? (nht|forwarding|protocol)\b|interface\b"), ("zebra",)),
    (re.compile(r"(ip(v6)? prefix-list|route-map|bgp (community|as-path)|ip community)"), _ROUTING),
)


def split_config(frr_conf: str, daemons: Sequence[str] = ORDER) -> dict[str, str]:
    """Each daemon's part of an integrated frr.conf, as vtysh sends it: every top-level block
    goes to the daemons that own its command; `frr defaults`, `hostname`, `log`, ... go to all."""
    parts: dict[str, list[str]] = {d: [] for d in daemons}
    owners: Sequence[str] = daemons
    for line in frr_conf.splitlines():
        if line[:1].strip() and line not in ("exit", "end") and not line.startswith("!"):
            owned = next((o for pattern, o in _OWNERS if pattern.match(line)), tuple(daemons))
            owners = [d for d in owned if d in parts]
        for daemon in owners:
            parts[daemon].append(line)
    return {d: "\n".join(lines) + "\n" for d, lines in parts.items()}


def clear_run_dir(run_dir: Path) -> None:
    """Remove sockets and pid files a previous run left (they would look like live daemons)."""
    for path in run_dir.iterdir():
        if path.suffix in (".vty", ".pid", ".api"):
            path.unlink(missing_ok=True)


def wait_sockets(run_dirs: dict[Path, list[str]], *, timeout: float) -> None:
    """Wait until the named sockets (`bgpd.vty`, `zserv.api`) exist in each host's run dir."""
    deadline = time.monotonic() + timeout
    missing = [d / name for d, names in run_dirs.items() for name in names if name]
    while missing:
        missing = [p for p in missing if not p.exists()]
        if not missing:
            return
        if time.monotonic() > deadline:
            raise LabError(f"FRR daemons did not start within {timeout:g} s: no {missing[0]}")
        time.sleep(0.02)


def config_commands(old: str, new: str) -> list[str]:
    """vtysh arguments that turn running config `old` into `new`: each removed line negated,
    then each added line entered, under their enclosing blocks (read from the indentation);
    a line under a removed block goes with it. All in one vtysh run, so bgpd's route-map
    delay timer sees a prefix-list renumbered in place as one change (MetalLB numbers its
    entries in string order: a VIP .10 lands between .1 and .2).

    What frr-reload.py would do for a MetalLB speaker's frr.conf, without its Python start
    and running-config read (seconds per node on a loaded machine)."""
    before, after = _with_context(old), _with_context(new)
    kept = set(before) & set(after)
    gone = [(c, line) for c, line in before if (c, line) not in kept]
    gone_blocks = {(*c, line) for c, line in gone}
    groups: list[list[str]] = []
    for context, line in gone:
        if line.startswith("exit") or any(
            context[:i] in gone_blocks for i in range(1, len(context) + 1)
        ):
            continue
        groups.append(
            [*context, line.removeprefix("no ") if line.startswith("no ") else f"no {line}"]
        )
    for context, line in after:
        if (context, line) not in kept and not line.startswith("exit"):
            groups.append([*context, line])
    argv: list[str] = []
    for group in groups:
        argv += ["-c", "end"] if argv else []  # back to the top before the next line's blocks
        for command in ("configure terminal", *group):
            argv += ["-c", command]
    return [*argv, "-c", "end"] if argv else []


def _with_context(text: str) -> list[tuple[tuple[str, ...], str]]:
    """Each command of an indented frr.conf with the block headers it sits under."""
    found: list[tuple[tuple[str, ...], str]] = []
    stack: list[tuple[int, str]] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip() or line.strip() == "!":
            continue
        indent = len(line) - len(line.lstrip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        found.append((tuple(h for _i, h in stack), line.strip()))
        stack.append((indent, line.strip()))
    return found

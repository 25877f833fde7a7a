"""BGP password changes on a router without the password on any command line.

frr-reload.py removes each line it no longer wants with `vtysh -c 'no LINE'`: a changed
password would put the old one (and, on rollback, the new one) in a process's argv, which
any local user can read with ps. So before frr-reload.py runs, apply brings the running
passwords to the wanted ones itself, with commands it feeds `vtysh -f` from a 0600 file:
frr-reload.py then finds no password line to remove. A neighbour that does not exist yet
gets its password from frr-reload.py's own file of added lines (never a command line).
"""

from __future__ import annotations

import re

__all__ = ["bgp_passwords", "password_commands"]

_ROUTER = re.compile(r"^router bgp \S+(?: vrf \S+)?\Z")
_NEIGHBOR = re.compile(r"^\s+neighbor (\S+) (\S+)(?: (.*\S))?\s*\Z")

Key = tuple[str, str]
"""(the `router bgp ...` line, the neighbour address or peer-group name)"""


def _neighbors(config: str) -> tuple[set[Key], dict[Key, str]]:
    """Neighbours configured in `config`, and the password of those that have one."""
    known: set[Key] = set()
    passwords: dict[Key, str] = {}
    router = ""
    for line in config.splitlines():
        stripped = line.strip()
        if not line.startswith(" "):
            router = stripped if _ROUTER.match(stripped) else ""
            continue
        match = _NEIGHBOR.match(line)
        if not router or match is None:
            continue
        name, word, rest = match.groups()
        if word in ("remote-as", "peer-group", "interface"):
            known.add((router, name))
        elif word == "password" and rest:
            passwords[(router, name)] = rest
    return known, passwords


def bgp_passwords(config: str) -> dict[Key, str]:
    """(router bgp line, neighbour) -> password, for every BGP neighbour password in `config`."""
    return _neighbors(config)[1]


def password_commands(running: str, wanted: str) -> str:
    """`vtysh -f` input that gives `running` the passwords of `wanted` ('' if they match).

    Removes each running password `wanted` does not have (its neighbour may be going away)
    and sets each wanted password on a neighbour that exists in `running`.
    """
    known, have = _neighbors(running)
    want = bgp_passwords(wanted)
    by_router: dict[str, list[str]] = {}
    for key in have:
        if key not in want:
            by_router.setdefault(key[0], []).append(f" no neighbor {key[1]} password")
    for key, value in want.items():
        if key in known and have.get(key) != value:
            by_router.setdefault(key[0], []).append(f" neighbor {key[1]} password {value}")
    lines: list[str] = []
    for router, commands in by_router.items():
        lines += [router, *commands, "exit"]
    return "\n".join(lines) + "\n" if lines else ""

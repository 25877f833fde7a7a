"""Which site router each `--router` option names: the one parser of verify and apply.

`--router NAME=TARGET` names the router; `--router TARGET` alone is the site's only router,
or else the router whose address or name *is* TARGET's host, compared whole
(`ssh://root@192.168.125.23` is a node, not router 192.168.125.2). TARGET is `local`,
`ssh://[user@]host[:port]`, or, for a lab (`lab=True`), the name of a lab host.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hcplb.errors import TargetError
from hcplb.spec.models import Router

__all__ = ["RouterOption", "parse_router_options"]


@dataclass(frozen=True)
class RouterOption:
    """One `--router`: the site router it is about and where to reach it."""

    router: Router
    target: str


def _host(target: str) -> str | None:
    if not target.startswith("ssh://"):
        return None
    from hcplb.targets.ssh import parse_ssh_url  # asyncssh is imported only for SSH

    return parse_ssh_url(target)[1]


def _which(value: str, target: str, routers: Sequence[Router]) -> Router:
    if len(routers) == 1:
        return routers[0]
    host = _host(target)
    found = [r for r in routers if host is not None and host in (r.address, r.name)]
    if len(found) != 1:
        names = ", ".join(r.name for r in routers)
        raise TargetError(
            f"--router {value}: which router is it? the site has routers {names} "
            f"(hint: --router NAME={target})"
        )
    return found[0]


def parse_router_options(
    values: Sequence[str], routers: Sequence[Router], *, lab: bool = False
) -> list[RouterOption]:
    """Each `--router` value as (site router, target); TargetError naming the value."""
    by_name = {r.name: r for r in routers}
    result: list[RouterOption] = []
    for value in values:
        name, sep, target = value.partition("=")
        if not sep or "://" in name:
            name, target = "", value
        if lab:
            name = name or target
        if not name:
            router = _which(value, target, routers)
        elif name in by_name:
            router = by_name[name]
        else:
            raise TargetError(
                f"--router {value}: the site has no router {name!r} (it has {', '.join(by_name)})"
            )
        if any(o.router.name == router.name for o in result):
            raise TargetError(f"--router {value}: router {router.name} is given twice")
        result.append(RouterOption(router, target))
    return result

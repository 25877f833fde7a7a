"""Where labs live on disk, their names, and the journal of everything a lab created.

Each lab owns one directory, `<labs root>/<name>/` (root: env `HCPLB_LAB_DIR`, else
`/var/lib/hcplb/labs`). Its `state.json` is a journal: every namespace, link and process is
recorded *before* it is created and the file is rewritten atomically after each change, so
`lab down` can remove everything even after `lab up` was killed with SIGKILL half way.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from hcplb.errors import LabError
from hcplb.fsutil import write_atomic
from hcplb.render.profile import Profile
from hcplb.settings import DEFAULT_LABS_ROOT, LABS_ENV

STATE_FILE = "state.json"
NETNS_PREFIX = "hcplb-"
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,22}[a-z0-9]\Z|^[a-z]\Z")

Phase = Literal["building", "up", "failed"]
RouterHost = Literal["netns", "systemd"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProcessRecord(_Frozen):
    """A lab process: recorded with `pid=None` before it is spawned, then with its pid."""

    host: str
    role: str
    argv: tuple[str, ...]
    log: str
    pid: int | None = None


class Expectations(_Frozen):
    """What a converged lab looks like, computed once at `up` from the plan and MetalLB."""

    sessions: dict[str, list[str]]
    """router host -> neighbour addresses that must be Established (and not `(Policy)`)"""
    routes: dict[str, dict[str, list[str]]]
    """router host -> VIP -> nexthop addresses (one per announcing node)"""
    names: dict[str, str]
    """DNS name -> address the lab DNS must answer"""
    urls: list[str]
    """HTTPS URLs the client must reach with CA verification"""


class LabCluster(_Frozen):
    """A hosted cluster added to a running lab (`lab cluster add`), with the VIP MetalLB gave it."""

    name: str
    namespace: str
    pool: str
    base_domain: str
    vip: str


class LabState(_Frozen):
    name: str
    lab_id: str
    site_source: str
    profile: Profile
    bare: bool
    created: float
    router_host: RouterHost = "netns"
    """netns: FRR started by hcplb in the router's namespace; systemd: a booted Debian 12"""
    image: str | None = None
    """the router image a systemd router host boots (hcplb.lab.image)"""
    phase: Phase = "building"
    builder_pid: int | None = None
    vips: dict[str, list[str]] = {}
    """node -> VIPs bound on its lo"""
    namespaces: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    mounts: tuple[str, ...] = ()
    """mount points (booted routers' overlays), recorded before they are mounted"""
    processes: tuple[ProcessRecord, ...] = ()
    expect: Expectations | None = None
    clusters: tuple[LabCluster, ...] = ()
    """hosted clusters added while the lab runs, in the order they came"""
    converge_seconds: float | None = None
    error: str | None = None


def labs_root() -> Path:
    return Path(os.environ.get(LABS_ENV) or DEFAULT_LABS_ROOT)


def check_name(name: str) -> str:
    """A lab name: lower-case letters, digits and '-', 1-24 characters, starting with a letter."""
    if not _NAME.fullmatch(name):
        raise LabError(
            f"invalid lab name {name!r} (hint: lower-case letters, digits and '-', "
            "at most 24 characters, starting with a letter)"
        )
    return name


def lab_dir(name: str) -> Path:
    return labs_root() / check_name(name)


def netns_prefix(name: str) -> str:
    """Every network namespace of lab `name` starts with this (the '.' cannot occur in a name)."""
    return f"{NETNS_PREFIX}{name}."


def claim(name: str) -> Path:
    """Create the lab's directory (0700); LabError if the name is already taken."""
    path = lab_dir(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        raise LabError(
            f"lab {name!r} already exists ({path}) (hint: `hcplb lab down {name}` or "
            "pick another --name)"
        ) from None
    return path


def read_state(name: str) -> LabState | None:
    """The lab's recorded state; None when the directory exists but no journal was written."""
    path = lab_dir(name)
    if not path.is_dir():
        raise LabError(f"no lab named {name!r} under {labs_root()} (hint: `hcplb lab list`)")
    file = path / STATE_FILE
    if not file.exists():
        return None
    try:
        return LabState.model_validate_json(file.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as exc:
        raise LabError(f"cannot read {file}: {exc}") from None


def lab_names() -> list[str]:
    root = labs_root()
    if not root.is_dir():
        return []
    return sorted(
        p.name for p in root.iterdir() if _NAME.fullmatch(p.name) and (p.is_dir() or p.is_symlink())
    )


class Journal:
    """The lab's state, persisted atomically after every change (write, then rename).

    No fsync: the journal must survive the writer being killed, not the machine losing power.
    """

    def __init__(self, directory: Path, state: LabState) -> None:
        self.directory = directory
        self.state = state
        self._write()

    def update(self, **changes: object) -> LabState:
        self.state = self.state.model_copy(update=changes)
        self._write()
        return self.state

    def add_namespaces(self, names: list[str]) -> None:
        self.update(namespaces=(*self.state.namespaces, *names))

    def add_links(self, names: list[str]) -> None:
        self.update(links=(*self.state.links, *names))

    def add_process(self, record: ProcessRecord) -> int:
        """Record a process about to start; returns its index for `set_pid`."""
        return self.add_processes([record])[0]

    def add_processes(self, records: list[ProcessRecord]) -> list[int]:
        """Record processes about to start (one write); returns their indexes."""
        first = len(self.state.processes)
        self.update(processes=(*self.state.processes, *records))
        return list(range(first, first + len(records)))

    def set_pid(self, index: int, pid: int) -> None:
        self.set_pids({index: pid})

    def set_pids(self, pids: dict[int, int]) -> None:
        procs = list(self.state.processes)
        for index, pid in pids.items():
            procs[index] = procs[index].model_copy(update={"pid": pid})
        self.update(processes=tuple(procs))

    def _write(self) -> None:
        write_atomic(self.directory / STATE_FILE, self.state.model_dump_json(indent=1), mode=0o600)


def new_state(
    name: str,
    lab_id: str,
    site_source: str,
    *,
    profile: Profile,
    bare: bool,
    router_host: RouterHost = "netns",
) -> LabState:
    return LabState(
        name=name,
        lab_id=lab_id,
        site_source=site_source,
        profile=profile,
        bare=bare,
        router_host=router_host,
        created=time.time(),
        builder_pid=os.getpid(),
    )

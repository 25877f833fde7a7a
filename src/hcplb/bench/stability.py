"""`bench stability`: do fast BFD timers flap under load? One lab per profile, side by side.

Each BFD profile (`300x3` = 300 ms receive and transmit intervals, multiplier 3; `spec` = the
site's own) gets its own lab of the site (a unique name; every lab is removed at the end, also
on Ctrl-C or an error). Once all are up and ready they run for the same window under the same
load: `cpu` is stress-ng on every core (its own process group, stopped by pid), `loss` is
netem loss and delay jitter on each lab's machine-network ports (`hcplb.lab.impair`), `both`
is both. Flaps are counted from the routers (`hcplb.bench.flaps`); a healthy run has none.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import secrets as random
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, Literal

from hcplb.bench.failover import machine_load
from hcplb.bench.flaps import Flaps, count_flaps, snapshot
from hcplb.errors import EXIT_INVALID_INPUT, HcplbError
from hcplb.lab import Lab, down, procs, up
from hcplb.lab import watch as W
from hcplb.lab.impair import Impairment, Method, dropped_packets, impair
from hcplb.settings import COMMAND_TIMEOUT
from hcplb.spec import load_site
from hcplb.spec.loader import parse_yaml
from hcplb.spec.models import Bfd

__all__ = [
    "LOADS",
    "BfdChoice",
    "BfdProfileError",
    "CpuLoad",
    "Load",
    "ProfileResult",
    "StabilityReport",
    "parse_profiles",
    "run_stability",
]

Load = Literal["none", "cpu", "loss", "both"]
LOADS: tuple[str, ...] = ("none", "cpu", "loss", "both")
DEFAULT_PROFILES = "300x3,100x3,50x3,spec"
WATCH_S = 0.1
"""FIB poll interval per lab: a withdrawal lasts at least a BGP reconnect (seconds)"""
Progress = Callable[[str], None]
_TIMERS = re.compile(r"^(\d+)x(\d+)$")


class BfdProfileError(HcplbError):
    """A `--profiles` entry that names no usable BFD profile (invalid input: exit 2)."""

    exit_code = EXIT_INVALID_INPUT


@dataclass(frozen=True)
class BfdChoice:
    label: str
    receive_ms: int
    transmit_ms: int
    multiplier: int
    from_spec: bool = False

    @property
    def detection_ms(self) -> int:
        return max(self.receive_ms, self.transmit_ms) * self.multiplier


def parse_profiles(text: str, spec_bfd: Bfd | None) -> tuple[BfdChoice, ...]:
    """`300x3,100x3,spec` -> the profiles, fastest last; the spec's own merges with an equal one.

    BfdProfileError with a hint for a malformed entry, timers outside MetalLB's ranges, or `spec`
    on a site without BFD."""
    found: dict[tuple[int, int, int], BfdChoice] = {}
    for raw in (part.strip() for part in text.split(",")):
        if raw == "spec":
            if spec_bfd is None:
                raise BfdProfileError("--profiles: spec: the site has BFD off (spec.bgp.bfd: null)")
            key = (spec_bfd.receive_interval, spec_bfd.transmit_interval,
                   spec_bfd.detect_multiplier)  # fmt: skip
            plain = found.get(key)
            label = f"{plain.label} (spec)" if plain else f"{key[0]}x{key[2]} (spec)"
            found[key] = BfdChoice(label, *key, from_spec=True)
            continue
        match = _TIMERS.match(raw)
        if match is None:
            raise BfdProfileError(
                f"--profiles: {raw!r} is not INTERVALxMULTIPLIER (hint: 300x3,100x3,50x3,spec)"
            )
        interval, multiplier = int(match[1]), int(match[2])
        if not (10 <= interval <= 60000 and 2 <= multiplier <= 255):
            raise BfdProfileError(
                f"--profiles: {raw}: MetalLB accepts intervals 10-60000 ms, multipliers 2-255"
            )
        key = (interval, interval, multiplier)
        if key in found:  # the spec's own already: it keeps its mark
            continue
        found[key] = BfdChoice(raw, *key)
    if not found:
        raise BfdProfileError("--profiles: no profile given (hint: 300x3,100x3,50x3,spec)")
    return tuple(sorted(found.values(), key=lambda c: -c.detection_ms))


def _absolute_files(node: Any, base: Path) -> None:
    """Make every `{file: PATH}` secret reference absolute (the variant lives elsewhere)."""
    if isinstance(node, dict):
        value = node.get("file")
        if isinstance(value, str) and set(node) <= {"file", "env"}:
            node["file"] = str((base / value).resolve())
        for child in node.values():
            _absolute_files(child, base)
    elif isinstance(node, list):
        for child in node:
            _absolute_files(child, base)


def variant_site(site: Path, choice: BfdChoice, directory: Path) -> Path:
    """The site with this profile's BFD timers, written under `directory` (the site itself for
    the spec's own profile)."""
    if choice.from_spec:
        return site
    from ruamel.yaml import YAML

    data = parse_yaml(site.read_text(encoding="utf-8"), str(site))
    _absolute_files(data, site.resolve().parent)
    bgp = data["spec"].setdefault("bgp", {})
    bfd = bgp.get("bfd") or {}
    bfd.update(receiveInterval=choice.receive_ms, transmitInterval=choice.transmit_ms,
               detectMultiplier=choice.multiplier)  # fmt: skip
    bgp["bfd"] = bfd
    path = directory / f"site-{choice.receive_ms}x{choice.multiplier}.yaml"
    with path.open("w", encoding="utf-8") as out:
        YAML(typ="rt").dump(data, out)
    return path


class CpuLoad:
    """stress-ng on every core, in its own process group (recorded pid; stopped by it).

    Its own `--timeout` ends it even if this process dies without stopping it."""

    def __init__(self, seconds: float, log: Path) -> None:
        if shutil.which("stress-ng") is None:
            raise HcplbError("stress-ng is not installed (hint: run `make setup` as root)")
        self.argv = ["stress-ng", "--cpu", "0", "--cpu-load", "100", "--quiet",
                     "--timeout", f"{int(seconds) + 60}s"]  # fmt: skip
        self.pid = procs.spawn(self.argv, log=log)
        self.log = log

    def running(self) -> bool:
        """Still running (our own child: its pid cannot have been reused while unreaped)."""
        return procs.alive(self.pid)

    def stop(self) -> None:
        if procs.stop([self.pid]):
            raise HcplbError(f"stress-ng (process group {self.pid}) did not stop")


@dataclass(frozen=True)
class ProfileResult:
    choice: BfdChoice
    lab: str
    converge_s: float | None
    sessions: int
    flaps: Flaps
    dropped_packets: int | None = None
    """what the nftables loss dropped in this lab (None: netem or no loss)"""

    def as_json(self) -> dict[str, Any]:
        c = self.choice
        return {
            "profile": c.label,
            "receive_ms": c.receive_ms,
            "transmit_ms": c.transmit_ms,
            "multiplier": c.multiplier,
            "detection_ms": c.detection_ms,
            "from_spec": c.from_spec,
            "lab": self.lab,
            "lab_converge_s": self.converge_s,
            "sessions": self.sessions,
            "dropped_packets": self.dropped_packets,
            **self.flaps.as_json(),
        }


@dataclass(frozen=True)
class StabilityReport:
    site: str
    load: str
    seconds: float
    impairment: Impairment | None
    method: Method | None
    results: tuple[ProfileResult, ...]
    provenance: dict[str, str]

    @property
    def chosen(self) -> ProfileResult | None:
        """The fastest profile without a flap (None: every profile flapped)."""
        calm = [r for r in self.results if r.flaps.total == 0]
        return min(calm, key=lambda r: r.choice.detection_ms, default=None)

    def as_json(self) -> dict[str, Any]:
        chosen = self.chosen
        return {
            "site": self.site,
            "load": self.load,
            "seconds": self.seconds,
            "loss": (
                self.impairment.as_json(self.method) if self.impairment and self.method else None
            ),
            "profiles": [r.as_json() for r in self.results],
            "fastest_without_flaps": chosen.choice.label if chosen else None,
            "provenance": self.provenance,
        }


def _frr_version(lab: Lab) -> str:
    router = next(iter(lab.expect.sessions), None)
    if router is None:
        return "?"
    text = lab.run(router, ["vtysh", "-c", "show version"], timeout=COMMAND_TIMEOUT).stdout
    match = re.search(r"FRRouting (\S+)", text)
    return match[1] if match else "?"


def _machine() -> str:
    model = ""
    with contextlib.suppress(OSError):
        found = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        model = f", {found[1].strip()}" if found else ""
    return f"{platform.node()}: {os.cpu_count()} cores{model}"


def _window(labs: Sequence[Lab], seconds: float, during: Callable[[Lab], None] | None,
            say: Progress) -> list[Flaps]:  # fmt: skip
    """Count each lab's flaps over `seconds` (plus what `during` takes, run first)."""
    before = [snapshot(lab) for lab in labs]
    with contextlib.ExitStack() as stack:
        watches = [stack.enter_context(W.FibWatch(lab, interval=WATCH_S)) for lab in labs]
        end = time.monotonic() + seconds
        if during is not None:
            for lab in labs:
                during(lab)
        next_note = time.monotonic() + 60
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(left, 1.0))  # the measured window itself, not a wait for state
            if time.monotonic() >= next_note and left > 1:
                say(f"{left / 60:.1f} min left")
                next_note += 60
        after = [snapshot(lab) for lab in labs]
    return [count_flaps(b, a, w.changes) for b, a, w in zip(before, after, watches, strict=True)]


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """A SIGTERM ends the run as Ctrl-C does, through the teardown (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_stability(
    site: Path,
    *,
    seconds: float,
    load: Load = "both",
    profiles: str = DEFAULT_PROFILES,
    impairment: Impairment | None = None,
    during: Callable[[Lab], None] | None = None,
    command: str = "",
    progress: Progress | None = None,
) -> StabilityReport:
    """Bring up one lab per profile, run them `seconds` under `load`, count flaps, tear down.

    `during(lab)` runs on each lab at the window's start (tests inject a fault with it)."""
    say = progress or (lambda _text: None)
    if load not in LOADS:
        raise HcplbError(f"unknown load {load!r} (loads: {', '.join(LOADS)})")
    choices = parse_profiles(profiles, load_site(site).site.spec.bgp.bfd)
    lossy = (impairment or Impairment()) if load in ("loss", "both") else None
    method: Method | None = None
    token = "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(5))
    names = [f"bs{token}-{i}" for i in range(len(choices))]
    load_before = machine_load()
    tmp = Path(tempfile.mkdtemp(prefix="hcplb-stability-"))
    cpu: CpuLoad | None = None
    labs: list[Lab] = []
    with _sigterm_interrupts():
        try:
            for name, choice in zip(names, choices, strict=True):
                say(f"lab {name}: BFD {choice.label} ({choice.detection_ms} ms detection)")
                labs.append(up(variant_site(site, choice, tmp), name=name))
            for lab in labs:
                W.wait_ready(lab)
            frr = _frr_version(labs[0])
            if load in ("cpu", "both"):
                cpu = CpuLoad(seconds, tmp / "stress-ng.log")
            if lossy is not None:
                for lab in labs:  # one kernel: one method for all
                    method = impair(lab, lossy)
            say(f"{len(labs)} lab(s) under load {load} for {seconds:g} s" +
                (f" (loss by {method})" if method else ""))  # fmt: skip
            flaps = _window(labs, seconds, during, say)
            load_after = machine_load()  # the 1-minute average still under the load
            dropped = [dropped_packets(lab) for lab in labs]
            if cpu is not None and not cpu.running():
                raise HcplbError(f"stress-ng ended before the window: {procs.exit_note(cpu.log)}")
            results = tuple(
                ProfileResult(c, lab.name, lab.state.converge_seconds,
                              sum(len(p) for p in lab.expect.sessions.values()), f, d)
                for c, lab, f, d in zip(choices, labs, flaps, dropped, strict=True)
            )  # fmt: skip
        finally:
            if cpu is not None:
                cpu.stop()
            for name in names:
                with contextlib.suppress(HcplbError):
                    down(name)
            shutil.rmtree(tmp, ignore_errors=True)
    provenance = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _machine(),
        "kernel": platform.release(),
        "frr": frr,
        "load_before": load_before,
        "load_after": load_after,
        "command": command,
    }
    return StabilityReport(str(site), load, seconds, lossy, method, results, provenance)

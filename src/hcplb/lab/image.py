"""The booted router's root filesystem: a Debian 12 image built once with debootstrap, cached.

    image = ensure_image(on_progress=print)   # builds it the first time (~1-3 min), else cached
    image.rootfs                              # read-only lower layer of every booted router

Images live under `<images root>/<name>/` (root: env `HCPLB_IMAGE_DIR`, else
`/var/lib/hcplb/images`), `<name>` = `router-bookworm-<hash of the package list>`: a changed
package list is a new image, an unchanged one is never rebuilt. A build runs in a hidden
`.build-*` directory and is renamed into place only when complete, under a lock, so a killed
or concurrent build never leaves a half image where a lab could find it.

The booted router has no network to the archive, so everything setup.sh and the tests need
is in the image. The Debian mirror is read from this machine's apt sources at build time.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from hcplb.errors import LabError
from hcplb.lab import procs

IMAGES_ENV = "HCPLB_IMAGE_DIR"
DEFAULT_IMAGES_ROOT = Path("/var/lib/hcplb/images")
SUITE = "bookworm"
BASE_PACKAGES = ("systemd", "systemd-sysv", "dbus", "iproute2")
ROUTER_PACKAGES = (
    "frr",
    "frr-pythontools",
    "firewalld",
    "libpam-systemd",  # logind, for firewalld's polkitd (debootstrap does not pick one itself)
    "nftables",
    "iptables",
    "iptables-persistent",  # what setup.sh installs on Debian to restore iptables at boot
    "openssh-server",
    "python3",
    "procps",  # sysctl(8), used by setup.sh
)
PACKAGES = (*BASE_PACKAGES, *ROUTER_PACKAGES)
FORMAT = 1  # bump when the post-install steps below change
BUILD_TIMEOUT = 1800.0
META = "image.json"
ROOTFS = "rootfs"
# Units that would reach for a network the booted router does not have, or a console.
MASKED = ("apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_all.timer", "fstrim.timer")

Progress = Callable[[str], None]
# debootstrap's phase lines worth showing (not one line per package)
_PHASES = (
    "Retrieving Release",
    "Resolving dependencies",
    "Installing core packages",
    "Unpacking required packages",
    "Configuring required packages",
    "Unpacking the base system",
    "Configuring the base system",
    "Base system installed",
)


@dataclass(frozen=True)
class Image:
    name: str
    path: Path
    suite: str
    packages: tuple[str, ...]
    built: float
    build_seconds: float
    size_bytes: int

    @property
    def rootfs(self) -> Path:
        return self.path / ROOTFS


def images_root() -> Path:
    return Path(os.environ.get(IMAGES_ENV) or DEFAULT_IMAGES_ROOT)


def image_name(packages: tuple[str, ...] = PACKAGES, suite: str = SUITE) -> str:
    """`router-<suite>-<hash>`: the hash covers the suite, the package list and FORMAT."""
    key = json.dumps({"suite": suite, "packages": sorted(packages), "format": FORMAT})
    return f"router-{suite}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def mirror_url(apt_dir: Path = Path("/etc/apt")) -> str:
    """The Debian archive this machine's apt uses for `SUITE` (deb822 or one-line sources)."""
    candidates: list[tuple[str, list[str]]] = []
    files = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*.list"))]
    for file in files:
        for line in _lines(file):
            parts = re.sub(r"\[[^]]*\]", " ", line).split()
            if len(parts) >= 3 and parts[0] == "deb":
                candidates.append((parts[1], [parts[2]]))
    for file in sorted((apt_dir / "sources.list.d").glob("*.sources")):
        for stanza in _stanzas(file):
            if "deb" in stanza.get("types", "").split() and stanza.get("enabled", "yes") != "no":
                for uri in stanza.get("uris", "").split():
                    candidates.append((uri, stanza.get("suites", "").split()))
    for uri, suites in candidates:
        if SUITE in suites and uri.startswith(("http://", "https://", "file:/")):
            return uri
    raise LabError(
        f"no Debian {SUITE} archive in {apt_dir}/sources.list or sources.list.d "
        f"(hint: the router image is built from the archive apt uses; add a '{SUITE}' source)"
    )


def _lines(file: Path) -> list[str]:
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [ln.split("#", 1)[0].strip() for ln in text.splitlines() if ln.strip()]


def _stanzas(file: Path) -> list[dict[str, str]]:
    stanzas: list[dict[str, str]] = []
    current: dict[str, str] = {}
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    for raw in [*text.splitlines(), ""]:
        if not raw.strip():
            if current:
                stanzas.append(current)
            current = {}
        elif not raw.startswith("#") and ":" in raw and not raw[0].isspace():
            key, value = raw.split(":", 1)
            current[key.strip().lower()] = value.strip()
    return stanzas


def list_images() -> list[Image]:
    root = images_root()
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.iterdir()):
        if path.name.startswith(".") or not (path / META).is_file():
            continue
        with contextlib.suppress(OSError, ValueError, KeyError):
            found.append(_read(path))
    return found


def _read(path: Path) -> Image:
    meta = json.loads((path / META).read_text(encoding="utf-8"))
    return Image(
        name=path.name,
        path=path,
        suite=str(meta["suite"]),
        packages=tuple(meta["packages"]),
        built=float(meta["built"]),
        build_seconds=float(meta["build_seconds"]),
        size_bytes=int(meta["size_bytes"]),
    )


def find_image(name: str | None = None) -> Image | None:
    """The built image called `name` (default: the one of today's package list), or None."""
    path = images_root() / (name or image_name())
    if not (path / META).is_file():
        return None
    return _read(path)


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    root = images_root()
    root.mkdir(parents=True, exist_ok=True, mode=0o755)
    fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def ensure_image(*, on_progress: Progress | None = None, force: bool = False) -> Image:
    """The router image, built first if missing (or when `force`); waits for a concurrent build."""
    say = on_progress or (lambda _text: None)
    with _locked():
        existing = find_image()
        if existing is not None and not force:
            return existing
        return _build(say, replace=existing)


def remove_image(name: str) -> Image:
    """Delete a cached image; LabError if a lab's router still uses it."""
    with _locked():
        image = find_image(name)
        if image is None:
            raise LabError(f"no router image {name!r} (hint: `hcplb lab image list`)")
        users = [m for m in _mount_options() if f"lowerdir={image.rootfs}" in m]
        if users:
            raise LabError(
                f"router image {name} is in use by a running lab (hint: `hcplb lab down` it first)"
            )
        _rmtree(image.path)
        return image


def _mount_options() -> list[str]:
    try:
        return Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return []


def _build(say: Progress, *, replace: Image | None) -> Image:
    for tool in ("debootstrap", "chroot"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            raise LabError(f"{tool} is not installed (hint: run `make setup` as root)")
    name = image_name()
    root = images_root()
    for stale in root.glob(".build-*"):  # a build killed earlier (we hold the lock)
        _rmtree(stale)
    work = root / f".build-{name}-{os.getpid()}"
    work.mkdir(mode=0o755)
    try:
        mirror = mirror_url()
        say(f"debootstrap {SUITE} ({len(PACKAGES)} packages) into {work / ROOTFS}")
        started = time.monotonic()
        _debootstrap(work, mirror, say)
        say("post-install: no ssh host keys (one per lab), no network timers, no host identity")
        _post_install(work / ROOTFS)
        seconds = time.monotonic() - started
        size = _du(work / ROOTFS)
        meta = {
            "suite": SUITE,
            "packages": list(PACKAGES),
            "built": time.time(),
            "build_seconds": round(seconds, 1),
            "size_bytes": size,
            "format": FORMAT,
        }
        (work / META).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
        if replace is not None:
            _rmtree(replace.path)
        os.rename(work, root / name)
    except BaseException:
        with contextlib.suppress(OSError):
            _rmtree(work)
        raise
    say(f"image {name}: {size / 2**20:.0f} MiB in {seconds:.0f} s")
    return _read(root / name)


def _debootstrap(work: Path, mirror: str, say: Progress) -> None:
    """Run debootstrap detached with its log in the build directory, relaying its phases."""
    log = work / "debootstrap.log"
    argv = [
        "debootstrap",
        "--variant=minbase",
        f"--include={','.join(PACKAGES)}",
        SUITE,
        str(work / ROOTFS),
        mirror,
    ]
    pid = procs.spawn(argv, log=log)
    deadline = time.monotonic() + BUILD_TIMEOUT
    shown = 0
    try:
        while procs.alive(pid):
            shown = _relay(log, shown, say)
            if time.monotonic() > deadline:
                raise LabError(f"debootstrap did not finish in {BUILD_TIMEOUT:g} s (log {log})")
            time.sleep(0.5)
    finally:
        procs.stop([pid])
    _relay(log, shown, say)
    done = "I: Base system installed successfully." in log.read_text(errors="replace")
    if not done or not (work / ROOTFS / "usr/lib/frr/bgpd").exists():
        raise LabError(
            f"debootstrap failed: {procs.exit_note(log)} "
            "(hint: the archive must be reachable from this machine)"
        )


def _relay(log: Path, shown: int, say: Progress) -> int:
    """Pass on debootstrap's phase lines ('I: Retrieving packages', ...) not yet shown."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return shown
    for line in lines[shown:]:
        if line.startswith(("E: ", "W: ")):
            say(line)
        elif line.startswith("I: ") and any(phase in line for phase in _PHASES):
            say(line[3:])
    return len(lines)


def _post_install(rootfs: Path) -> None:
    """Make the fresh tree a router image: no shared ssh host keys, no network timers."""
    ssh = rootfs / "etc/ssh"
    for key in ssh.glob("ssh_host_*"):
        key.unlink()
    units = rootfs / "etc/systemd/system"
    for unit in MASKED:
        link = units / unit
        if not link.is_symlink() and not link.exists():
            link.symlink_to("/dev/null")
    (rootfs / "etc/machine-id").write_text("")  # each boot gets its own id
    # debootstrap copies these from the building machine: nothing of it belongs in the image
    write_identity(rootfs, "localhost")


def write_identity(rootfs: Path, hostname: str) -> None:
    """/etc/hostname, /etc/hosts and an empty /etc/resolv.conf of a router's root filesystem
    (systemd sets the host name from /etc/hostname at boot)."""
    etc = rootfs / "etc"
    for name in ("hostname", "hosts", "resolv.conf"):
        if (etc / name).is_symlink():
            (etc / name).unlink()
    (etc / "hostname").write_text(f"{hostname}\n")
    (etc / "hosts").write_text(
        f"127.0.0.1\tlocalhost\n127.0.1.1\t{hostname}\n::1\tlocalhost ip6-localhost\n"
    )
    (etc / "resolv.conf").write_text("")


def _du(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, f)).st_blocks * 512
    return total


def _rmtree(path: Path) -> None:
    """Remove a directory tree; refuses one with a mount point inside (a booted router's)."""
    inside = [m.split()[1] for m in _mount_options() if m.split()[1].startswith(f"{path}/")]
    if inside:
        raise LabError(f"{path} has mounts inside ({inside[0]}); not removing it")
    shutil.rmtree(path)

"""`boot_routers()`: each site router as a booted Debian 12 with systemd (`--router-host systemd`).

For every router, in this order (each step journalled before it happens, see `nspawn`):

1. an overlay of the cached image (`hcplb lab image build`) at `<lab>/hosts/R/root`;
2. into its fresh upper layer: the rendered `router/` directory as `/root/hcplb-router/` (where
   the runbook's `scp` puts it), the lab's ssh host key and the client's authorized key, and
   firewalld as the spec's flavour wants it (see `_firewall_host`);
3. `systemd-nspawn -b` in the router's namespace, then `systemctl is-system-running --wait`;
4. `cd hcplb-router && ./setup.sh`, exactly the runbook's command (not for a bare lab: there
   `hcplb apply` configures the router).

sshd is the image's own, started by systemd; `ssh_for(lab, R)` says how the client reaches it.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from hcplb.errors import LabError
from hcplb.lab import nspawn, procs
from hcplb.lab.core import Lab
from hcplb.lab.image import Image, write_identity
from hcplb.lab.sshd import LabSsh, _client_key, _host_key, _known_hosts, ssh_url
from hcplb.lab.state import ProcessRecord
from hcplb.render.router import router_dir
from hcplb.runner import Result, run
from hcplb.spec.models import Firewall

RUNBOOK_DIR = "root/hcplb-router"  # `scp router/* root@R:hcplb-router/` lands here
BOOT_TIMEOUT = 120.0
SETUP_TIMEOUT = 180.0

Say = Callable[[str], None]


def root_dir(lab: Lab, router: str) -> Path:
    return lab.host_dir(router) / "root"


def boot_routers(lab: Lab, image: Image, *, setup: bool, say: Say) -> None:
    """Boot every router of the lab from `image`; run setup.sh on each unless not `setup`."""
    routers = [h.name for h in lab.topology.by_role("router")]
    for router in routers:
        _mount(lab, router, image)
        _seed_files(lab, router)
    _spawn(lab, routers)
    started = time.monotonic()
    for router in routers:
        wait_booted(lab, router, timeout=BOOT_TIMEOUT)
    say(f"routers: booted {', '.join(routers)} ({time.monotonic() - started:.1f} s)")
    if setup:
        for router in routers:
            result = run_setup(lab, router)
            if not result.ok:
                raise LabError(f"{router}: setup.sh failed: {_tail(result)}")
        say(f"routers: setup.sh done on {', '.join(routers)}")


def _mount(lab: Lab, router: str, image: Image) -> None:
    base = lab.host_dir(router)
    merged, upper, work = base / "root", base / "overlay/upper", base / "overlay/work"
    for path in (merged, upper, work):
        path.mkdir(parents=True, mode=0o755)
    lab.record(mounts=(*lab.state.mounts, str(merged)))
    mount = run(
        nspawn.overlay_argv(lower=image.rootfs, upper=upper, work=work, merged=merged), timeout=30
    )
    if not mount.ok:
        raise LabError(f"{router}: cannot mount the image overlay: {mount.stderr.strip()}")


def _seed_files(lab: Lab, router: str) -> None:
    """Files the router needs before it boots, written into its still-unbooted overlay."""
    root = root_dir(lab, router)
    plan_router = next(r for r in lab.plan.routers if r.name == router)
    source = lab.render_dir / router_dir(lab.plan, plan_router)
    target = root / RUNBOOK_DIR
    target.mkdir(mode=0o700)
    for file in sorted(source.iterdir()):
        if file.is_file() and not file.is_symlink():
            shutil.copy2(file, target / file.name)
    # ssh: this lab's host key for the router, the lab client's key for root
    host_key = _host_key(lab, router)
    ssh = root / "etc/ssh"
    for suffix, mode in (("", 0o600), (".pub", 0o644)):
        dest = ssh / f"ssh_host_ed25519_key{suffix}"
        shutil.copyfile(f"{host_key}{suffix}", dest)
        dest.chmod(mode)
    (ssh / "sshd_config.d/hcplb-lab.conf").write_text(
        f"# hcplb lab {lab.name}: key authentication only, this lab's host key\n"
        "HostKey /etc/ssh/ssh_host_ed25519_key\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "PermitRootLogin prohibit-password\n"
    )
    _firewall_host(lab, router, root)
    write_identity(root, router)
    dot_ssh = root / "root/.ssh"
    dot_ssh.mkdir(mode=0o700, exist_ok=True)
    authorized = dot_ssh / "authorized_keys"
    authorized.write_text(Path(f"{_client_key(lab)}.pub").read_text())
    authorized.chmod(0o600)


def _firewall_host(lab: Lab, router: str, root: Path) -> None:
    """The machine as a user of the spec's firewall flavour has it: firewalld (with the
    interfaces in its public zone, as NetworkManager puts them; in no zone they get no
    forwarding) only for the firewalld flavour, masked for iptables and nftables."""
    flavour = next(r.firewall for r in lab.plan.routers if r.name == router)
    if flavour is not Firewall.firewalld:
        (root / "etc/systemd/system/firewalld.service").symlink_to("/dev/null")
        return
    shipped = root / "usr/lib/firewalld/zones/public.xml"
    if not shipped.is_file():
        return
    lines = [f'  <interface name="{i.name}"/>' for i in lab.host(router).interfaces]
    text = shipped.read_text().replace("</zone>", "\n".join(lines) + "\n</zone>")
    zones = root / "etc/firewalld/zones"
    zones.mkdir(parents=True, exist_ok=True)
    (zones / "public.xml").write_text(text)


def _spawn(lab: Lab, routers: Sequence[str]) -> None:
    journal = lab.journal()
    records = []
    for router in routers:
        argv = nspawn.supervised_argv(
            lab.host(router).netns,
            nspawn.nspawn_argv(
                netns=lab.host(router).netns,
                root=root_dir(lab, router),
                router=router,
                machine=nspawn.machine_name(lab.name, router),
            ),
        )
        log = lab.host_dir(router) / "log" / "nspawn.log"
        records.append(ProcessRecord(host=router, role=nspawn.ROLE, argv=tuple(argv), log=str(log)))
    indexes = journal.add_processes(records)
    journal.set_pids(
        {i: procs.spawn(r.argv, log=Path(r.log)) for i, r in zip(indexes, records, strict=True)}
    )


def wait_booted(lab: Lab, router: str, *, timeout: float) -> str:
    """Wait until the router's systemd finished booting; its state ('running'). LabError when
    the container exited or a unit failed (the failed units are named)."""
    deadline = time.monotonic() + timeout
    log = lab.host_dir(router) / "log" / "nspawn.log"
    while True:
        record = nspawn.nspawn_record(lab.state, router)
        if record is None or record.pid is None or not procs.alive(record.pid):
            raise LabError(f"{router}: systemd-nspawn exited: {procs.exit_note(log)}")
        if nspawn.leader_pid(record.pid) is not None:
            left = max(deadline - time.monotonic(), 1.0)
            try:
                result = lab.run(router, ["systemctl", "is-system-running", "--wait"], timeout=left)
            except LabError:
                result = None  # between boots
            state = result.stdout.strip() if result is not None else ""
            if state == "running":
                return state
            if state == "degraded":
                failed = lab.run(
                    router, ["systemctl", "--failed", "--plain", "--no-legend"], timeout=20
                )
                units = [line.split()[0] for line in failed.stdout.splitlines() if line.strip()]
                raise LabError(f"{router}: booted with failed units: {', '.join(units)}")
        if time.monotonic() > deadline:
            raise LabError(f"{router}: systemd did not finish booting in {timeout:g} s (log {log})")
        time.sleep(0.2)


def run_setup(lab: Lab, router: str) -> Result:
    """The runbook's step on the router: `cd hcplb-router && ./setup.sh`, as root, in /root."""
    result = lab.run(
        router, ["bash", "-c", "cd /root/hcplb-router && ./setup.sh"], timeout=SETUP_TIMEOUT
    )
    log = lab.host_dir(router) / "log" / "setup.log"
    with log.open("a", encoding="utf-8") as out:
        out.write(result.stdout + result.stderr)
    return result


def ssh_for(lab: Lab, router: str) -> LabSsh:
    """How the lab's client reaches the booted router's own sshd (host key checked)."""
    if not lab.booted(router):
        raise LabError(f"{router} is not a booted router of lab {lab.name}")
    key_file = _client_key(lab)
    known = _known_hosts(
        lab,
        [
            h.name
            for h in lab.hosts
            if (lab.host_dir(h.name) / "ssh/ssh_host_ed25519_key.pub").exists()
        ],
    )
    address = lab.host(router).interfaces[0].ip
    return LabSsh(router, address, ssh_url(address), key_file, known)


def _tail(result: Result, lines: int = 5) -> str:
    text = (result.stderr.strip() or result.stdout.strip()).splitlines()
    return " | ".join(text[-lines:])


__all__ = ["boot_routers", "root_dir", "run_setup", "ssh_for", "wait_booted"]

"""`up()`: build a lab from a site spec, one phase per step, and wait until it has converged."""

from __future__ import annotations

import contextlib
import os
import secrets as random
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from hcplb.errors import LabError
from hcplb.fsutil import write_atomic
from hcplb.lab import converge, dns, frr, image, netns, pki, routerhost, standin
from hcplb.lab.cluster import ClusterView, simulate_site
from hcplb.lab.core import CA_FILE, RENDER_DIR, SITE_FILE, Lab
from hcplb.lab.hostfs import prepare_host
from hcplb.lab.lock import Stopped, checkpoint, locked, stop_on_sigterm
from hcplb.lab.state import (
    Journal,
    RouterHost,
    check_name,
    claim,
    lab_dir,
    netns_prefix,
    new_state,
)
from hcplb.lab.teardown import remove
from hcplb.lab.topology import CLIENT, DNS, build_topology
from hcplb.metallb import SPEAKER_DAEMONS
from hcplb.plan import SitePlan, plan_site
from hcplb.render import RenderedSite, Secrets, render_site, resolve_site_secrets, write_rendered
from hcplb.render.host import SYSCTL_FILENAME
from hcplb.render.profile import Profile, netns_host_commands_of
from hcplb.render.router import router_dir
from hcplb.settings import (
    BGP_PORT,
    CONVERGE_TIMEOUT,
    FRR_LIB,
    FRR_START_TIMEOUT,
    LAB_SETUP_TIMEOUT,
    VTYSH,
)
from hcplb.spec import load_site

# FRR sizes its event-loop tables by the fd limit (20,000 here): a node's daemons hold a few
# sockets, and the cap cuts 4.3 MiB of private memory per node (zebra 2.4, bgpd 1.4, bfdd 0.5)
NODE_FD_LIMIT = ("--limit-fds", "1024")

Progress = Callable[[str], None]
"""told one line per build phase (the lifecycle phase itself is `state.Phase`)"""
ChecksCallback = Callable[[float, tuple[converge.Condition, ...]], None]

REQUIRED = (
    (f"{FRR_LIB}/bgpd", "FRR"),
    (f"{FRR_LIB}/zebra", "FRR"),
    (f"{FRR_LIB}/bfdd", "FRR"),
    (VTYSH, "FRR"),
    ("/usr/sbin/named", "BIND 9 (bind9)"),
    ("/usr/bin/named-checkconf", "BIND 9 (bind9)"),
    ("/usr/bin/dig", "dig (bind9-dnsutils)"),
    ("/usr/bin/curl", "curl"),
    ("/usr/sbin/ip", "iproute2"),
    ("/usr/bin/unshare", "util-linux"),
)


def preflight() -> None:
    """Root, FRR, BIND and the tools the lab runs are present; LabError with the fix if not."""
    if os.geteuid() != 0:
        raise LabError(
            "the lab needs root (network namespaces and mounts) (hint: run it with sudo)"
        )
    for path, what in REQUIRED:
        if not Path(path).exists() and shutil.which(Path(path).name) is None:
            raise LabError(
                f"{what} is not installed ({path} missing) (hint: run `make setup` as root)"
            )


@dataclass(frozen=True)
class _Inputs:
    plan: SitePlan
    secrets: Secrets
    rendered: RenderedSite
    cluster: ClusterView


def up(
    site_path: Path | str,
    name: str | None = None,
    *,
    bare: bool = False,
    profile: Profile = Profile.hcplb,
    router_host: RouterHost = "netns",
    timeout: float = CONVERGE_TIMEOUT,
    on_phase: Progress | None = None,
    on_checks: ChecksCallback | None = None,
) -> Lab:
    """Build the site's lab and wait until it converged (a bare lab: until DNS answers).

    `router_host="systemd"`: each router is a booted Debian 12 (`hcplb.lab.routerhost`) set
    up by the rendered setup.sh; the router image must have been built (`lab image build`)."""
    report = on_phase or (lambda _text: None)

    def say(text: str) -> None:  # every phase boundary is where a `lab down` can stop the build
        checkpoint()
        report(text)

    def checks(elapsed: float, found: tuple[converge.Condition, ...]) -> None:
        checkpoint()
        if on_checks is not None:
            on_checks(elapsed, found)

    site_path = Path(site_path)
    # 0. the machine can run a lab at all
    preflight()
    # 1. the site as `hcplb render` renders it, and what MetalLB makes of it
    inputs = _inputs(site_path, profile)
    name = check_name(inputs.plan.site.name[:24].rstrip("-") if name is None else name)
    # `lab down` of this name stops this build (SIGTERM -> Stopped) and waits for the lock
    with stop_on_sigterm(), locked(name, "up"):
        return _build(site_path, name, inputs, bare, profile, router_host, timeout, say, checks)


def _build(
    site_path: Path,
    name: str,
    inputs: _Inputs,
    bare: bool,
    profile: Profile,
    router_host: RouterHost,
    timeout: float,
    say: Progress,
    on_checks: ChecksCallback,
) -> Lab:
    _check_free(name)
    router_image = _router_image(router_host)
    lab_id = "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(4))
    topology = build_topology(inputs.plan, name, lab_id, vips_by_node=_vips(inputs))
    # 2. the lab's directory and its journal (everything is recorded before it is created)
    directory = claim(name)
    state = new_state(
        name, lab_id, str(site_path.resolve()), profile=profile, bare=bare, router_host=router_host
    )
    journal = Journal(
        directory,
        state.model_copy(
            update={
                "vips": _vips(inputs),
                "expect": inputs.cluster.expect,
                "image": router_image.name if router_image else None,
            }
        ),
    )
    try:
        # 3. files: site copy, rendered output, CA and certificates, TSIG key, host directories
        shutil.copyfile(site_path, directory / SITE_FILE)
        lab = Lab(directory, journal.state, inputs.plan)
        lab._journal = journal
        _write_files(lab, inputs, bare)
        say(f"files: rendered site, lab CA and {len(inputs.plan.clusters)} API certificate(s)")
        # 4. namespaces, bridges, veths, addresses and routes
        journal.add_namespaces([h.netns for h in topology.hosts])
        netns.create_namespaces([h.netns for h in topology.hosts])
        journal.add_links(netns.link_names(topology))
        netns.wire(topology)
        say(f"network: {len(topology.hosts)} hosts wired")
        # 5. FRR: the routers' frr.conf first, the nodes' right after (see _start_frr)
        started = time.monotonic()
        _start_frr(lab, inputs, router_image, bare, say)
        # 6. while FRR holds every new peer Idle (about 4 s): BIND and the API stand-ins
        _start_dns(lab)
        checkpoint()
        standin.start(lab)
        say(f"DNS and API stand-ins: named, {len(inputs.cluster.vips)} VIP(s) on each node")
    except BaseException:
        with contextlib.suppress(Exception):  # the build's own error is the one to report
            remove(name)
        raise
    # 7. converged: sessions, FIB, DNS, HTTPS (a bare lab: DNS only, apply configures routers)
    kinds: tuple[converge.Kind, ...] = ("dns",) if bare else converge.ALL_KINDS
    try:
        result = converge.wait(
            lab, lab.expect, timeout=timeout, since=started, kinds=kinds, progress=on_checks
        )
    except Stopped:
        remove(name)
        raise
    if not result.ok:
        lab.record(phase="failed", error="did not converge")
        raise LabError(_not_converged(lab, result, timeout))
    lab.record(phase="up", converge_seconds=round(result.seconds, 3), builder_pid=None)
    return lab


def _inputs(site_path: Path, profile: Profile) -> _Inputs:
    loaded = load_site(site_path)
    secrets = resolve_site_secrets(loaded, base_dir=site_path.parent)
    plan = plan_site(loaded.site)
    rendered = render_site(loaded.site, secrets, profile=profile)
    return _Inputs(plan, secrets, rendered, simulate_site(plan, secrets, profile=profile))


def _router_image(router_host: RouterHost) -> image.Image | None:
    """The cached image booted routers run (None for netns routers); LabError if not built."""
    if router_host == "netns":
        return None
    for tool in ("systemd-nspawn", "nsenter"):
        if shutil.which(tool) is None:
            raise LabError(f"{tool} is not installed (hint: run `make setup` as root)")
    found = image.find_image()
    if found is None:
        raise LabError(
            f"no router image {image.image_name()} under {image.images_root()} "
            "(hint: `hcplb lab image build` builds it once, in a few minutes)"
        )
    return found


def _vips(inputs: _Inputs) -> dict[str, list[str]]:
    return {n.name: list(inputs.cluster.vips) for n in inputs.plan.nodes}


def _check_free(name: str) -> None:
    if lab_dir(name).exists():
        raise LabError(
            f"lab {name!r} already exists ({lab_dir(name)}) (hint: `hcplb lab down {name}` or "
            "pick another --name)"
        )
    taken = [n for n in netns.namespaces() if n.startswith(netns_prefix(name))]
    if taken:
        raise LabError(
            f"lab name {name!r} is in use: namespace {taken[0]} exists, made by another lab "
            "directory "
            f"(hint: `hcplb lab down {name}` or pick another --name)"
        )


def _write_files(lab: Lab, inputs: _Inputs, bare: bool) -> None:
    write_rendered(inputs.rendered, lab.state_dir / RENDER_DIR)
    ca = pki.make_ca((lab.state_dir / CA_FILE).parent, lab.name)
    tsig = dns.write_tsig(inputs.plan, inputs.secrets, lab.state_dir)
    resolver = lab.host(DNS).address("client")  # the client reaches it there, even bare
    client_env = {"CURL_CA_BUNDLE": str(ca.cert_file), "SSL_CERT_FILE": str(ca.cert_file)}
    for host in lab.hosts:
        prepare_host(
            lab.state_dir, host, resolver=resolver, env=client_env if host.name == CLIENT else None
        )
    for router in inputs.plan.routers:
        base = router_dir(inputs.plan, router)
        etc = lab.host_dir(router.name) / "etc/frr"
        if bare:
            conf = "log syslog informational\n"
            daemons = frr.daemons_file({"bgpd": ["-A", "127.0.0.1"], "bfdd": ["-A", "127.0.0.1"]})
        else:
            conf = inputs.rendered.get(f"{base}/frr.conf").content
            daemons = inputs.rendered.get(f"{base}/daemons").content
            sysctl = inputs.rendered.get(f"{base}/{SYSCTL_FILENAME}").content
            write_atomic(lab.host_dir(router.name) / "etc/sysctl.d" / SYSCTL_FILENAME, sysctl)
        frr.write_config(etc, conf, daemons)
    node_daemons = frr.daemons_file(
        {d: ["-A", "127.0.0.1", *o, *NODE_FD_LIMIT] for d, o in SPEAKER_DAEMONS.items()},
        always=("zebra",),
    )
    for speaker, conf in inputs.cluster.simulation.frr_configs.items():
        frr.write_config(lab.host_dir(speaker) / "etc/frr", conf, node_daemons)
    server = lab.host(DNS).primary_address
    others = [a for i in lab.host(DNS).interfaces for a in i.ips if a != server]
    dns.write_config(lab.host_dir(DNS), inputs.plan, tsig, server, *others)
    specs = []
    nodes = [n.name for n in inputs.plan.nodes]
    for c in inputs.plan.clusters:
        names = [c.api_name, c.api_int_name]
        cert = standin.issue_cert(ca, c.cluster.name, c.control_plane_namespace, names, c.vip)
        specs += standin.listeners(lab, nodes, c.vip, c.cluster.name, cert)
    standin.write_config(lab, specs)


def _prepare_routers(lab: Lab, inputs: _Inputs) -> None:
    """The rendered sysctl settings and firewall, applied inside each router's namespace."""
    for router in inputs.plan.routers:
        for command in netns_host_commands_of(lab.state.profile, inputs.plan, router):
            result = lab.run(
                router.name, command.argv, timeout=LAB_SETUP_TIMEOUT, input=command.input
            )
            if not result.ok:
                raise LabError(f"{router.name}: {' '.join(command.argv)}: {result.stderr.strip()}")


def _start_frr(
    lab: Lab, inputs: _Inputs, router_image: image.Image | None, bare: bool, say: Progress
) -> None:
    """Start FRR everywhere, each daemon reading its part of the host's frr.conf as it starts.

    FRR 8.4's bgpd holds every peer a vtysh load creates (`vtysh -b` as frrinit.sh does,
    `vtysh -f` under frr-reload.py) Idle, refusing its connections, until the route-map delay
    timer (5 s from the first route-map) has run out, about 4 s after the load; the first
    session then drops at once on BFD and the node redials after its start timer. A daemon
    that reads its file when it starts (`-f`) has neither: the seed lab converges in about
    2.5 s instead of 10-13 s, with the same running config. The nodes start once the routers'
    bgpd listens (it opens port 179 when it reads `router bgp`, with its neighbors): a node
    that dials earlier is closed and waits to dial again. A booted router (systemd) loads
    its frr.conf with `vtysh -b` itself, so there the nodes load theirs only once the
    routers' load has returned: each node's hold then ends after the routers' (it started
    later and lasts as long), and no node is refused and left waiting its 10 s connect timer."""
    simulation = inputs.cluster.simulation
    routers = [h.name for h in lab.topology.by_role("router")]
    speakers = sorted(simulation.frr_configs)
    how = "MetalLB's FRRConfiguration" if simulation.backend == "frr-k8s" else "MetalLB's FRR mode"
    loaded = f"nodes: frr.conf loaded on {len(speakers)} speakers (bgpBackend {simulation.backend}: {how})"
    if router_image is not None:
        lab.spawn_frr(speakers)  # the nodes' daemons start while the routers boot
        routerhost.boot_routers(lab, router_image, setup=not bare, say=say)  # setup.sh loads
        checkpoint()
        lab.boot_frr(speakers)
        say(loaded)
        return
    # the routers' sysctl and firewall (setup.sh's steps) while their daemons start
    with ThreadPoolExecutor(max_workers=1) as pool:
        prepared = None if bare else pool.submit(_prepare_routers, lab, inputs)
        lab.spawn_frr(routers, read_config=True)
        if not bare:  # bgpd listens once it has read `router bgp` and its neighbors
            lab.wait_listening(routers, BGP_PORT, timeout=FRR_START_TIMEOUT)
        if prepared is not None:
            prepared.result()
    say(f"routers: frr.conf read by the daemons of {', '.join(routers)}, bgpd listening")
    checkpoint()
    # a node that dials before the router knows it is closed and waits to dial again
    lab.spawn_frr(speakers, read_config=True)
    say(loaded)


def _start_dns(lab: Lab) -> None:
    check = lab.run(DNS, list(dns.CHECK_ARGV), timeout=LAB_SETUP_TIMEOUT)
    if not check.ok:
        raise LabError(
            f"the lab's BIND config does not load: {check.stdout.strip() or check.stderr.strip()}"
        )
    lab.spawn(DNS, "named", dns.NAMED_ARGV)


def _not_converged(lab: Lab, result: converge.Convergence, timeout: float) -> str:
    lines = [f"lab {lab.name} did not converge within {timeout:g} s:"]
    lines += [f"  {c.kind} on {c.host}: {c.detail}" for c in result.failing()]
    dead = [p for p in lab.state.processes if p.pid is not None and p not in lab.processes()]
    lines += [f"  process {p.role} on {p.host} exited (log {p.log})" for p in dead]
    lines.append(
        f"  the lab is left running for inspection (hint: `hcplb lab status {lab.name}`, then `hcplb lab down {lab.name}`)"
    )
    return "\n".join(lines)

"""Network namespaces, bridges, veths, addresses and routes, through `ip` (JSON with `ip -j`).

Every link is created directly inside lab namespaces (`ip -n SWITCH link add PORT type veth
peer name eth0 netns HOST`), so nothing of the lab ever appears in the root namespace, and
deleting a lab's namespaces deletes all its links.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from hcplb.errors import LabError
from hcplb.lab.topology import BRIDGES, Host, Topology, host_prefix, ip_version
from hcplb.runner import Result, run
from hcplb.settings import LAB_SETUP_TIMEOUT


def ip_batch(lines: Sequence[str], *, netns: str | None = None) -> Result:
    """Run many `ip` commands in one process (`ip [-n NS] -batch -`); LabError on failure."""
    argv = ["ip", *(["-n", netns] if netns else []), "-batch", "-"]
    result = run(argv, timeout=LAB_SETUP_TIMEOUT, input="\n".join(lines) + "\n")
    if not result.ok:
        where = f" in {netns}" if netns else ""
        raise LabError(f"ip -batch failed{where}: {result.stderr.strip() or result.stdout.strip()}")
    return result


def namespaces() -> list[str]:
    """Every network namespace on the machine (`ip -j netns list`)."""
    result = run(["ip", "-j", "netns", "list"], timeout=LAB_SETUP_TIMEOUT)
    if not result.ok:
        raise LabError(f"cannot list network namespaces: {result.stderr.strip()}")
    text = result.stdout.strip()
    return [entry["name"] for entry in json.loads(text)] if text else []


def create_namespaces(names: Sequence[str]) -> None:
    ip_batch([f"netns add {n}" for n in names])


def delete_namespaces(names: Iterable[str]) -> None:
    """Delete the named namespaces that exist (their links go with them)."""
    present = set(namespaces())
    doomed = [n for n in names if n in present]
    if doomed:
        ip_batch([f"netns del {n}" for n in doomed])


def pids_in(netns: str) -> list[int]:
    """Pids of every process whose network namespace is `netns` (`ip netns pids`)."""
    result = run(["ip", "netns", "pids", netns], timeout=LAB_SETUP_TIMEOUT)
    if not result.ok:
        return []
    return [int(p) for p in result.stdout.split()]


def link_names(topology: Topology) -> list[str]:
    """`netns/ifname` of every link the lab creates, for the journal."""
    switch = topology.switch.netns
    names = [f"{switch}/{bridge}" for bridge in BRIDGES.values()]
    for host in topology.hosts:
        for iface in host.interfaces:
            names += [f"{switch}/{iface.port}", f"{host.netns}/{iface.name}"]
    return names


def wire(topology: Topology) -> None:
    """Build the switch (bridges + one veth port per host interface), then address every host.

    Each host's sysctls come first: a link created in a namespace takes its `default`
    settings then (`accept_dad` of `NO_DAD` must precede the veths)."""
    for host in topology.hosts:
        for key, value in host.sysctls:
            result = run(
                ["sysctl", "-qw", f"{key}={value}"], timeout=LAB_SETUP_TIMEOUT, netns=host.netns
            )
            if not result.ok:
                raise LabError(f"{host.name}: sysctl {key}={value}: {result.stderr.strip()}")
    switch = topology.switch.netns
    lines = ["link set lo up"]
    for bridge in BRIDGES.values():
        lines += [f"link add {bridge} type bridge", f"link set {bridge} up"]
    for host in topology.hosts:
        for iface in host.interfaces:
            lines += [
                f"link add {iface.port} type veth peer name {iface.name} netns {host.netns}",
                f"link set {iface.port} master {BRIDGES[iface.segment]}",
                f"link set {iface.port} up",
            ]
    ip_batch(lines, netns=switch)
    for host in topology.hosts:
        if host.role != "switch":
            ip_batch(host_lines(host), netns=host.netns)


def host_lines(host: Host) -> list[str]:
    """`ip -batch` lines addressing a host: IPv6 addresses `nodad` (usable at once), and one
    default route per family (ECMP when it has several gateways of that family)."""
    lines = ["link set lo up"]
    for iface in host.interfaces:
        lines += [f"addr add {a} dev {iface.name}{_nodad(a)}" for a in iface.addresses]
        lines.append(f"link set {iface.name} up")
    for vip in host.loopbacks:
        lines.append(f"addr add {host_prefix(vip)} dev lo{_nodad(vip)}")
    for version in (4, 6):
        gateways = [gw for gw in host.gateways if ip_version(gw) == version]
        default = "default" if version == 4 else "::/0"
        if len(gateways) == 1:
            lines.append(f"route add {default} via {gateways[0]}")
        elif gateways:
            hops = " ".join(f"nexthop via {gw}" for gw in gateways)
            lines.append(f"route add {default} {hops}")
    return lines


def _nodad(address: str) -> str:
    return " nodad" if ip_version(address) == 6 else ""


def routes(result: Result) -> dict[str, set[str]]:
    """Parse `ip -j [-6] route show ...` output: destination -> set of nexthop gateways (a host
    route's destination with its /32 or /128)."""
    text = result.stdout.strip()
    table: dict[str, set[str]] = {}
    for entry in json.loads(text) if text else []:
        dst = entry.get("dst", "")
        hops = {h["gateway"] for h in entry.get("nexthops", []) if "gateway" in h}
        if "gateway" in entry:
            hops.add(entry["gateway"])
        table[dst if "/" in dst or dst == "default" else host_prefix(dst)] = hops
    return table

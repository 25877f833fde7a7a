"""An intruder host on a lab's machine network: a namespace of its own, plugged into the switch.

It is recorded in the lab's journal (namespace and links) before it is created, and its
namespace carries the lab's prefix, so `lab down` removes it even if the bench dies.
"""

from __future__ import annotations

import ipaddress
import json
import sys
from dataclasses import dataclass
from typing import Any

from hcplb.errors import LabError
from hcplb.lab import Lab
from hcplb.lab.netns import ip_batch
from hcplb.lab.topology import BRIDGES, netns_name
from hcplb.runner import run
from hcplb.settings import LAB_SETUP_TIMEOUT

__all__ = ["Intruder", "add_intruder", "remove_intruder"]

HOST = "intruder"


@dataclass(frozen=True)
class Intruder:
    netns: str
    port: str
    address: str


def _free_address(lab: Lab) -> ipaddress.IPv4Interface:
    network = ipaddress.IPv4Network(lab.plan.site.spec.management_cluster.machine_network)
    used = {i.ip for h in lab.hosts for i in h.interfaces}
    for address in reversed(list(network.hosts())):
        if str(address) not in used:
            return ipaddress.IPv4Interface(f"{address}/{network.prefixlen}")
    raise LabError(f"no free address left in the machine network {network} for an intruder")


def add_intruder(lab: Lab) -> Intruder:
    """Plug a new host into the machine network with its highest free address."""
    netns = netns_name(lab.name, HOST)
    port = f"{lab.state.lab_id}x0"
    switch = lab.topology.switch.netns
    address = _free_address(lab)
    journal = lab.journal()
    journal.add_namespaces([netns])
    journal.add_links([f"{switch}/{port}", f"{netns}/eth0"])
    ip_batch([f"netns add {netns}"])
    ip_batch(
        [
            f"link add {port} type veth peer name eth0 netns {netns}",
            f"link set {port} master {BRIDGES['machine']}",
            f"link set {port} up",
        ],
        netns=switch,
    )
    ip_batch(["link set lo up", f"addr add {address} dev eth0", "link set eth0 up"], netns=netns)
    return Intruder(netns, port, str(address.ip))


def try_to_peer(
    intruder: Intruder, router: str, asn: int, *, timeout: float = 3.0
) -> dict[str, Any]:
    """Run the BGP probe from the intruder towards `router`; its JSON report."""
    argv = [
        sys.executable, "-m", "hcplb.bench.bgpprobe", "--router", router, "--asn", str(asn),
        "--router-id", intruder.address, "--timeout", f"{timeout:g}",
    ]  # fmt: skip
    result = run(argv, timeout=timeout * 3 + 10, netns=intruder.netns)
    if not result.ok:
        raise LabError(f"the intruder's BGP probe failed: {result.stderr.strip()[-300:]}")
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def remove_intruder(lab: Lab, intruder: Intruder) -> None:
    """Unplug the intruder (its namespace goes, and its veth with it)."""
    result = run(["ip", "netns", "del", intruder.netns], timeout=LAB_SETUP_TIMEOUT)
    if not result.ok and "No such file" not in result.stderr:
        raise LabError(f"cannot remove {intruder.netns}: {result.stderr.strip()}")

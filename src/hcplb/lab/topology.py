"""The lab's hosts, links and addresses, derived from the site plan (pure, no side effects).

Two L2 segments, both bridges inside the `lan` switch namespace:

    machine (spec.managementCluster.machineNetwork): routers' eth0, nodes' eth0
    client  (spec.lab.clientNetwork):                routers' eth1, the client, the dns host

The client and the dns host default-route via every router at once (an ECMP default route),
so with two routers the client reaches a VIP through either; nodes default-route the same way
towards the machine-network addresses of the routers. A node's VIPs sit on its `lo`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from hcplb.errors import LabError
from hcplb.lab.state import netns_prefix
from hcplb.plan import SitePlan
from hcplb.spec.pools import pool_networks

Role = Literal["router", "node", "client", "dns", "switch"]
Segment = Literal["machine", "client"]

SWITCH = "lan"
CLIENT = "client"
DNS = "dns"
RESERVED = (SWITCH, CLIENT, DNS)
BRIDGES: dict[Segment, str] = {"machine": "br-machine", "client": "br-client"}
# The client hashes its ECMP default route on L4 so that its connections use every router.
L4_ECMP = (("net.ipv4.fib_multipath_hash_policy", "1"),)


@dataclass(frozen=True)
class Interface:
    """One host interface: a veth whose other end (`port`) is a port of a switch bridge."""

    name: str
    segment: Segment
    port: str
    address: str  # with prefix length, e.g. 192.168.125.1/24

    @property
    def ip(self) -> str:
        return self.address.split("/")[0]


@dataclass(frozen=True)
class Host:
    name: str
    role: Role
    netns: str
    interfaces: tuple[Interface, ...] = ()
    gateways: tuple[str, ...] = ()
    """default route nexthops; more than one makes an ECMP default route"""
    loopbacks: tuple[str, ...] = ()
    """addresses bound as /32 on lo (a node's VIPs)"""
    sysctls: tuple[tuple[str, str], ...] = ()
    """lab-only kernel settings (never a router's: those come from the render)"""

    def address(self, segment: Segment) -> str:
        for iface in self.interfaces:
            if iface.segment == segment:
                return iface.ip
        raise LabError(f"host {self.name} has no interface on the {segment} network")

    @property
    def primary_address(self) -> str:
        return self.interfaces[0].ip if self.interfaces else ""


@dataclass(frozen=True)
class Topology:
    lab: str
    lab_id: str
    hosts: tuple[Host, ...]

    def host(self, name: str) -> Host:
        for h in self.hosts:
            if h.name == name:
                return h
        names = ", ".join(h.name for h in self.hosts)
        raise LabError(f"lab {self.lab} has no host {name!r} (hosts: {names})")

    def by_role(self, role: Role) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if h.role == role)

    @property
    def switch(self) -> Host:
        return self.host(SWITCH)

    def ports(self) -> list[tuple[str, Segment]]:
        """Every switch port with the segment (bridge) it belongs to."""
        return [(i.port, i.segment) for h in self.hosts for i in h.interfaces]


def netns_name(lab: str, host: str) -> str:
    return f"{netns_prefix(lab)}{host}"


def port_name(lab_id: str, segment: Segment, index: int) -> str:
    """Switch-side veth name, unique in the lab, at most 15 characters (IFNAMSIZ)."""
    name = f"{lab_id}{segment[0]}{index}"
    assert len(name) <= 15, name
    return name


def _client_addresses(
    network: ipaddress.IPv4Network, routers: int
) -> tuple[list[ipaddress.IPv4Address], ipaddress.IPv4Address, ipaddress.IPv4Address]:
    """Routers take .1, .2, ...; the client .10 and the dns host .53 (or the last two)."""
    hosts = list(network.hosts())
    if len(hosts) < routers + 2:
        raise LabError(
            f"spec.lab.clientNetwork {network} is too small for {routers} router(s), the client "
            "and the dns host (hint: use a /24)"
        )
    if len(hosts) > 60 and routers < 9:
        return hosts[:routers], hosts[9], hosts[52]
    return hosts[:routers], hosts[-1], hosts[-2]


def _check_networks(
    plan: SitePlan, machine: ipaddress.IPv4Network, client: ipaddress.IPv4Network
) -> None:
    if machine.overlaps(client):
        raise LabError(
            f"spec.lab.clientNetwork {client} overlaps the machine network {machine} "
            "(hint: pick another private /24 for the lab client)"
        )
    for pool in plan.site.spec.pools:
        for net in pool_networks(pool.addresses):
            if net.version == 4 and net.overlaps(client):
                raise LabError(f"spec.lab.clientNetwork {client} overlaps pool {pool.name} ({net})")
    for c in plan.clusters:
        if ipaddress.ip_address(c.vip) in client:
            raise LabError(
                f"spec.lab.clientNetwork {client} contains the VIP {c.vip} of {c.cluster.name}"
            )
    for name in [r.name for r in plan.routers] + [n.name for n in plan.nodes]:
        if name in RESERVED:
            raise LabError(
                f"host name {name!r} is reserved in the lab ({', '.join(RESERVED)}) "
                "(hint: rename that router or node in the site spec)"
            )


def build_topology(
    plan: SitePlan,
    lab: str,
    lab_id: str,
    *,
    vips_by_node: Mapping[str, Sequence[str]],
) -> Topology:
    """Every host of the lab with its interfaces, default gateways and loopback addresses."""
    spec = plan.site.spec
    machine = ipaddress.IPv4Network(spec.management_cluster.machine_network)
    client_net = ipaddress.IPv4Network(spec.lab.client_network)
    _check_networks(plan, machine, client_net)
    router_client_ips, client_ip, dns_ip = _client_addresses(client_net, len(plan.routers))
    client_dns_ip = dns_ip
    dns_segment: Segment = "client"
    if spec.dns.primary is not None:
        primary = ipaddress.ip_address(spec.dns.primary)
        if primary in client_net:
            dns_ip = ipaddress.IPv4Address(primary)
        elif primary in machine:
            dns_ip, dns_segment = ipaddress.IPv4Address(primary), "machine"
        else:
            raise LabError(
                f"spec.dns.primary {primary} is in neither the machine network {machine} nor "
                f"spec.lab.clientNetwork {client_net}, so the lab cannot place its DNS server there"
            )
    counters = {"machine": 0, "client": 0}

    def iface(name: str, segment: Segment, ip: object, net: ipaddress.IPv4Network) -> Interface:
        index = counters[segment]
        counters[segment] += 1
        return Interface(name, segment, port_name(lab_id, segment, index), f"{ip}/{net.prefixlen}")

    hosts: list[Host] = [Host(SWITCH, "switch", netns_name(lab, SWITCH))]
    router_machine_ips = tuple(r.address for r in plan.routers)
    for router, cip in zip(plan.routers, router_client_ips, strict=True):
        hosts.append(
            Host(
                router.name,
                "router",
                netns_name(lab, router.name),
                (
                    iface("eth0", "machine", router.address, machine),
                    iface("eth1", "client", cip, client_net),
                ),
            )
        )
    for node in plan.nodes:
        hosts.append(
            Host(
                node.name,
                "node",
                netns_name(lab, node.name),
                (iface("eth0", "machine", node.address, machine),),
                gateways=router_machine_ips,
                loopbacks=tuple(vips_by_node.get(node.name, ())),
            )
        )
    client_gateways = tuple(str(ip) for ip in router_client_ips)
    hosts.append(
        Host(
            CLIENT,
            "client",
            netns_name(lab, CLIENT),
            (iface("eth0", "client", client_ip, client_net),),
            gateways=client_gateways,
            sysctls=L4_ECMP,
        )
    )
    dns_ifaces = [iface("eth0", "client", dns_ip, client_net)]
    if dns_segment == "machine":
        # spec.dns.primary on the node network: the server lives there, and the client (the
        # guide's bastion) reaches it on the client network too, as it does before `apply`
        # turns on the routers' forwarding (a bare lab)
        dns_ifaces = [
            iface("eth0", "machine", dns_ip, machine),
            iface("eth1", "client", client_dns_ip, client_net),
        ]
    hosts.append(
        Host(
            DNS,
            "dns",
            netns_name(lab, DNS),
            tuple(dns_ifaces),
            gateways=client_gateways if dns_segment == "client" else router_machine_ips,
        )
    )
    _check_unique_addresses(hosts)
    return Topology(lab, lab_id, tuple(hosts))


def _check_unique_addresses(hosts: list[Host]) -> None:
    seen: dict[str, str] = {}
    for host in hosts:
        for i in host.interfaces:
            if i.ip in seen:
                raise LabError(f"address {i.ip} of lab host {host.name} is also {seen[i.ip]}'s")
            seen[i.ip] = host.name

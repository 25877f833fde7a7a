"""The lab's hosts, links and addresses, derived from the site plan (pure, no side effects).

Two L2 segments, both bridges inside the `lan` switch namespace:

    machine (the machine network of each family): routers' eth0, nodes' eth0
    client  (the lab client network of each family): routers' eth1, the client, the dns host

Each family (IPv4, IPv6) of a dual-stack site gives every interface one more address; the
first address of an interface is of the site's primary family. The client and the dns host
default-route via every router at once (an ECMP default route per family), so with two
routers the client reaches a VIP through either; nodes default-route the same way towards the
machine-network addresses of the routers. A node's VIPs sit on its `lo`.
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
L4_ECMP = (
    ("net.ipv4.fib_multipath_hash_policy", "1"),
    ("net.ipv6.fib_multipath_hash_policy", "1"),
)
# Every lab namespace, before its links exist: no duplicate address detection (an IPv6 address
# stays `tentative`, unusable, for about a second otherwise, link-local ones included), so
# convergence waits for BGP, not for DAD. Lab addresses are unique by construction.
NO_DAD = (
    ("net.ipv6.conf.all.accept_dad", "0"),
    ("net.ipv6.conf.default.accept_dad", "0"),
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Interface:
    """One host interface: a veth whose other end (`port`) is a port of a switch bridge."""

    name: str
    segment: Segment
    port: str
    addresses: tuple[str, ...]
    """with prefix length, one per family, the primary family's first: 192.168.125.1/24"""

    @property
    def address(self) -> str:
        return self.addresses[0]

    @property
    def ip(self) -> str:
        return self.address.split("/")[0]

    @property
    def ips(self) -> tuple[str, ...]:
        return tuple(a.split("/")[0] for a in self.addresses)

    def ip_of(self, version: int) -> str | None:
        """The interface's address of IP version 4 or 6 (None if it has none)."""
        return next((ip for ip in self.ips if ip_version(ip) == version), None)


@dataclass(frozen=True)
class Host:
    name: str
    role: Role
    netns: str
    interfaces: tuple[Interface, ...] = ()
    gateways: tuple[str, ...] = ()
    """default route nexthops of every family; more than one of a family makes its default
    route ECMP"""
    loopbacks: tuple[str, ...] = ()
    """addresses bound as host routes (/32, /128) on lo (a node's VIPs)"""
    sysctls: tuple[tuple[str, str], ...] = ()
    """lab-only kernel settings (never a router's: those come from the render)"""

    def address(self, segment: Segment, version: int | None = None) -> str:
        """The host's address on `segment` (of IP `version`; default: the primary family)."""
        for iface in self.interfaces:
            if iface.segment == segment:
                found = iface.ip if version is None else iface.ip_of(version)
                if found is not None:
                    return found
        family = "" if version is None else f" IPv{version}"
        raise LabError(f"host {self.name} has no{family} address on the {segment} network")

    def addresses(self, segment: Segment) -> tuple[str, ...]:
        """Every address of the host on `segment`, the primary family's first."""
        return tuple(ip for i in self.interfaces if i.segment == segment for ip in i.ips)

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


def ip_version(address: str) -> int:
    return 6 if ":" in address else 4


def host_prefix(address: str) -> str:
    """The host route of an address: /32 for IPv4, /128 for IPv6."""
    return str(ipaddress.ip_network(address))


def _networks(cidrs: Sequence[str]) -> list[Network]:
    return [ipaddress.ip_network(c) for c in cidrs]


def _client_addresses(network: Network, routers: int) -> tuple[list[str], str, str]:
    """Routers take .1, .2, ...; the client .10 and the dns host .53 (or the last two).

    By index, never by listing the network's hosts (an IPv6 /64 has 2**64)."""
    usable = network.num_addresses - (2 if network.version == 4 else 1)
    if usable < routers + 2:
        raise LabError(
            f"lab client network {network} is too small for {routers} router(s), the client "
            "and the dns host (hint: use a /24, or a /64 for IPv6)"
        )
    first = list(range(1, routers + 1))
    if network.version == 6 and routers < 9:  # written ::10 and ::53, as IPv4's .10 and .53
        return [str(network[i]) for i in first], str(network[0x10]), str(network[0x53])
    if usable > 60 and routers < 9:
        return [str(network[i]) for i in first], str(network[10]), str(network[53])
    return [str(network[i]) for i in first], str(network[usable]), str(network[usable - 1])


def _check_networks(plan: SitePlan, machines: list[Network], clients: list[Network]) -> None:
    for client in clients:
        for machine in machines:
            if machine.version == client.version and machine.overlaps(client):
                raise LabError(
                    f"lab client network {client} overlaps the machine network {machine} "
                    "(hint: pick another private network for the lab client)"
                )
        for pool in plan.site.spec.pools:
            for net in pool_networks(pool.addresses):
                if net.version == client.version and net.overlaps(client):
                    raise LabError(f"lab client network {client} overlaps pool {pool.name} ({net})")
        for c in plan.clusters:
            if ipaddress.ip_address(c.vip) in client:
                raise LabError(
                    f"lab client network {client} contains the VIP {c.vip} of {c.cluster.name}"
                )
    for c in plan.clusters:
        version = ip_version(c.vip)
        if not any(n.version == version for n in clients):
            raise LabError(
                f"the lab has no IPv{version} client network to reach {c.cluster.name}'s VIP "
                f"{c.vip} (hint: add an IPv{version} network to spec.lab.clientNetworks)"
            )
    for name in [r.name for r in plan.routers] + [n.name for n in plan.nodes]:
        if name in RESERVED:
            raise LabError(
                f"host name {name!r} is reserved in the lab ({', '.join(RESERVED)}) "
                "(hint: rename that router or node in the site spec)"
            )


def _with_prefix(addresses: Sequence[str], networks: Sequence[Network]) -> tuple[str, ...]:
    """Each address with the prefix length of the network (of its family) holding it."""
    out = []
    for address in addresses:
        ip = ipaddress.ip_address(address)
        net = next((n for n in networks if ip in n), None)
        if net is None:
            nets = ", ".join(str(n) for n in networks)
            raise LabError(f"lab address {address} is in none of the lab's networks ({nets})")
        out.append(f"{address}/{net.prefixlen}")
    return tuple(out)


def _dns_placement(
    plan: SitePlan, machines: list[Network], clients: list[Network]
) -> tuple[str | None, Segment]:
    """Where spec.dns.primary puts the lab's DNS server: (its address, its segment)."""
    if plan.site.spec.dns.primary is None:
        return None, "client"
    primary = ipaddress.ip_address(plan.site.spec.dns.primary)
    if any(primary in n for n in clients):
        return str(primary), "client"
    if any(primary in n for n in machines):
        return str(primary), "machine"
    raise LabError(
        f"spec.dns.primary {primary} is in neither the machine network "
        f"({', '.join(str(n) for n in machines)}) nor the lab client network "
        f"({', '.join(str(n) for n in clients)}), so the lab cannot place its DNS server there"
    )


def build_topology(
    plan: SitePlan,
    lab: str,
    lab_id: str,
    *,
    vips_by_node: Mapping[str, Sequence[str]],
) -> Topology:
    """Every host of the lab with its interfaces, default gateways and loopback addresses."""
    machines = _networks(plan.machine_networks)
    clients = _networks(plan.client_networks)
    _check_networks(plan, machines, clients)
    # per client network (family): the routers' addresses, the client's, the dns host's
    on_client = [_client_addresses(net, len(plan.routers)) for net in clients]
    router_client_ips = [[per[0][i] for per in on_client] for i in range(len(plan.routers))]
    client_ips = [per[1] for per in on_client]
    client_dns_ips = [per[2] for per in on_client]
    primary, dns_segment = _dns_placement(plan, machines, clients)
    counters = {"machine": 0, "client": 0}

    def iface(name: str, segment: Segment, ips: Sequence[str]) -> Interface:
        index = counters[segment]
        counters[segment] += 1
        nets = machines if segment == "machine" else clients
        return Interface(name, segment, port_name(lab_id, segment, index), _with_prefix(ips, nets))

    hosts: list[Host] = [Host(SWITCH, "switch", netns_name(lab, SWITCH))]
    router_machine_ips = tuple(ip for r in plan.routers for ip in r.addresses)
    for router, cips in zip(plan.routers, router_client_ips, strict=True):
        hosts.append(
            Host(
                router.name,
                "router",
                netns_name(lab, router.name),
                (iface("eth0", "machine", router.addresses), iface("eth1", "client", cips)),
                sysctls=NO_DAD,
            )
        )
    for node in plan.nodes:
        hosts.append(
            Host(
                node.name,
                "node",
                netns_name(lab, node.name),
                (iface("eth0", "machine", node.addresses),),
                gateways=router_machine_ips,
                loopbacks=tuple(vips_by_node.get(node.name, ())),
                sysctls=NO_DAD,
            )
        )
    client_gateways = tuple(ip for cips in router_client_ips for ip in cips)
    hosts.append(
        Host(
            CLIENT,
            "client",
            netns_name(lab, CLIENT),
            (iface("eth0", "client", client_ips),),
            gateways=client_gateways,
            sysctls=NO_DAD + L4_ECMP,
        )
    )
    dns_ifaces: tuple[Interface, ...]
    if dns_segment == "machine":
        # spec.dns.primary on the node network: the server lives there, and the client (the
        # guide's bastion) reaches it on the client network too, as it does before `apply`
        # turns on the routers' forwarding (a bare lab)
        dns_ifaces = (
            iface("eth0", "machine", [primary or ""]),
            iface("eth1", "client", client_dns_ips),
        )
    else:
        ips = [
            primary if primary and ip_version(primary) == ip_version(ip) else ip
            for ip in client_dns_ips
        ]
        dns_ifaces = (iface("eth0", "client", ips),)
    hosts.append(
        Host(
            DNS,
            "dns",
            netns_name(lab, DNS),
            dns_ifaces,
            gateways=client_gateways if dns_segment == "client" else router_machine_ips,
            sysctls=NO_DAD,
        )
    )
    _check_unique_addresses(hosts)
    return Topology(lab, lab_id, tuple(hosts))


def _check_unique_addresses(hosts: list[Host]) -> None:
    seen: dict[str, str] = {}
    for host in hosts:
        for i in host.interfaces:
            for ip in i.ips:
                if ip in seen:
                    raise LabError(f"address {ip} of lab host {host.name} is also {seen[ip]}'s")
                seen[ip] = host.name

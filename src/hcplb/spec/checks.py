"""Checks across fields of a shape-valid site.

Each yields PathProblems: a problem located by YAML path, which the loader places at
file:line as an `hcplb.errors.Problem`.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from hcplb.spec.families import (
    address_loc,
    check_families,
    cluster_blocks_of_other_family,
    cluster_family,
)
from hcplb.spec.models import Pool, Site, family_of
from hcplb.spec.pools import pool_networks, pool_usable_count

# RFC 6996 / RFC 7300 private ASNs; others are public (or reserved, RFC 5398 documentation).
_PRIVATE_16 = range(64512, 65535)
_PRIVATE_32 = range(4200000000, 4294967295)
# FRR's compile-time MULTIPATH_NUM on Debian and RHEL builds: the most ECMP paths (one per node)
# a router installs for one VIP.
MAX_ECMP_PATHS = 256


PUBLIC_ASN_HINT = "use a private ASN (64512-65534 or 4200000000-4294967294) unless you own this one"


def is_private_asn(asn: int) -> bool:
    """RFC 6996 private ranges; the spec checks and lint share this one test."""
    return asn in _PRIVATE_16 or asn in _PRIVATE_32


@dataclass(frozen=True)
class PathProblem:
    loc: tuple[str | int, ...]
    message: str
    hint: str = ""
    severity: str = "error"


def _router(i: int, *rest: str | int) -> tuple[str | int, ...]:
    return ("spec", "routers", i, *rest)


def _node(i: int, *rest: str | int) -> tuple[str | int, ...]:
    return ("spec", "managementCluster", "nodes", i, *rest)


def _hc(i: int, *rest: str | int) -> tuple[str | int, ...]:
    return ("spec", "hostedClusters", i, *rest)


def _duplicates(names: Sequence[str]) -> Iterator[tuple[int, str]]:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            yield index, name
        seen.add(name)


def _check_asns(site: Site) -> Iterator[PathProblem]:
    spec = site.spec
    asns = [(_router(i, "asn"), r.asn) for i, r in enumerate(spec.routers)]
    asns.append((("spec", "managementCluster", "asn"), spec.management_cluster.asn))
    asns += [(_node(i, "asn"), n.asn) for i, n in enumerate(spec.management_cluster.nodes) if n.asn]
    for loc, asn in asns:
        if not is_private_asn(asn):
            yield PathProblem(loc, f"ASN {asn} is public", PUBLIC_ASN_HINT, "warning")


def _check_names(site: Site) -> Iterator[PathProblem]:
    spec = site.spec
    for i, name in _duplicates([r.name for r in spec.routers]):
        yield PathProblem(
            _router(i, "name"), f"router name {name!r} is used twice", "names are unique"
        )
    for i, name in _duplicates([n.name for n in spec.management_cluster.nodes]):
        yield PathProblem(_node(i, "name"), f"node name {name!r} is used twice", "names are unique")
    for i, name in _duplicates([p.name for p in spec.pools]):
        yield PathProblem(("spec", "pools", i, "name"), f"pool {name!r} is defined twice", "")
    keys = [f"{c.namespace}/{c.name}" for c in spec.hosted_clusters]
    for i, key in _duplicates(keys):
        yield PathProblem(_hc(i, "name"), f"hosted cluster {key} is defined twice", "")
    reserved = {"client", "dns", "lan"}
    for i, r in enumerate(spec.routers):
        if r.name in reserved:
            yield PathProblem(
                _router(i, "name"), f"{r.name!r} is reserved for the lab", "rename it"
            )
        if r.name in {n.name for n in spec.management_cluster.nodes}:
            yield PathProblem(_router(i, "name"), f"{r.name!r} is also a node name", "rename it")
    for i, n in enumerate(spec.management_cluster.nodes):
        if n.name in reserved:
            yield PathProblem(_node(i, "name"), f"{n.name!r} is reserved for the lab", "rename it")
    for i, c in enumerate(spec.hosted_clusters):
        if len(c.control_plane_namespace) > 63:
            yield PathProblem(
                _hc(i, "name"),
                f"control-plane namespace {c.control_plane_namespace!r} is longer than 63",
                "shorten the namespace or the name",
            )


def _check_addresses(site: Site) -> Iterator[PathProblem]:
    spec = site.spec
    mc = spec.management_cluster
    machines = {family_of(n): ipaddress.ip_network(n) for n in mc.machine_networks}
    owners: dict[str, tuple[str | int, ...]] = {}
    for i, r in enumerate(spec.routers):
        for j, address in enumerate(r.addresses):
            loc = address_loc(_router(i), r, j)
            if address in owners:
                yield PathProblem(loc, f"address {address} is used twice", "")
            owners[address] = loc
            machine = machines.get(family_of(address))
            if machine is not None and ipaddress.ip_address(address) not in machine:
                yield PathProblem(
                    loc,
                    f"router address {address} is outside the machine network {machine}",
                    "the nodes reach the router directly on the machine network; "
                    "a router elsewhere needs eBGP multihop, which hcplb does not render",
                )
    for i, rid in _duplicates([r.router_id for r in spec.routers]):
        yield PathProblem(_router(i, "routerId"), f"router-id {rid} is used twice", "")
    for i, n in enumerate(mc.nodes):
        for j, address in enumerate(n.addresses):
            loc = address_loc(_node(i), n, j)
            if address in owners:
                yield PathProblem(loc, f"address {address} is used twice", "")
            owners[address] = loc
            machine = machines.get(family_of(address))
            addr = ipaddress.ip_address(address)
            if machine is None:
                continue
            if addr not in machine:
                yield PathProblem(
                    loc,
                    f"node address {address} is outside the machine network {machine}",
                    "fix the address or the network; a node on another network needs eBGP multihop",
                )
            elif (
                isinstance(machine, ipaddress.IPv4Network)
                and addr in (machine.network_address, machine.broadcast_address)
                and machine.prefixlen < 31
            ):
                yield PathProblem(loc, f"{address} is not a host address of {machine}", "")
    lab_nets = [ipaddress.ip_network(n) for n in spec.lab.client_networks] or [
        ipaddress.ip_network(spec.lab.client_network)
    ]
    for lab_net in lab_nets:
        for machine in machines.values():
            if lab_net.version == machine.version and lab_net.overlaps(machine):
                yield PathProblem(
                    ("spec", "lab", "clientNetwork"),
                    f"client network {lab_net} overlaps the machine network {machine}",
                    "pick a separate network for the lab's client",
                )
    for i, pool in enumerate(spec.pools):
        loc = ("spec", "pools", i, "addresses")
        nets = pool_networks(pool.addresses)
        on_machine = [str(m) for m in machines.values() if any(_overlap(net, m) for net in nets)]
        if on_machine:  # one finding per pool, not per fragment
            yield PathProblem(
                loc,
                f"pool {pool.name} ({', '.join(pool.addresses)}) overlaps the machine network "
                f"{' and '.join(on_machine)}: legal in BGP mode (a VIP's "
                f"{' or '.join(sorted({f'/{n.max_prefixlen}' for n in nets}))} is more specific "
                "than the connected route), but hosts on that network reach the VIP "
                "without the router, so ECMP and the router's policy do not apply to them, and "
                "the addresses must stay out of DHCP and node use",
                "prefer a pool outside the machine network; keep it here only if nothing on the "
                "node network must be balanced across nodes",
                severity="warning",
            )
        for net in nets:
            for owner in owners:
                if ipaddress.ip_address(owner) in net:
                    yield PathProblem(
                        loc, f"pool {pool.name} contains {owner}, a router or node", ""
                    )
            if any(_overlap(net, lab_net) for lab_net in lab_nets):
                yield PathProblem(
                    loc, f"pool {pool.name} ({net}) overlaps the lab client network", ""
                )
        for j, other in enumerate(spec.pools[:i]):
            for net in nets:
                if any(_overlap(net, o) for o in pool_networks(other.addresses)):
                    yield PathProblem(
                        loc,
                        f"pool {pool.name} overlaps pool {other.name}",
                        f"pools are disjoint; see spec.pools[{j}]",
                    )
                    break


def _overlap(
    a: ipaddress.IPv4Network | ipaddress.IPv6Network,
    b: ipaddress.IPv4Network | ipaddress.IPv6Network,
) -> bool:
    return a.version == b.version and a.overlaps(b)


def _check_clusters(site: Site) -> Iterator[PathProblem]:
    spec = site.spec
    pools = {p.name: p for p in spec.pools}
    machines = [ipaddress.ip_network(n) for n in spec.management_cluster.machine_networks]
    fixed = Counter(c.vip for c in spec.hosted_clusters if c.vip)
    demand: Counter[tuple[str, int]] = Counter()
    for i, c in enumerate(spec.hosted_clusters):
        pool = pools.get(c.pool) if c.pool else None
        if c.pool and pool is None:
            known = ", ".join(sorted(pools)) or "none defined"
            yield PathProblem(_hc(i, "pool"), f"pool {c.pool!r} is not defined", f"pools: {known}")
        if c.vip:
            vip = ipaddress.ip_address(c.vip)
            if fixed[c.vip] > 1:
                yield PathProblem(
                    _hc(i, "vip"), f"VIP {c.vip} is used by more than one cluster", ""
                )
            if pool is not None and not any(vip in n for n in pool_networks(pool.addresses)):
                yield PathProblem(
                    _hc(i, "vip"),
                    f"VIP {c.vip} is not inside pool {pool.name}",
                    f"pool {pool.name} has {', '.join(pool.addresses)}",
                )
            if (
                any(vip in m for m in machines) and pool is None
            ):  # with a pool, the pool's warning says it
                yield PathProblem(
                    _hc(i, "vip"),
                    f"VIP {c.vip} is inside the machine network: hosts on it reach the VIP "
                    "without the router",
                    "a BGP-announced VIP usually lives outside the node network",
                    severity="warning",
                )
            if (
                pool is None
                and not c.pool
                and spec.pools
                and not any(vip in n for p in spec.pools for n in pool_networks(p.addresses))
            ):
                yield PathProblem(
                    _hc(i, "vip"),
                    f"VIP {c.vip} is in no pool; the router will accept exactly this "
                    f"/{vip.max_prefixlen}",
                    "name the pool it belongs to",
                    "warning",
                )
        elif pool is not None:
            demand[(pool.name, cluster_family(site, c))] += 1
    for loc, message, hint in cluster_blocks_of_other_family(site):
        yield PathProblem(loc, message, hint, "warning")
    for (name, family), wanted in demand.items():
        pool = pools[name]
        free = pool_usable_count(pool, list(fixed), family)
        if free < wanted and _has_family(pool.addresses, family):  # else families.py says it
            index = next(i for i, p in enumerate(spec.pools) if p.name == name)
            what = "" if family == 4 and _single_family(spec.pools) else f"IPv{family} "
            yield PathProblem(
                ("spec", "pools", index, "addresses"),
                f"pool {name} has {free} free {what}addresses for {wanted} clusters",
                "widen the pool or give some clusters a fixed vip",
            )


def _has_family(entries: list[str], family: int) -> bool:
    return any(n.version == family for n in pool_networks(entries))


def _single_family(pools: list[Pool]) -> bool:
    """No IPv6 anywhere in the pools: messages keep the IPv4-only wording."""
    return all(n.version == 4 for p in pools for n in pool_networks(p.addresses))


_FRR_TIMER_MAX = 65535  # `neighbor X timers (0-65535) (0-65535)`


def _check_bgp(site: Site) -> Iterator[PathProblem]:
    bgp = site.spec.bgp
    if bgp.hold_time != 0 and bgp.hold_time < 3:
        yield PathProblem(("spec", "bgp", "holdTime"), "hold time must be 0 or at least 3s", "")
    for key, value in (("holdTime", bgp.hold_time), ("keepaliveTime", bgp.keepalive_time)):
        if value > _FRR_TIMER_MAX:
            yield PathProblem(
                ("spec", "bgp", key),
                f"{value:g}s is longer than FRR's BGP timers allow ({_FRR_TIMER_MAX}s)",
                "the usual hold time is 90s (keepalive 30s); BFD detects failures faster",
            )
    if bgp.hold_time != int(bgp.hold_time) or bgp.keepalive_time != int(bgp.keepalive_time):
        yield PathProblem(("spec", "bgp", "holdTime"), "BGP timers are whole seconds", "")
    if bgp.keepalive_time > bgp.hold_time:
        yield PathProblem(
            ("spec", "bgp", "keepaliveTime"),
            f"keepalive {bgp.keepalive_time:g}s is longer than hold {bgp.hold_time:g}s",
            "keepalive is at most the hold time, usually a third of it",
        )
    if not 1 <= bgp.connect_time <= 65535 or bgp.connect_time != int(bgp.connect_time):
        yield PathProblem(
            ("spec", "bgp", "connectTime"), "connect time is 1 to 65535 whole seconds", ""
        )
    if bgp.bfd is None:
        yield PathProblem(
            ("spec", "bgp", "bfd"),
            "BFD is off: a failed node is detected only by the BGP hold timer",
            "keep the default BFD profile unless the router cannot run bfdd",
            "warning",
        )
    if bgp.peering == "dynamic":
        for i, n in enumerate(site.spec.management_cluster.nodes):
            if n.asn is not None and n.asn != site.spec.management_cluster.asn:
                yield PathProblem(
                    _node(i, "asn"),
                    "per-node ASNs need static peering",
                    "set spec.bgp.peering: static",
                )
    dns = site.spec.dns
    if dns.tsig_key is not None and dns.primary is None:
        yield PathProblem(
            ("spec", "dns", "primary"), "a TSIG key is set but no primary", "add primary"
        )


def _check_ecmp(site: Site) -> Iterator[PathProblem]:
    nodes = len(site.spec.management_cluster.nodes)
    if nodes > MAX_ECMP_PATHS:
        yield PathProblem(
            ("spec", "managementCluster", "nodes"),
            f"{nodes} nodes exceed FRR's {MAX_ECMP_PATHS} ECMP paths: a router could not use "
            "every node for a VIP",
            f"peer at most {MAX_ECMP_PATHS} nodes with the routers (list only the nodes that "
            "run the speakers)",
        )


def _check_fleet(site: Site) -> Iterator[PathProblem]:
    """Shared pools and ExternalDNS: what MetalLB and ExternalDNS pick must stay theirs."""
    spec = site.spec
    shared = {p.name: p for p in spec.pools if p.assignment == "shared"}
    shared_nets = [(p.name, pool_networks(p.addresses)) for p in shared.values()]
    for i, c in enumerate(spec.hosted_clusters):
        if c.pool in shared and c.vip:
            yield PathProblem(
                _hc(i, "vip"),
                f"pool {c.pool} is shared: MetalLB picks the VIP, a fixed one cannot be asked for "
                "(HyperShift's Service requests no address)",
                "remove vip, or take it from a pool with assignment: pinned",
            )
        elif c.vip:
            vip = ipaddress.ip_address(c.vip)
            for name, nets in shared_nets:
                if any(vip in n for n in nets):
                    yield PathProblem(
                        _hc(i, "vip"),
                        f"VIP {c.vip} is inside shared pool {name}: MetalLB may hand it to "
                        "another hosted cluster",
                        "take fixed VIPs from a pinned pool outside the shared one",
                    )
    dns = spec.dns
    in_shared = [i for i, c in enumerate(spec.hosted_clusters) if c.pool in shared]
    if dns.provider == "static" and in_shared:
        yield PathProblem(
            _hc(in_shared[0], "pool"),
            "with a shared pool MetalLB picks each VIP; static DNS records assume the VIPs are "
            "handed out in spec order, which holds only if the clusters are created in that order",
            "set spec.dns.provider: externaldns to publish the VIP MetalLB actually picks",
            "warning",
        )
    if dns.provider == "externaldns":
        for key, value in (("primary", dns.primary), ("tsigKey", dns.tsig_key), ("zone", dns.zone)):
            if value is None:
                yield PathProblem(
                    ("spec", "dns", key),
                    f"dns.provider externaldns needs dns.{key}: ExternalDNS sends RFC 2136 "
                    "updates signed with the TSIG key to the primary, for one zone",
                    f"add spec.dns.{key}",
                )


def check_site(site: Site) -> list[PathProblem]:
    """Every cross-field problem of a site, errors and warnings."""
    findings: list[PathProblem] = []
    checks = (
        _check_names,
        _check_addresses,
        _check_clusters,
        _check_bgp,
        _check_asns,
        _check_ecmp,
        _check_fleet,
    )
    for check in checks:
        findings.extend(check(site))
    findings.extend(PathProblem(loc, msg, hint) for loc, msg, hint in check_families(site))
    return findings

"""The MetalLB controller's IP allocation, made deterministic.

Services converge in the order given (as if created in that order). A Service keeps the
addresses in its `status.loadBalancer.ingress` when the configuration still allows them. Then,
as the controller does: requested addresses (`metallb.io/loadBalancerIPs`, or the deprecated
`metallb.universe.tf/` prefix, or `spec.loadBalancerIP`) must lie in a pool that serves the
Service; a requested pool (`metallb.io/address-pool`) hands out its first free address
whatever its `autoAssign`; otherwise pools pinned by `serviceAllocation` to the Service (by
namespace or selector, `autoAssign` ones, lower `priority` first, 0 last) are tried before the
unpinned `autoAssign` pools. Where MetalLB iterates a Go map, pools are taken by name.
Addresses are handed out first-free in CIDR order, `.0`/`.255` included unless `avoidBuggyIPs`.
Sharing (`allow-shared-ip`) needs equal keys, disjoint ports and, for Local traffic, equal
selectors.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field

from hcplb.metallb.model import Address, MetallbConfig, Network, Pool
from hcplb.metallb.objects import ServiceView

__all__ = ["Allocation", "AllocationResult", "allocate"]


@dataclass(frozen=True)
class Allocation:
    """The addresses one Service got and the pool they came from (`ip-allocated-from-pool`)."""

    service: str
    ips: tuple[str, ...]
    pool: str


@dataclass(frozen=True)
class AllocationResult:
    allocations: dict[str, Allocation] = field(default_factory=dict)
    unallocated: dict[str, str] = field(default_factory=dict)


class _Refused(Exception):
    """This Service cannot get an address; the message is the reason."""


@dataclass(frozen=True)
class _User:
    service: str
    sharing: str
    backend: str
    ports: frozenset[tuple[str, int]]


class _Allocator:
    def __init__(self, config: MetallbConfig) -> None:
        self.config = config
        self.users: dict[tuple[int, int], list[_User]] = {}  # by (version, int) of the address
        self.floors: dict[tuple[str, Network], int] = {}  # see _free

    # -- sharing -----------------------------------------------------------------------------

    def _user(self, svc: ServiceView) -> _User:
        backend = ",".join(f"{k}={v}" for k, v in svc.selector) if svc.local_traffic else ""
        return _User(svc.key, svc.annotation("allow-shared-ip"), backend, frozenset(svc.ports))

    def _conflict(self, me: _User, ip: Address) -> str:
        """Why `me` cannot use `ip`, or "" if it can."""
        for other in self.users.get((ip.version, int(ip)), ()):
            if other.service == me.service:
                continue
            if not other.sharing or not me.sharing:
                return f"address {ip} is already in use by {other.service}"
            if other.sharing != me.sharing:
                return (
                    f'sharing key "{me.sharing}" does not match existing sharing key '
                    f'"{other.sharing}" of {other.service} on {ip}'
                )
            if other.backend != me.backend:
                return f"backend of {other.service} on {ip} differs (externalTrafficPolicy Local)"
            clash = sorted(me.ports & other.ports)
            if clash:
                proto, port = clash[0]
                return f"port {proto}/{port} is already in use on {ip} by {other.service}"
        return ""

    # -- assignment --------------------------------------------------------------------------

    def assign(self, svc: ServiceView, ips: tuple[Address, ...]) -> Allocation:
        """MetalLB's Assign: the addresses must lie in one pool serving the Service, and be free."""
        pool = self.config.pool_for(ips)
        shown = ",".join(str(ip) for ip in ips)
        if pool is None:
            raise _Refused(f'"{shown}" is not allowed in config: no IPAddressPool holds it')
        if pool.allocation is not None and not pool.allocation.serves(svc.namespace, svc.labels):
            raise _Refused(
                f"pool {pool.name} not compatible for ip assignment: its serviceAllocation "
                f"does not select {svc.key}"
            )
        if len(ips) > 2:
            raise _Refused(f"more than two addresses {shown}")
        if len(ips) == 2 and ips[0].version == ips[1].version:
            raise _Refused(f"{ips[0]} {ips[1]} has the same family")
        me = self._user(svc)
        for ip in ips:
            reason = self._conflict(me, ip)
            if reason:
                raise _Refused(reason)
        for ip in ips:
            self.users.setdefault((ip.version, int(ip)), []).append(me)
        return Allocation(svc.key, tuple(str(ip) for ip in ips), pool.name)

    def _free(self, pool: Pool, svc: ServiceView) -> dict[int, Address]:
        """The first usable address of each IP version in the pool (getFreeIPsFromPool).

        A Service that does not share starts at the pool's floor: below it every address is
        taken (or a skipped .0/.255), which keeps allocating N Services from one pool O(N).
        """
        me = self._user(svc)
        found: dict[int, Address] = {}
        for net in pool.cidrs:
            if net.version in found:
                continue
            cls = ipaddress.IPv4Address if net.version == 4 else ipaddress.IPv6Address
            first = int(net.network_address)
            floor_key = (pool.name, net)
            start = 0 if me.sharing else self.floors.get(floor_key, 0)
            for offset in range(start, net.num_addresses):
                value = first + offset
                if pool.avoid_buggy_ips and net.version == 4 and value % 256 in (0, 255):
                    continue
                users = self.users.get((net.version, value), ())
                if any(u.service != me.service for u in users) and (
                    not me.sharing or self._conflict(me, cls(value))
                ):
                    continue
                if not me.sharing:
                    self.floors[floor_key] = offset
                found[net.version] = cls(value)
                break
        return found

    def _select(self, free: dict[int, Address], svc: ServiceView) -> tuple[Address, ...] | None:
        """selectIPsForFamilyAndPolicy: the addresses the Service takes from one pool, if any."""
        if svc.family in ("ipv4", "ipv6"):
            ip = free.get(int(svc.family[-1]))
            return (ip,) if ip is not None else None
        if 4 in free and 6 in free:
            return (free[4], free[6])
        if svc.family_policy == "PreferDualStack" and free:
            return (free.get(4) or free[6],)
        return None

    def from_pools(self, pools: Sequence[Pool], svc: ServiceView) -> Allocation | None:
        """findBestPoolForService + assign: the first pool with addresses of the right family."""
        fallback: tuple[Pool, tuple[Address, ...]] | None = None
        for pool in pools:
            free = self._free(pool, svc)
            ips = self._select(free, svc)
            if ips is None:
                continue
            if len(ips) == 2 or svc.family != "dual":
                return self.assign(svc, ips)
            fallback = fallback or (pool, ips)
        return self.assign(svc, fallback[1]) if fallback else None

    def pinned(self, svc: ServiceView) -> list[Pool]:
        pools = [
            p
            for p in self.config.pools
            if p.allocation is not None
            and p.auto_assign
            and (svc.namespace in p.allocation.namespaces or p.allocation.service_selectors)
            and p.allocation.serves(svc.namespace, svc.labels)
        ]
        return sorted(pools, key=_priority)

    def unpinned(self) -> list[Pool]:
        pools = [p for p in self.config.pools if p.auto_assign and p.allocation is None]
        return sorted(pools, key=lambda p: p.name)


def _priority(pool: Pool) -> tuple[int, int, str]:
    prio = pool.allocation.priority if pool.allocation else 0
    return (0, prio, pool.name) if prio > 0 else (1, 0, pool.name)


def _requested(svc: ServiceView) -> tuple[Address, ...]:
    """getDesiredLbIPs: the addresses the Service asks for, if any."""
    annotation = svc.annotation("loadBalancerIPs")
    if annotation and svc.load_balancer_ip:
        raise _Refused(
            "service can not have both metallb.io/loadBalancerIPs and svc.Spec.LoadBalancerIP"
        )
    text = annotation or svc.load_balancer_ip
    if not text:
        return ()
    try:
        return tuple(ipaddress.ip_address(part.strip()) for part in text.split(","))
    except ValueError:
        what = "metallb.io/loadBalancerIPs" if annotation else "spec.loadBalancerIP"
        raise _Refused(f'invalid {what}: "{text}"') from None


def _family_of(ips: tuple[Address, ...]) -> str:
    versions = {ip.version for ip in ips}
    return "dual" if len(versions) == 2 else f"ipv{versions.pop()}"


def _converge(alloc: _Allocator, svc: ServiceView) -> Allocation:
    wanted = _requested(svc)
    wanted_pool = svc.annotation("address-pool")
    if svc.ingress:
        try:
            current = tuple(ipaddress.ip_address(ip) for ip in svc.ingress)
        except ValueError:
            current = ()
        keep = current and (not wanted or set(wanted) == set(current))
        if keep:
            try:
                kept = alloc.assign(svc, current)
            except _Refused:
                pass
            else:
                if not wanted_pool or kept.pool == wanted_pool:
                    return kept
                _release(alloc, svc.key)
    if wanted:
        if _family_of(wanted) != svc.family:
            shown = ",".join(str(ip) for ip in wanted)
            raise _Refused(
                f'requested loadBalancer IP(s) "{shown}" does not match the ipFamily of the service'
            )
        got = alloc.assign(svc, wanted)
        if wanted_pool and got.pool != wanted_pool:
            _release(alloc, svc.key)
            raise _Refused(
                f'requested loadBalancer IP(s) "{",".join(got.ips)}" is not compatible with '
                f"requested address pool {wanted_pool}"
            )
        return got
    if wanted_pool:
        pool = alloc.config.pool(wanted_pool)
        if pool is None:
            raise _Refused(f'unknown pool "{wanted_pool}"')
        got_from = alloc.from_pools([pool], svc)
        if got_from is None:
            raise _Refused(f"pool exhausted: no available IPs in pool {pool.name}")
        return got_from
    for pools in (alloc.pinned(svc), alloc.unpinned()):
        got_any = alloc.from_pools(pools, svc)
        if got_any is not None:
            return got_any
    candidates = alloc.pinned(svc) + alloc.unpinned()
    if not candidates:
        raise _Refused("no pool selects this service")
    names = ", ".join(p.name for p in candidates)
    needed = {4, 6} if svc.family == "dual" else {int(svc.family[-1])}
    if not any(n.version in needed for p in candidates for n in p.cidrs):
        raise _Refused(f"no suitable pool for {svc.family} IPFamily (candidates: {names})")
    raise _Refused(f"pool exhausted: no available IPs in {names}")


def _release(alloc: _Allocator, key: str) -> None:
    alloc.floors.clear()
    for users in alloc.users.values():
        users[:] = [u for u in users if u.service != key]


def allocate(config: MetallbConfig, services: Sequence[ServiceView]) -> AllocationResult:
    """What the controller assigns to each LoadBalancer Service MetalLB handles."""
    alloc = _Allocator(config)
    result = AllocationResult()
    for svc in services:
        if svc.type != "LoadBalancer" or svc.load_balancer_class != config.load_balancer_class:
            continue
        if svc.key in result.allocations or svc.key in result.unallocated:
            continue
        if not config.pools:
            result.unallocated[svc.key] = "no IPAddressPool configured"
            continue
        try:
            result.allocations[svc.key] = _converge(alloc, svc)
        except _Refused as refused:
            result.unallocated[svc.key] = str(refused)
    return result

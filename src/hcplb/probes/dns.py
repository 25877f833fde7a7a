"""DNS probes: `api` and `api-int` of every hosted cluster resolve to its VIP on every
resolver, and the resolvers agree. Questions are asked by `client.dns_query` at the vantage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hcplb.probes import hints
from hcplb.probes.client import Task
from hcplb.probes.expect import SiteExpect
from hcplb.probes.model import Probe, fail, passed, skip, warn

__all__ = ["dns_tasks", "evaluate_dns"]

SYSTEM = "dns"


def _names(expect: SiteExpect) -> list[tuple[str, str]]:
    """(name, VIP) for every API name, in spec order."""
    pairs = []
    for c in expect.clusters:
        pairs += [(c.api_name, c.vip), (c.api_int_name, c.vip)]
    return pairs


def record_type(vip: str) -> str:
    """The record type answering a VIP: A, or AAAA for an IPv6 one."""
    return "AAAA" if ":" in vip else "A"


def _id(resolver: str, name: str, vip: str) -> str:
    """`dns/RESOLVER/NAME`, with `/AAAA` for an IPv6 VIP's name."""
    suffix = "/AAAA" if record_type(vip) == "AAAA" else ""
    return f"dns/{resolver}/{name}{suffix}"


def dns_tasks(expect: SiteExpect, resolvers: Sequence[str], *, timeout: float) -> list[Task]:
    return [
        {
            "id": _id(r, name, vip),
            "kind": "dns",
            "resolver": r,
            "name": name,
            "type": record_type(vip),
            "timeout": timeout,
        }
        for r in resolvers
        for name, vip in _names(expect)
    ]


def _observed(result: Mapping[str, Any], rtype: str) -> str:
    status = str(result.get("status", "error"))
    addresses = list(result.get("addresses") or [])
    if status == "NOERROR":
        return f"{rtype} " + ", ".join(addresses) if addresses else f"NOERROR, no {rtype} record"
    return status if status not in ("timeout", "error") else f"{status}: {result.get('error', '')}"


def _one(id: str, name: str, vip: str, result: Mapping[str, Any] | None, error: str) -> Probe:
    rtype = record_type(vip)
    expected = f"{rtype} {vip}"
    if result is None:
        return fail(id, SYSTEM, expected, "", error or "no result", hints.DNS_TIMEOUT)
    if "crash" in result:
        return fail(id, SYSTEM, expected, "", f"probe crashed: {result['crash']}")
    status = result.get("status")
    observed = _observed(result, rtype)
    addresses = list(result.get("addresses") or [])
    if status == "NOERROR" and addresses == [vip]:
        return passed(id, SYSTEM, expected, observed)
    if status == "NXDOMAIN":
        return fail(id, SYSTEM, expected, observed, f"{name} does not exist", hints.DNS_NXDOMAIN)
    if status == "timeout":
        return fail(id, SYSTEM, expected, observed, "no answer", hints.DNS_TIMEOUT)
    if status == "NOERROR" and not addresses:
        return fail(
            id, SYSTEM, expected, observed, f"{name} has no {rtype} record", hints.DNS_NXDOMAIN
        )
    if status == "NOERROR":
        wrong = ", ".join(a for a in addresses if a != vip) or ", ".join(addresses)
        return fail(
            id,
            SYSTEM,
            expected,
            observed,
            f"{name} resolves to {', '.join(addresses)}",
            hints.dns_wrong_address(wrong, vip),
        )
    return fail(
        id,
        SYSTEM,
        expected,
        observed,
        f"the resolver answered {status}",
        "the resolver cannot answer for this zone (zone not loaded, or no recursion for "
        "this client): check its logs",
    )


def evaluate_dns(
    expect: SiteExpect,
    resolvers: Sequence[str],
    results: Mapping[str, Mapping[str, Any]],
    *,
    error: str = "",
) -> list[Probe]:
    """One probe per resolver and name, then one agreement probe per name (2+ resolvers).

    `error` says why there are no results at all (the vantage could not run the tasks).
    """
    names = _names(expect)
    if not resolvers:
        return [
            skip(f"dns/{name}", SYSTEM, "no --resolver given", f"{record_type(vip)} {vip}")
            for name, vip in names
        ]
    probes = [
        _one(_id(r, name, vip), name, vip, results.get(_id(r, name, vip)), error)
        for r in resolvers
        for name, vip in names
    ]
    if len(resolvers) < 2:
        return probes
    for name, vip in names:
        seen = {
            r: tuple(results.get(_id(r, name, vip), {}).get("addresses") or [])
            for r in resolvers
            if results.get(_id(r, name, vip), {}).get("status") == "NOERROR"
        }
        id = f"dns/agree/{name}"
        expected = f"every resolver: {record_type(vip)} {vip}"
        observed = "; ".join(f"{r}: {', '.join(a) or '-'}" for r, a in seen.items()) or "no answers"
        if len(seen) < 2:
            probes.append(skip(id, SYSTEM, "fewer than two resolvers answered", expected))
        elif len(set(seen.values())) > 1:
            probes.append(
                warn(id, SYSTEM, expected, observed, "resolvers disagree", hints.DNS_DISAGREE)
            )
        else:
            probes.append(passed(id, SYSTEM, expected, observed))
    return probes

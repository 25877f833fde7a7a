"""MetalLB IPAddressPools: their CIDRs as MetalLB parses them, and the rules on pools alone."""

from __future__ import annotations

import ipaddress
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from hcplb.lint.findings import Finding, error, warning
from hcplb.lint.k8s import Manifest
from hcplb.lint.metallb.view import MetallbView, selector_findings
from hcplb.metallb.selectors import chosen
from hcplb.metallb.validation import (
    MISSING_NAME,
    NAMESPACES_DUPLICATE,
    POOL_EMPTY,
    duplicate_name,
    pool_entry,
    pool_overlap,
)

Net = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class Pool:
    manifest: Manifest
    entries: list[tuple[str, list[Net]]] = field(default_factory=list)
    ads: list[Manifest] = field(default_factory=list)

    @property
    def nets(self) -> list[Net]:
        return [n for _, nets in self.entries for n in nets]

    def families(self) -> set[int]:
        return {nets[0].version for _, nets in self.entries if nets}


_NETWORKS: weakref.WeakKeyDictionary[Manifest, list[Net]] = weakref.WeakKeyDictionary()


def pool_networks(pool: Manifest) -> list[Net]:
    """The CIDRs of a pool manifest (invalid entries skipped); computed once per manifest."""
    cached = _NETWORKS.get(pool)
    if cached is None:
        cached = []
        for entry in pool.items("spec", "addresses"):
            if isinstance(entry, str):
                cached += pool_entry(entry, pool.name)[0]
        _NETWORKS[pool] = cached
    return list(cached)


class _Blocks:
    """CIDR blocks seen so far; two blocks overlap only when one holds the other, so a lookup
    tries each shorter prefix of the new block instead of comparing it with every block."""

    def __init__(self) -> None:
        self._blocks: set[tuple[int, int, int]] = set()  # (version, prefix, top bits)
        self._covers: set[tuple[int, int, int]] = set()  # every shorter prefix of a block

    @staticmethod
    def _keys(net: Net) -> list[tuple[int, int, int]]:
        bits, value = net.max_prefixlen, int(net.network_address)
        return [(net.version, p, value >> (bits - p)) for p in range(net.prefixlen + 1)]

    def overlaps(self, net: Net) -> bool:
        keys = self._keys(net)
        return keys[-1] in self._covers or any(k in self._blocks for k in keys)

    def add(self, net: Net) -> None:
        keys = self._keys(net)
        self._blocks.add(keys[-1])
        self._covers.update(keys)


def read_pools(view: MetallbView) -> tuple[dict[str, Pool], list[Finding]]:
    found: list[Finding] = []
    pools: dict[str, Pool] = {}
    seen: list[tuple[Net, str]] = []
    blocks = _Blocks()
    for manifest in view.in_namespace(view.pools):
        if not manifest.name:
            found.append(
                error(manifest.where("metadata"), "metallb.pool.name", MISSING_NAME[manifest.kind])
            )
            continue
        if manifest.name in pools:
            found.append(
                error(
                    manifest.where("metadata", "name"),
                    "metallb.pool.duplicate",
                    duplicate_name(manifest.kind, manifest.name) or "",
                )
            )
            continue
        pool = Pool(manifest)
        addresses = manifest.items("spec", "addresses")
        if not addresses:
            found.append(error(manifest.where("spec"), "metallb.pool.empty", POOL_EMPTY))
        for i, entry in enumerate(addresses):
            if not isinstance(entry, str):
                continue
            nets, problem = pool_entry(entry, manifest.name)
            if problem:
                rule = "metallb.pool.range.invalid" if "-" in entry else "metallb.pool.cidr.invalid"
                found.append(error(manifest.where("spec", "addresses", i), rule, problem))
                continue
            if not nets:
                found.append(
                    warning(
                        manifest.where("spec", "addresses", i),
                        "metallb.pool.range.mixed",
                        f"range {entry!r} mixes IPv4 and IPv6: MetalLB takes no address from it",
                    )
                )
            for net in nets:
                clash = (
                    next((old for old, _ in seen if net.overlaps(old)), None)
                    if blocks.overlaps(net)
                    else None
                )
                blocks.add(net)
                if clash is not None:
                    found.append(
                        error(
                            manifest.where("spec", "addresses", i),
                            "metallb.pool.overlap",
                            pool_overlap(str(net), manifest.name, str(clash)),
                        )
                    )
                seen.append((net, manifest.name))
            pool.entries.append((entry, nets))
        found += _allocation(manifest)
        pools[manifest.name] = pool
    return pools, found


def _allocation(pool: Manifest) -> Iterator[Finding]:
    namespaces = [n for n in pool.items("spec", "serviceAllocation", "namespaces")]
    if len(namespaces) != len({str(n) for n in namespaces}):
        yield error(
            pool.where("spec", "serviceAllocation", "namespaces"),
            "metallb.pool.alloc.nsdup",
            NAMESPACES_DUPLICATE,
        )
    for key in ("namespaceSelectors", "serviceSelectors"):
        yield from selector_findings(
            pool, ("spec", "serviceAllocation", key), key, "metallb.labelselector.dup"
        )


def selected_pools(ad: Manifest, pools: Sequence[Manifest]) -> list[Manifest]:
    """The pools an advertisement applies to: named, label-selected, or all when it names none."""
    names = [str(n) for n in ad.items("spec", "ipAddressPools")]
    selectors = ad.items("spec", "ipAddressPoolSelectors")
    return chosen(names, selectors, pools, _name, _labels)


def _name(manifest: Manifest) -> str:
    return manifest.name


def _labels(manifest: Manifest) -> dict[str, str]:
    return manifest.mapping("metadata", "labels")


def covering(index: dict[Net, Manifest], address: Net) -> Manifest | None:
    """The pool of `index` (network -> pool) whose network holds `address` (most specific)."""
    for length in range(address.prefixlen, -1, -1):
        candidate = address.supernet(new_prefix=length) if length < address.prefixlen else address
        if candidate in index:
            return index[candidate]
    return None

"""What an import learns about IP families: a machine network per family, one node entry per
node with an address per family, a router's addresses, and the session kind."""

from __future__ import annotations

import ipaddress

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from hcplb import gotext
from hcplb.lint.world import World

# A guess starts at the usual subnet size of the family and widens until every address fits.
_START = {4: 24, 6: 64}
_WIDEST = {4: 8, 6: 32}
_PLACEHOLDER = "192.0.2.0/24"


def family(address: str) -> int | None:
    return ipaddress.ip_address(address).version if gotext.parse_ip(address) else None


def machine_networks(addresses: list[str]) -> list[str]:
    """The smallest network per family holding the addresses (from /24 or /64 up), the
    family of the first address first; a placeholder when there is none."""
    order = list(dict.fromkeys(f for a in addresses if (f := family(a)) is not None))
    found = []
    for fam in order:
        ips = [ipaddress.ip_address(a) for a in addresses if family(a) == fam]
        net = ipaddress.ip_network(f"{ips[0]}/{_START[fam]}", strict=False)
        while not all(ip in net for ip in ips) and net.prefixlen > _WIDEST[fam]:
            net = net.supernet()
        found.append(str(net))
    return found or [_PLACEHOLDER]


def by_family(addresses: list[str]) -> list[str]:
    """One address per family, first seen first (a second address of a family is dropped)."""
    seen: dict[int | None, str] = {}
    for a in addresses:
        seen.setdefault(family(a), a)
    return list(seen.values())


def set_per_family(entry: CommentedMap, single: str, plural: str, values: list[str]) -> str:
    """`single: x` for one value, `plural: [x, y]` (flow style) for one per family; the key
    written."""
    if len(values) == 1:
        entry[single] = values[0]
        return single
    seq = CommentedSeq(values)
    seq.fa.set_flow_style()
    entry[plural] = seq
    return plural


def first_address(entry: CommentedMap) -> str:
    """A router or node entry's primary address, whichever form it has."""
    if "address" in entry:
        return str(entry["address"])
    return str(entry["addresses"][0])


def all_addresses(entry: CommentedMap) -> list[str]:
    if "address" in entry:
        return [str(entry["address"])]
    return [str(a) for a in entry["addresses"]]


def merge_nodes(nodes: CommentedSeq) -> CommentedSeq:
    """Entries of one node name (a dual-stack node is a fact per address) become one entry
    with `addresses`, in the order the entries came."""
    merged: dict[str, CommentedMap] = {}
    addresses: dict[str, list[str]] = {}
    for entry in nodes:
        name = str(entry["name"])
        addresses.setdefault(name, []).append(str(entry["address"]))
        merged.setdefault(name, entry)
    out = CommentedSeq()
    for name, entry in merged.items():
        values = by_family(addresses[name])
        if len(values) > 1:
            position = list(entry).index("address")
            del entry["address"]
            seq = CommentedSeq(values)
            seq.fa.set_flow_style()
            entry.insert(position, "addresses", seq)
        out.append(entry)
    return out


def dual_stack_sessions(world: World) -> bool:
    """MetalLB's BGPPeers carry both families over one session."""
    peers = world.metallb.in_namespace(world.metallb.peers)
    return any(p.flag("spec", "dualStackAddressFamily") for p in peers)

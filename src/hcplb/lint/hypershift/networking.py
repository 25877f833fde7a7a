"""HostedCluster networking rules (CEL, by hand): CIDRs, network type, OVN subnets, apiServer."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from hcplb import gotext
from hcplb.lint.hypershift._common import Collector, as_text, submap, unsupported
from hcplb.lint.k8s import Manifest

_CIDR_V4 = re.compile(r"^((\d{1,3}\.){3}\d{1,3}/\d{1,2})\Z")
_CIDR_V6 = re.compile(r"^([0-9a-fA-F]{0,4}:){2,7}([0-9a-fA-F]{0,4})?/[0-9]{1,3}\Z")
_SUBNET_V4 = re.compile(r"^([0-9]{1,3}\.){3}[0-9]{1,3}/([0-9]|[1-2][0-9]|3[0-2])\Z")
_CIDR_MSG = (
    "cidr must be a valid IPv4 or IPv6 CIDR notation (e.g., 192.168.1.0/24 or 2001:db8::/64)"
)
_NETWORK_TYPES = ("OpenShiftSDN", "Calico", "OVNKubernetes", "Other")
NETWORKING_DEFAULT = {
    "clusterNetwork": [{"cidr": "10.132.0.0/14"}],
    "networkType": "OVNKubernetes",
    "serviceNetwork": [{"cidr": "172.31.0.0/16"}],
}


def networking_of(hc: Manifest) -> dict[str, Any]:
    """spec.networking with the CRD's defaults applied, as the API server validates it."""
    raw = hc.get("spec", "networking")
    if raw is None:
        return {k: json.loads(json.dumps(v)) for k, v in NETWORKING_DEFAULT.items()}
    net = dict(raw) if isinstance(raw, Mapping) else {}
    for key, value in NETWORKING_DEFAULT.items():
        net.setdefault(key, json.loads(json.dumps(value)))
    return net


def _cidr_list(c: Collector, net: Mapping[str, Any], key: str) -> list[str]:
    items = net.get(key)
    if not isinstance(items, list):
        return []
    if len(items) > 2:
        c.fail(
            ("spec", "networking", key),
            f"Too many: {len(items)}: must have at most 2 items",
            "networking.count",
        )
    cidrs = []
    for i, item in enumerate(items):
        cidr = item.get("cidr") if isinstance(item, Mapping) else None
        if cidr is None:
            continue
        if not (_CIDR_V4.search(as_text(cidr)) or _CIDR_V6.search(as_text(cidr))):
            c.fail(("spec", "networking", key, i, "cidr"), _CIDR_MSG, "networking.cidr")
        cidrs.append(as_text(cidr))
    return cidrs


def _family(cidr: str) -> int | None:
    net = gotext.parse_cidr(cidr)
    return net.version if net is not None else None


def _check_families(c: Collector, lists: Mapping[str, list[str]]) -> None:
    """Dual-stack networking (HyperShift's validateNetworks, OpenShift's network rules): a
    two-entry list holds one IPv4 and one IPv6 network, and clusterNetwork and serviceNetwork
    have the same families with the same primary (first) family; the controller refuses the
    HostedCluster otherwise (its ValidConfiguration condition)."""
    hint = "give one IPv4 and one IPv6 network, the primary family first in every list"
    families: dict[str, list[int]] = {}
    for key, cidrs in lists.items():
        found = [f for f in (_family(x) for x in cidrs) if f is not None]
        families[key] = found
        if len(found) == 2 and found[0] == found[1]:
            c.fail(
                ("spec", "networking", key),
                f"two IPv{found[0]} networks: a dual-stack list holds one network per family",
                "networking.family",
                hint,
            )
    cluster, service = families["clusterNetwork"], families["serviceNetwork"]
    if cluster and service and (cluster[0] != service[0] or set(cluster) != set(service)):
        c.fail(
            ("spec", "networking", "serviceNetwork"),
            f"serviceNetwork is {_stack(service)} but clusterNetwork is {_stack(cluster)}: "
            "both need the same families and the same primary family",
            "networking.family",
            hint,
        )
    machine = families["machineNetwork"]
    if machine and cluster and machine[0] != cluster[0]:
        c.fail(
            ("spec", "networking", "machineNetwork"),
            f"machineNetwork's primary family is IPv{machine[0]} but clusterNetwork's is "
            f"IPv{cluster[0]}: the primary stacks must match",
            "networking.family",
            hint,
        )


def _stack(families: list[int]) -> str:
    return " + ".join(f"IPv{f}" for f in families)


def check_networking(c: Collector) -> None:
    net = networking_of(c.hc)
    kind = net.get("networkType")
    if kind not in _NETWORK_TYPES:
        c.fail(
            ("spec", "networking", "networkType"),
            unsupported(kind, _NETWORK_TYPES),
            "networking.enum",
        )
    machine = _cidr_list(c, net, "machineNetwork")
    cluster = _cidr_list(c, net, "clusterNetwork")
    service = _cidr_list(c, net, "serviceNetwork")
    clash = bool(set(cluster) & set(service))
    if net.get("machineNetwork") is not None:
        clash = clash or bool(set(machine) & set(cluster)) or bool(set(machine) & set(service))
    if clash:
        c.fail(
            ("spec", "networking"),
            "CIDR ranges in machineNetwork, clusterNetwork, and serviceNetwork must be unique and non-overlapping",
            "networking.unique",
        )
    _check_families(
        c, {"machineNetwork": machine, "clusterNetwork": cluster, "serviceNetwork": service}
    )
    alloc = net.get("allocateNodeCIDRs")
    if alloc is not None and alloc not in ("Enabled", "Disabled"):
        c.fail(
            ("spec", "networking", "allocateNodeCIDRs"),
            unsupported(alloc, ("Enabled", "Disabled")),
            "networking.enum",
        )
    if alloc == "Enabled" and kind != "Other":
        c.fail(
            ("spec", "networking"),
            "allocateNodeCIDRs can only be set to Enabled when networkType is 'Other'",
            "networking.allocate",
        )
    blocks = submap(net, "apiServer").get("allowedCIDRBlocks")
    if isinstance(blocks, list):
        path = ("spec", "networking", "apiServer", "allowedCIDRBlocks")
        if len(blocks) > 500:
            c.fail(path, f"Too many: {len(blocks)}: must have at most 500 items", "apiserver.count")
        for i, block in enumerate(blocks):
            text = as_text(block)
            if len(text) > 43:
                c.fail((*path, i), "Too long: may not be more than 43 bytes", "apiserver.cidr")
            if not (_CIDR_V4.search(text) or _CIDR_V6.search(text)):
                c.fail((*path, i), _CIDR_MSG, "apiserver.cidr")
            if text in [as_text(b) for b in blocks[:i]]:
                c.fail((*path, i), f"Duplicate value: {json.dumps(block)}", "apiserver.cidr")
    _network_operator(c, kind)


def _v4_subnet(
    c: Collector, path: tuple[str | int, ...], value: str, regex_format: str | None
) -> None:
    """ipv4.internal*Subnet (regex rules, with their format message) or v4InternalSubnet."""
    if regex_format is not None:
        fmt_ok = bool(_SUBNET_V4.search(value)) and all(
            o.isdigit() and int(o) <= 255 for o in value.split("/")[0].split(".")
        )
        if not fmt_ok:
            c.fail(path, regex_format, "ovn.subnet")
        length = value.split("/")[-1]
        if not (re.search(r"^.*/[0-9]+$", value) and int(length) <= 30):
            c.fail(path, "subnet must be in the range /0 to /30 inclusive", "ovn.subnet")
        first = value.split("/")[0].split(".")[0]
        if not (re.search(r"^[0-9]{1,3}\..*", value) and int(first) > 0):
            c.fail(path, "first IP address octet must not be 0", "ovn.subnet")
        return
    net = gotext.parse_cidr(value)
    if net is None or net.version != 4:
        c.fail(path, "Subnet must be in a valid IPv4 CIDR format", "ovn.subnet")
    if net is None or net.prefixlen > 30:
        c.fail(path, "subnet must be in the range /0 to /30 inclusive", "ovn.subnet")
    first = value.split(".")[0]
    if net is None or net.version != 4 or not first.isdigit() or int(first) <= 0:
        c.fail(path, "first IP address octet must not be 0", "ovn.subnet")


def _v6_subnet(c: Collector, path: tuple[str | int, ...], value: str, example: str) -> None:
    net = gotext.parse_cidr(value)
    if net is None or net.version != 6:
        c.fail(path, f"Subnet must be in valid IPv6 CIDR format{example}", "ovn.subnet")
    if net is None or net.prefixlen > 125:
        c.fail(path, "subnet must be in the range /0 to /125 inclusive", "ovn.subnet")


def _network_operator(c: Collector, network_type: Any) -> None:
    base = ("spec", "operatorConfiguration", "clusterNetworkOperator")
    cno = c.hc.get(*base)
    if not isinstance(cno, Mapping):
        return
    if cno.get("disableMultiNetwork") is True and network_type != "Other":
        c.fail(
            ("spec",),
            "disableMultiNetwork can only be set to true when networkType is 'Other'",
            "networking.multinetwork",
        )
    ovn = cno.get("ovnKubernetesConfig")
    if ovn is None:
        return
    if network_type != "OVNKubernetes":
        c.fail(
            ("spec",),
            "ovnKubernetesConfig is forbidden when networkType is not OVNKubernetes",
            "networking.ovn",
        )
    if not isinstance(ovn, Mapping):
        return
    path = (*base, "ovnKubernetesConfig")
    subs = ((path, ovn), ((*path, "ipv4"), ovn.get("ipv4")), ((*path, "ipv6"), ovn.get("ipv6")))
    for sub_path, sub in subs:
        if isinstance(sub, Mapping) and not sub:
            name = ".".join(str(p) for p in sub_path)
            c.fail(
                sub_path,
                f"Invalid value: 0: {name} in body should have at least 1 properties",
                "ovn.empty",
            )
    for family in ("ipv4", "ipv6"):
        sub = ovn.get(family)
        if not isinstance(sub, Mapping):
            continue
        join, transit = sub.get("internalJoinSubnet"), sub.get("internalTransitSwitchSubnet")
        if join is not None and transit is not None and join == transit:
            prefix = "" if family == "ipv4" else "ipv6 "
            c.fail(
                path,
                f"{prefix}internalJoinSubnet and internalTransitSwitchSubnet must not be the same",
                "ovn.subnet",
            )
        for key, value in (("internalJoinSubnet", join), ("internalTransitSwitchSubnet", transit)):
            if value is None:
                continue
            if family == "ipv4":
                fmt = "Subnet must be in a valid IPv4 CIDR format"
                fmt += " (e.g., 192.168.1.1/24)" if key == "internalJoinSubnet" else ""
                _v4_subnet(c, (*path, family, key), as_text(value), fmt)
            else:
                sample = (
                    " (e.g., fd98::/64)" if key == "internalJoinSubnet" else " (e.g., fd97::/64)"
                )
                _v6_subnet(c, (*path, family, key), as_text(value), sample)
    if ovn.get("v4InternalSubnet") is not None:
        _v4_subnet(c, (*path, "v4InternalSubnet"), as_text(ovn["v4InternalSubnet"]), None)
    if ovn.get("v6InternalSubnet") is not None:
        _v6_subnet(c, (*path, "v6InternalSubnet"), as_text(ovn["v6InternalSubnet"]), "")

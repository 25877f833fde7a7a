"""HostedCluster rules: the CRD's CEL validations for services, networking and DNS, by hand.

The messages are the CRD's, prefixed with the field path as the API server prints them. The
defaults the API server applies before validating (`networking`) are applied first. Rules that
compare with the previous object (`oldSelf`) are in `check_update`. Rule ids:
`hypershift.crd.*` for what the API server rejects, `hypershift.publish.*` for hcplb's own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from hcplb.lint import _go
from hcplb.lint.findings import Finding, Where, error
from hcplb.lint.k8s import Manifest

_DOMAIN = re.compile(r"^(?:(?:[a-zA-Z0-9-]+\.)+[a-zA-Z]{2,}|[a-zA-Z0-9-]+)$")
_HOSTNAME = re.compile(r"^(?:[a-zA-Z0-9-]+\.)+[a-zA-Z]{2,}$")
_ADDR_NAME = re.compile(r"^(([a-zA-Z0-9][-a-zA-Z0-9]*\.)+[a-zA-Z]{2,}|localhost)$")
_ADDR_V4 = re.compile(r"^((\d{1,3}\.){3}\d{1,3})$")
_ADDR_V6 = re.compile(
    r"^(([0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,7}:|([0-9a-fA-F]{1,4}:){1,6}:"
    r"[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,5}(:[0-9a-fA-F]{1,4}){1,2}|([0-9a-fA-F]{1,4}:){1,4}"
    r"(:[0-9a-fA-F]{1,4}){1,3}|([0-9a-fA-F]{1,4}:){1,3}(:[0-9a-fA-F]{1,4}){1,4}|([0-9a-fA-F]{1,4}:)"
    r"{1,2}(:[0-9a-fA-F]{1,4}){1,5}|[0-9a-fA-F]{1,4}:((:[0-9a-fA-F]{1,4}){1,6})|:((:[0-9a-fA-F]"
    r"{1,4}){1,7}|:))$"
)
_CIDR_V4 = re.compile(r"^((\d{1,3}\.){3}\d{1,3}/\d{1,2})$")
_CIDR_V6 = re.compile(r"^([0-9a-fA-F]{0,4}:){2,7}([0-9a-fA-F]{0,4})?/[0-9]{1,3}$")
_SUBNET_V4 = re.compile(r"^([0-9]{1,3}\.){3}[0-9]{1,3}/([0-9]|[1-2][0-9]|3[0-2])$")
_CIDR_MSG = (
    "cidr must be a valid IPv4 or IPv6 CIDR notation (e.g., 192.168.1.0/24 or 2001:db8::/64)"
)
_SERVICES = ("APIServer", "OAuthServer", "OIDC", "Konnectivity", "Ignition", "OVNSbDb")
_STRATEGIES = ("LoadBalancer", "NodePort", "Route", "None", "S3")
_NETWORK_TYPES = ("OpenShiftSDN", "Calico", "OVNKubernetes", "Other")
_PLATFORMS = ("AWS", "Azure", "IBMCloud", "KubeVirt", "Agent", "PowerVS", "None")
NETWORKING_DEFAULT = {
    "clusterNetwork": [{"cidr": "10.132.0.0/14"}],
    "networkType": "OVNKubernetes",
    "serviceNetwork": [{"cidr": "172.31.0.0/16"}],
}


def _has(obj: Any, key: str) -> bool:
    return isinstance(obj, Mapping) and obj.get(key) is not None


def _sub(obj: Any, key: str) -> Mapping[str, Any]:
    value = obj.get(key) if isinstance(obj, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _unsupported(value: Any, allowed: tuple[str, ...]) -> str:
    supported = ", ".join(_go.q(v) for v in allowed)
    return f"Unsupported value: {json.dumps(value)}: supported values: {supported}"


class _Check:
    """Collects findings for one HostedCluster."""

    def __init__(self, hc: Manifest) -> None:
        self.hc = hc
        self.found: list[Finding] = []

    def fail(self, path: tuple[str | int, ...], message: str, rule: str, hint: str = "") -> None:
        text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
        where = (
            self.hc.where(*path) if self.hc.node is not None else Where(self.hc.file, self.hc.line)
        )
        self.found.append(error(where, f"hypershift.crd.{rule}", f"{text}: {message}", hint))


def networking_of(hc: Manifest) -> dict[str, Any]:
    """spec.networking with the CRD's defaults applied, as the API server validates it."""
    raw = hc.get("spec", "networking")
    if raw is None:
        return {k: json.loads(json.dumps(v)) for k, v in NETWORKING_DEFAULT.items()}
    net = dict(raw) if isinstance(raw, Mapping) else {}
    for key, value in NETWORKING_DEFAULT.items():
        net.setdefault(key, json.loads(json.dumps(value)))
    return net


def _services(c: _Check) -> None:
    hc = c.hc
    services = hc.get("spec", "services")
    if services is None:
        c.fail(("spec", "services"), "Required value", "services.required")
        return
    if not isinstance(services, list):
        return
    platform = hc.text("spec", "platform", "type") or ""
    if len(services) < (3 if platform == "IBMCloud" else 4):
        c.fail(
            ("spec",),
            "spec.services in body should have at least 4 items or 3 for IBMCloud",
            "services.count",
        )
    if len(services) > 6:
        c.fail(
            ("spec", "services"),
            f"Too many: {len(services)}: must have at most 6 items",
            "services.count",
        )
    for i, item in enumerate(services):
        base: tuple[str | int, ...] = ("spec", "services", i)
        if not isinstance(item, Mapping):
            continue
        if item.get("service") is None:
            c.fail((*base, "service"), "Required value", "services.required")
        elif item.get("service") not in _SERVICES:
            c.fail(
                (*base, "service"), _unsupported(item.get("service"), _SERVICES), "services.enum"
            )
        sps = item.get("servicePublishingStrategy")
        if not isinstance(sps, Mapping):
            c.fail((*base, "servicePublishingStrategy"), "Required value", "services.required")
            continue
        _strategy(c, (*base, "servicePublishingStrategy"), sps)
    _azure(c, platform, services)
    _named_certificates(c, services)


def _strategy(c: _Check, path: tuple[str | int, ...], sps: Mapping[str, Any]) -> None:
    kind = sps.get("type")
    if kind is None:
        c.fail((*path, "type"), "Required value", "services.required")
    elif kind not in _STRATEGIES:
        c.fail((*path, "type"), _unsupported(kind, _STRATEGIES), "services.enum")
    node_port, route, lb = _has(sps, "nodePort"), _has(sps, "route"), _has(sps, "loadBalancer")
    rules = (
        (
            node_port if kind == "NodePort" else not node_port,
            "nodePort is required when type is NodePort, and forbidden otherwise",
        ),
        (
            not node_port and not lb if kind == "Route" else not route,
            "only route is allowed when type is Route, and forbidden otherwise",
        ),
        (
            not node_port and not route if kind == "LoadBalancer" else not lb,
            "only loadBalancer is required when type is LoadBalancer, and forbidden otherwise",
        ),
        (
            not (node_port or route or lb) if kind == "None" else True,
            "None does not allowed any configuration for loadBalancer, nodePort, or route",
        ),
        (
            not (node_port or route or lb) if kind == "S3" else True,
            "S3 does not allowed any configuration for loadBalancer, nodePort, or route",
        ),
    )
    for ok, message in rules:
        if not ok:
            c.fail(path, f'Invalid value: "object": {message}', "services.strategy")
    for key in ("loadBalancer", "route"):
        host = _sub(sps, key).get("hostname")
        if host is None:
            continue
        text = _str(host)
        if not 1 <= len(text) <= 253:
            c.fail(
                (*path, key, "hostname"),
                "must be between 1 and 253 characters",
                "services.hostname",
            )
        elif not _HOSTNAME.search(text):
            c.fail(
                (*path, key, "hostname"),
                "hostname must be a valid domain name (e.g., example.com)",
                "services.hostname",
            )
    if node_port:
        address = _sub(sps, "nodePort").get("address")
        if address is None:
            c.fail((*path, "nodePort", "address"), "Required value", "services.required")
        elif not any(p.search(_str(address)) for p in (_ADDR_NAME, _ADDR_V4, _ADDR_V6)):
            c.fail(
                (*path, "nodePort", "address"),
                "address must be a valid hostname, IPv4, or IPv6 address",
                "services.address",
            )


def _strategy_type(services: list[Any], name: str) -> list[str]:
    return [
        str(s.get("servicePublishingStrategy", {}).get("type"))
        for s in services
        if isinstance(s, Mapping)
        and s.get("service") == name
        and isinstance(s.get("servicePublishingStrategy"), Mapping)
    ]


def _azure(c: _Check, platform: str, services: list[Any]) -> None:
    if platform != "Azure":
        return
    auth = (
        c.hc.text(
            "spec",
            "platform",
            "azure",
            "azureAuthenticationConfig",
            "azureAuthenticationConfigType",
        )
        or ""
    )
    oauth = _strategy_type(services, "OAuthServer")
    if auth != "WorkloadIdentities" and "Route" not in oauth:
        c.fail(
            ("spec",),
            "Azure managed platform (ARO HCP) requires OAuthServer to use Route",
            "services.azure",
        )
    if auth == "WorkloadIdentities" and not {"Route", "LoadBalancer"} & set(oauth):
        c.fail(
            ("spec",),
            "Self-managed Azure requires OAuthServer to use Route or LoadBalancer",
            "services.azure",
        )
    for name in ("Konnectivity", "Ignition"):
        if "Route" not in _strategy_type(services, name):
            c.fail(
                ("spec",),
                f"Azure platform requires {name} to use Route service publishing strategy",
                "services.azure",
            )


def _named_certificates(c: _Check, services: list[Any]) -> None:
    certs = c.hc.items("spec", "configuration", "apiServer", "servingCerts", "namedCertificates")
    names = {
        str(n)
        for cert in certs
        if isinstance(cert, Mapping) and isinstance(cert.get("names"), list)
        for n in cert["names"]
    }
    for s in services:
        if not isinstance(s, Mapping) or s.get("service") != "APIServer":
            continue
        sps = s.get("servicePublishingStrategy")
        lb = sps.get("loadBalancer") if isinstance(sps, Mapping) else None
        host = lb.get("hostname") if isinstance(lb, Mapping) else None
        if isinstance(host, str) and host and host in names:
            c.fail(
                ("spec",),
                "APIServer loadBalancer hostname cannot be in ClusterConfiguration.apiserver.servingCerts.namedCertificates[]",
                "services.certificates",
            )


def _cidr_list(c: _Check, net: Mapping[str, Any], key: str) -> list[str]:
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
        if not (_CIDR_V4.search(_str(cidr)) or _CIDR_V6.search(_str(cidr))):
            c.fail(("spec", "networking", key, i, "cidr"), _CIDR_MSG, "networking.cidr")
        cidrs.append(_str(cidr))
    return cidrs


def _networking(c: _Check) -> None:
    net = networking_of(c.hc)
    kind = net.get("networkType")
    if kind not in _NETWORK_TYPES:
        c.fail(
            ("spec", "networking", "networkType"),
            _unsupported(kind, _NETWORK_TYPES),
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
    alloc = net.get("allocateNodeCIDRs")
    if alloc is not None and alloc not in ("Enabled", "Disabled"):
        c.fail(
            ("spec", "networking", "allocateNodeCIDRs"),
            _unsupported(alloc, ("Enabled", "Disabled")),
            "networking.enum",
        )
    if alloc == "Enabled" and kind != "Other":
        c.fail(
            ("spec", "networking"),
            "allocateNodeCIDRs can only be set to Enabled when networkType is 'Other'",
            "networking.allocate",
        )
    blocks = _sub(net, "apiServer").get("allowedCIDRBlocks")
    if isinstance(blocks, list):
        path = ("spec", "networking", "apiServer", "allowedCIDRBlocks")
        if len(blocks) > 500:
            c.fail(path, f"Too many: {len(blocks)}: must have at most 500 items", "apiserver.count")
        for i, block in enumerate(blocks):
            text = _str(block)
            if len(text) > 43:
                c.fail((*path, i), "Too long: may not be more than 43 bytes", "apiserver.cidr")
            if not (_CIDR_V4.search(text) or _CIDR_V6.search(text)):
                c.fail((*path, i), _CIDR_MSG, "apiserver.cidr")
            if text in [_str(b) for b in blocks[:i]]:
                c.fail((*path, i), f"Duplicate value: {json.dumps(block)}", "apiserver.cidr")
    _network_operator(c, kind)


def _v4_subnet(
    c: _Check, path: tuple[str | int, ...], value: str, regex_format: str | None
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
    net = _go.parse_cidr(value)
    if net is None or net.version != 4:
        c.fail(path, "Subnet must be in a valid IPv4 CIDR format", "ovn.subnet")
    if net is None or net.prefixlen > 30:
        c.fail(path, "subnet must be in the range /0 to /30 inclusive", "ovn.subnet")
    first = value.split(".")[0]
    if net is None or net.version != 4 or not first.isdigit() or int(first) <= 0:
        c.fail(path, "first IP address octet must not be 0", "ovn.subnet")


def _v6_subnet(c: _Check, path: tuple[str | int, ...], value: str, example: str) -> None:
    net = _go.parse_cidr(value)
    if net is None or net.version != 6:
        c.fail(path, f"Subnet must be in valid IPv6 CIDR format{example}", "ovn.subnet")
    if net is None or net.prefixlen > 125:
        c.fail(path, "subnet must be in the range /0 to /125 inclusive", "ovn.subnet")


def _network_operator(c: _Check, network_type: Any) -> None:
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
                _v4_subnet(c, (*path, family, key), _str(value), fmt)
            else:
                sample = (
                    " (e.g., fd98::/64)" if key == "internalJoinSubnet" else " (e.g., fd97::/64)"
                )
                _v6_subnet(c, (*path, family, key), _str(value), sample)
    if ovn.get("v4InternalSubnet") is not None:
        _v4_subnet(c, (*path, "v4InternalSubnet"), _str(ovn["v4InternalSubnet"]), None)
    if ovn.get("v6InternalSubnet") is not None:
        _v6_subnet(c, (*path, "v6InternalSubnet"), _str(ovn["v6InternalSubnet"]), "")


def _dns(c: _Check) -> None:
    dns = c.hc.get("spec", "dns")
    if not isinstance(dns, Mapping):
        return
    for key in ("baseDomain", "baseDomainPrefix"):
        value = dns.get(key)
        if value is None:
            continue
        text = _str(value)
        if len(text) > 253:
            c.fail(("spec", "dns", key), "Too long: may not be more than 253 bytes", "dns.domain")
        if text != "" and not _DOMAIN.search(text):
            c.fail(
                ("spec", "dns", key),
                f"{key} must be a valid domain name (e.g., example, example.com, sub.example.com)",
                "dns.domain",
            )
    name = c.hc.get("spec", "kubeAPIServerDNSName")
    if name is not None and _str(name) != "" and not _DOMAIN.search(_str(name)):
        c.fail(
            ("spec", "kubeAPIServerDNSName"),
            "kubeAPIServerDNSName must be a valid URL name (e.g., api.example.com)",
            "dns.kasname",
        )


def _platform(c: _Check) -> None:
    kind = c.hc.get("spec", "platform", "type")
    if kind is not None and kind not in _PLATFORMS:
        c.fail(("spec", "platform", "type"), _unsupported(kind, _PLATFORMS), "platform.enum")


def check_crd(hc: Manifest) -> list[Finding]:
    """What the API server's CEL and enum validation rejects in a HostedCluster (create)."""
    c = _Check(hc)
    _services(c)
    _networking(c)
    _dns(c)
    _platform(c)
    return c.found


def check_publishing(hc: Manifest) -> Iterator[Finding]:
    """hcplb's own rule: the API server is published as a LoadBalancer Service."""
    services = hc.items("spec", "services")
    for i, item in enumerate(services):
        if isinstance(item, Mapping) and item.get("service") == "APIServer":
            kind = hc.get("spec", "services", i, "servicePublishingStrategy", "type")
            if kind != "LoadBalancer":
                yield error(
                    hc.where("spec", "services", i, "servicePublishingStrategy", "type"),
                    "hypershift.publish.loadbalancer",
                    f"HostedCluster {hc.name}: the APIServer is published as {kind}, not LoadBalancer: "
                    "MetalLB never gets its Service",
                    "set type: LoadBalancer before creating the HostedCluster (spec.services is "
                    "immutable afterwards: recreate the cluster)",
                )
            return
    if isinstance(hc.get("spec", "services"), list):
        yield error(
            hc.where("spec", "services"),
            "hypershift.publish.loadbalancer",
            f"HostedCluster {hc.name} does not publish the APIServer service",
            "add `- service: APIServer / servicePublishingStrategy: {type: LoadBalancer}`",
        )


_IMMUTABLE: tuple[tuple[tuple[str, ...], str, bool], ...] = (
    # (path below spec, message, True if only `oldSelf == ""` may change)
    (("dns", "baseDomain"), "baseDomain is immutable", True),
    (("dns", "baseDomainPrefix"), "baseDomainPrefix is immutable", False),
    (("dns", "privateZoneID"), "privateZoneID is immutable", True),
    (("dns", "publicZoneID"), "publicZoneID is immutable", True),
    (
        ("networking", "machineNetwork"),
        "machineNetwork is immutable and cannot be modified once set.",
        False,
    ),
    (
        ("networking", "clusterNetwork"),
        "clusterNetwork is immutable and cannot be modified once set.",
        False,
    ),
    (
        ("networking", "serviceNetwork"),
        "serviceNetwork is immutable and cannot be modified once set.",
        False,
    ),
    (
        ("networking", "allocateNodeCIDRs"),
        "allocateNodeCIDRs is immutable and cannot be modified once set.",
        False,
    ),
    (("networking", "apiServer", "advertiseAddress"), "advertiseAddress is immutable", False),
    (("networking", "apiServer", "port"), "port is immutable", False),
    (("platform", "type"), "Type is immutable", False),
)
_OVN = ("spec", "operatorConfiguration", "clusterNetworkOperator", "ovnKubernetesConfig")
# (path below ovnKubernetesConfig, message when changed, message when removed)
_OVN_RULES: tuple[tuple[tuple[str, ...], str | None, str], ...] = (
    (("mtu",), "mtu is immutable once set", "mtu is immutable once set and cannot be removed"),
    (("ipv6",), None, "ipv6 is immutable once set and cannot be removed"),
    (
        ("ipv6", "internalJoinSubnet"),
        "internalJoinSubnet is immutable",
        "ipv6.internalJoinSubnet cannot be removed once set",
    ),
    (
        ("ipv6", "internalTransitSwitchSubnet"),
        "internalTransitSwitchSubnet is immutable",
        "ipv6.internalTransitSwitchSubnet cannot be removed once set",
    ),
    (
        ("v4InternalSubnet",),
        "v4InternalSubnet is immutable once set",
        "v4InternalSubnet is immutable once set and cannot be removed",
    ),
    (
        ("v6InternalSubnet",),
        "v6InternalSubnet is immutable once set",
        "v6InternalSubnet is immutable once set and cannot be removed",
    ),
)


def _ovn_update(c: _Check, old: Manifest, new: Manifest) -> None:
    cno = _OVN[:-1]
    before_mn, after_mn = old.get(*cno, "disableMultiNetwork"), new.get(*cno, "disableMultiNetwork")
    if before_mn is not None and after_mn is not None and before_mn != after_mn:
        c.fail((*cno, "disableMultiNetwork"), "disableMultiNetwork is immutable", "immutable")
    if old.get(*_OVN) is not None and new.get(*_OVN) is None:
        c.fail(cno, "ovnKubernetesConfig is immutable once set and cannot be removed", "immutable")
        return
    if new.get(*_OVN) is None:
        return
    for path, changed, removed in _OVN_RULES:
        before, after = old.get(*_OVN, *path), new.get(*_OVN, *path)
        if before is None:
            continue
        if after is None:
            c.fail((*_OVN, *path[:-1]), removed, "immutable")
        elif changed and before != after:
            c.fail((*_OVN, *path), changed, "immutable")


def check_update(old: Manifest, new: Manifest) -> list[Finding]:
    """What the API server rejects when `old` is replaced by `new` (oldSelf rules)."""
    c = _Check(new)
    platform = new.text("spec", "platform", "type") or ""
    if platform != "IBMCloud" and old.get("spec", "services") != new.get("spec", "services"):
        c.fail(
            ("spec",),
            "Services is immutable. Changes might result in unpredictable and disruptive behavior.",
            "services.immutable",
        )
    for path, message, settable in _IMMUTABLE:
        before, after = old.get("spec", *path), new.get("spec", *path)
        if before is None or after is None or before == after or (settable and before == ""):
            continue
        c.fail(("spec", *path), message, "immutable")
    if (
        old.get("spec", "secretEncryption") is not None
        and new.get("spec", "secretEncryption") is None
    ):
        c.fail(("spec",), "secretEncryption cannot be removed once configured", "immutable")
    _ovn_update(c, old, new)
    return c.found

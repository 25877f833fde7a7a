"""HostedCluster rules: the CRD's CEL validations for services, networking and DNS, by hand.

The messages are the CRD's, prefixed with the field path as the API server prints them. The
defaults the API server applies before validating (`networking`) are applied first. Rules that
compare with the previous object (`oldSelf`) are in `check_update`. Rule ids:
`hypershift.crd.*` for what the API server rejects, `hypershift.publish.*` for hcplb's own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from hcplb.lint.findings import Finding, error
from hcplb.lint.hypershift._common import Collector, as_text, has, submap, unsupported
from hcplb.lint.hypershift.networking import check_networking
from hcplb.lint.hypershift.update import check_update
from hcplb.lint.k8s import Manifest

__all__ = ["check_controller", "check_crd", "check_publishing", "check_update"]

_DOMAIN = re.compile(r"^(?:(?:[a-zA-Z0-9-]+\.)+[a-zA-Z]{2,}|[a-zA-Z0-9-]+)\Z")
_HOSTNAME = re.compile(r"^(?:[a-zA-Z0-9-]+\.)+[a-zA-Z]{2,}\Z")
_ADDR_NAME = re.compile(r"^(([a-zA-Z0-9][-a-zA-Z0-9]*\.)+[a-zA-Z]{2,}|localhost)\Z")
_ADDR_V4 = re.compile(r"^((\d{1,3}\.){3}\d{1,3})\Z")
_ADDR_V6 = re.compile(
    r"^(([0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,7}:|([0-9a-fA-F]{1,4}:){1,6}:"
    r"[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,5}(:[0-9a-fA-F]{1,4}){1,2}|([0-9a-fA-F]{1,4}:){1,4}"
    r"(:[0-9a-fA-F]{1,4}){1,3}|([0-9a-fA-F]{1,4}:){1,3}(:[0-9a-fA-F]{1,4}){1,4}|([0-9a-fA-F]{1,4}:)"
    r"{1,2}(:[0-9a-fA-F]{1,4}){1,5}|[0-9a-fA-F]{1,4}:((:[0-9a-fA-F]{1,4}){1,6})|:((:[0-9a-fA-F]"
    r"{1,4}){1,7}|:))$"
)
_SERVICES = ("APIServer", "OAuthServer", "OIDC", "Konnectivity", "Ignition", "OVNSbDb")
_STRATEGIES = ("LoadBalancer", "NodePort", "Route", "None", "S3")
_PLATFORMS = ("AWS", "Azure", "IBMCloud", "KubeVirt", "Agent", "PowerVS", "None")


def _services(c: Collector) -> None:
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
            c.fail((*base, "service"), unsupported(item.get("service"), _SERVICES), "services.enum")
        sps = item.get("servicePublishingStrategy")
        if not isinstance(sps, Mapping):
            c.fail((*base, "servicePublishingStrategy"), "Required value", "services.required")
            continue
        _strategy(c, (*base, "servicePublishingStrategy"), sps)
    _azure(c, platform, services)
    _named_certificates(c, services)


def _strategy(c: Collector, path: tuple[str | int, ...], sps: Mapping[str, Any]) -> None:
    kind = sps.get("type")
    if kind is None:
        c.fail((*path, "type"), "Required value", "services.required")
    elif kind not in _STRATEGIES:
        c.fail((*path, "type"), unsupported(kind, _STRATEGIES), "services.enum")
    node_port, route, lb = has(sps, "nodePort"), has(sps, "route"), has(sps, "loadBalancer")
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
        host = submap(sps, key).get("hostname")
        if host is None:
            continue
        text = as_text(host)
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
        address = submap(sps, "nodePort").get("address")
        if address is None:
            c.fail((*path, "nodePort", "address"), "Required value", "services.required")
        elif not any(p.search(as_text(address)) for p in (_ADDR_NAME, _ADDR_V4, _ADDR_V6)):
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


def _azure(c: Collector, platform: str, services: list[Any]) -> None:
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


def _named_certificates(c: Collector, services: list[Any]) -> None:
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


def _dns(c: Collector) -> None:
    dns = c.hc.get("spec", "dns")
    if not isinstance(dns, Mapping):
        return
    for key in ("baseDomain", "baseDomainPrefix"):
        value = dns.get(key)
        if value is None:
            continue
        text = as_text(value)
        if len(text) > 253:
            c.fail(("spec", "dns", key), "Too long: may not be more than 253 bytes", "dns.domain")
        if text != "" and not _DOMAIN.search(text):
            c.fail(
                ("spec", "dns", key),
                f"{key} must be a valid domain name (e.g., example, example.com, sub.example.com)",
                "dns.domain",
            )
    name = c.hc.get("spec", "kubeAPIServerDNSName")
    if name is not None and as_text(name) != "" and not _DOMAIN.search(as_text(name)):
        c.fail(
            ("spec", "kubeAPIServerDNSName"),
            "kubeAPIServerDNSName must be a valid URL name (e.g., api.example.com)",
            "dns.kasname",
        )


def _platform(c: Collector) -> None:
    kind = c.hc.get("spec", "platform", "type")
    if kind is not None and kind not in _PLATFORMS:
        c.fail(("spec", "platform", "type"), unsupported(kind, _PLATFORMS), "platform.enum")


def check_crd(hc: Manifest) -> list[Finding]:
    """What the API server's CEL and enum validation rejects in a HostedCluster (create)."""
    c = Collector(hc)
    _services(c)
    check_networking(c)
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


def _strategies(hc: Manifest) -> Iterator[tuple[int, str, str, str | None]]:
    """(index, service, type, hostname) of each well-formed services entry."""
    for i, item in enumerate(hc.items("spec", "services")):
        if not isinstance(item, Mapping) or not isinstance(item.get("service"), str):
            continue
        kind = hc.text("spec", "services", i, "servicePublishingStrategy", "type") or ""
        host = hc.text(
            "spec", "services", i, "servicePublishingStrategy", "loadBalancer", "hostname"
        )
        host = host or hc.text(
            "spec", "services", i, "servicePublishingStrategy", "route", "hostname"
        )
        yield i, item["service"], kind, host


def check_controller(hc: Manifest) -> Iterator[Finding]:
    """What the HyperShift operators refuse later (ValidConfiguration), though the CRD accepts it."""
    platform = hc.text("spec", "platform", "type") or ""
    hosts: dict[str, str] = {}
    for i, service, kind, host in _strategies(hc):
        where = hc.where("spec", "services", i, "servicePublishingStrategy")
        if host and host in hosts:
            yield error(
                where,
                "hypershift.controller.hostname",
                f"service type {service} can't be published with the same hostname {host} as "
                f"service type {hosts[host]}",
                "give each service its own hostname",
            )
        if host:
            hosts.setdefault(host, service)
        if service == "Ignition" and kind not in ("Route", "NodePort"):
            yield error(
                where,
                "hypershift.controller.ignition",
                f"Ignition is published as {kind}: HyperShift serves Ignition only as Route or "
                "NodePort, so nodes cannot fetch their configuration",
                "publish Ignition as a Route",
            )
        if service == "OAuthServer" and kind == "LoadBalancer" and platform != "Azure":
            yield error(
                where,
                "hypershift.controller.oauth",
                "OAuthServer as LoadBalancer is supported only on self-managed Azure: the control "
                "plane operator fails to reconcile it",
                "publish OAuthServer as a Route",
            )

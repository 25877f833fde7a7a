"""The site spec (`apiVersion: hcplb.io/v1alpha1`, `kind: Site`) as typed, frozen models.

Keys are camelCase in YAML (as Kubernetes users expect) and snake_case in Python.
Shape checks live here; checks across fields live in `hcplb.spec.checks`.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    model_validator,
)
from pydantic.alias_generators import to_camel

API_VERSION = "hcplb.io/v1alpha1"
KIND = "Site"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?\Z")


class Model(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        str_strip_whitespace=True,
    )


def _dns_label(value: str) -> str:
    if not _DNS_LABEL.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a DNS label (lower-case letters, digits and '-', "
            "at most 63, starting and ending with a letter or digit)"
        )
    return value


def _dns_subdomain(value: str) -> str:
    value = value.rstrip(".")
    if (
        len(value) > 253
        or not _DNS_SUBDOMAIN.fullmatch(value)
        or any(len(part) > 63 for part in value.split("."))
    ):
        raise ValueError(f"{value!r} is not a valid DNS domain name")
    return value


def _ipv4(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 address") from None


def _ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address") from None


def _cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a network in CIDR notation ({exc})") from None


def family_of(value: str) -> int:
    """4 or 6: the IP version of an address or a network."""
    return ipaddress.ip_interface(value).version


def _per_family(values: list[str]) -> list[str]:
    """One address or network per family (IPv4, IPv6), at most two: the first is the primary."""
    if not 1 <= len(values) <= 2:
        raise ValueError("give one entry per IP family: one or two, IPv4 and/or IPv6")
    if len(values) == 2 and family_of(values[0]) == family_of(values[1]):
        raise ValueError(f"{values[0]} and {values[1]} are the same IP family; give one per family")
    return values


def single_or_list(data: Any, single: str, plural: str, check: Callable[[str], str]) -> Any:
    """For a before-validator: `single: x` is the one-family form of `plural: [x, y]`.

    Afterwards both are set (`single` is the primary, the first of `plural`), so code that
    needs one value reads `single` and code that handles families reads `plural`.
    """
    if not isinstance(data, dict):
        return data
    singles, plurals = (single, to_camel(single)), (plural, to_camel(plural))
    given_single = [k for k in singles if k in data]
    given_plural = [k for k in plurals if k in data]
    if given_single and given_plural:
        raise ValueError(f"give {to_camel(single)!r} or {to_camel(plural)!r}, not both")
    data = dict(data)
    # A bad value is reported once, where it is written; its copy gets a stand-in that
    # passes (the model fails on the original anyway).
    if given_single:
        value = data[given_single[0]]
        data[plural] = [value if _valid(check, value) else _STAND_IN]
    elif given_plural:
        values = data[given_plural[0]]
        if isinstance(values, list) and values:
            data[single] = values[0] if _valid(check, values[0]) else _STAND_IN
    return data


_STAND_IN = "0.0.0.0"


def _valid(check: Callable[[str], str], value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        check(value.strip())
    except ValueError:
        return False
    return True


def _pool_entry(value: str) -> str:
    """A pool entry is a CIDR or an inclusive range `first-last` (MetalLB's syntax)."""
    if "-" in value:
        first_text, _, last_text = (part.strip() for part in value.partition("-"))
        try:
            first = ipaddress.ip_address(first_text)
            last = ipaddress.ip_address(last_text)
        except ValueError:
            raise ValueError(f"{value!r} is not a range of IP addresses (first-last)") from None
        if first.version != last.version:
            raise ValueError(f"range {value!r} mixes IPv4 and IPv6")
        if int(first) > int(last):
            raise ValueError(f"range {value!r} starts after it ends")
        return f"{first}-{last}"
    return _cidr(value)


def parse_duration(value: object) -> float:
    """Seconds from a Kubernetes-style duration ("90s", "1m30s", "500ms") or a number."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("a duration is a string such as '90s'")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError("a duration is a finite number of seconds")
        if value < 0:
            raise ValueError("a duration is not negative")
        return float(value)
    match = _DURATION.fullmatch(value.strip())
    if not value.strip() or not match or not any(match.groups()):
        raise ValueError(f"{value!r} is not a duration (examples: 90s, 1m30s, 500ms)")
    hours, minutes, seconds, millis = match.groups()
    return (
        int(hours or 0) * 3600
        + int(minutes or 0) * 60
        + float(seconds or 0)
        + int(millis or 0) / 1000
    )


def label_key_problem(key: str) -> str:
    """Why `key` is not a Kubernetes label key ('' when it is one): [prefix/]name."""
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix)):
        return f"label key {key!r}: the prefix before '/' must be a DNS subdomain"
    if not _LABEL_NAME.fullmatch(name):
        return (
            f"{key!r} is not a label key (a name of at most 63 letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit, after an optional 'prefix/')"
        )
    return ""


def _labels(value: dict[str, str]) -> dict[str, str]:
    for key, text in value.items():
        problem = label_key_problem(key)
        if problem:
            raise ValueError(problem)
        if text and not _LABEL_NAME.fullmatch(text):
            raise ValueError(
                f"label {key}: {text!r} is not a label value (at most 63 letters, digits, '-', "
                "'_' or '.', starting and ending with a letter or digit, or empty)"
            )
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
DnsSubdomain = Annotated[str, AfterValidator(_dns_subdomain)]
IPv4 = Annotated[str, AfterValidator(_ipv4)]
IPAddr = Annotated[str, AfterValidator(_ip)]
Cidr = Annotated[str, AfterValidator(_cidr)]
IPAddrs = Annotated[list[IPAddr], AfterValidator(_per_family)]
Cidrs = Annotated[list[Cidr], AfterValidator(_per_family)]
PoolEntry = Annotated[str, AfterValidator(_pool_entry)]
# Strict: YAML already gives whole numbers as ints; lax mode would read `true` as 1.
Whole = Annotated[int, Strict()]
Flag = Annotated[bool, Strict()]
Asn = Annotated[int, Strict(), Field(ge=1, le=4294967295)]
Labels = Annotated[dict[str, str], AfterValidator(_labels)]
Duration = Annotated[float, BeforeValidator(parse_duration)]


class SecretRef(Model):
    """Where a secret comes from: an environment variable or a file. Never inline."""

    env: str | None = None
    file: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of 'env' or 'file'")
        if self.env is not None and not _ENV_NAME.fullmatch(self.env):
            raise ValueError(f"{self.env!r} is not an environment variable name")
        return self

    def describe(self) -> str:
        return f"env:{self.env}" if self.env is not None else f"file:{self.file}"


class Firewall(StrEnum):
    firewalld = "firewalld"
    iptables = "iptables"
    nftables = "nftables"


class _Addressed(Model):
    """A host with `address` (one family) or `addresses` (one per family, primary first)."""

    address: IPAddr
    addresses: IPAddrs

    @model_validator(mode="before")
    @classmethod
    def _forms(cls, data: Any) -> Any:
        return single_or_list(data, "address", "addresses", _ip)

    def address_of(self, family: int) -> str | None:
        """This host's address of IP version `family`, or None."""
        return next((a for a in self.addresses if family_of(a) == family), None)

    @property
    def families(self) -> tuple[int, ...]:
        return tuple(family_of(a) for a in self.addresses)


class Router(_Addressed):
    name: DnsLabel
    asn: Asn
    # FRR's router-id is 32 bits: a dotted quad even on an IPv6-only router.
    router_id: IPv4
    firewall: Firewall = Firewall.firewalld


class Node(_Addressed):
    name: DnsLabel
    labels: Labels = Field(default_factory=dict)
    asn: Asn | None = None


class ManagementCluster(Model):
    asn: Asn
    metallb_namespace: DnsLabel = "metallb-system"
    # One network per family, primary first (`machineNetworks`), or one (`machineNetwork`).
    machine_network: Cidr
    machine_networks: Cidrs
    nodes: list[Node] = Field(min_length=1)
    speaker_node_selector: Labels = Field(default_factory=dict)
    # MetalLB's BGP implementation: frr-k8s (what current OpenShift runs: MetalLB writes
    # FRRConfigurations, the frr-k8s daemon set renders frr.conf) or frr (MetalLB's own FRR).
    bgp_backend: Literal["frr-k8s", "frr"] = "frr-k8s"

    @model_validator(mode="before")
    @classmethod
    def _forms(cls, data: Any) -> Any:
        return single_or_list(data, "machine_network", "machine_networks", _cidr)

    @property
    def families(self) -> tuple[int, ...]:
        """The site's IP families, the primary first."""
        return tuple(family_of(n) for n in self.machine_networks)


class Bfd(Model):
    """A BFD profile; ranges are MetalLB's (BFDProfile CRD)."""

    name: DnsLabel = "hcplb-bfd"
    receive_interval: Whole = Field(300, ge=10, le=60000)
    transmit_interval: Whole = Field(300, ge=10, le=60000)
    detect_multiplier: Whole = Field(3, ge=2, le=255)
    echo_mode: Flag = False
    passive_mode: Flag = False


class Bgp(Model):
    bfd: Bfd | None = Field(default_factory=Bfd)
    hold_time: Duration = 90.0
    keepalive_time: Duration = 30.0
    connect_time: Duration = 10.0
    password: SecretRef | None = None
    peering: Literal["static", "dynamic"] = "static"
    # per-family: one session per family over that family's addresses; dual-stack: one IPv4
    # session per peer carrying both families (MetalLB's `dualStackAddressFamily`).
    sessions: Literal["per-family", "dual-stack"] = "per-family"


class Pool(Model):
    name: DnsLabel
    addresses: list[PoolEntry] = Field(min_length=1)
    # pinned: one MetalLB pool per hosted cluster holding its VIP; shared: one MetalLB pool for
    # every hosted control plane (serviceAllocation by HyperShift's namespace label), MetalLB
    # picks each VIP.
    assignment: Literal["pinned", "shared"] = "pinned"


class Platform(StrEnum):
    Agent = "Agent"
    KubeVirt = "KubeVirt"
    None_ = "None"
    OpenStack = "OpenStack"
    AWS = "AWS"
    Azure = "Azure"
    PowerVS = "PowerVS"


class HostedCluster(Model):
    name: DnsLabel
    namespace: DnsLabel
    base_domain: DnsSubdomain
    platform: Platform = Platform.Agent
    vip: IPAddr | None = None
    pool: DnsLabel | None = None
    # The family of the VIP: the vip's when given, else the management cluster's primary.
    ip_family: Literal["IPv4", "IPv6"] | None = None
    allowed_cidr_blocks: list[Cidr] = Field(default_factory=list, alias="allowedCIDRBlocks")

    @model_validator(mode="after")
    def _vip_or_pool(self) -> HostedCluster:
        if self.vip is None and self.pool is None:
            raise ValueError("give a 'vip', a 'pool' to take it from, or both")
        if (
            self.vip is not None
            and self.ip_family is not None
            and f"IPv{family_of(self.vip)}" != self.ip_family
        ):
            raise ValueError(
                f"vip {self.vip} is not {self.ip_family}; the vip decides the family "
                "(drop ipFamily or fix the vip)"
            )
        return self

    @property
    def control_plane_namespace(self) -> str:
        return f"{self.namespace}-{self.name}"

    @property
    def api_name(self) -> str:
        return f"api.{self.name}.{self.base_domain}"

    @property
    def api_int_name(self) -> str:
        return f"api-int.{self.name}.{self.base_domain}"


class TsigKey(Model):
    name: DnsSubdomain
    algorithm: Literal["hmac-sha256", "hmac-sha512", "hmac-sha384", "hmac-sha224", "hmac-sha1"] = (
        "hmac-sha256"
    )
    secret: SecretRef


def _pinned_image(value: str) -> str:
    """An image reference with a version tag or a digest: never `latest`, never untagged."""
    name, _, digest = value.partition("@")
    tag = name.rpartition("/")[2].partition(":")[2]
    if len(value) > 512 or not name or " " in value:
        raise ValueError(f"{value!r} is not an image reference")
    if not digest and (not tag or tag == "latest"):
        raise ValueError(
            f"image {value!r} is not pinned: give a version tag (not 'latest') or a @sha256: digest"
        )
    return value


EXTERNAL_DNS_IMAGE = "registry.k8s.io/external-dns/external-dns:v0.15.1"


class ExternalDns(Model):
    """How hcplb runs ExternalDNS (RFC 2136 provider) when `dns.provider` is `externaldns`."""

    image: Annotated[str, AfterValidator(_pinned_image)] = EXTERNAL_DNS_IMAGE
    namespace: DnsLabel = "hcplb-external-dns"
    txt_owner_id: DnsLabel | None = None  # default: hcplb-<site name>
    txt_prefix: Annotated[str, Field(max_length=40, pattern=r"^[a-z0-9-]*$")] = ""
    interval: Duration = 60.0
    policy: Literal["sync", "upsert-only"] = "sync"


class Dns(Model):
    zone: DnsSubdomain | None = None
    ttl: Whole = Field(300, ge=1, le=2147483647)
    primary: IPAddr | None = None
    tsig_key: TsigKey | None = None
    # static: hcplb writes the records (render dns/, apply --dns); externaldns: ExternalDNS in
    # the management cluster writes them from the kube-apiserver Services (render externaldns/).
    provider: Literal["static", "externaldns"] = "static"
    external_dns: ExternalDns = Field(default_factory=ExternalDns)


LAB_CLIENT_NETWORKS = {4: "192.168.130.0/24", 6: "fd00:130::/64"}


class Lab(Model):
    """The rehearsal lab; `clientNetworks` is the per-family form of `clientNetwork`."""

    client_network: Cidr = LAB_CLIENT_NETWORKS[4]
    # Empty when not given: the plan picks a default per site family.
    client_networks: Cidrs = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _forms(cls, data: Any) -> Any:
        return single_or_list(data, "client_network", "client_networks", _cidr)


class SiteSpec(Model):
    routers: list[Router] = Field(min_length=1)
    management_cluster: ManagementCluster
    bgp: Bgp = Field(default_factory=Bgp)
    pools: list[Pool] = Field(default_factory=list)
    hosted_clusters: list[HostedCluster] = Field(min_length=1)
    dns: Dns = Field(default_factory=Dns)
    lab: Lab = Field(default_factory=Lab)


class Metadata(Model):
    name: DnsLabel


class Site(Model):
    api_version: Literal["hcplb.io/v1alpha1"]
    kind: Literal["Site"]
    metadata: Metadata
    spec: SiteSpec

    @property
    def name(self) -> str:
        return self.metadata.name

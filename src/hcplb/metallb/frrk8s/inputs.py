"""Load frr-k8s's internal configuration (`internal/frr.Config`) from YAML: the inputs of the
`frr-k8s-internal` golden corpus, written after frr-k8s's own template tests.

`hasIPv4Address: false` stands for a node without one (frr-k8s then derives router IDs from
the hostname). Keys are the Go fields in lowerCamelCase (`myASN`, `ipv4Prefixes`, `neighbors[].addr`,
`outgoing.communityPrefixesModifiers`, ...); timers are whole seconds. A modifier list names
itself (`name`) or gives `neighborID`, and is then named as frr-k8s's tests name it:
`<neighborID>-<localPref>-<ip|ipv6>-localpref-prefixes`,
`<neighborID>-[large:]<community>-<ip|ipv6>-community-prefixes`.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from hcplb.errors import MetallbError
from hcplb.metallb._fields import Fields, parse_bfd_profile, parse_community
from hcplb.metallb._frrtext import modifier_name
from hcplb.metallb.corpus import frr_config_from_mapping, read_input, session_options
from hcplb.metallb.frr import FrrConfig, frr_log_level
from hcplb.metallb.frrk8s.model import (
    AllowedIn,
    AllowedOut,
    FrrK8sConfig,
    IncomingFilter,
    NeighborConfig,
    PrefixList,
    RouterConfig,
    without_ipv4,
)

__all__ = [
    "FRR_LEVELS",
    "frrk8s_config_from_mapping",
    "load_frrk8s_input",
    "load_translation_input",
]

FRR_LEVELS = frozenset(
    {"emergencies", "alerts", "critical", "errors", "error", "warnings", "notifications"}
    | {"informational", "debugging"}
)

_TOP = {"hostname", "logLevel", "routers", "bfdProfiles", "extraConfig", "hasIPv4Address"}
_ROUTER = {"myASN", "routerID", "vrf", "neighbors", "ipv4Prefixes", "ipv6Prefixes", "importVRFs"}
_NEIGHBOR = {
    "ipFamily", "name", "asn", "srcAddr", "addr", "iface", "port", "holdTime", "keepaliveTime",
    "connectTime", "password", "bfdProfile", "gracefulRestart", "ebgpMultiHop", "localASN",
    "vrfName", "incoming", "outgoing", "alwaysBlock", "addressFamilies",
}  # fmt: skip
_OUT = {
    "prefixesV4", "prefixesV6", "nextHopV4", "nextHopV6",
    "localPrefPrefixesModifiers", "communityPrefixesModifiers",
}  # fmt: skip
_MODIFIER = {"name", "neighborID", "ipFamily", "prefixes", "localPref", "community"}
_FILTER = {"ipFamily", "prefix", "le", "ge"}


def _one_of(f: Fields, key: str, choices: tuple[str, ...], default: str = "") -> str:
    value = f.text(key, default)
    if value not in choices:
        raise MetallbError(f"{f.at(key)}: {value!r} is not one of {', '.join(choices)}")
    return value


def _opt(f: Fields, key: str) -> int | None:
    return f.integer(key) if f.has(key) else None


def _filter(raw: Any, where: str) -> IncomingFilter:
    f = Fields(raw, where)
    f.only(_FILTER)
    return IncomingFilter(
        family=_one_of(f, "ipFamily", ("ipv4", "ipv6")),
        prefix=f.text("prefix"),
        le=f.integer("le", lo=0, hi=128),
        ge=f.integer("ge", lo=0, hi=128),
    )


def _filters(f: Fields, key: str) -> tuple[IncomingFilter, ...]:
    return tuple(_filter(r, f.at(f"{key}[{i}]")) for i, r in enumerate(f.items(key)))


def _modifier(raw: Any, where: str, local_pref: bool) -> PrefixList:
    f = Fields(raw, where)
    f.only(_MODIFIER)
    family = _one_of(f, "ipFamily", ("ip", "ipv6"))
    name = f.text("name")
    pref: int | None = None
    community = ""
    if local_pref:
        pref = f.integer("localPref", lo=0, hi=2**32 - 1)
        value = str(pref)
        kind = "localpref"
    else:
        community = parse_community(f.text("community"))
        value = community
        kind = "community"
    if not name:
        if not f.has("neighborID"):
            raise MetallbError(f"{where}: give name or neighborID")
        name = modifier_name(f.text("neighborID"), value, family, kind)
    return PrefixList(name, family, frozenset(f.texts("prefixes")), pref, community)


def _outgoing(f: Fields) -> AllowedOut:
    f.only(_OUT)
    return AllowedOut(
        prefixes_v4=tuple(f.texts("prefixesV4")),
        prefixes_v6=tuple(f.texts("prefixesV6")),
        next_hop_v4=f.text("nextHopV4"),
        next_hop_v6=f.text("nextHopV6"),
        local_pref=tuple(
            _modifier(r, f.at(f"localPrefPrefixesModifiers[{i}]"), True)
            for i, r in enumerate(f.items("localPrefPrefixesModifiers"))
        ),
        communities=tuple(
            _modifier(r, f.at(f"communityPrefixesModifiers[{i}]"), False)
            for i, r in enumerate(f.items("communityPrefixesModifiers"))
        ),
    )


def _neighbor(f: Fields) -> NeighborConfig:
    f.only(_NEIGHBOR)
    incoming = f.sub("incoming")
    incoming.only({"all", "prefixesV4", "prefixesV6"})
    return NeighborConfig(
        family=_one_of(f, "ipFamily", ("ipv4", "ipv6", "dual")),
        asn=str(f.raw.get("asn", "")),
        addr=f.text("addr"),
        iface=f.text("iface"),
        name=f.text("name"),
        src_addr=f.text("srcAddr"),
        port=_opt(f, "port"),
        vrf=f.text("vrfName"),
        incoming=AllowedIn(
            all=incoming.flag("all"),
            prefixes_v4=_filters(incoming, "prefixesV4"),
            prefixes_v6=_filters(incoming, "prefixesV6"),
        ),
        outgoing=_outgoing(f.sub("outgoing")),
        always_block=_filters(f, "alwaysBlock"),
        address_families=tuple(f.texts("addressFamilies")),
        **asdict(session_options(f, _opt)),
    )


def _router(f: Fields) -> RouterConfig:
    f.only(_ROUTER)
    return RouterConfig(
        my_asn=f.integer("myASN", lo=0, hi=2**32 - 1),
        router_id=f.text("routerID"),
        vrf=f.text("vrf"),
        neighbors=tuple(
            _neighbor(Fields(n, f.at(f"neighbors[{i}]")))
            for i, n in enumerate(f.items("neighbors"))
        ),
        prefixes_v4=tuple(f.texts("ipv4Prefixes")),
        prefixes_v6=tuple(f.texts("ipv6Prefixes")),
        import_vrfs=tuple(f.texts("importVRFs")),
    )


def frrk8s_config_from_mapping(raw: Any, where: str = "input") -> FrrK8sConfig:
    """A FrrK8sConfig from the corpus input shape (see the module docstring)."""
    f = Fields(raw, where)
    f.only(_TOP)
    level = f.text("logLevel", "informational")
    profiles = []
    for i, b in enumerate(f.items("bfdProfiles")):
        bf = Fields(b, f.at(f"bfdProfiles[{i}]"))
        profiles.append(parse_bfd_profile(bf, bf.text("name")))
    config = FrrK8sConfig(
        hostname=f.text("hostname"),
        log_level=level if level in FRR_LEVELS else frr_log_level(level),
        routers=tuple(
            _router(Fields(r, f.at(f"routers[{i}]"))) for i, r in enumerate(f.items("routers"))
        ),
        bfd_profiles=tuple(profiles),
        extra_config=f.text("extraConfig"),
    )
    # the node's own addresses (frr-k8s looks at them when it starts)
    return config if f.flag("hasIPv4Address", True) else without_ipv4(config)


def load_frrk8s_input(path: Path) -> FrrK8sConfig:
    """Read one `*.input.yaml`; MetallbError naming the file if malformed."""
    return frrk8s_config_from_mapping(read_input(path), str(path))


def load_translation_input(path: Path) -> tuple[FrrConfig, str, str]:
    """A MetalLB speaker's inputs (the FRR-mode corpus shape) plus `node` and `namespace`:
    what MetalLB's frr-k8s session manager turns into one FRRConfiguration."""
    f = Fields(read_input(path), str(path))
    rest = {k: v for k, v in f.raw.items() if k not in ("node", "namespace")}
    return frr_config_from_mapping(rest, str(path)), f.text("node"), f.text("namespace")

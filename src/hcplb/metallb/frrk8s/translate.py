"""The FRRConfiguration MetalLB writes for one node in frr-k8s mode (its `frrk8s` session
manager), from the same session parameters its FRR mode renders into frr.conf.

One object per node, `metallb-<node>`, selecting the node by `kubernetes.io/hostname`.
Routers are keyed `myASN@routerID@vrf` and neighbors `peerASN@peer-myASN@source[/vrf]`
(Go prints a missing address as `<nil>`), both emitted sorted by key. Each neighbor is
allowed exactly the prefixes of its family it advertises (sorted), with per-community and
per-local-preference lists; it receives nothing. MetalLB does not pass `sourceAddress` or
`localASN` to frr-k8s. When frr-k8s runs in another namespace than MetalLB (OpenShift:
`openshift-frr-k8s`), MetalLB resolves a peer's password Secret and writes the password into
the object; the model's sessions already carry it resolved.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from typing import Any

from hcplb.gotext import format_duration
from hcplb.metallb.frr import BfdProfile, FrrConfig, Session, prefix_version

__all__ = [
    "API_VERSION",
    "KIND",
    "config_name",
    "frr_configuration",
    "go_json",
    "manifest",
]

API_VERSION = "frrk8s.metallb.io/v1beta1"
KIND = "FRRConfiguration"
HOSTNAME_LABEL = "kubernetes.io/hostname"


def config_name(node: str) -> str:
    """The name MetalLB gives the FRRConfiguration of a node."""
    return f"metallb-{node}"


def _ip_text(address: str) -> str:
    return address or "<nil>"


def _session_key(s: Session) -> str:
    base = f"{s.remote_as}@{s.peer}-{s.my_asn}@{_ip_text(s.source_address)}"
    return f"{base}/{s.vrf}" if s.vrf else base


def _prefix_text(prefix: str) -> str:
    """Go's IPNet.String(): the address as given (host bits kept), canonical text."""
    iface = ipaddress.ip_interface(prefix)
    return f"{iface.ip}/{iface.network.prefixlen}"


def _duration(seconds: int | None) -> str | None:
    return None if seconds is None else format_duration(seconds)


def _without_empty(items: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Go's omitempty: drop "", 0, False, None and empty lists (structs stay, even empty)."""
    return {k: v for k, v in items if v not in ("", 0, False, None, [])}


class _Neighbor:
    def __init__(self, s: Session) -> None:
        self.session = s
        self.allowed: list[str] = []
        self.communities: dict[str, list[str]] = {}
        self.local_prefs: dict[int, list[str]] = {}

    def to_json(self) -> dict[str, Any]:
        s = self.session
        advertise: dict[str, Any] = {"allowed": _without_empty([("prefixes", self.allowed)])}
        advertise |= _without_empty(
            [
                (
                    "withLocalPref",
                    [
                        {"prefixes": _sorted_unique(self.local_prefs[p]), "localPref": p}
                        for p in sorted(self.local_prefs)
                    ],
                ),
                (
                    "withCommunity",
                    [
                        {"prefixes": _sorted_unique(self.communities[c]), "community": c}
                        for c in sorted(self.communities)
                    ],
                ),
            ]
        )
        head = _without_empty(
            [
                ("asn", s.peer_asn),
                ("dynamicASN", s.dynamic_asn),
                ("address", s.peer_address),
                ("interface", s.peer_interface),
            ]
        )
        return (
            head
            | {"port": s.peer_port}
            | _without_empty([("password", s.password)])
            | {"passwordSecret": {}}
            | _without_empty(
                [
                    ("holdTime", _duration(s.hold_time)),
                    ("keepaliveTime", _duration(s.keepalive_time)),
                    ("connectTime", _duration(s.connect_time)),
                    ("ebgpMultiHop", s.ebgp_multihop),
                    ("bfdProfile", s.bfd_profile),
                    ("enableGracefulRestart", s.graceful_restart),
                ]
            )
            | {"toAdvertise": advertise, "toReceive": {"allowed": {}}}
            | _without_empty([("dualStackAddressFamily", s.dual_stack_address_family)])
        )


def _sorted_unique(values: list[str]) -> list[str]:
    return sorted(set(values))


class _Router:
    def __init__(self, s: Session) -> None:
        self.asn = s.my_asn
        self.router_id = s.router_id
        self.vrf = s.vrf
        self.neighbors: dict[str, _Neighbor] = {}
        self.prefixes: set[str] = set()

    def add(self, s: Session) -> None:
        neighbor = self.neighbors.setdefault(_session_key(s), _Neighbor(s))
        for adv in s.advertisements:
            if s.family not in (f"ipv{prefix_version(adv.prefix)}", "dual"):
                continue
            prefix = _prefix_text(adv.prefix)
            neighbor.allowed.append(prefix)
            self.prefixes.add(prefix)
            for community in adv.communities:
                neighbor.communities.setdefault(community, []).append(prefix)
            if adv.local_pref:
                neighbor.local_prefs.setdefault(adv.local_pref, []).append(prefix)
        neighbor.allowed = _sorted_unique(neighbor.allowed)

    def to_json(self) -> dict[str, Any]:
        return {"asn": self.asn} | _without_empty(
            [
                ("id", self.router_id),
                ("vrf", self.vrf),
                ("neighbors", [self.neighbors[k].to_json() for k in sorted(self.neighbors)]),
                ("prefixes", sorted(self.prefixes)),
            ]
        )


def _bfd_json(p: BfdProfile) -> dict[str, Any]:
    optional = {
        "receiveInterval": p.receive_interval,
        "transmitInterval": p.transmit_interval,
        "detectMultiplier": p.detect_multiplier,
        "echoInterval": p.echo_interval,
    }
    result: dict[str, Any] = {"name": p.name}
    result |= {k: v for k, v in optional.items() if v is not None}
    result |= {"echoMode": p.echo_mode, "passiveMode": p.passive_mode}
    if p.minimum_ttl is not None:
        result["minimumTtl"] = p.minimum_ttl
    return result


def frr_configuration(frr: FrrConfig, node: str, namespace: str) -> dict[str, Any]:
    """The FRRConfiguration (metadata, spec, status; as MetalLB's tests serialise it) for a
    speaker's sessions and BFD profiles."""
    routers: dict[str, _Router] = {}
    for s in frr.sessions:
        key = f"{s.my_asn}@{_ip_text(s.router_id)}@{s.vrf}"
        routers.setdefault(key, _Router(s)).add(s)
    bgp = _without_empty(
        [
            ("routers", [routers[k].to_json() for k in sorted(routers)]),
            ("bfdProfiles", [_bfd_json(p) for p in sorted(frr.bfd_profiles, key=lambda p: p.name)]),
        ]
    )
    return {
        "metadata": {"name": config_name(node), "namespace": namespace},
        "spec": {
            "bgp": bgp,
            "raw": {},
            "nodeSelector": {"matchLabels": {HOSTNAME_LABEL: node}},
        },
        "status": {},
    }


def manifest(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object with apiVersion and kind, as it is applied to a cluster."""
    return {"apiVersion": API_VERSION, "kind": KIND} | dict(obj)


def go_json(obj: Any) -> str:
    """json.MarshalIndent(obj, "", "    "): Go escapes <, > and & inside strings."""
    text = json.dumps(obj, indent=4, ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")

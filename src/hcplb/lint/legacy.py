"""What older MetalLB installs still carry: read it as today's objects, and say how to migrate.

- The `config` ConfigMap (MetalLB before 0.13: `peers:` and `address-pools:` in one YAML string).
- The `AddressPool` kind (metallb.io/v1beta1, replaced by IPAddressPool + advertisements).
- `metallb.universe.tf/*` Service annotations (renamed `metallb.io/*`).

`modernize` gives the IPAddressPool / BGPPeer / BGPAdvertisement / L2Advertisement each legacy
object stands for, located at the legacy object, so every MetalLB rule and `hcplb import` read
them; `legacy_findings` says what to migrate.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import yaml

from hcplb.lint.findings import Finding, warning
from hcplb.lint.k8s import Manifest

_MIGRATE = (
    "migrate to IPAddressPool + BGPAdvertisement (and BGPPeer) objects: `hcplb import` writes "
    "the site spec and `hcplb render` the CRs"
)
_LEGACY_PEER_KEYS = {
    "peer-address": "peerAddress",
    "peer-asn": "peerASN",
    "my-asn": "myASN",
    "peer-port": "peerPort",
    "hold-time": "holdTime",
    "router-id": "routerID",
    "source-address": "sourceAddress",
    "password": "password",
}


def _legacy_config(m: Manifest) -> Mapping[str, Any] | None:
    """The parsed `config` key of a MetalLB ConfigMap, or None when this is not one."""
    if m.kind != "ConfigMap":
        return None
    data = m.get("data")
    text = data.get("config") if isinstance(data, Mapping) else None
    if not isinstance(text, str) or not ("address-pools" in text or "peers" in text):
        return None
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    return parsed if isinstance(parsed, Mapping) else {}


def _made(m: Manifest, kind: str, name: str, spec: dict[str, Any], version: str) -> Manifest:
    api = f"metallb.io/{version}"
    body = {
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": name, "namespace": m.namespace},
        "spec": spec,
    }
    return Manifest(m.file, m.line, api, kind, name, m.namespace, body)


def _advertised(m: Manifest, pool: str, protocol: str) -> Manifest:
    kind = "L2Advertisement" if protocol == "layer2" else "BGPAdvertisement"
    return _made(m, kind, f"{pool}-adv", {"ipAddressPools": [pool]}, "v1beta1")


def _from_configmap(m: Manifest, config: Mapping[str, Any]) -> Iterator[Manifest]:
    peers = config.get("peers")
    for i, peer in enumerate(peers if isinstance(peers, list) else []):
        if isinstance(peer, Mapping):
            fields = {new: peer[old] for old, new in _LEGACY_PEER_KEYS.items() if old in peer}
            yield _made(m, "BGPPeer", f"peer-{i}", fields, "v1beta2")
    pools = config.get("address-pools")
    for i, pool in enumerate(pools if isinstance(pools, list) else []):
        if not isinstance(pool, Mapping):
            continue
        name = str(pool.get("name") or f"pool-{i}")
        spec: dict[str, Any] = {"addresses": list(pool.get("addresses") or [])}
        if "auto-assign" in pool:
            spec["autoAssign"] = pool["auto-assign"]
        yield _made(m, "IPAddressPool", name, spec, "v1beta1")
        yield _advertised(m, name, str(pool.get("protocol") or "bgp"))


def _from_addresspool(m: Manifest) -> Iterator[Manifest]:
    spec: dict[str, Any] = {"addresses": list(m.items("spec", "addresses"))}
    if m.get("spec", "autoAssign") is not None:
        spec["autoAssign"] = m.get("spec", "autoAssign")
    yield _made(m, "IPAddressPool", m.name, spec, "v1beta1")
    yield _advertised(m, m.name, m.text("spec", "protocol") or "bgp")


def _is_addresspool(m: Manifest) -> bool:
    return m.kind == "AddressPool" and m.group == "metallb.io"


def modernize(manifests: Sequence[Manifest]) -> tuple[Manifest, ...]:
    """The manifests with each legacy MetalLB object replaced by the objects it stands for."""
    out: list[Manifest] = []
    for m in manifests:
        config = _legacy_config(m)
        if config is not None:
            out += _from_configmap(m, config)
        elif _is_addresspool(m):
            out += _from_addresspool(m)
        else:
            out.append(m)
    return tuple(out)


def legacy_findings(manifests: Sequence[Manifest]) -> list[Finding]:
    found: list[Finding] = []
    for m in manifests:
        config = _legacy_config(m)
        if config is not None:
            pools = config.get("address-pools")
            peers = config.get("peers")
            count = (
                len(pools) if isinstance(pools, list) else 0,
                len(peers) if isinstance(peers, list) else 0,
            )
            found.append(
                warning(
                    m.where("data", "config"),
                    "metallb.legacy.configmap",
                    f"ConfigMap {m.namespace or ''}/{m.name} holds MetalLB's configuration in the "
                    f"format before 0.13 ({count[0]} address pools, {count[1]} peers): MetalLB "
                    "0.13 and later ignore it, so nothing is allocated or announced",
                    _MIGRATE,
                )
            )
        elif _is_addresspool(m):
            found.append(
                warning(
                    m.where("kind"),
                    "metallb.legacy.addresspool",
                    f"AddressPool {m.name} is a kind MetalLB no longer serves: its addresses are "
                    "not allocated by current releases",
                    _MIGRATE,
                )
            )
        elif m.kind == "Service":
            notes = m.get("metadata", "annotations")
            for key in notes if isinstance(notes, Mapping) else {}:
                if isinstance(key, str) and key.startswith("metallb.universe.tf/"):
                    new = "metallb.io/" + key.split("/", 1)[1]
                    found.append(
                        warning(
                            m.where("metadata", "annotations", key),
                            "metallb.annotation.deprecated",
                            f"Service {m.name}: annotation {key} is deprecated",
                            f"use {new} (same value); newer MetalLB releases drop the old name",
                        )
                    )
    return found

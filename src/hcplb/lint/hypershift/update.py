"""HostedCluster rules on update (`oldSelf`): what the API server refuses to change."""

from __future__ import annotations

from hcplb.lint.findings import Finding
from hcplb.lint.hypershift._common import Collector
from hcplb.lint.k8s import Manifest

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


def _ovn_update(c: Collector, old: Manifest, new: Manifest) -> None:
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
    c = Collector(new)
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

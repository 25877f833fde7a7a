"""MetalLB rules on peers, BFD profiles, the MetalLB CR and namespaces, with MetalLB's messages.

Rule ids are `metallb.<id>` with the ids of `validation-rules.yaml`; the checks MetalLB does
not make (hcplb's additions) have ids of their own. Pools and advertisements are in `pools`
and `ads`. Rules that need a live cluster (update/delete webhooks, runtime) are left out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from hcplb import gotext
from hcplb.lint.facts import NodeFact
from hcplb.lint.findings import Finding, error, warning
from hcplb.lint.k8s import Manifest
from hcplb.lint.metallb.ads import check_pools
from hcplb.lint.metallb.peers import check_frr_pairs, check_native, check_peer
from hcplb.lint.metallb.view import MetallbView
from hcplb.metallb.objects import BACKENDS, DEFAULT_NAMESPACE
from hcplb.metallb.validation import (
    BFD_RANGES,
    CR_NAME,
    MISSING_NAME,
    bfd_range,
    duplicate_name,
    duplicate_object,
    wrong_namespace,
)

_LOG_LEVELS = ("all", "debug", "info", "warn", "error", "none")


def check_metallb(
    view: MetallbView, nodes: Sequence[NodeFact], *, openshift: bool
) -> list[Finding]:
    """Every MetalLB finding over the manifests."""
    found: list[Finding] = []
    found += _operator(view, openshift=openshift)
    found += _namespaces(view)
    found += _bfd_profiles(view)
    for peer in view.peers:
        found += check_peer(view, peer)
    found += check_frr_pairs(view, nodes)
    found += check_native(view)
    found += check_pools(view, nodes)
    return found


# --- the MetalLB CR (operator) ----------------------------------------------------------------


def _operator(view: MetallbView, *, openshift: bool) -> Iterator[Finding]:
    # With Helm or plain manifests there is no MetalLB CR to miss: only an operator needs one.
    if not view.operators and view.config_objects and openshift:
        first = view.config_objects[0]
        ns = view.namespace or DEFAULT_NAMESPACE
        yield error(
            first.where(),
            "metallb.cr.missing",
            "no MetalLB resource: the operator deploys no controller and no speaker, so nothing is "
            "allocated or announced",
            f"add `apiVersion: metallb.io/v1beta1, kind: MetalLB, metadata: {{name: metallb, "
            f"namespace: {ns}}}`",
        )
    if len(view.operators) > 1:
        yield warning(
            view.operators[1].where(),
            "metallb.cr.several",
            f"{len(view.operators)} MetalLB resources: the operator acts on the one named metallb",
        )
    config_ns = {o.namespace for o in view.config_objects if o.namespace}
    for cr in view.operators:
        if cr.name != "metallb":
            yield error(
                cr.where("metadata", "name"),
                "metallb.op.name",
                CR_NAME,
                "the operator marks it Degraded (IncorrectMetalLBResourceName) and deploys nothing",
            )
        if cr.namespace and config_ns and cr.namespace not in config_ns:
            yield error(
                cr.where("metadata", "namespace"),
                "metallb.cr.namespace",
                f"the MetalLB resource is in namespace {cr.namespace} but the MetalLB "
                f"configuration is in {', '.join(sorted(config_ns))}",
                "put the MetalLB CR in the namespace the operator was installed to, with the pools "
                "and peers",
            )
        backend = cr.text("spec", "bgpBackend") or ""
        if backend and backend not in BACKENDS:
            yield error(
                cr.where("spec", "bgpBackend"),
                "metallb.op.bgpbackend",
                f"invalid BGP Backend, must be one of {', '.join(BACKENDS)}",
            )
        if backend == "native" and openshift:
            yield error(
                cr.where("spec", "bgpBackend"),
                "metallb.op.native.openshift",
                "native mode is not supported on openshift",
            )
        if backend == "frr-k8s-external" and not cr.text("spec", "frrk8sConfig", "namespace"):
            yield warning(
                cr.where("spec", "bgpBackend"),
                "metallb.op.frrk8s.external.ns",
                "bgp backend: frrk8s external and no default or user provided namespace",
                "set spec.frrk8sConfig.namespace unless the operator has a default",
            )
        for i, cidr in enumerate(cr.items("spec", "frrk8sConfig", "alwaysBlock")):
            if not isinstance(cidr, str) or gotext.parse_cidr(cidr.strip()) is None:
                yield error(
                    cr.where("spec", "frrk8sConfig", "alwaysBlock", i),
                    "metallb.op.alwaysblock",
                    f"invalid CIDR {cidr} in AlwaysBlock",
                )
        for key, label in (
            ("controllerTolerations", "Controller"),
            ("speakerTolerations", "Speaker"),
        ):
            for i, tol in enumerate(cr.items("spec", key)):
                seconds = tol.get("tolerationSeconds") if isinstance(tol, dict) else None
                if isinstance(seconds, int) and seconds > 0 and tol.get("effect") != "NoExecute":
                    yield error(
                        cr.where("spec", key, i),
                        "metallb.op.tolerations",
                        f"{label}Toleration effect must be NoExecute when tolerationSeconds is set",
                    )
        level = cr.get("spec", "logLevel")
        if level is not None and level not in _LOG_LEVELS:
            yield error(
                cr.where("spec", "logLevel"),
                "metallb.op.loglevel",
                f"spec.logLevel: Unsupported value: {gotext.q(str(level))}: supported values: "
                + ", ".join(gotext.q(v) for v in _LOG_LEVELS),
            )


def _namespaces(view: MetallbView) -> Iterator[Finding]:
    seen: dict[tuple[str, str | None, str], Manifest] = {}
    for obj in view.config_objects:
        key = (obj.kind, obj.namespace, obj.name)
        if key in seen and obj.name:
            same = dict(obj.body) == dict(seen[key].body)
            if obj.kind in ("IPAddressPool", "BFDProfile") or (
                obj.kind == "BGPAdvertisement" and same
            ):
                pass  # reported with MetalLB's own message
            elif obj.kind == "BGPPeer" and same:
                yield error(
                    obj.where(),
                    "metallb.peer.duplicate.exact",
                    duplicate_object(obj.kind, obj.name, 0, 0) or "",
                )
            else:
                yield error(
                    obj.where("metadata", "name"),
                    "k8s.duplicate",
                    f"{obj.ref} is defined twice (also at {seen[key].where()}): the last one applied wins",
                )
        seen[key] = obj
        if obj.namespace is None:
            yield warning(
                obj.where("metadata"),
                "metallb.namespace.missing",
                f"{obj.kind} {obj.name} has no namespace: it lands in whatever namespace kubectl uses",
                f"set metadata.namespace: {view.namespace or DEFAULT_NAMESPACE}",
            )
        elif view.namespace and obj.namespace != view.namespace:
            yield error(
                obj.where("metadata", "namespace"),
                "metallb.webhook.namespace",
                wrong_namespace(view.namespace),
                f"MetalLB runs in {view.namespace} (from the {view.namespace_source}) and ignores "
                "objects elsewhere",
            )


def _bfd_profiles(view: MetallbView) -> Iterator[Finding]:
    names: set[str] = set()
    for bfd in view.bfd_profiles:
        if not bfd.name:
            yield error(bfd.where("metadata"), "metallb.bfd.name", MISSING_NAME[bfd.kind])
        elif bfd.name in names:
            yield error(
                bfd.where("metadata", "name"),
                "metallb.bfd.dup",
                duplicate_name(bfd.kind, bfd.name) or "",
            )
        names.add(bfd.name)
        for key, (low, high) in BFD_RANGES.items():
            value = bfd.integer("spec", key)
            problem = None if value is None else bfd_range(value, low, high)
            if problem:
                yield error(bfd.where("spec", key), "metallb.bfd.range", problem)

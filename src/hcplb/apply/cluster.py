"""`apply --cluster`: server-side apply of the MetalLB manifests, field manager `hcplb`.

Order: the `MetalLB` CR (the operator deploys the speakers and the webhooks only once it
exists), wait until it is Available, then BFD profile, password Secret, pools, peers and
advertisements. Those are first sent as a server dry run, all of them, so a conflict or a
webhook's refusal is reported for every object before any of them changes; only then are
they applied. A conflict (another field manager owns a field) stops the apply unless
`force_conflicts` takes the fields over. Whether an object changed is read from the API's
answer (resourceVersion for a real apply, the returned object for a dry run), so a second
apply reports "unchanged" everywhere and the server stores nothing new.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import lightkube
from lightkube import ApiError, codecs
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.core_v1 import Secret

from hcplb.errors import TargetError
from hcplb.targets.kube import (
    METALLB_INSTALL_HINT,
    RESOURCES,
    is_missing_kind,
    status_of,
    translated,
)

APPLY_ORDER = ("MetalLB", "BFDProfile", "Secret", "IPAddressPool", "BGPPeer", "BGPAdvertisement")
METALLB_CRD = "metallbs.metallb.io"
_VOLATILE = ("resourceVersion", "generation", "managedFields", "creationTimestamp", "uid")


@dataclass(frozen=True)
class ObjectResult:
    """What the apply did to one object: created, configured or unchanged (or would, in a dry run)."""

    kind: str
    namespace: str
    name: str
    action: str

    def describe(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name} {self.action}"


@dataclass(frozen=True)
class ClusterReport:
    objects: tuple[ObjectResult, ...]
    dry_run: bool
    metallb_available: bool
    waited_s: float

    @property
    def changed(self) -> bool:
        return any(o.action != "unchanged" for o in self.objects)


def _order(manifests: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    unknown = [m["kind"] for m in manifests if m["kind"] not in APPLY_ORDER]
    if unknown:
        raise TargetError(f"hcplb does not apply kind(s) {', '.join(sorted(set(unknown)))}")
    return sorted(manifests, key=lambda m: APPLY_ORDER.index(m["kind"]))


def _ident(manifest: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = manifest["metadata"]
    return str(manifest["kind"]), str(meta.get("namespace", "")), str(meta["name"])


def _comparable(obj: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if obj is None:
        return None
    result = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in dict(result.get("metadata") or {}).items() if k not in _VOLATILE}
    result["metadata"] = meta
    return result


def _to_dict(obj: Any) -> dict[str, Any]:
    data = obj.to_dict()
    assert isinstance(data, dict)
    return data


class _Applier:
    def __init__(self, client: lightkube.Client, *, force: bool) -> None:
        self.client = client
        self.force = force

    def get(self, manifest: Mapping[str, Any]) -> dict[str, Any] | None:
        kind, namespace, name = _ident(manifest)
        resource = _resource(kind)
        with translated(f"reading {kind} {namespace}/{name}"):
            try:
                return _to_dict(self.client.get(resource, name, namespace=namespace))
            except ApiError as exc:
                if is_missing_kind(exc):
                    raise _not_installed(kind) from None
                if status_of(exc)[0] == 404:
                    return None
                raise

    def apply(
        self, manifest: Mapping[str, Any], *, dry_run: bool
    ) -> tuple[dict[str, Any] | None, str]:
        """(the object the API returned, or None; '' or the reason the API refused it)."""
        kind, namespace, name = _ident(manifest)
        obj = codecs.from_dict(dict(manifest))
        try:
            return _to_dict(self.client.apply(obj, force=self.force, dry_run=dry_run)), ""
        except ApiError as exc:
            if is_missing_kind(exc):
                raise _not_installed(kind) from None
            code, reason, message = status_of(exc)
            if code == 409:
                return None, (
                    f"{kind} {namespace}/{name}: {message} (hint: another field manager owns "
                    "these fields; re-run with --force-conflicts to take them over)"
                )
            if code in (400, 422) or (code == 403 and "webhook" in message):
                return None, f"{kind} {namespace}/{name}: {code} {reason}: {message}"
            with translated(f"applying {kind} {namespace}/{name}"):
                raise


def _resource(kind: str) -> Any:
    return Secret if kind == "Secret" else RESOURCES[kind]


def _not_installed(kind: str) -> TargetError:
    return TargetError(
        f"MetalLB is not installed on this cluster (the API has no {kind} kind, CRD "
        f"{METALLB_CRD} not found) (hint: {METALLB_INSTALL_HINT})"
    )


def _available(obj: Mapping[str, Any] | None) -> bool:
    conditions = ((obj or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Available" and c.get("status") == "True" for c in conditions)


def _action(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, dry_run: bool
) -> str:
    if before is None:
        return "created"
    if after is None:
        return "configured"
    if not dry_run:
        same = before.get("metadata", {}).get("resourceVersion") == after.get("metadata", {}).get(
            "resourceVersion"
        )
    else:
        same = _comparable(before) == _comparable(after)
    return "unchanged" if same else "configured"


def check_metallb_installed(client: lightkube.Client) -> None:
    """404 on the MetalLB CRD: a clear error. A user who may not read CRDs goes on (403)."""
    with translated(f"reading CRD {METALLB_CRD}"):
        try:
            client.get(CustomResourceDefinition, METALLB_CRD)
        except ApiError as exc:
            code = status_of(exc)[0]
            if code == 404:
                raise _not_installed("MetalLB") from None
            if code != 403:
                raise


def apply_cluster(
    client: lightkube.Client,
    manifests: Sequence[Mapping[str, Any]],
    *,
    dry_run: bool = False,
    force_conflicts: bool = False,
    available_timeout: float = 600.0,
    poll_interval: float = 2.0,
    progress: Callable[[str], None] = lambda _: None,
) -> ClusterReport:
    """Apply the site's MetalLB objects in order; see the module docstring for the guarantees."""
    ordered = _order(manifests)
    applier = _Applier(client, force=force_conflicts)
    check_metallb_installed(client)
    results: list[ObjectResult] = []
    rest = [m for m in ordered if m["kind"] != "MetalLB"]
    waited = 0.0
    available = True
    for manifest in (m for m in ordered if m["kind"] == "MetalLB"):
        before = applier.get(manifest)
        after, refused = applier.apply(manifest, dry_run=dry_run)
        if refused:
            raise TargetError(refused)
        results.append(ObjectResult(*_ident(manifest), _action(before, after, dry_run)))
        if dry_run:
            available = _available(before)
            if not available:
                progress("MetalLB CR is not Available yet: the dry run of the rest may fail")
        else:
            started = time.monotonic()
            available = _wait_available(applier, manifest, after, available_timeout, poll_interval)
            waited = time.monotonic() - started
    befores = [applier.get(m) for m in rest]
    trial = [applier.apply(m, dry_run=True) for m in rest]
    refusals = [reason for _, reason in trial if reason]
    if refusals:
        raise TargetError(
            f"the cluster refused {len(refusals)} object(s); nothing after the MetalLB CR was "
            "changed:\n  " + "\n  ".join(refusals)
        )
    for manifest, before, (dry_after, _) in zip(rest, befores, trial, strict=True):
        if dry_run:
            after = dry_after
        else:
            after, refused = applier.apply(manifest, dry_run=False)
            if refused:  # the dry run passed a moment ago: someone changed the object since
                raise TargetError(refused)
        results.append(ObjectResult(*_ident(manifest), _action(before, after, dry_run)))
        progress(results[-1].describe())
    return ClusterReport(tuple(results), dry_run, available, waited)


def _wait_available(
    applier: _Applier,
    manifest: Mapping[str, Any],
    current: Mapping[str, Any] | None,
    timeout: float,
    interval: float,
) -> bool:
    deadline = time.monotonic() + timeout
    while not _available(current):
        if time.monotonic() >= deadline:
            _, namespace, name = _ident(manifest)
            conditions = ((current or {}).get("status") or {}).get("conditions") or []
            seen = ", ".join(f"{c.get('type')}={c.get('status')}" for c in conditions) or "none"
            raise TargetError(
                f"MetalLB {namespace}/{name} did not become Available within {timeout:g} s "
                f"(conditions: {seen}) (hint: oc -n {namespace} get pods; the operator "
                "deploys the controller and speakers)"
            )
        time.sleep(interval)
        current = applier.get(manifest)
    return True

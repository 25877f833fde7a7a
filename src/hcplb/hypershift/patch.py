"""Edit a HostedCluster YAML in place: set `spec.services` and `allowedCIDRBlocks` from the site.

Works on multi-document files such as `hcp create cluster agent --render` output. Only the
HostedCluster documents that match a site cluster (same namespace and name) are re-emitted;
every other byte of the file stays as it was. Inside an edited document every comment and the
order of every other key are kept (ruamel round trip). Services the site does not mention
are left alone; for the ones it does, `servicePublishingStrategy` is made equal to the site's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from hcplb.errors import Problem, SpecError
from hcplb.fsutil import write_atomic
from hcplb.hypershift._yamledit import (
    append_item,
    delete_key,
    dump,
    load_document,
    set_key,
    split_documents,
    sync_map,
    to_plain,
)
from hcplb.plan import ClusterPlan, SitePlan
from hcplb.render.hostedcluster import hostedcluster_services
from hcplb.spec.models import HostedCluster

HYPERSHIFT_GROUP = "hypershift.openshift.io"


@dataclass(frozen=True)
class DesiredHostedCluster:
    """What the site wants in one HostedCluster: its publishing strategies and API allow list."""

    namespace: str
    name: str
    base_domain: str
    services: tuple[Mapping[str, Any], ...]
    allowed_cidr_blocks: tuple[str, ...] = ()
    vip: str = ""
    api_name: str = ""
    # False for a cluster the spec does not list (shared pool): its allow list stays as it is
    manage_allowed: bool = True

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def _desired(
    plan: SitePlan, cluster_plan: ClusterPlan, *, manage_allowed: bool = True
) -> DesiredHostedCluster:
    fragment = hostedcluster_services(plan, cluster_plan)
    api_server = (fragment.get("networking") or {}).get("apiServer") or {}
    cluster = cluster_plan.cluster
    return DesiredHostedCluster(
        namespace=cluster.namespace,
        name=cluster.name,
        base_domain=cluster.base_domain,
        services=tuple(fragment["services"]),
        allowed_cidr_blocks=tuple(api_server.get("allowedCIDRBlocks") or ()),
        vip=cluster_plan.vip,
        api_name=cluster_plan.api_name,
        manage_allowed=manage_allowed,
    )


def shared_pool_desired(
    plan: SitePlan, namespace: str, name: str, base_domain: str
) -> DesiredHostedCluster | None:
    """What a HostedCluster the spec does not list gets when the site has a shared pool (the
    first one): the same services as a listed cluster of that pool; None without one."""
    if not plan.shared_pools:
        return None
    pool = plan.shared_pools[0].name
    cluster = HostedCluster.model_construct(
        name=name,
        namespace=namespace,
        base_domain=base_domain,
        pool=pool,
        vip=None,
        allowed_cidr_blocks=[],
    )
    cluster_plan = ClusterPlan(
        cluster=cluster,
        vip="",
        metallb_pool=pool,
        control_plane_namespace=f"{namespace}-{name}",
        api_name=f"api.{name}.{base_domain}",
        api_int_name=f"api-int.{name}.{base_domain}",
        shared=True,
    )
    return _desired(plan, cluster_plan, manage_allowed=False)


def desired_hostedclusters(plan: SitePlan) -> tuple[DesiredHostedCluster, ...]:
    """What every hosted cluster of the site should have, from the rendered spec fragment."""
    return tuple(_desired(plan, cluster_plan) for cluster_plan in plan.clusters)


@dataclass(frozen=True)
class PatchResult:
    """The patched text and what changed, per HostedCluster (`namespace/name`)."""

    text: str
    changes: tuple[str, ...]
    matched: tuple[str, ...]
    skipped: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def _short(value: Any) -> str:
    return json.dumps(to_plain(value), separators=(", ", ": "))


def _is_hostedcluster(doc: Any) -> bool:
    return (
        isinstance(doc, CommentedMap)
        and doc.get("kind") == "HostedCluster"
        and str(doc.get("apiVersion", "")).startswith(HYPERSHIFT_GROUP + "/")
    )


def _ident(doc: CommentedMap) -> str:
    meta = doc.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def _problem(file: str, line: int, path: str, message: str, hint: str = "") -> Problem:
    return Problem(file, line, 1, path, message, hint)


def _patch_services(
    spec: CommentedMap, desired: DesiredHostedCluster, changes: list[str], notes: list[str]
) -> None:
    where = desired.key
    if not isinstance(spec.get("services"), CommentedSeq):
        set_key(spec, "services", [dict(s) for s in desired.services])
        changes.append(f"{where}: spec.services set to {_short(desired.services)}")
        return
    services: CommentedSeq = spec["services"]
    by_name = {
        str(item.get("service")): item for item in services if isinstance(item, CommentedMap)
    }
    managed = {str(s["service"]) for s in desired.services}
    for name, existing in by_name.items():
        if name not in managed:
            kept = existing.get("servicePublishingStrategy") or {}
            notes.append(
                f"{where}: spec.services[{name}] left as {kept.get('type', '?')} "
                "(hcplb does not manage it)"
            )
    for wanted in desired.services:
        name = str(wanted["service"])
        strategy = wanted["servicePublishingStrategy"]
        item = by_name.get(name)
        if item is None:
            append_item(services, dict(wanted))
            changes.append(f"{where}: spec.services[{name}] added: {_short(strategy)}")
            continue
        current = item.get("servicePublishingStrategy")
        before = _short(current)
        if to_plain(current) == to_plain(strategy):
            continue
        if isinstance(current, CommentedMap):
            sync_map(current, strategy)
        else:
            set_key(item, "servicePublishingStrategy", dict(strategy))
        changes.append(
            f"{where}: spec.services[{name}].servicePublishingStrategy "
            f"{before} -> {_short(strategy)}"
        )


def _patch_allowed(spec: CommentedMap, desired: DesiredHostedCluster, changes: list[str]) -> None:
    where = desired.key
    wanted = list(desired.allowed_cidr_blocks)
    networking = spec.get("networking")
    api_server = networking.get("apiServer") if isinstance(networking, CommentedMap) else None
    current = (
        to_plain(api_server.get("allowedCIDRBlocks")) if isinstance(api_server, Mapping) else None
    )
    if (current or []) == wanted:
        return
    path = "spec.networking.apiServer.allowedCIDRBlocks"
    if not wanted:
        # The site allows every source: drop the list (and an apiServer left empty by that).
        assert isinstance(networking, CommentedMap) and isinstance(api_server, CommentedMap)
        if len(api_server) == 1:
            delete_key(networking, "apiServer")
        else:
            delete_key(api_server, "allowedCIDRBlocks")
        changes.append(f"{where}: {path} removed (was {_short(current)})")
        return
    # Build missing levels whole, so comments are attached to complete subtrees.
    if not isinstance(networking, CommentedMap):
        set_key(spec, "networking", {"apiServer": {"allowedCIDRBlocks": wanted}})
    elif not isinstance(api_server, CommentedMap):
        set_key(networking, "apiServer", {"allowedCIDRBlocks": wanted})
    else:
        set_key(api_server, "allowedCIDRBlocks", wanted)
    changes.append(f"{where}: {path} {_short(current)} -> {_short(wanted)}")


Fallback = Callable[[str, str, str], DesiredHostedCluster | None]


def patch_hostedcluster_text(
    text: str,
    desired: Sequence[DesiredHostedCluster],
    *,
    file: str = "<text>",
    unlisted: Fallback | None = None,
    stream: bool = False,
) -> PatchResult:
    """Patch every HostedCluster in `text` that the site knows; SpecError if none matches.

    `unlisted(namespace, name, baseDomain)` gives what a HostedCluster the spec does not list
    should get (a shared pool's services), or None. `stream` (a filter on stdin): every
    HostedCluster must be patched (an unlisted one with no `unlisted` answer is an error), and
    a stream without any HostedCluster passes through unchanged.
    """
    wanted = {d.key: d for d in desired}
    out: list[str] = []
    changes: list[str] = []
    matched: list[str] = []
    skipped: list[str] = []
    notes: list[str] = []
    found: list[str] = []
    problems: list[Problem] = []
    for chunk in split_documents(text):
        if chunk.marker or not chunk.text.strip():
            out.append(chunk.text)
            continue
        try:
            doc, yaml, unstable = load_document(chunk.text)
        except MarkedYAMLError as exc:
            mark = exc.problem_mark
            line = chunk.start_line + (mark.line if mark else 0)
            problems.append(_problem(file, line, "", f"not valid YAML: {exc.problem}"))
            out.append(chunk.text)
            continue
        if not _is_hostedcluster(doc):
            out.append(chunk.text)
            continue
        ident = _ident(doc)
        found.append(ident)
        spec = doc.get("spec")
        line = chunk.start_line + doc.lc.line
        target = wanted.get(ident)
        if target is None and unlisted is not None and isinstance(spec, CommentedMap):
            namespace, _, name = ident.partition("/")
            domain = str((spec.get("dns") or {}).get("baseDomain", "") or "")
            target = unlisted(namespace, name, domain) if domain else None
            if target is not None:
                notes.append(f"{ident}: not in the site: given the shared pool's services")
        if target is None:
            if stream:
                problems.append(
                    _problem(
                        file,
                        line,
                        "metadata",
                        f"HostedCluster {ident} is not in the site and the site has no shared "
                        "pool to give it",
                        "add it to spec.hostedClusters, or give the site a pool with "
                        "assignment: shared (a shared-pool HostedCluster needs spec.dns.baseDomain)",
                    )
                )
            skipped.append(ident)
            out.append(chunk.text)
            continue
        matched.append(ident)
        if not isinstance(spec, CommentedMap):
            problems.append(_problem(file, line, "spec", "HostedCluster has no spec mapping"))
            out.append(chunk.text)
            continue
        base_domain = str((spec.get("dns") or {}).get("baseDomain", ""))
        if base_domain and base_domain != target.base_domain:
            dns_line, dns_col = spec["dns"].lc.value("baseDomain")
            problems.append(
                Problem(
                    file,
                    chunk.start_line + dns_line,
                    dns_col + 1,
                    "spec.dns.baseDomain",
                    f"{ident} has baseDomain {base_domain!r} but the site says "
                    f"{target.base_domain!r}",
                    "the api names, DNS records and certificates would not match; fix one of them",
                )
            )
            out.append(chunk.text)
            continue
        before = len(changes)
        _patch_services(spec, target, changes, notes)
        if target.manage_allowed:
            _patch_allowed(spec, target, changes)
        if len(changes) == before:
            out.append(chunk.text)
            continue
        out.append(dump(doc, yaml))
        if unstable:
            notes.append(
                f"{ident}: ruamel re-emits {unstable} line(s) of this document in its own "
                "spacing (content unchanged)"
            )
    if problems:
        raise SpecError(problems)
    if not matched and not (stream and not found):
        site_list = ", ".join(sorted(wanted)) or "none"
        file_list = ", ".join(found) or "no HostedCluster"
        raise SpecError(
            [
                _problem(
                    file,
                    1,
                    "",
                    f"no HostedCluster here matches the site (file has {file_list}; "
                    f"site has {site_list})",
                    "the HostedCluster's metadata.namespace/name must equal a hostedClusters "
                    "entry's namespace/name",
                )
            ]
        )
    return PatchResult("".join(out), tuple(changes), tuple(matched), tuple(skipped), tuple(notes))


def write_in_place(path: Path, text: str) -> None:
    """Replace `path` atomically (same directory, same mode)."""
    mode = path.lstat().st_mode & 0o7777
    write_atomic(path, text, mode=mode)


def patch_hostedcluster_file(
    path: Path, desired: Sequence[DesiredHostedCluster], *, write: bool = True
) -> PatchResult:
    """Patch the file in place (only when something changes, and unless `write` is False)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(
            [_problem(str(path), 0, "", f"cannot read: {exc.strerror}", "check the path")]
        ) from None
    result = patch_hostedcluster_text(text, desired, file=str(path))
    if write and result.changed:
        write_in_place(path, result.text)
    return result

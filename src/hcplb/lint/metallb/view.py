"""The MetalLB objects among lint's manifests, and the namespace MetalLB runs in."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from hcplb.lint.findings import Finding, error
from hcplb.lint.k8s import Manifest
from hcplb.metallb.objects import CONFIG_KINDS, GROUP
from hcplb.metallb.selectors import selector_duplicates, selector_problem


@dataclass(frozen=True)
class MetallbView:
    pools: tuple[Manifest, ...]
    peers: tuple[Manifest, ...]
    advertisements: tuple[Manifest, ...]
    l2advertisements: tuple[Manifest, ...]
    bfd_profiles: tuple[Manifest, ...]
    communities: tuple[Manifest, ...]
    operators: tuple[Manifest, ...]  # MetalLB CRs
    secrets: tuple[Manifest, ...]
    namespace: str | None
    namespace_source: str  # "MetalLB CR", "site spec", "most MetalLB objects", ""

    @property
    def config_objects(self) -> tuple[Manifest, ...]:
        return (
            self.pools
            + self.peers
            + self.advertisements
            + self.l2advertisements
            + self.bfd_profiles
            + self.communities
        )

    @property
    def backend(self) -> str:
        """The MetalLB CR's bgpBackend ('' when unset or no CR)."""
        for cr in self.operators:
            backend = cr.text("spec", "bgpBackend")
            if backend:
                return backend
        return ""

    def in_namespace(self, objects: Iterable[Manifest]) -> list[Manifest]:
        """Objects MetalLB reads: those in its namespace (all of them when it is unknown)."""
        if self.namespace is None:
            return list(objects)
        return [o for o in objects if o.namespace in (None, self.namespace)]

    def secret(self, name: str) -> Manifest | None:
        for secret in self.secrets:
            if secret.name == name and secret.namespace in (None, self.namespace):
                return secret
        return None

    def pool_names(self) -> set[str]:
        return {p.name for p in self.pools}


def _of(manifests: Iterable[Manifest], kind: str) -> tuple[Manifest, ...]:
    return tuple(m for m in manifests if m.is_a(kind, GROUP))


def metallb_view(manifests: Iterable[Manifest], site_namespace: str | None = None) -> MetallbView:
    items = list(manifests)
    operators = _of(items, "MetalLB")
    config = [m for m in items if m.group == GROUP and m.kind in CONFIG_KINDS]
    namespace, source = None, ""
    named = [cr for cr in operators if cr.name == "metallb" and cr.namespace]
    if named or any(cr.namespace for cr in operators):
        namespace = (named or [cr for cr in operators if cr.namespace])[0].namespace
        source = "MetalLB CR"
    elif site_namespace:
        namespace, source = site_namespace, "site spec"
    else:
        counts = Counter(m.namespace for m in config if m.namespace)
        if counts:
            namespace, source = counts.most_common(1)[0][0], "most MetalLB objects"
    return MetallbView(
        pools=_of(items, "IPAddressPool"),
        peers=_of(items, "BGPPeer"),
        advertisements=_of(items, "BGPAdvertisement"),
        l2advertisements=_of(items, "L2Advertisement"),
        bfd_profiles=_of(items, "BFDProfile"),
        communities=_of(items, "Community"),
        operators=operators,
        secrets=tuple(m for m in items if m.kind == "Secret" and m.api_version == "v1"),
        namespace=namespace,
        namespace_source=source,
    )


_DUPLICATE_RULES = {
    "value": "metallb.labelselector.dup.values",
    "expression": "metallb.labelselector.dup.expr",
}


def selector_findings(
    obj: Manifest, path: tuple[str, ...], label: str, duplicate_rule: str
) -> Iterator[Finding]:
    """A selector list's malformed selectors and MetalLB's duplicate checks, as findings;
    `duplicate_rule` is the rule id of a selector given twice in the list."""
    selectors = obj.items(*path)
    for i, sel in enumerate(selectors):
        problem = selector_problem(sel)
        if problem:
            yield error(obj.where(*path, i), "metallb.selector.invalid", f"{label}: {problem}")
    for i, kind, message in selector_duplicates(selectors, label):
        yield error(obj.where(*path, i), _DUPLICATE_RULES.get(kind, duplicate_rule), message)

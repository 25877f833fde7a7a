"""Validate Kubernetes manifests against the CRDs hcplb renders for, strictly, as `kubeconform -strict`.

The CRDs ship in `hcplb/data/crds/` (verbatim copies, see SOURCES.md). A CRD's OpenAPI v3 schema
becomes a JSON schema in which every object rejects fields it does not declare, unless the CRD
says `x-kubernetes-preserve-unknown-fields` (the API server would prune them silently: a typo
would vanish). `metadata` is checked minimally (known ObjectMeta keys, name, labels). Of the CEL
rules (`x-kubernetes-validations`) only the regular-expression ones on strings are evaluated
(`self.matches('...') || self == ""`); the others need a CEL engine and are left to the server
and to `hcplb lint`.

`partial=True` checks a fragment (the HostedCluster `spec.services` block): `required` is ignored
on objects, but list items must still be complete, since a list is replaced as a whole.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from importlib import resources
from typing import Any

import yaml
from jsonschema import Draft7Validator, ValidationError, validators

__all__ = ["schema_for", "validate_manifest", "validate_manifests"]

# (group, kind) -> CRD file in hcplb/data/crds
_CRD_FILES: dict[tuple[str, str], str] = {
    ("metallb.io", "IPAddressPool"): "metallb.io_ipaddresspools.yaml",
    ("metallb.io", "BGPPeer"): "metallb.io_bgppeers.yaml",
    ("metallb.io", "BFDProfile"): "metallb.io_bfdprofiles.yaml",
    ("metallb.io", "BGPAdvertisement"): "metallb.io_bgpadvertisements.yaml",
    ("metallb.io", "Community"): "metallb.io_communities.yaml",
    ("metallb.io", "L2Advertisement"): "metallb.io_l2advertisements.yaml",
    ("metallb.io", "MetalLB"): "operator_metallb.io_metallbs.yaml",
    ("frrk8s.metallb.io", "FRRConfiguration"): "frrk8s.metallb.io_frrconfigurations.yaml",
    ("frrk8s.metallb.io", "BGPSessionState"): "frrk8s.metallb.io_bgpsessionstates.yaml",
    ("hypershift.openshift.io", "HostedCluster"): "hostedclusters-Hypershift-Default.crd.yaml",
}

_DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}

# Enough of ObjectMeta to catch typos; server-populated fields are allowed so that
# `kubectl get -o yaml` output validates too.
_METADATA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 253, "pattern": _DNS_SUBDOMAIN},
        "generateName": {"type": "string"},
        "namespace": {"type": "string", "maxLength": 63, "pattern": _DNS_LABEL},
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {"type": "array", "items": {"type": "object"}},
        "uid": {"type": "string"},
        "resourceVersion": {"type": "string"},
        "generation": {"type": "integer"},
        "creationTimestamp": {"type": ["string", "null"]},
        "deletionTimestamp": {"type": "string"},
        "deletionGracePeriodSeconds": {"type": "integer"},
        "managedFields": {"type": "array"},
    },
    "additionalProperties": False,
}

# core/v1 Secret: not a CRD, so its (small) schema is written out here.
_SECRET: dict[str, Any] = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": _METADATA,
        "type": {"type": "string"},
        "immutable": {"type": "boolean"},
        "data": {
            "type": "object",
            "additionalProperties": {"type": "string", "pattern": r"^[A-Za-z0-9+/]*={0,2}$"},
        },
        "stringData": _STRING_MAP,
    },
    "required": ["apiVersion", "kind", "metadata"],
    "additionalProperties": False,
}


# monitoring.coreos.com/v1 PrometheusRule: the structure the Prometheus operator's CRD declares
# (spec.groups[].rules[]), written out here rather than shipping the operator's CRD.
_DURATION = (
    r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
)
_RULE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "alert": {"type": "string"},
        "record": {"type": "string"},
        "expr": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
        "for": {"type": "string", "pattern": _DURATION},
        "keep_firing_for": {"type": "string", "minLength": 1, "pattern": _DURATION},
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
    },
    "required": ["expr"],
    "additionalProperties": False,
}
_PROMETHEUS_RULE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {**_METADATA, "required": ["name"]},
        "spec": {
            "type": "object",
            "properties": {
                "groups": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string", "minLength": 1},
                            "interval": {"type": "string", "pattern": _DURATION},
                            "query_offset": {"type": "string", "pattern": _DURATION},
                            "limit": {"type": "integer"},
                            "labels": _STRING_MAP,
                            "partial_response_strategy": {"type": "string"},
                            "rules": {"type": "array", "items": _RULE},
                        },
                        "required": ["name"],
                        "additionalProperties": False,
                    },
                }
            },
            "additionalProperties": False,
        },
    },
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
}


def validate_manifests(objs: Iterable[Mapping[str, Any]], *, partial: bool = False) -> list[str]:
    """The errors of every manifest, in order."""
    errors: list[str] = []
    for obj in objs:
        errors += validate_manifest(obj, partial=partial)
    return errors


def validate_manifest(obj: Mapping[str, Any], *, partial: bool = False) -> list[str]:
    """Every schema error of one manifest as `Kind namespace/name: field.path: what is wrong`."""
    where = _describe(obj)
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return [f"{where}: apiVersion and kind must be set"]
    try:
        validator = _validator(api_version, kind, partial)
    except LookupError as exc:
        return [f"{where}: {exc.args[0]}"]
    found = sorted(
        validator.iter_errors(dict(obj)),
        key=lambda e: (_path(e.absolute_path), e.message),
    )
    return [f"{where}: {line}" for err in found for line in _explain(err)]


def schema_for(api_version: str, kind: str, *, partial: bool = False) -> dict[str, Any]:
    """The strict JSON schema of `kind` at `api_version` (LookupError if hcplb has no CRD for it)."""
    return _schema(api_version, kind, partial)


@functools.cache
def _schema(api_version: str, kind: str, partial: bool) -> dict[str, Any]:
    if api_version == "v1" and kind == "Secret":
        return _strip_required(_SECRET) if partial else _SECRET
    if api_version == "monitoring.coreos.com/v1" and kind == "PrometheusRule":
        return _strip_required(_PROMETHEUS_RULE) if partial else _PROMETHEUS_RULE
    group, _, version = api_version.rpartition("/")
    filename = _CRD_FILES.get((group, kind))
    if filename is None:
        known = ", ".join(sorted(f"{g}/{k}" for g, k in _CRD_FILES))
        raise LookupError(
            f"no schema for {api_version} {kind} (hcplb knows v1/Secret, monitoring.coreos.com/PrometheusRule, {known})"
        )
    crd = _load_crd(filename)
    versions = {v["name"]: v for v in crd["spec"]["versions"] if v.get("served", True)}
    if version not in versions:
        served = ", ".join(f"{group}/{v}" for v in versions)
        raise LookupError(f"{api_version} is not a served version of {kind} (served: {served})")
    root = _strict(
        versions[version]["schema"]["openAPIV3Schema"], partial=partial, keep_required=False
    )
    root.setdefault("properties", {})["metadata"] = (
        _METADATA if partial else {**_METADATA, "required": ["name"]}
    )
    return root


@functools.cache
def _validator(api_version: str, kind: str, partial: bool) -> Any:
    """One validator per kind: building it walks the whole schema, validating does not."""
    return _Validator(_schema(api_version, kind, partial))


# PyYAML's libyaml loader: the CRDs are large and need no comments or line numbers
_CRD_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def _load_crd(filename: str) -> dict[str, Any]:
    text = resources.files("hcplb").joinpath(f"data/crds/{filename}").read_text(encoding="utf-8")
    for doc in yaml.load_all(text, Loader=_CRD_LOADER):  # a safe loader
        if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
            return doc
    raise LookupError(f"{filename} holds no CustomResourceDefinition")


def _strict(node: Mapping[str, Any], *, partial: bool, keep_required: bool) -> dict[str, Any]:
    """OpenAPI v3 (structural) schema -> JSON schema that rejects unknown fields."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "description":
            continue
        if key == "properties":
            out[key] = {
                name: _strict(sub, partial=partial, keep_required=keep_required)
                for name, sub in value.items()
            }
        elif key == "items" and isinstance(value, Mapping):
            out[key] = _strict(value, partial=partial, keep_required=True)
        elif key == "additionalProperties" and isinstance(value, Mapping):
            out[key] = _strict(value, partial=partial, keep_required=keep_required)
        elif key in ("allOf", "anyOf", "oneOf"):
            # `required` inside these says which alternative applies: keep it even when partial
            out[key] = [_strict(sub, partial=partial, keep_required=True) for sub in value]
        elif key == "not":
            out[key] = _strict(value, partial=partial, keep_required=True)
        elif key == "required":
            if partial and not keep_required:
                continue
            # the API server fills in defaults before it validates
            props = node.get("properties", {})
            out[key] = [name for name in value if "default" not in props.get(name, {})]
        else:
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if node.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if (
        out.get("type") == "object"
        and "additionalProperties" not in out
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        # With no `properties` either, the API server prunes every field: reject them instead.
        out["additionalProperties"] = False
        if node.get("x-kubernetes-embedded-resource"):
            props = out.setdefault("properties", {})
            for name in ("apiVersion", "kind"):
                props.setdefault(name, {"type": "string"})
            props.setdefault("metadata", {"type": "object"})
    return out


def _strip_required(node: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in node.items() if k != "required"}
    if "properties" in out:
        out["properties"] = {
            k: _strip_required(v) if isinstance(v, Mapping) else v
            for k, v in out["properties"].items()
        }
    return out


# --- the regular-expression subset of CEL ---------------------------------------------------

_MATCHES = re.compile(r"^self\.matches\('((?:[^'\\]|\\.)*)'\)\Z")
_EMPTY = re.compile(r"""^self\s*==\s*(""|'')$""")


@functools.cache
def _compile_rule(rule: str) -> Callable[[str], bool] | None:
    """A checker for `self.matches('re') || ... || self == ""` rules; None for any other rule."""
    tests: list[Callable[[str], bool]] = []
    for term in (t.strip() for t in rule.split("||")):
        if _EMPTY.match(term):
            tests.append(lambda s: s == "")
            continue
        m = _MATCHES.match(term)
        if m is None:
            return None
        literal = re.sub(r"\\(.)", r"\1", m.group(1))  # CEL string escapes
        try:
            pattern = re.compile(literal)
        except re.error:
            return None
        tests.append(functools.partial(_search, pattern))
    return lambda s: any(t(s) for t in tests)


def _search(pattern: re.Pattern[str], text: str) -> bool:
    return pattern.search(text) is not None


def _cel(
    validator: Any, rules: Sequence[Mapping[str, str]], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not isinstance(instance, str):
        return
    for rule in rules:
        check = _compile_rule(rule.get("rule", ""))
        if check is not None and not check(instance):
            yield ValidationError(rule.get("message") or f"fails rule {rule['rule']}")


_Validator = validators.extend(Draft7Validator, {"x-kubernetes-validations": _cel})


# --- messages -----------------------------------------------------------------------------


def _describe(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    name = meta.get("name", "<unnamed>")
    ns = meta.get("namespace")
    kind = obj.get("kind", "<no kind>")
    return f"{kind} {ns}/{name}" if ns else f"{kind} {name}"


def _path(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "(root)"


def _explain(err: ValidationError) -> list[str]:
    path = _path(err.absolute_path)
    prefix = "" if path == "(root)" else f"{path}."
    if err.validator == "additionalProperties" and err.validator_value is False:
        allowed = sorted(err.schema.get("properties", {}))
        lines = []
        for extra in sorted(set(err.instance) - set(allowed)):
            close = difflib.get_close_matches(str(extra), allowed, n=1)
            hint = (
                f" (did you mean {close[0]!r}?)"
                if close
                else f" (allowed: {', '.join(allowed)})"
                if allowed
                else " (this object takes no fields)"
            )
            lines.append(f"{prefix}{extra}: unknown field{hint}")
        return lines
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        return [f"{prefix}{missing}: required field is missing"]
    return [f"{path}: {_KUBE_WORDING.get(str(err.validator), _default)(err)}"]


def _default(err: ValidationError) -> str:
    return str(err.message)


def _quoted(values: Iterable[Any]) -> str:
    return ", ".join(json.dumps(v) for v in values)


# The API server's wording, so that messages match what `oc apply` would say.
_KUBE_WORDING: dict[str, Callable[[ValidationError], str]] = {
    "type": lambda e: f"must be of type {e.validator_value}, not {json.dumps(e.instance)}",
    "enum": lambda e: (
        f"Unsupported value: {json.dumps(e.instance)}: supported values: {_quoted(e.validator_value)}"
    ),
    "maxItems": lambda e: (
        f"Too many: {len(e.instance)}: must have at most {e.validator_value} items"
    ),
    "maxProperties": lambda e: (
        f"Too many: {len(e.instance)}: must have at most {e.validator_value} items"
    ),
    "minItems": lambda e: f"should have at least {e.validator_value} items",
    "minimum": lambda e: f"{e.instance} should be greater than or equal to {e.validator_value}",
    "maximum": lambda e: f"{e.instance} should be less than or equal to {e.validator_value}",
    "maxLength": lambda e: f"Too long: may not be more than {e.validator_value} bytes",
    "minLength": lambda e: f"should be at least {e.validator_value} chars long",
    "pattern": lambda e: f"{json.dumps(e.instance)} should match {e.validator_value!r}",
}

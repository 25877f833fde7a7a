"""externaldns/: ExternalDNS (RFC 2136 provider) publishing api and api-int of every hosted cluster.

Used when `spec.dns.provider` is `externaldns`: the records follow the VIP MetalLB actually
gives each kube-apiserver Service, for clusters created later too, with no spec edit.

- Which Services: `--source=service`, LoadBalancer only, and only those labelled
  `hypershift.openshift.io/control-plane-component=kube-apiserver` (HyperShift's `kasLabels()`).
- `api`: HyperShift's control-plane operator copies the APIServer strategy's
  `loadBalancer.hostname` (which hcplb renders) into the Service's
  `external-dns.alpha.kubernetes.io/hostname` annotation; ExternalDNS publishes it.
- `api-int`: derived from the same annotation by `--fqdn-template` (`api.X` -> `api-int.X`)
  with `--combine-fqdn-annotation`, so both names come from one Service and share its VIP; a
  Service whose hostname does not start with `api.` gets no api-int name.
- Ownership: the TXT registry (`--registry=txt`, `--txt-owner-id`, `--txt-prefix`): hcplb's
  own `apply --dns` reads it (`hcplb.dnsowner`) and leaves those names alone.
- The TSIG secret: a Secret (this file is 0600, like every rendered secret), handed to the
  container as `EXTERNAL_DNS_RFC2136_TSIG_SECRET` (ExternalDNS reads every flag from
  `EXTERNAL_DNS_<FLAG>`), so it is never on the command line or in the Deployment.
- RBAC: read-only get/list/watch on what the service source's informers load at start
  (services, endpoints, endpointslices, pods, nodes); nothing else, no Secrets.
"""

from __future__ import annotations

import base64
from typing import Any

from hcplb.dnsowner import HOSTNAME_ANNOTATION
from hcplb.metallb.objects import KAS_LABELS
from hcplb.plan import SitePlan
from hcplb.render._yaml import dump, dump_all
from hcplb.render.files import RenderedFile
from hcplb.render.secrets import Secrets

__all__ = [
    "API_INT_TEMPLATE",
    "EXTERNALDNS_NAME",
    "TSIG_SECRET_FILE",
    "externaldns_args",
    "externaldns_manifests",
    "render_externaldns_files",
    "txt_owner_id",
]

EXTERNALDNS_NAME = "hcplb-external-dns"
TSIG_SECRET_NAME = "hcplb-external-dns-tsig"
TSIG_SECRET_FILE = "externaldns/tsig-secret.yaml"
TSIG_ENV = "EXTERNAL_DNS_RFC2136_TSIG_SECRET"
_COMPONENT = "hypershift.openshift.io/control-plane-component"
# api.<name>.<domain> (the hostname annotation) -> api-int.<name>.<domain>; nothing otherwise.
API_INT_TEMPLATE = (
    f'{{{{ $h := index .Annotations "{HOSTNAME_ANNOTATION}" }}}}'
    '{{ if ne $h (trimPrefix $h "api.") }}api-int.{{ trimPrefix $h "api." }}{{ end }}'
)


def txt_owner_id(plan: SitePlan) -> str:
    """The owner id ExternalDNS marks its records with (`--txt-owner-id`)."""
    return plan.site.spec.dns.external_dns.txt_owner_id or f"hcplb-{plan.site.name}"


def _labels(plan: SitePlan) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "external-dns",
        "app.kubernetes.io/instance": EXTERNALDNS_NAME,
        "app.kubernetes.io/managed-by": "hcplb",
        "hcplb.io/site": plan.site.name,
    }


def _meta(plan: SitePlan, name: str, *, namespaced: bool = True) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespaced:
        meta["namespace"] = plan.site.spec.dns.external_dns.namespace
    meta["labels"] = _labels(plan)
    return meta


def externaldns_args(plan: SitePlan) -> list[str]:
    """ExternalDNS's command-line flags for the site (no secret among them)."""
    dns = plan.site.spec.dns
    edns = dns.external_dns
    key = dns.tsig_key
    assert dns.primary is not None and dns.zone is not None and key is not None  # spec checks
    args = [
        "--source=service",
        "--service-type-filter=LoadBalancer",
        f"--label-filter={_COMPONENT}={KAS_LABELS[_COMPONENT]}",
        f"--fqdn-template={API_INT_TEMPLATE}",
        "--combine-fqdn-annotation",
        "--provider=rfc2136",
        f"--rfc2136-host={dns.primary}",
        "--rfc2136-port=53",
        f"--rfc2136-zone={dns.zone}",
        f"--rfc2136-tsig-keyname={key.name}",
        f"--rfc2136-tsig-secret-alg={key.algorithm}",
        "--rfc2136-tsig-axfr",
        f"--rfc2136-min-ttl={dns.ttl}s",
        f"--domain-filter={dns.zone}",
        "--managed-record-types=A",
        "--managed-record-types=AAAA",
        "--registry=txt",
        f"--txt-owner-id={txt_owner_id(plan)}",
    ]
    if edns.txt_prefix:
        args.append(f"--txt-prefix={edns.txt_prefix}")
    args += [f"--policy={edns.policy}", f"--interval={int(edns.interval)}s"]
    return args


def _deployment(plan: SitePlan) -> dict[str, Any]:
    edns = plan.site.spec.dns.external_dns
    selector = {"app.kubernetes.io/instance": EXTERNALDNS_NAME}
    container = {
        "name": "external-dns",
        "image": edns.image,
        "args": externaldns_args(plan),
        "env": [
            {
                "name": TSIG_ENV,
                "valueFrom": {"secretKeyRef": {"name": TSIG_SECRET_NAME, "key": "tsig-secret"}},
            }
        ],
        "ports": [{"name": "http", "containerPort": 7979, "protocol": "TCP"}],
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
        "resources": {
            "requests": {"cpu": "10m", "memory": "64Mi"},
            "limits": {"memory": "128Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(plan, EXTERNALDNS_NAME),
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": {**_labels(plan), **selector}},
                "spec": {
                    "serviceAccountName": EXTERNALDNS_NAME,
                    "securityContext": {"runAsNonRoot": True},
                    "containers": [container],
                },
            },
        },
    }


def _rbac(plan: SitePlan) -> list[dict[str, Any]]:
    read = ["get", "list", "watch"]
    namespace = plan.site.spec.dns.external_dns.namespace
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(plan, EXTERNALDNS_NAME)},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": _meta(plan, EXTERNALDNS_NAME, namespaced=False),
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["services", "endpoints", "pods", "nodes"],
                    "verbs": read,
                },
                {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": read},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": _meta(plan, EXTERNALDNS_NAME, namespaced=False),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": EXTERNALDNS_NAME,
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": EXTERNALDNS_NAME, "namespace": namespace}
            ],
        },
    ]


def _namespace(plan: SitePlan) -> dict[str, Any]:
    meta = _meta(plan, plan.site.spec.dns.external_dns.namespace, namespaced=False)
    meta["labels"] = {**meta["labels"], "pod-security.kubernetes.io/enforce": "restricted"}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def _secret(plan: SitePlan, secret: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(plan, TSIG_SECRET_NAME),
        "type": "Opaque",
        "data": {"tsig-secret": base64.b64encode(secret.encode()).decode()},
    }


def externaldns_manifests(plan: SitePlan, secrets: Secrets) -> list[dict[str, Any]]:
    """Namespace, ServiceAccount, ClusterRole, ClusterRoleBinding, the TSIG Secret (when its
    value is known) and the Deployment, in apply order."""
    docs = [_namespace(plan), *_rbac(plan)]
    if secrets.tsig_secret:
        docs.append(_secret(plan, secrets.tsig_secret))
    docs.append(_deployment(plan))
    return docs


_HEADER = (
    "ExternalDNS for site {site}: publishes api and api-int of every hosted cluster's\n"
    "kube-apiserver Service to {primary} (zone {zone}, RFC 2136 signed with key {key}),\n"
    "owner id {owner}. The primary must allow the key to update the zone and to transfer it\n"
    "(AXFR: ExternalDNS reads the zone to find its own records). Apply: oc apply -k externaldns/"
)


def render_externaldns_files(plan: SitePlan, secrets: Secrets) -> list[RenderedFile]:
    """externaldns/*.yaml and the kustomization.yaml listing them; the Secret file is 0600."""
    dns = plan.site.spec.dns
    docs = externaldns_manifests(plan, secrets)
    groups = [
        ("externaldns/namespace.yaml", [d for d in docs if d["kind"] == "Namespace"]),
        ("externaldns/rbac.yaml", [d for d in docs if d["kind"] in _RBAC_KINDS]),
        (TSIG_SECRET_FILE, [d for d in docs if d["kind"] == "Secret"]),
        ("externaldns/deployment.yaml", [d for d in docs if d["kind"] == "Deployment"]),
    ]
    files = []
    for path, group in groups:
        if not group:
            continue
        secret = path == TSIG_SECRET_FILE
        text = dump_all([dump(d) for d in group])
        kind = "Secret" if secret else ("RBAC" if "rbac" in path else group[-1]["kind"])
        files.append(
            RenderedFile(path, text, mode=0o600 if secret else 0o644, secret=secret, kind=kind)
        )
    assert dns.tsig_key is not None
    header = _HEADER.format(
        site=plan.site.name,
        primary=dns.primary,
        zone=dns.zone,
        key=dns.tsig_key.name,
        owner=txt_owner_id(plan),
    )
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [f.path.removeprefix("externaldns/") for f in files],
    }
    files.insert(
        0,
        RenderedFile(
            "externaldns/kustomization.yaml",
            dump(kustomization, header=header),
            kind="kustomization",
        ),
    )
    return files


_RBAC_KINDS = ("ServiceAccount", "ClusterRole", "ClusterRoleBinding")

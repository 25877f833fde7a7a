"""The Kubernetes side shared by `apply --cluster` and `hostedcluster check`: client, resources,
and turning lightkube / httpx errors into TargetError at the edge."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import lightkube
from lightkube import ApiError
from lightkube.config.kubeconfig import KubeConfig
from lightkube.core.exceptions import ConfigError
from lightkube.generic_resource import create_namespaced_resource

from hcplb.errors import TargetError

FIELD_MANAGER = "hcplb"

# (group, version, kind, plural) of every custom kind hcplb reads or writes
KINDS: dict[str, tuple[str, str, str]] = {
    "MetalLB": ("metallb.io", "v1beta1", "metallbs"),
    "BFDProfile": ("metallb.io", "v1beta1", "bfdprofiles"),
    "IPAddressPool": ("metallb.io", "v1beta1", "ipaddresspools"),
    "BGPPeer": ("metallb.io", "v1beta2", "bgppeers"),
    "BGPAdvertisement": ("metallb.io", "v1beta1", "bgpadvertisements"),
    "HostedCluster": ("hypershift.openshift.io", "v1beta1", "hostedclusters"),
}

RESOURCES: dict[str, Any] = {
    kind: create_namespaced_resource(group, version, kind, plural)
    for kind, (group, version, plural) in KINDS.items()
}

METALLB_INSTALL_HINT = (
    "install the MetalLB Operator first (OpenShift: OperatorHub > MetalLB Operator; "
    "elsewhere: https://metallb.io/installation/#using-the-metallb-operator)"
)


def kube_client(
    kubeconfig: Path | None, context: str | None = None, *, timeout: float = 10.0
) -> lightkube.Client:
    """A client for the kubeconfig's (or the given) context; TargetError if it cannot be read."""
    try:
        config = (
            KubeConfig.from_file(str(kubeconfig)) if kubeconfig else KubeConfig.from_env()
        ).get(context_name=context)
        return lightkube.Client(
            config, field_manager=FIELD_MANAGER, timeout=httpx2.Timeout(timeout), trust_env=False
        )
    except (ConfigError, OSError, KeyError, ValueError) as exc:
        where = str(kubeconfig) if kubeconfig else "$KUBECONFIG / ~/.kube/config"
        raise TargetError(
            f"cannot use kubeconfig {where}"
            + (f" context {context}" if context else "")
            + f": {exc} (hint: pass --kubeconfig PATH and --context NAME)"
        ) from None


def status_of(exc: ApiError) -> tuple[int, str, str]:
    """(code, reason, message) of an API error."""
    status = exc.status
    return int(status.code or 0), str(status.reason or ""), str(status.message or "")


def is_missing_kind(exc: ApiError) -> bool:
    """A 404 for the resource type itself (its CRD is not installed), not for one object."""
    code, _, message = status_of(exc)
    details = exc.status.details
    return code == 404 and (
        details is None or not details.name or "could not find the requested resource" in message
    )


@contextlib.contextmanager
def translated(action: str) -> Iterator[None]:
    """Turn lightkube/httpx failures during `action` into one-line TargetErrors."""
    try:
        yield
    except ApiError as exc:
        code, reason, message = status_of(exc)
        hint = {
            401: "the kubeconfig's credentials were rejected; log in again",
            403: "the kubeconfig's user lacks permission; use a cluster-admin context",
        }.get(code, "")
        text = f"{action}: {code} {reason}: {message}"
        raise TargetError(text + (f" (hint: {hint})" if hint else "")) from None
    except httpx2.TimeoutException:
        raise TargetError(
            f"{action}: the Kubernetes API did not answer in time "
            "(hint: check the API server address in the kubeconfig and the network to it)"
        ) from None
    except httpx2.TransportError as exc:
        raise TargetError(
            f"{action}: cannot reach the Kubernetes API: {exc} "
            "(hint: check the API server address in the kubeconfig)"
        ) from None

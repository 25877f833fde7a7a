"""Reading Kubernetes objects for the cluster probes: one request's outcome as a value (the
object, a 404, or the error), and comparing a rendered manifest with the live object."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx2
from lightkube import ApiError

from hcplb.spec.models import parse_duration

__all__ = ["Fetched", "Missing", "differs", "fetch", "why"]


class Missing:
    """A 404 for an object (or for its resource type, `kind_missing`)."""

    def __init__(self, message: str, *, kind_missing: bool = False) -> None:
        self.message = message
        self.kind_missing = kind_missing


Fetched = dict[str, Any] | list[dict[str, Any]] | Missing | Exception


def fetch(call: Callable[[], Any]) -> Fetched:
    try:
        got = call()
    except ApiError as exc:
        status = exc.status
        if status.code == 404:
            details = status.details
            kind_missing = details is None or not details.name
            return Missing(str(status.message or "not found"), kind_missing=kind_missing)
        return exc
    except Exception as exc:  # transport errors, and answers lightkube cannot decode
        return exc
    if isinstance(got, list):
        return [o.to_dict() for o in got]
    return dict(got.to_dict())


def why(exc: Exception) -> str:
    if isinstance(exc, ApiError):
        return f"{exc.status.code} {exc.status.reason}: {exc.status.message}"
    if isinstance(exc, httpx2.TimeoutException):
        return "the API server did not answer in time"
    return f"{type(exc).__name__}: {exc}"


def differs(want: Any, have: Any, path: str) -> str | None:
    """The first path where `have` does not contain `want` (rendered ⊆ live), else None."""
    if isinstance(want, Mapping):
        if not isinstance(have, Mapping):
            return path
        for key, value in want.items():
            found = differs(value, have.get(key), f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(want, list):
        if not isinstance(have, list) or len(want) != len(have):
            return path
        for i, (w, h) in enumerate(zip(want, have, strict=True)):
            found = differs(w, h, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if _same(want, have) else path


def _same(want: Any, have: Any) -> bool:
    """Equal, also as durations: the API normalises "90s" to "1m30s"."""
    if want == have or str(want) == str(have):
        return True
    if isinstance(want, str) and isinstance(have, str):
        try:
            return parse_duration(want) == parse_duration(have)
        except ValueError:
            return False
    return False

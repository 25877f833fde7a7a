"""Resolve secret references (env or file) and keep their values out of anything people read."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from hcplb.errors import Problem, SpecError
from hcplb.runner import hide_from_children
from hcplb.spec.models import SecretRef

REDACTED = "<redacted>"
# FRR's `password WORD` (neighbor, vty, enable): hidden even when the value is not known
_PASSWORD = re.compile(r"(\bpassword\s+)\S+")


def resolve_secret(
    ref: SecretRef,
    *,
    field: str,
    base_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The secret's value; SpecError naming the field (never the value) if it cannot be read."""
    env = os.environ if environ is None else environ
    if ref.env is not None:
        hide_from_children(ref.env)
        value = env.get(ref.env)
        if not value:
            raise SpecError(
                [
                    Problem(
                        "<environment>",
                        0,
                        0,
                        field,
                        f"environment variable {ref.env} is not set",
                        f"export {ref.env}=... before running hcplb",
                    )
                ]
            )
        return value
    assert ref.file is not None
    path = Path(ref.file).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SpecError(
            [
                Problem(
                    str(path),
                    0,
                    0,
                    field,
                    f"cannot read secret file: {exc.strerror}",
                    "check the path and its permissions",
                )
            ]
        ) from None
    if not value:
        raise SpecError([Problem(str(path), 0, 0, field, "secret file is empty", "")])
    return value


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of every secret in text (longest first)."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def redact_config(text: str, secrets: Iterable[str]) -> str:
    """Known secret values and any FRR `password WORD` replaced by the redaction marker.

    For text FRR echoes (vtysh -C/-b errors, frr-reload.py diffs), which may hold a password
    hcplb was not told about (a router's old one).
    """
    return _PASSWORD.sub(rf"\g<1>{REDACTED}", redact(text, secrets))

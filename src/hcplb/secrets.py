"""Resolve secret references (env or file) and keep their values out of anything people read."""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path

from hcplb.errors import FileError, Problem, SpecError
from hcplb.fsutil import read_limited
from hcplb.runner import hide_from_children
from hcplb.settings import MAX_SECRET_BYTES
from hcplb.spec.models import SecretRef

REDACTED = "<redacted>"
# FRR's `password WORD` (neighbor, vty, enable): hidden even when the value is not known
_PASSWORD = re.compile(r"(\bpassword\s+)\S+")
_PASSWORD_VALUE = re.compile(r"[!-~]+")
_log = logging.getLogger("hcplb.secrets")


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
        _check_value(value, field, "<environment>")
        return value
    assert ref.file is not None
    path = Path(ref.file).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    value = _read_secret_file(path, field)
    _check_value(value, field, str(path))
    return value


def _check_value(value: str, field: str, where: str) -> None:
    """What FRR and BIND accept: a TCP-MD5 key is at most 80 bytes of printable ASCII without
    spaces (one FRR word); a TSIG secret is base64."""
    problem = ""
    if field.endswith("password"):
        if len(value.encode()) > 80:
            problem = (
                f"the BGP password is {len(value.encode())} bytes; TCP MD5 keys are at most 80"
            )
        elif not _PASSWORD_VALUE.fullmatch(value):
            problem = "the BGP password holds a space or a character FRR cannot take"
        hint = "use printable ASCII without spaces, at most 80 characters"
    elif field.endswith("secret"):
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            problem = "the TSIG secret is not base64"
        hint = "generate one with `tsig-keygen` and copy its secret"
    if problem:
        raise SpecError([Problem(where, 0, 0, field, problem, hint)])


def _file_problem(path: Path, field: str, message: str, hint: str) -> SpecError:
    return SpecError([Problem(str(path), 0, 0, field, message, hint)])


def _read_secret_file(path: Path, field: str) -> str:
    """One line of a small regular file nobody else may write (ssh's rules, roughly)."""
    fix = f"chmod 600 {path}"
    try:
        st = os.stat(path)
    except OSError as exc:
        hint = "check the path and its permissions"
        raise _file_problem(path, field, f"cannot read secret file: {exc.strerror}", hint) from None
    if stat.S_ISREG(st.st_mode) and st.st_mode & 0o002:
        message = "secret file is writable by others; refusing it"
        raise _file_problem(path, field, message, fix)
    try:
        data = read_limited(path, MAX_SECRET_BYTES)
    except FileError as exc:
        message = f"secret file {str(exc).removeprefix(f'{path}: ')}"
        hint = f"a secret file is a regular file of at most {MAX_SECRET_BYTES} bytes: one line"
        raise _file_problem(path, field, message, hint) from None
    if st.st_mode & 0o004:
        warning = Problem(
            str(path), 0, 0, field, "secret file is readable by others", fix, "warning"
        )
        _log.warning("%s", warning)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        message = "secret file is not UTF-8 text"
        raise _file_problem(path, field, message, "write the secret as one line of text") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise _file_problem(path, field, "secret file is empty", "")
    if len(lines) > 1:
        message = f"secret file has {len(lines)} lines, a secret is one line"
        raise _file_problem(path, field, message, "is this the right file?")
    return lines[0].strip()


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

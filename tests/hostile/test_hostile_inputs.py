"""Every generated hostile spec, special file, secret file and numeric option gets a located
user error from the CLI (in a capped subprocess): never exit 70, a traceback or a hang."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .gen import SECRET_FILES, SECRET_WARNED, SEED, SPECIAL_FILES, SpecCase, spec_cases
from .harness import assert_handled, hcplb

CASES = list(spec_cases())


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_spec_gets_a_located_error(case: SpecCase, tmp_path: Path) -> None:
    spec = tmp_path / "site.yaml"
    spec.write_bytes(case.data)
    answer = hcplb("render", "site.yaml", "-o", "out", cwd=tmp_path)
    assert_handled(answer, rc=case.rc)
    located = answer.located()
    assert located, f"no file:line:column in the answer:\n{answer}"
    assert located[0][0] == "site.yaml", str(answer)
    if case.line is not None:
        assert located[0][1] == case.line, str(answer)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", CASES[:6], ids=[c.id for c in CASES[:6]])
def test_hostile_spec_through_lint(case: SpecCase, tmp_path: Path) -> None:
    (tmp_path / "site.yaml").write_bytes(case.data)
    answer = hcplb("lint", "site.yaml", cwd=tmp_path)
    assert_handled(answer, rc=(1, 2))


@pytest.mark.parametrize("make", [m for _, m in SPECIAL_FILES], ids=[i for i, _ in SPECIAL_FILES])
def test_special_file_as_spec(make: Callable[[Path], Path], tmp_path: Path) -> None:
    make(tmp_path / "site.yaml")
    answer = hcplb("render", "site.yaml", "-o", "out", cwd=tmp_path)
    assert_handled(answer, rc=2)
    assert answer.located() and answer.located()[0][0] == "site.yaml", str(answer)


def _spec_with_secret(tmp_path: Path, secret: str) -> Path:
    text = SEED.replace(
        "    # password: {env: HCPLB_BGP_PASSWORD}", f"    password: {{file: {secret}}}"
    )
    assert text != SEED
    spec = tmp_path / "site.yaml"
    spec.write_text(text)
    return spec


@pytest.mark.parametrize("make", [m for _, m in SECRET_FILES], ids=[i for i, _ in SECRET_FILES])
def test_hostile_secret_file_is_refused(make: Callable[[Path], Path], tmp_path: Path) -> None:
    _spec_with_secret(tmp_path, "pw")
    make(tmp_path / "pw")
    answer = hcplb("render", "site.yaml", "-o", "out", cwd=tmp_path)
    assert_handled(answer, rc=2)
    assert "spec.bgp.password" in answer.stderr, str(answer)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("make", [m for _, m in SECRET_WARNED], ids=[i for i, _ in SECRET_WARNED])
def test_readable_secret_file_is_warned_about(make: Callable[[Path], Path], tmp_path: Path) -> None:
    _spec_with_secret(tmp_path, "pw")
    make(tmp_path / "pw")
    answer = hcplb("render", "site.yaml", "-o", "out", cwd=tmp_path)
    assert answer.rc == 0, str(answer)
    assert "pw:0:0: warning: spec.bgp.password: secret file is readable by others" in answer.stderr
    assert "chmod 600 pw" in answer.stderr


def test_secret_from_environment_is_checked_too(tmp_path: Path) -> None:
    spec = tmp_path / "site.yaml"
    spec.write_text(
        SEED.replace(
            "    # password: {env: HCPLB_BGP_PASSWORD}", "    password: {env: HCPLB_HOSTILE_PW}"
        )
    )
    answer = hcplb(
        "render", "site.yaml", "-o", "out", cwd=tmp_path, env={"HCPLB_HOSTILE_PW": "a\nb"}
    )
    assert_handled(answer, rc=2)
    assert "spec.bgp.password" in answer.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ("verify", "site.yaml", "--lab", "nolab", "--timeout", "nan"),
        ("verify", "site.yaml", "--lab", "nolab", "--timeout", "-5"),
        ("verify", "site.yaml", "--lab", "nolab", "--timeout", "inf"),
        ("verify", "site.yaml", "--lab", "nolab", "--timeout", "1e309"),
        ("verify", "site.yaml", "--lab", "nolab", "--watch", "--interval", "nan"),
        ("lab", "up", "site.yaml", "--timeout", "nan"),
        ("lab", "up", "site.yaml", "--timeout", "0"),
        ("apply", "site.yaml", "--confirm-timeout", "-inf"),
        ("bench", "failover", "site.yaml", "--mode", "down", "--rate", "nan"),
        ("bench", "failover", "site.yaml", "--mode", "down", "--max-wait", "-1"),
    ],
    ids=lambda a: "-".join(a[:2]) + "-" + a[-2].strip("-") + "=" + a[-1],
)
def test_numeric_options_are_validated(argv: tuple[str, ...], tmp_path: Path) -> None:
    (tmp_path / "site.yaml").write_text(SEED)
    answer = hcplb(*argv, cwd=tmp_path)
    assert_handled(answer, rc=(1, 2))  # 2: click's usage error; 1: --interval's own check
    assert "Invalid value" in answer.stderr or "not a duration" in answer.stderr, str(answer)


@pytest.mark.parametrize("name", ["bad\n", "", "UPPER", "a" * 25, "-x", "x.y", "x/y", "..", "a b"])
def test_lab_names_are_matched_whole(name: str, tmp_path: Path) -> None:
    (tmp_path / "site.yaml").write_text(SEED)
    answer = hcplb(
        "lab", "up", "site.yaml", "--name", name, cwd=tmp_path, env={"HCPLB_LAB_DIR": str(tmp_path)}
    )
    assert_handled(answer, rc=1)
    assert "invalid lab name" in answer.stderr or "needs root" in answer.stderr, str(answer)
    assert not [p for p in tmp_path.iterdir() if p.name not in ("site.yaml", ".locks")]

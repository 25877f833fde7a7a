"""MetalLB FRR-mode conformance: every golden frr.conf is reproduced from its input, and FRR accepts it."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from hcplb.metallb import FrrConfig, load_frr_input, render_frr
from hcplb.runner import run
from tests.conftest import UPSTREAM, data_files, need_tool

CORPUS = UPSTREAM / "metallb" / "golden" / "frr"
CASES = data_files(CORPUS, "*.input.yaml", 10)


def normalized(text: str) -> list[str]:
    """Lines without trailing spaces, blank lines dropped (how the corpus is compared)."""
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def vtysh_accepts(text: str, tmp_path: Path) -> None:
    """Real FRR parses the config (`vtysh -C -f`, no daemon needed); fail with its complaint."""
    vtysh = need_tool("vtysh")
    path = tmp_path / "frr.conf"
    path.write_text(text)
    result = run([vtysh, "-C", "-f", str(path)], timeout=30)
    assert result.ok, (
        f"vtysh -C rejected the config (rc {result.rc}):\n{result.stdout}{result.stderr}"
    )


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name.removesuffix(".input.yaml"))
def test_golden_case(case: Path, tmp_path: Path) -> None:
    golden = case.with_name(case.name.removesuffix(".input.yaml") + ".golden").read_text()
    rendered = render_frr(load_frr_input(case))
    assert normalized(rendered) == normalized(golden)
    assert "\n\n\n" not in rendered and not any(
        line != line.rstrip() for line in rendered.splitlines()
    )
    vtysh_accepts(rendered, tmp_path)


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if "TwoAdvertisements" in c.name or "DualStack" in c.name],
    ids=lambda p: p.name.removesuffix(".input.yaml"),
)
def test_order_of_sessions_and_advertisements_does_not_matter(case: Path) -> None:
    """MetalLB runs this case 100 times shuffled; the output must not move."""
    config = load_frr_input(case)
    expected = render_frr(config)
    rng = random.Random(4)
    for _ in range(100):
        sessions = [
            dataclasses.replace(
                s, advertisements=tuple(rng.sample(s.advertisements, len(s.advertisements)))
            )
            for s in config.sessions
        ]
        rng.shuffle(sessions)
        shuffled = FrrConfig(
            hostname=config.hostname,
            log_level=config.log_level,
            bfd_profiles=tuple(rng.sample(config.bfd_profiles, len(config.bfd_profiles))),
            sessions=tuple(sessions),
        )
        assert render_frr(shuffled) == expected


def test_passwords_stay_out_of_reprs() -> None:
    config = load_frr_input(CORPUS / "TestSingleEBGPSessionMultiHop.input.yaml")
    session = dataclasses.replace(config.sessions[0], password="s3cret-value")
    assert "s3cret-value" not in repr(session)
    assert "s3cret-value" not in repr(dataclasses.replace(config, sessions=(session,)))
    assert "password s3cret-value" in render_frr(dataclasses.replace(config, sessions=(session,)))


def test_debug_log_level_turns_on_frr_debugging(tmp_path: Path) -> None:
    config = dataclasses.replace(
        load_frr_input(CORPUS / "TestSingleEBGPSessionMultiHop.input.yaml"), log_level="debug"
    )
    text = render_frr(config)
    assert text.startswith("log stdout debugging\n")
    assert "debug bgp updates" in text
    vtysh_accepts(text, tmp_path)

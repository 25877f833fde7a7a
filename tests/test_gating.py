"""What the suite does without a prerequisite: skip on a developer's machine, fail under CI=true."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from tests import conftest


@dataclass
class FakeItem:
    keywords: dict[str, Any]
    markers: list[Any] = field(default_factory=list)

    def add_marker(self, marker: Any) -> None:
        self.markers.append(marker)


def _without(monkeypatch: pytest.MonkeyPatch, tool: str) -> None:
    real = conftest.shutil.which
    monkeypatch.setattr(
        conftest.shutil, "which", lambda name, **kw: None if name == tool else real(name, **kw)
    )


def test_a_missing_tool_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    _without(monkeypatch, "kubectl")
    monkeypatch.setattr(conftest, "CI", False)
    with pytest.raises(pytest.skip.Exception, match=r"kubectl not installed \(Debian kubernetes"):
        conftest.need_tool("kubectl")


def test_a_missing_tool_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    _without(monkeypatch, "vtysh")
    monkeypatch.setattr(conftest, "CI", True)
    with pytest.raises(pytest.fail.Exception, match=r"vtysh not installed .*CI=true"):
        conftest.need_tool("vtysh")


def test_missing_root_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(conftest, "CI", True)
    with pytest.raises(pytest.fail.Exception, match="binding port 53 needs root"):
        conftest.need_root("binding port 53")


def test_lab_tests_skip_outside_ci_and_fail_under_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "lab_ready", lambda: "lab tests need root")
    lab, plain = FakeItem({"lab": True}), FakeItem({})

    monkeypatch.setattr(conftest, "CI", False)
    conftest.pytest_collection_modifyitems(None, [lab, plain])  # type: ignore[arg-type, list-item]
    assert [m.name for m in lab.markers] == ["skip"] and plain.markers == []
    conftest.pytest_runtest_setup(lab)  # type: ignore[arg-type]  # the skip marker acts

    monkeypatch.setattr(conftest, "CI", True)
    lab.markers.clear()
    conftest.pytest_collection_modifyitems(None, [lab, plain])  # type: ignore[arg-type, list-item]
    assert lab.markers == []  # neither skip nor xfail: an xfail(run=False) would exit 0
    with pytest.raises(pytest.fail.Exception, match="under CI=true: lab tests need root"):
        conftest.pytest_runtest_setup(lab)  # type: ignore[arg-type]
    conftest.pytest_runtest_setup(plain)  # type: ignore[arg-type]

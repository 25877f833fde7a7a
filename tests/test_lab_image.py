"""The router image's bookkeeping: mirror from apt sources, names, cache listing and removal.

No debootstrap here: the build itself runs in CI's set-up and in the booted-router lab tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hcplb.errors import LabError
from hcplb.lab import image, nspawn


def _apt(tmp_path: Path, sources: str = "", lists: dict[str, str] | None = None) -> Path:
    apt = tmp_path / "apt"
    (apt / "sources.list.d").mkdir(parents=True)
    if sources:
        (apt / "sources.list").write_text(sources)
    for name, text in (lists or {}).items():
        (apt / "sources.list.d" / name).write_text(text)
    return apt


def test_mirror_from_deb822_sources_skips_security_and_other_suites(tmp_path: Path) -> None:
    apt = _apt(
        tmp_path,
        lists={
            "a.sources": "Types: deb\nURIs: http://mirror.invalid/other\nSuites: nodistro\n"
            "Components: main\n",
            "debian.sources": "Types: deb\n# a comment\nURIs: http://mirror.invalid/debian\n"
            "Suites: bookworm bookworm-updates\nComponents: main\n\n"
            "Types: deb\nURIs: http://mirror.invalid/debian-security\n"
            "Suites: bookworm-security\nComponents: main\n",
        },
    )
    assert image.mirror_url(apt) == "http://mirror.invalid/debian"


def test_mirror_from_one_line_sources_list(tmp_path: Path) -> None:
    apt = _apt(
        tmp_path,
        "# deb http://commented.invalid/debian bookworm main\n"
        "deb-src http://src.invalid/debian bookworm main\n"
        "deb [signed-by=/usr/share/keyrings/x.gpg] http://mirror.invalid/debian bookworm main\n",
    )
    assert image.mirror_url(apt) == "http://mirror.invalid/debian"


def test_no_bookworm_source_is_a_clear_error(tmp_path: Path) -> None:
    apt = _apt(tmp_path, "deb http://mirror.invalid/debian trixie main\n")
    with pytest.raises(LabError) as info:
        image.mirror_url(apt)
    assert "no Debian bookworm archive" in str(info.value)
    assert "hint:" in str(info.value)


def test_the_image_name_follows_the_package_list() -> None:
    name = image.image_name()
    assert name.startswith("router-bookworm-")
    assert image.image_name(tuple(reversed(image.PACKAGES))) == name  # order does not matter
    assert image.image_name((*image.PACKAGES, "tcpdump")) != name
    for needed in ("frr", "frr-pythontools", "firewalld", "openssh-server", "systemd-sysv"):
        assert needed in image.PACKAGES


def _fake_image(root: Path, name: str) -> Path:
    path = root / name
    (path / image.ROOTFS / "etc").mkdir(parents=True)
    meta = {
        "suite": "bookworm",
        "packages": list(image.PACKAGES),
        "built": 1.0,
        "build_seconds": 40.0,
        "size_bytes": 250 * 2**20,
    }
    (path / image.META).write_text(json.dumps(meta))
    return path


def test_list_find_and_remove_cached_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(image.IMAGES_ENV, str(tmp_path))
    current = _fake_image(tmp_path, image.image_name())
    _fake_image(tmp_path, "router-bookworm-000000000000")
    (tmp_path / ".build-router-bookworm-x-1").mkdir()  # a killed build is never listed
    assert [i.name for i in image.list_images()] == sorted(
        [image.image_name(), "router-bookworm-000000000000"]
    )
    found = image.find_image()
    assert found is not None and found.rootfs == current / "rootfs"
    removed = image.remove_image("router-bookworm-000000000000")
    assert removed.size_bytes == 250 * 2**20
    assert [i.name for i in image.list_images()] == [image.image_name()]
    with pytest.raises(LabError) as info:
        image.remove_image("router-bookworm-000000000000")
    assert "hcplb lab image list" in str(info.value)


def test_nspawn_never_touches_the_machines_journal_and_has_a_unique_machine() -> None:
    argv = nspawn.nspawn_argv(
        netns="hcplb-x.frr", root=Path("/r"), router="frr", machine="hcplb-x-frr"
    )
    assert "--link-journal=no" in argv and "--register=no" in argv and "--keep-unit" in argv
    assert "--network-namespace-path=/run/netns/hcplb-x.frr" in argv
    assert nspawn.machine_name("lab-a", "frr") != nspawn.machine_name("lab-b", "frr")
    assert len(nspawn.machine_name("x" * 24, "y" * 60)) <= 64

"""lint on whole sites: the guide's literal configuration, every rendered example, import round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hcplb.importer import import_site
from hcplb.lint import LintReport, Severity
from hcplb.lint.engine import lint_inputs, lint_paths, lint_site
from hcplb.lint.sources import read_texts
from hcplb.plan import plan_site
from hcplb.render import Secrets, render_site, resolve_site_secrets, write_rendered
from hcplb.spec import load_site, load_site_text

from .conftest import EXAMPLES, GOLDEN, ROOT, data_files
from .render_cases import set_secret_env

GUIDE = Path("tests/fixtures/guide")
SITES = data_files(EXAMPLES, "*.yaml", at_least=2) + data_files(
    ROOT / "tests" / "sites", "*.yaml", at_least=8
)
# Sites that turn BFD off on purpose: their lint warns about it, and only about it.
NO_BFD = {"no-bfd.yaml"}


def _golden(path: Path, text: str, update: bool) -> None:
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert text == path.read_text()


def _lint_render(text: str, *, profile: str = "hcplb") -> LintReport:
    loaded = load_site_text(text, "site.yaml")
    rendered = render_site(loaded.site, Secrets(), profile=profile)  # type: ignore[arg-type]
    inputs, read = read_texts((f.path, f.content) for f in rendered.files)
    return lint_inputs(inputs, read, plan=plan_site(loaded.site))


def test_guide_problems_are_reported(monkeypatch: pytest.MonkeyPatch, update_golden: bool) -> None:
    monkeypatch.chdir(ROOT)
    report = lint_paths([GUIDE])
    assert report.exit_code == 1
    rules = report.rules()
    assert {
        "router.policy.accepts-all",  # no route policy
        "metallb.cr.missing",  # no MetalLB CR
        "cross.pool.unpinned",  # unpinned pool
        "cross.bfd.none",  # no BFD
        "firewall.source",  # no firewall source restriction
    } <= rules
    assert [s.status for s in report.sessions] == ["matched"] * 3
    data = report.to_json()
    data["sessions"] = [s.to_json() for s in report.sessions]
    _golden(GOLDEN / "lint" / "guide.json", json.dumps(data, indent=2) + "\n", update_golden)


def test_guide_profile_render_has_the_same_problems() -> None:
    report = _lint_render((EXAMPLES / "seed.yaml").read_text(), profile="guide")
    guide = lint_paths([ROOT / GUIDE])
    assert report.rules() == guide.rules()


def test_guide_import_then_render_lints_clean(
    monkeypatch: pytest.MonkeyPatch, update_golden: bool
) -> None:
    monkeypatch.chdir(ROOT)
    imported = import_site([GUIDE], name="hypershift-lab")
    _golden(GOLDEN / "lint" / "guide-import.yaml", imported.text, update_golden)
    assert imported.read_problems == ()
    assert all("TODO" in line for line in imported.text.splitlines() if "node-192" in line)
    report = _lint_render(imported.text)
    assert report.findings == () and report.exit_code == 0
    assert [s.status for s in report.sessions] == ["matched"] * 3


@pytest.mark.parametrize("site", SITES, ids=[s.name for s in SITES])
def test_every_rendered_site_lints_clean(
    site: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    set_secret_env(monkeypatch)
    report = lint_site(site)
    bad = [str(f) for f in report.findings if f.severity is not Severity.info]
    if site.name in NO_BFD:
        assert {f.rule for f in report.findings} == {"spec.warning", "cross.bfd.none"}
        assert report.exit_code == 3
    else:
        assert bad == [] and report.exit_code == 0
    assert report.sessions and all(s.status == "matched" for s in report.sessions)
    # The same files written to disk and linted as a directory (no site spec to help).
    loaded = load_site(site)
    out = tmp_path / "out"
    write_rendered(
        render_site(loaded.site, resolve_site_secrets(loaded.site, base_dir=site.parent)), out
    )
    on_disk = lint_paths([out])
    errors = [str(f) for f in on_disk.errors]
    assert errors == []


@pytest.mark.parametrize(
    "site", [EXAMPLES / "seed.yaml", EXAMPLES / "fleet.yaml"], ids=["seed", "fleet"]
)
def test_import_of_a_render_round_trips(site: Path, tmp_path: Path) -> None:
    loaded = load_site(site)
    out = tmp_path / "out"
    write_rendered(render_site(loaded.site, Secrets()), out)
    imported = import_site([out], name=loaded.site.name)
    again = load_site_text(imported.text, "imported.yaml").site
    assert [r.name for r in again.spec.routers] == [r.name for r in loaded.site.spec.routers]
    assert [r.firewall for r in again.spec.routers] == [
        r.firewall for r in loaded.site.spec.routers
    ]
    assert [n.name for n in again.spec.management_cluster.nodes] == [
        n.name for n in loaded.site.spec.management_cluster.nodes
    ]
    vips = {c.cluster.name: c.vip for c in plan_site(loaded.site).clusters}
    assert {c.name: c.vip for c in again.spec.hosted_clusters} == vips
    assert _lint_render(imported.text).exit_code == 0


def test_import_keeps_the_metallb_crs_backend(tmp_path: Path) -> None:
    seed = load_site(EXAMPLES / "seed.yaml").site
    out = tmp_path / "out"
    write_rendered(render_site(seed, Secrets()), out)
    default = load_site_text(import_site([out]).text, "imported.yaml").site
    assert default.spec.management_cluster.bgp_backend == "frr-k8s"
    cr = out / "cluster" / "metallb.yaml"
    cr.write_text(cr.read_text().replace("bgpBackend: frr-k8s", "bgpBackend: frr"))
    imported = import_site([out]).text
    assert "bgpBackend: frr # the MetalLB CR's" in imported
    assert (
        load_site_text(imported, "imported.yaml").site.spec.management_cluster.bgp_backend == "frr"
    )


def test_import_writes_todos_for_what_is_unknown() -> None:
    imported = import_site([ROOT / GUIDE / "metallb.yaml"])
    site = load_site_text(imported.text, "imported.yaml").site
    assert site.spec.routers[0].address == "192.168.125.1"
    assert any("no HostedCluster" in t for t in imported.todos)
    assert any("firewall" in t for t in imported.todos)
    assert imported.text.count("# TODO:") == len(imported.todos)


def test_import_never_writes_a_password(tmp_path: Path) -> None:
    conf = (
        (ROOT / GUIDE / "frr.conf")
        .read_text()
        .replace(
            "  neighbor 192.168.125.22 remote-as 64513\n",
            "  neighbor 192.168.125.22 remote-as 64513\n  neighbor 192.168.125.22 password Sup3rS3cret\n",
        )
    )
    (tmp_path / "frr.conf").write_text(conf)
    imported = import_site([tmp_path / "frr.conf"])
    assert "Sup3rS3cret" not in imported.text
    assert load_site_text(imported.text, "x.yaml").site.spec.bgp.password is not None


def test_no_secret_in_lint_output(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from .render_cases import TEST_PASSWORD

    set_secret_env(monkeypatch)
    site = ROOT / "tests" / "sites" / "password.yaml"
    loaded = load_site(site)
    out = tmp_path / "out"
    write_rendered(
        render_site(loaded.site, resolve_site_secrets(loaded.site, base_dir=site.parent)), out
    )
    # an unknown FRR command and a Secret the schema rejects, both carrying the password
    conf = out / "router" / "frr.conf"
    conf.write_text(
        conf.read_text().replace(
            " bgp log-neighbor-changes\n",
            f" bgp log-neighbor-changes\n bogus password {TEST_PASSWORD}\n",
        )
    )
    secret = next(out.glob("cluster/*secret*.yaml"))
    secret.write_text(secret.read_text() + f"  other: {json.dumps(TEST_PASSWORD)}\n")
    for report in (lint_site(site), lint_paths([out])):
        text = json.dumps(report.to_json()) + json.dumps([s.to_json() for s in report.sessions])
        assert TEST_PASSWORD not in text and json.dumps(TEST_PASSWORD)[1:-1] not in text
    rules = lint_paths([out]).rules()
    assert {"frr.unknown", "schema.invalid"} <= rules

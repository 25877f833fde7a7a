"""The real-world corpus: configs in the styles people publish, each through lint, import,
render and lint-of-render (tests/fixtures/realworld/README.md says which style each imitates).

Done means: lint never fails internally; import either yields a spec that renders, or says
which file or field blocks it; every render lints with zero errors.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hcplb.importer import import_site
from hcplb.lint.engine import lint_inputs, lint_paths
from hcplb.lint.sources import read_texts
from hcplb.plan import plan_site
from hcplb.render import Secrets, render_site
from hcplb.spec import load_site_text

from .conftest import ROOT

CORPUS = ROOT / "tests" / "fixtures" / "realworld"
SETS = sorted(p for p in CORPUS.iterdir() if p.is_dir())
# Sets whose import must render as is (the others must name what blocks them).
RENDERS = {
    "acm-siteconfig",
    "addresspool-kind",
    "appliance-peer",
    "bind-iptables-static",
    "frrk8s-ocp420",
    "helm-bgp",
    "hypershift-docs-dnsmasq",
    "homelab-listen-md5",
    "legacy-configmap",
    "metallb-dev-env",
    "node-running-config",
    "openshift-olm-metallb-system",
    "openshift-operators",
    "plain-l2-ingress",
}


def test_the_corpus_has_at_least_twelve_sets() -> None:
    assert len(SETS) >= 12
    readme = (CORPUS / "README.md").read_text()
    assert all(f"`{s.name}`" in readme for s in SETS)


@pytest.mark.parametrize("folder", SETS, ids=[s.name for s in SETS])
def test_lint_import_render_lint(folder: Path) -> None:
    report = lint_paths([folder])
    assert not [f for f in report.findings if "internal" in f.rule], report.findings
    assert all(f.hint for f in report.findings if f.severity == "error"), [
        str(f) for f in report.findings if not f.hint and f.severity == "error"
    ]
    imported = import_site([folder], name=folder.name)
    if not imported.ok:
        assert folder.name not in RENDERS, imported.blocking
        assert all(":" in reason for reason in imported.blocking), imported.blocking
        return
    assert folder.name in RENDERS, "renders now: add it to RENDERS"
    site = load_site_text(imported.text, "imported.yaml").site
    rendered = render_site(site, Secrets(bgp_password="corpus-password"))
    inputs, read = read_texts((f.path, f.content) for f in rendered.files)
    for plan in (plan_site(site), None):
        errors = [str(f) for f in lint_inputs(inputs, read, plan=plan).errors]
        assert errors == [], "\n".join(errors)

"""Run lint: read the files (or render a site spec), check each system, then across systems.

lint_paths(paths)  reads files and directories; a site spec among them is rendered and
                   linted when it is alone, or used as the expected topology otherwise.
lint_site(path)    loads, renders (in memory) and lints one site spec.
"""

from __future__ import annotations

import functools
import gc
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import ParamSpec, TypeVar

from hcplb.errors import HcplbError, Problem, SpecError
from hcplb.lint.asns import check_asns
from hcplb.lint.cross.cluster import check_cross
from hcplb.lint.findings import Finding, LintReport, Severity, Where, error, info, sort_findings
from hcplb.lint.frrk8s import check_frrk8s, frrk8s_sessions
from hcplb.lint.hypershift.rules import check_controller, check_crd, check_publishing
from hcplb.lint.k8s import Manifest
from hcplb.lint.legacy import legacy_findings
from hcplb.lint.metallb.rules import check_metallb
from hcplb.lint.prometheus.rules import check_prometheus_rules
from hcplb.lint.sessions import Session, session_findings, session_table
from hcplb.lint.sources import Inputs, read_paths, read_texts
from hcplb.lint.world import World, build_world
from hcplb.plan import SitePlan, plan_site
from hcplb.render import Secrets, render_site, resolve_site_secrets
from hcplb.secrets import redact
from hcplb.spec import load_site

__all__ = ["lint_inputs", "lint_paths", "lint_site"]

_SCHEMA_GROUPS = (
    "metallb.io",
    "frrk8s.metallb.io",
    "hypershift.openshift.io",
    "monitoring.coreos.com",
)
_PATH = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


P = ParamSpec("P")
R = TypeVar("R")


def _gc_paused(func: Callable[P, R]) -> Callable[P, R]:
    """Run `func` with the cyclic garbage collector paused (then restored as it was).

    A lint holds every YAML node of a site (line numbers for its findings) and frees it at
    the end; with the collector on, its full passes over that growing heap cost a 500-cluster
    lint more than the checks do. The nodes form no cycles: reference counting frees them.
    """

    @functools.wraps(func)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        was = gc.isenabled()
        gc.disable()
        try:
            return func(*args, **kwargs)
        finally:
            if was:
                gc.enable()

    return paused


def _schema_findings(manifests: Sequence[Manifest]) -> list[Finding]:
    """The CRD schema's verdict (types, enums, unknown fields), located at the field."""
    try:
        from hcplb.schemas import validate_manifest
    except ImportError:  # pragma: no cover - the schemas room ships with hcplb
        return []
    found: list[Finding] = []
    for m in manifests:
        if m.group not in _SCHEMA_GROUPS and not (m.kind == "Secret" and m.api_version == "v1"):
            continue
        if m.kind == "AddressPool" and m.group == "metallb.io":
            continue  # a retired kind: metallb.legacy.addresspool says how to migrate
        partial = m.kind == "HostedCluster"
        hidden = _secret_values(m)
        for raw in validate_manifest(dict(m.body), partial=partial):
            message = redact(raw, hidden)
            head, _, rest = message.partition(": ")
            field, _, _what = rest.partition(": ")
            steps: list[str | int] = [
                int(idx) if idx else key for key, idx in _PATH.findall(field) if key or idx
            ]
            where = m.where(*steps) if rest else m.where()
            found.append(error(where, "schema.invalid", message, "the CRD rejects this"))
            del head
    return found


def _secret_values(m: Manifest) -> list[str]:
    """A Secret's values (as written and as JSON), which no finding may repeat."""
    if m.kind != "Secret":
        return []
    values: list[str] = []
    for key in ("data", "stringData"):
        for value in m.mapping(key).values():
            values += [str(value), json.dumps(value)] if value not in (None, "") else []
    return values


def _drop_shadowed(findings: list[Finding]) -> list[Finding]:
    """A schema error where a rule already reports an error says the same thing twice."""
    taken = {
        (f.file, f.line)
        for f in findings
        if f.rule != "schema.invalid" and f.severity is Severity.error
    }
    return [f for f in findings if f.rule != "schema.invalid" or (f.file, f.line) not in taken]


def _internal(stage: str, exc: Exception) -> list[Finding]:
    return [
        error(
            Where("<lint>"),
            "lint.internal",
            f"the {stage} checks failed ({type(exc).__name__}: {exc}); their findings are missing",
            "please report it with the files attached",
        )
    ]


def _guarded(stage: str, check: Callable[[], list[Finding]]) -> list[Finding]:
    """A bug in one rule family becomes one finding, not a traceback hiding the others."""
    try:
        return check()
    except Exception as exc:
        return _internal(stage, exc)


def _hostedclusters(world: World) -> list[Finding]:
    found: list[Finding] = []
    for hc in world.hostedclusters:
        found += check_crd(hc)
        found += check_publishing(hc)
        found += check_controller(hc)
    return found


def _sessions(world: World) -> tuple[list[Session], list[Finding]]:
    try:
        frrk8s = frrk8s_sessions(world)
        covered = {(r.router, r.node) for r in frrk8s}
        # a router neighbor no BGPPeer dials is not half-open when an FRRConfiguration does
        rows = [r for r in session_table(world) if r.peer or (r.router, r.node) not in covered]
        rows += frrk8s
        return rows, list(session_findings(rows))
    except Exception as exc:
        return [], _internal("session", exc)


@_gc_paused
def lint_inputs(
    inputs: Inputs,
    read_findings: Iterable[Finding] = (),
    *,
    plan: SitePlan | None = None,
    site_file: str = "site spec",
) -> LintReport:
    """Lint what was read; `plan` (from the site spec `site_file`) is the expected topology."""
    findings = list(read_findings)
    nothing_read = not inputs.files and not findings
    try:
        world = build_world(inputs, plan, site_file=site_file)
    except Exception as exc:
        return LintReport(sort_findings([*findings, *_internal("input", exc)]), (), inputs.files)
    # each system on its own, then across systems, then the session table
    findings += _guarded(
        "MetalLB",
        lambda: check_metallb(world.metallb, world.nodes, openshift=world.operator_install),
    )
    findings += _guarded("frr-k8s", lambda: check_frrk8s(world))
    findings += _guarded("legacy MetalLB", lambda: legacy_findings(inputs.manifests))
    findings += _guarded("ASNs", lambda: check_asns(world))
    findings += _guarded("HostedCluster", lambda: _hostedclusters(world))
    findings += _guarded("cross-system", lambda: check_cross(world))
    findings += _guarded(
        "alerts",
        lambda: check_prometheus_rules(inputs.manifests, bfd_in_use=world.bfd_in_use()),
    )
    sessions, session_problems = _sessions(world)
    findings += session_problems
    findings += _guarded("schema", lambda: _schema_findings(inputs.manifests))
    if nothing_read:
        findings.append(
            error(Where("<input>"), "read.empty", "no file to lint", "give files or directories")
        )
    return LintReport(sort_findings(_drop_shadowed(findings)), tuple(sessions), inputs.files)


def _problem(p: Problem, rule: str) -> Finding:
    severity = Severity.error if p.severity == "error" else Severity.warning
    message = f"{p.path}: {p.message}" if p.path else p.message
    return Finding(rule, severity, p.file, p.line, message, p.hint)


@_gc_paused
def lint_site(path: Path) -> LintReport:
    """Load, render (in memory) and lint a site spec, with the loader's warnings."""
    try:
        loaded = load_site(path)
    except SpecError as exc:
        return LintReport(
            sort_findings(_problem(p, "spec.invalid") for p in exc.problems), (), (str(path),)
        )
    findings = [_problem(p, "spec.warning") for p in loaded.warnings]
    try:
        secrets = resolve_site_secrets(loaded, base_dir=path.parent)
    except SpecError as exc:
        findings += [
            info(Where(str(path)), "spec.secret", f"{p.message}: linted with a placeholder", p.hint)
            for p in exc.problems
        ]
        spec = loaded.site.spec
        secrets = Secrets(
            "hcplb-placeholder" if spec.bgp.password else None,
            "aGNwbGItcGxhY2Vob2xkZXI=" if spec.dns.tsig_key else None,
        )
    try:
        rendered = render_site(loaded.site, secrets)
    except HcplbError as exc:
        findings.append(error(Where(str(path)), "render.failed", f"cannot render: {exc}"))
        return LintReport(sort_findings(findings), (), (str(path),))
    inputs, read = read_texts(((f.path, f.content) for f in rendered.files), prefix=f"{path}#")
    report = lint_inputs(
        inputs, [*findings, *read], plan=plan_site(loaded.site), site_file=str(path)
    )
    return report


def _merge(
    reports: Sequence[LintReport], extra: Iterable[Finding], files: tuple[str, ...]
) -> LintReport:
    findings = [f for r in reports for f in r.findings] + list(extra)
    sessions = tuple(s for r in reports for s in r.sessions)
    return LintReport(sort_findings(findings), sessions, files)


@_gc_paused
def lint_paths(paths: Sequence[Path]) -> LintReport:
    """Lint files and directories; see the module docstring for site specs among them.

    Several site specs with other files: each site is linted on its own render, and the
    other files without a site (which site they belong to is not known).
    """
    inputs, read = read_paths(paths)
    sites = inputs.sites
    if not sites:
        return lint_inputs(inputs, read)
    alone = len(sites) == len(inputs.files)
    if alone or len(sites) > 1:
        reports = [lint_site(Path(site)) for site in sites]
        if not alone:
            rest = replace(inputs, sites=(), files=tuple(f for f in inputs.files if f not in sites))
            note = info(
                Where(sites[1]),
                "read.sites",
                "several site specs: each is linted on its own render, the other files without one",
                "lint a site's files together with that site spec alone to compare them",
            )
            reports.append(lint_inputs(rest, [note]))
        return _merge(reports, read, inputs.files)
    plan: SitePlan | None = None
    extra: list[Finding] = []
    try:
        loaded = load_site(sites[0])
        plan = plan_site(loaded.site)
        extra += [_problem(p, "spec.warning") for p in loaded.warnings]
    except SpecError as exc:
        extra += [_problem(p, "spec.invalid") for p in exc.problems]
    return lint_inputs(inputs, [*read, *extra], plan=plan, site_file=sites[0])

"""lint on frr-k8s's FRRConfiguration objects: MetalLB's own are clean and enter the session
table; frr-k8s's refusals, a user's object widening what nodes accept or advertise, raw config,
CRD schema errors and session mismatches are reported at their line."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hcplb.converged import converged_site
from hcplb.lint import LintReport, Severity
from hcplb.lint.engine import lint_inputs
from hcplb.lint.sources import read_texts
from hcplb.metallb.frrk8s import manifest
from hcplb.plan import plan_site
from hcplb.render import Secrets, render_site
from hcplb.spec import LoadedSite

Files = dict[str, str]
OBJECTS = "frrk8s/frrconfigurations.yaml"


@pytest.fixture
def files(seed: LoadedSite) -> Files:
    rendered = {f.path: f.content for f in render_site(seed.site, Secrets()).files}
    sim = converged_site(plan_site(seed.site), Secrets()).simulation
    assert sim is not None
    objs = [manifest(sim.frr_configurations[n]) for n in sorted(sim.frr_configurations)]
    return {**rendered, OBJECTS: dump(objs)}


def dump(objs: list[dict[str, Any]]) -> str:
    """JSON documents (valid YAML), one key per line so findings have distinct lines."""
    return "\n---\n".join(json.dumps(o, indent=2) for o in objs) + "\n"


def lint(files: Files) -> LintReport:
    inputs, read = read_texts(files.items())
    return lint_inputs(inputs, read)


def with_extra(files: Files, spec: dict[str, Any], name: str = "extra") -> Files:
    obj = {
        "apiVersion": "frrk8s.metallb.io/v1beta1",
        "kind": "FRRConfiguration",
        "metadata": {"name": name, "namespace": "openshift-frr-k8s"},
        "spec": spec,
    }
    return {**files, "frrk8s/extra.yaml": dump([obj])}


def neighbor(files: Files, **fields: Any) -> dict[str, Any]:
    """A user's object for the seed's router, agreeing with MetalLB's on everything frr-k8s
    must merge (timers, BFD profile), plus `fields`."""
    metallb = json.loads(files[OBJECTS].split("\n---\n")[0])["spec"]["bgp"]
    same = {k: v for k, v in metallb["routers"][0]["neighbors"][0].items() if k in _MERGED}
    return {
        "bgp": {
            "routers": [{"asn": 64513, "neighbors": [{**same, **fields}]}],
            "bfdProfiles": metallb["bfdProfiles"],
        }
    }


_MERGED = ("address", "asn", "holdTime", "keepaliveTime", "connectTime", "bfdProfile")


def rules(report: LintReport) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for f in report.findings:
        found.setdefault(f.rule, []).append(f"{f.location} {f.message}")
    return found


def test_metallbs_own_objects_are_clean_and_in_the_session_table(files: Files) -> None:
    report = lint(files)
    assert report.findings == ()
    rows = [(s.peer, s.node, s.status) for s in report.sessions if s.peer.startswith("FRR")]
    assert rows == [
        (f"FRRConfiguration metallb-{n}", n, "matched")
        for n in ("master-0", "master-1", "master-2")
    ]


def test_accepting_routes_from_the_router_is_a_widening(files: Files) -> None:
    report = lint(with_extra(files, neighbor(files, toReceive={"allowed": {"mode": "all"}})))
    assert set(rules(report)) == {"frrk8s.widens-receive"}
    (message,) = rules(report)["frrk8s.widens-receive"]
    assert message.startswith("frrk8s/extra.yaml:")
    assert "makes master-0, master-1, master-2 accept every route from 192.168.125.1" in message


def test_a_node_selector_narrows_the_widening(files: Files) -> None:
    spec = neighbor(files, toReceive={"allowed": {"prefixes": [{"prefix": "0.0.0.0/0"}]}})
    spec["nodeSelector"] = {"matchLabels": {"kubernetes.io/hostname": "master-1"}}
    (message,) = rules(lint(with_extra(files, spec)))["frrk8s.widens-receive"]
    assert "makes master-1 accept routes 0.0.0.0/0 from 192.168.125.1" in message


def test_advertising_more_and_raw_config(files: Files) -> None:
    spec = neighbor(files, toAdvertise={"allowed": {"prefixes": ["10.9.0.0/16"]}})
    spec["bgp"]["routers"][0]["prefixes"] = ["10.9.0.0/16"]
    spec["raw"] = {"rawConfig": "ip route 10.9.0.0/16 blackhole"}
    found = rules(lint(with_extra(files, spec)))
    assert "advertise 10.9.0.0/16 to 192.168.125.1" in found["frrk8s.widens-advertise"][0]
    assert (
        "adds raw FRR configuration to master-0, master-1, master-2"
        in found["frrk8s.raw-config"][0]
    )


def test_frrk8s_refusal_is_located_at_the_field(files: Files) -> None:
    text = files[OBJECTS].replace('"holdTime": "1m30s"', '"holdTime": "2s"', 1)
    assert text != files[OBJECTS]
    report = lint({**files, OBJECTS: text})
    (message,) = rules(report)["frrk8s.conversion"]
    line = next(i for i, t in enumerate(text.splitlines(), 1) if '"holdTime": "2s"' in t)
    assert message.startswith(f"{OBJECTS}:{line} frr-k8s refuses the FRRConfigurations of master-0")
    assert "invalid hold time '2s': must be 0 or >=3s" in message
    assert report.findings[0].severity is Severity.error


def test_two_objects_that_cannot_merge(files: Files) -> None:
    report = lint(with_extra(files, neighbor(files, password="other")))
    (message,) = rules(report)["frrk8s.conversion"]
    assert "of master-0, master-1, master-2: " in message
    assert "(merged with FRRConfiguration openshift-frr-k8s/extra)" in message
    assert message.endswith("multiple passwords specified for 192.168.125.1")
    assert "session.password-mismatch" in rules(report)


def test_session_mismatch_names_the_frrconfiguration(files: Files) -> None:
    text = files[OBJECTS].replace('"asn": 64512', '"asn": 64999')
    found = rules(lint({**files, OBJECTS: text}))
    messages = found["session.asn-mismatch"]
    assert any("FRRConfiguration metallb-master-0" in m and "AS 64999" in m for m in messages)


def test_schema_checks_frrconfiguration(files: Files) -> None:
    report = lint(with_extra(files, neighbor(files, toRecieve={"allowed": {"mode": "all"}})))
    assert any("toRecieve" in m for m in rules(report)["schema.invalid"])


def test_bgppeer_fields_frrk8s_mode_drops(files: Files) -> None:
    peers = "cluster/bgppeers.yaml"
    assert "  myASN: 64513\n" in files[peers]
    text = files[peers].replace(
        "  myASN: 64513\n", "  myASN: 64513\n  sourceAddress: 192.168.125.30\n"
    )
    (message,) = rules(lint({**files, peers: text}))["frrk8s.ignored-field"]
    assert "does not pass sourceAddress to frr-k8s" in message
    frr_mode = files["cluster/metallb.yaml"].replace("bgpBackend: frr-k8s", "bgpBackend: frr")
    assert "frrk8s.ignored-field" not in rules(
        lint({**files, peers: text, "cluster/metallb.yaml": frr_mode})
    )

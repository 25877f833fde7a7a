"""`hcplb demo`: the seed in a lab, the guide's "Verify the connection" checks, torn down."""

from __future__ import annotations

import secrets
import subprocess

import pytest

from hcplb.lab.demo import run_demo
from hcplb.lab.state import lab_dir


@pytest.mark.lab
def test_demo_shows_the_guides_checks_and_leaves_nothing() -> None:
    name = f"demo-test-{secrets.token_hex(3)}"
    try:
        result = run_demo(name=name)
    finally:
        assert not lab_dir(name).exists(), "demo left its lab behind"
    assert result.ok, [s for s in result.shown if not s.ok]
    commands = [(s.host, s.command) for s in result.shown]
    assert commands == [
        ("client", "dig api-int.hosted.hypershift.lab +short"),
        ("client", "dig api.hosted.hypershift.lab +short"),
        ("client", "curl -sS https://api.hosted.hypershift.lab:6443/version"),
        ("cluster (simulated)", "oc -n hosted-hosted get svc kube-apiserver"),
        ("cluster (simulated)", "oc -n openshift-frr-k8s get frrconfigurations"),
        ("master-0 (frr-k8s pod)", "vtysh -c 'show bgp summary'"),
        ("frr", "ip route show 10.0.2.20"),
        ("frr", "vtysh -c 'show ip bgp summary'"),
    ]
    by_command = {s.command: s.output for s in result.shown}
    assert by_command["dig api.hosted.hypershift.lab +short"].split() == ["10.0.2.20"]
    assert by_command["ip route show 10.0.2.20"].count("nexthop via") == 3
    assert "10.0.2.20" in by_command["oc -n hosted-hosted get svc kube-apiserver"]
    assert result.backend == "frr-k8s"
    assert "metallb-master-2" in by_command["oc -n openshift-frr-k8s get frrconfigurations"]
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"hcplb-{name}." not in netns

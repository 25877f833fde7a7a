"""`bench security` on a real lab with the hcplb profile: every attack is rejected.

The lab runs the password test site (so the MD5 attack runs on it), once for the module and
always torn down; each attack starts from, and returns the lab to, the verified fresh state.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from hcplb.bench.intruder import HOST
from hcplb.bench.security import ATTACK_IDS, check_fresh, run_attack
from hcplb.lab import Lab, down, up
from hcplb.lab.netns import namespaces
from hcplb.lab.topology import netns_name

from .conftest import ROOT

pytestmark = pytest.mark.lab

PASSWORD = "hcplb-lab-test-md5"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    path = tmp_path_factory.mktemp("labs")
    name = f"t{os.getpid() % 100000}-security"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HCPLB_LAB_DIR", str(path))
        mp.setenv("HCPLB_TEST_BGP_PASSWORD", PASSWORD)
        try:
            yield up(ROOT / "tests/sites/password.yaml", name, timeout=90)
        finally:
            if (path / name).exists():
                down(name)


# what each verdict rests on, as the evidence words it (seed-like site: pool of one address)
EVIDENCE = {
    "default-route": ("0.0.0.0/0 in neither RIB nor FIB", "session Established"),
    "machine-network": ("192.168.125.0/24 in neither RIB nor FIB",),
    "pool-supernet": ("10.0.2.0/24 in neither RIB nor FIB",),
    "outside-pools": ("10.0.2.1/32 in neither RIB nor FIB",),
    "prefix-flood": ("in neither RIB nor FIB", "1 route(s) from", "maximum-prefix 1"),
    "md5-password": ("TCPMD5Failure", "TCPMD5NotFound", "session Active"),
    "intruder": ("timed out", "--dport 179 -j DROP"),
}


@pytest.mark.parametrize("attack", ATTACK_IDS)
def test_attack_is_rejected(lab: Lab, attack: str) -> None:
    outcome = run_attack(lab, attack)
    assert outcome.verdict == "rejected", outcome.evidence
    for words in EVIDENCE[attack]:
        assert words in outcome.evidence
    assert PASSWORD not in outcome.evidence
    check_fresh(lab)
    if attack == "intruder":
        # unplugged again, and recorded in the journal meanwhile so `lab down` would remove it
        assert netns_name(lab.name, HOST) not in namespaces()
        lab.refresh()
        assert netns_name(lab.name, HOST) in lab.state.namespaces

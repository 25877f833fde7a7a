"""The seed's commented `dns.primary: 192.168.125.53` (inside the machine network): the lab's
DNS host lives there and answers the client too, so a bare lab converges and verify resolves."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from hcplb.lab import down, up
from hcplb.lab.topology import DNS

from .conftest import EXAMPLES

pytestmark = pytest.mark.lab


@pytest.fixture
def labs(tmp_path: Path) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HCPLB_LAB_DIR", str(tmp_path / "labs"))
        yield tmp_path


def test_bare_lab_with_dns_primary_on_the_machine_network_converges(labs: Path) -> None:
    seed = (EXAMPLES / "seed.yaml").read_text()
    text = seed.replace("    # primary: 192.168.125.53 ", "    primary: 192.168.125.53 ")
    assert text != seed
    site = labs / "site.yaml"
    site.write_text(text)
    name = f"t{os.getpid() % 100000}-dnsm"
    lab = up(site, name, bare=True, timeout=60)
    try:
        dns = lab.host(DNS)
        assert dns.primary_address == "192.168.125.53"
        assert dns.address("client") != dns.primary_address
        answer = lab.run(DNS, ["dig", "+short", "@192.168.125.53", lab.plan.clusters[0].api_name],
                         timeout=10)  # fmt: skip
        assert answer.stdout.split() == [lab.plan.clusters[0].vip]
    finally:
        down(name)

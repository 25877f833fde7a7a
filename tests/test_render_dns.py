"""dns/: golden files; zone files BIND loads; the nsupdate input and TSIG key work on a real named."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rdatatype
import pytest

from hcplb.errors import RenderError
from hcplb.plan import SitePlan, plan_site
from hcplb.render.dns import (
    TSIG_KEY_FILE,
    DnsRecord,
    dns_records,
    dns_zones,
    nsupdate_script,
    render_dns_files,
    tsig_key_file,
    zone_file,
)
from hcplb.render.secrets import Secrets
from hcplb.runner import run
from tests.conftest import GOLDEN, need_tool
from tests.render_cases import (
    CASES,
    TEST_TSIG,
    check_golden,
    load_case,
    render_case,
    set_secret_env,
    under,
)

NAMED = "/usr/sbin/named"


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    set_secret_env(monkeypatch)


@pytest.mark.parametrize("case", ["seed", "fleet", "secrets-dns", "ipv6", "dualstack"])
def test_golden(update_golden: bool, case: str) -> None:
    files = under(render_case(case), "dns/")
    check_golden(files, GOLDEN / "dns" / case, update_golden)


def test_records_go_to_the_zone_or_else_the_base_domain() -> None:
    plan, _ = load_case("secrets-dns")
    assert dns_records(plan) == [
        DnsRecord("api.hosted.hypershift.lab", "hypershift.lab", "10.0.2.1", 60),
        DnsRecord("api-int.hosted.hypershift.lab", "hypershift.lab", "10.0.2.1", 60),
        DnsRecord("api.other.apps.example.com", "apps.example.com", "10.0.2.255", 60),
        DnsRecord("api-int.other.apps.example.com", "apps.example.com", "10.0.2.255", 60),
    ]
    assert [r.relative for r in dns_records(plan)] == [
        "api.hosted",
        "api-int.hosted",
        "api.other",
        "api-int.other",
    ]


def test_fleet_without_a_zone_uses_each_base_domain() -> None:
    plan, _ = load_case("fleet")
    zones = dns_zones(plan)
    assert list(zones) == ["hypershift.lab", "example.lab"]
    assert [r.fqdn for r in zones["example.lab"]] == [
        "api.gamma.example.lab",
        "api-int.gamma.example.lab",
    ]


def test_tsig_key_only_in_its_secret_file() -> None:
    plan, secrets = load_case("secrets-dns")
    files = {f.path: f for f in render_dns_files(plan, secrets)}
    key = files[TSIG_KEY_FILE]
    assert (key.mode, key.secret) == (0o600, True)
    assert key.content == (
        f'key "hcplb-key" {{\n\talgorithm hmac-sha256;\n\tsecret "{TEST_TSIG}";\n}};\n'
    )
    for path, f in files.items():
        if path != TSIG_KEY_FILE:
            assert TEST_TSIG not in f.content and not f.secret, path
    assert "; Run: nsupdate -k dns/tsig.key dns/nsupdate.txt" in files["dns/nsupdate.txt"].content


def test_no_tsig_key_no_key_file() -> None:
    plan, secrets = load_case("seed")
    assert TSIG_KEY_FILE not in {f.path for f in render_dns_files(plan, secrets)}


def test_tsig_secret_that_is_not_base64_is_refused_without_showing_it() -> None:
    plan, _ = load_case("secrets-dns")
    with pytest.raises(RenderError) as err:
        tsig_key_file(plan, "not base64 at all!")
    assert "not base64" in str(err.value) and "at all" not in str(err.value)


@pytest.mark.parametrize("case", sorted(CASES))
def test_named_checkzone_loads_every_zone(tmp_path: Path, case: str) -> None:
    checkzone = need_tool("named-checkzone")
    plan, _ = load_case(case)
    for zone in dns_zones(plan):
        path = tmp_path / f"{zone}.db"
        path.write_text(zone_file(plan, zone, ns_address="192.0.2.53", serial=7))
        result = run([checkzone, zone, str(path)], timeout=30)
        assert result.rc == 0, result.stdout + result.stderr
        assert "loaded serial 7" in result.stdout


# --- a real named on loopback: the zone file loads, nsupdate with the key file changes it -------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answer(port: int, name: str) -> list[str]:
    query = dns.message.make_query(name, dns.rdatatype.A)
    response = dns.query.udp(query, "127.0.0.1", port=port, timeout=2)
    return sorted(r.to_text() for rrset in response.answer for r in rrset)


def _with_vip(plan: SitePlan, name: str, vip: str) -> SitePlan:
    site = plan.site
    clusters = [
        c.model_copy(update={"vip": vip}) if c.name == name else c
        for c in site.spec.hosted_clusters
    ]
    spec = site.spec.model_copy(update={"hosted_clusters": clusters})
    return plan_site(site.model_copy(update={"spec": spec}))


@pytest.fixture
def named(tmp_path: Path) -> Iterator[tuple[int, SitePlan, Secrets, Path]]:
    """named serving the secrets-dns zones with `hosted` at an old VIP, updatable with the key."""
    need_tool("named")
    plan, secrets = load_case("secrets-dns")
    before = _with_vip(plan, "hosted", "10.0.2.77")
    port = _free_port()
    key = tmp_path / "tsig.key"
    key.write_text(tsig_key_file(plan, TEST_TSIG))
    key.chmod(0o600)
    zones = ""
    for zone in dns_zones(plan):
        (tmp_path / f"{zone}.db").write_text(zone_file(before, zone, ns_address="127.0.0.1"))
        zones += (
            f'zone "{zone}" {{ type primary; file "{zone}.db"; '
            'allow-update { key "hcplb-key"; }; };\n'
        )
    conf = tmp_path / "named.conf"
    conf.write_text(
        f'options {{ directory "{tmp_path}"; pid-file "{tmp_path}/named.pid";\n'
        f"  listen-on port {port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }};\n"
        "  recursion no; dnssec-validation no; };\n"
        f'include "{key}";\n{zones}'
    )
    with open(tmp_path / "named.log", "w") as log:
        proc = subprocess.Popen(
            [NAMED, "-f", "-c", str(conf), "-n", "1"], stdout=subprocess.DEVNULL, stderr=log
        )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if _answer(port, "api.hosted.hypershift.lab"):
                    break
            except (OSError, dns.exception.Timeout):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"named did not start: {(tmp_path / 'named.log').read_text()[-2000:]}")
            time.sleep(0.02)
        yield port, plan, secrets, key
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def test_nsupdate_with_the_rendered_key_upserts_every_record(
    named: tuple[int, SitePlan, Secrets, Path], tmp_path: Path
) -> None:
    port, plan, _, key = named
    assert _answer(port, "api.hosted.hypershift.lab") == ["10.0.2.77"]
    script = tmp_path / "nsupdate.txt"
    script.write_text(nsupdate_script(plan, server="127.0.0.1", port=port))
    assert TEST_TSIG not in script.read_text()
    result = run(["nsupdate", "-k", str(key), str(script)], timeout=30)
    assert result.rc == 0, result.stdout + result.stderr
    for record in dns_records(plan):
        assert _answer(port, record.fqdn) == [record.address], record.fqdn


def test_nsupdate_without_the_key_is_refused(
    named: tuple[int, SitePlan, Secrets, Path], tmp_path: Path
) -> None:
    port, plan, _, _ = named
    script = tmp_path / "nsupdate.txt"
    script.write_text(nsupdate_script(plan, server="127.0.0.1", port=port))
    result = run(["nsupdate", str(script)], timeout=30)
    assert result.rc != 0
    assert "REFUSED" in result.stdout + result.stderr
    assert _answer(port, "api.hosted.hypershift.lab") == ["10.0.2.77"]

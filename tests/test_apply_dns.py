"""`apply --dns` against a real BIND 9 on 127.0.0.1 (random high port, private directory)."""

from __future__ import annotations

import base64
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsigkeyring
import dns.update
import pytest

from hcplb.apply.dns import (
    DnsChange,
    DnsServer,
    apply_dns,
    desired_records,
    send_update,
    site_tsig_key,
    update_message,
)
from hcplb.dnsowner import txt_text
from hcplb.errors import TargetError
from hcplb.plan import SitePlan, plan_site
from hcplb.spec import load_site_text
from tests.conftest import need_tool

SECRET = base64.b64encode(b"hcplb-test-tsig-secret-0123456789").decode()
OTHER_SECRET = base64.b64encode(b"some-other-secret-0123456789abcd").decode()
NAMED = "/usr/sbin/named"


@pytest.fixture(autouse=True)
def _bind_installed() -> None:
    need_tool("named")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
        tcp.bind(("127.0.0.1", 0))
        port = int(tcp.getsockname()[1])
    return port


ZONE = """$TTL 300
@ IN SOA ns.{zone}. hostmaster.{zone}. 1 3600 600 86400 300
@ IN NS ns.{zone}.
ns IN A 127.0.0.1
"""


@dataclass
class Bind:
    port: int
    directory: Path
    pid: int

    def answer(self, name: str, rdtype: str = "A") -> list[str]:
        query = dns.message.make_query(name, rdtype)
        response = dns.query.tcp(query, "127.0.0.1", port=self.port, timeout=2)
        return sorted(
            r.to_text()
            for rrset in response.answer
            if rrset.rdtype == dns.rdatatype.from_text(rdtype)
            for r in rrset
        )


@pytest.fixture
def bind(tmp_path: Path) -> Iterator[Bind]:
    """named with zones hypershift.lab (updatable with the key) and locked.lab (no updates)."""
    port = _free_port()
    conf = tmp_path / "named.conf"
    for zone in ("hypershift.lab", "locked.lab"):
        (tmp_path / f"{zone}.db").write_text(ZONE.format(zone=zone))
    conf.write_text(
        f"""
options {{
  directory "{tmp_path}";
  pid-file "{tmp_path}/named.pid";
  listen-on port {port} {{ 127.0.0.1; }};
  listen-on-v6 {{ none; }};
  recursion no;
  allow-query {{ any; }};
  dnssec-validation no;
}};
key "hcplb-key" {{ algorithm hmac-sha256; secret "{SECRET}"; }};
zone "hypershift.lab" {{ type primary; file "hypershift.lab.db"; allow-update {{ key hcplb-key; }}; }};
zone "locked.lab" {{ type primary; file "locked.lab.db"; }};
"""
    )
    with open(tmp_path / "named.log", "w") as log:
        proc = subprocess.Popen(
            [NAMED, "-f", "-c", str(conf), "-n", "1"], stdout=subprocess.DEVNULL, stderr=log
        )
    server = Bind(port, tmp_path, proc.pid)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if server.answer("ns.hypershift.lab"):
                    break
            except (OSError, dns.exception.Timeout):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log = (tmp_path / "named.log").read_text()
                pytest.fail(f"named did not start: {log[-2000:]}")
            time.sleep(0.02)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


SITE = """
apiVersion: hcplb.io/v1alpha1
kind: Site
metadata: {{name: {site}}}
spec:
  routers: [{{name: frr, asn: 64512, routerId: 192.168.125.1, address: 192.168.125.1}}]
  managementCluster:
    asn: 64513
    machineNetwork: 192.168.125.0/24
    nodes: [{{name: master-0, address: 192.168.125.20}}]
  pools: [{{name: p, addresses: [10.0.2.20-10.0.2.29]}}]
  hostedClusters:
{clusters}
  dns:
    zone: {zone}
    ttl: 300
    primary: 127.0.0.1
    tsigKey: {{name: {key}, algorithm: hmac-sha256, secret: {{env: HCPLB_TEST_TSIG}}}}
"""


def make_plan(
    clusters: dict[str, str],
    *,
    site: str = "lab",
    zone: str = "hypershift.lab",
    key: str = "hcplb-key",
) -> SitePlan:
    rows = "\n".join(
        f"    - {{name: {name}, namespace: clusters, baseDomain: {zone}, vip: {vip}, pool: p}}"
        for name, vip in clusters.items()
    )
    text = SITE.format(site=site, clusters=rows, zone=zone, key=key)
    return plan_site(load_site_text(text, "site.yaml").site)


def test_apply_creates_records_and_second_run_changes_nothing(bind: Bind) -> None:
    plan = make_plan({"hosted": "10.0.2.20", "other": "10.0.2.21"})
    report = apply_dns(plan, SECRET, port=bind.port)
    assert report.applied
    assert [c.describe() for c in report.changes if c.action == "upsert"] == [
        "api.hosted.hypershift.lab A 10.0.2.20 (was nothing)",
        "api-int.hosted.hypershift.lab A 10.0.2.20 (was nothing)",
        "api.other.hypershift.lab A 10.0.2.21 (was nothing)",
        "api-int.other.hypershift.lab A 10.0.2.21 (was nothing)",
    ]
    assert bind.answer("api.hosted.hypershift.lab") == ["10.0.2.20"]
    assert bind.answer("api-int.other.hypershift.lab") == ["10.0.2.21"]
    assert len(report.checked) == 4
    again = apply_dns(plan, SECRET, port=bind.port)
    assert not again.changed and not again.applied


def test_vip_change_and_removed_cluster_deletes_only_owned_records(bind: Bind) -> None:
    apply_dns(make_plan({"hosted": "10.0.2.20", "other": "10.0.2.21"}), SECRET, port=bind.port)
    # Another site in the same zone: its records must survive this site's clean-up.
    apply_dns(make_plan({"third": "10.0.2.22"}, site="lab2"), SECRET, port=bind.port)
    report = apply_dns(make_plan({"hosted": "10.0.2.25"}), SECRET, port=bind.port)
    described = [c.describe() for c in report.changes]
    assert "api.hosted.hypershift.lab A 10.0.2.25 (was 10.0.2.20)" in described
    assert "api.other.hypershift.lab A 10.0.2.21 deleted (no longer in the site)" in described
    assert bind.answer("api.hosted.hypershift.lab") == ["10.0.2.25"]
    assert bind.answer("api.other.hypershift.lab") == []
    assert bind.answer("api.third.hypershift.lab") == ["10.0.2.22"]
    assert bind.answer("_hcplb.hypershift.lab", "TXT") == [
        '"hcplb site=lab name=api-int.hosted.hypershift.lab"',
        '"hcplb site=lab name=api.hosted.hypershift.lab"',
        '"hcplb site=lab2 name=api-int.third.hypershift.lab"',
        '"hcplb site=lab2 name=api.third.hypershift.lab"',
    ]


def test_dry_run_sends_nothing(bind: Bind) -> None:
    report = apply_dns(make_plan({"hosted": "10.0.2.20"}), SECRET, port=bind.port, dry_run=True)
    assert report.changed and not report.applied
    assert bind.answer("api.hosted.hypershift.lab") == []


def test_wrong_secret_is_badsig(bind: Bind) -> None:
    with pytest.raises(TargetError, match=r"BADSIG.*check spec.dns.tsigKey.secret") as info:
        apply_dns(make_plan({"hosted": "10.0.2.20"}), OTHER_SECRET, port=bind.port)
    assert OTHER_SECRET not in str(info.value)
    assert bind.answer("api.hosted.hypershift.lab") == []


def test_unknown_key_is_badkey(bind: Bind) -> None:
    plan = make_plan({"hosted": "10.0.2.20"}, key="nobody-key")
    with pytest.raises(TargetError, match=r"does not know TSIG key nobody-key \(BADKEY\)"):
        apply_dns(plan, SECRET, port=bind.port)


def test_zone_without_allow_update_is_refused(bind: Bind) -> None:
    plan = make_plan({"hosted": "10.0.2.20"}, zone="locked.lab")
    with pytest.raises(TargetError, match=r"answered REFUSED .*grant the key hcplb-key"):
        apply_dns(plan, SECRET, port=bind.port)


def test_zone_the_server_does_not_serve_is_a_clear_error(bind: Bind) -> None:
    plan = make_plan({"hosted": "10.0.2.20"}, zone="elsewhere.lab")
    with pytest.raises(TargetError, match=r"not authoritative for zone elsewhere.lab \(REFUSED\)"):
        apply_dns(plan, SECRET, port=bind.port)


def test_update_answered_notauth(bind: Bind) -> None:
    # The read phase stops a zone the server does not serve; an UPDATE that still gets there
    # (the zone was removed in between) is answered NOTAUTH.
    plan = make_plan({"hosted": "10.0.2.20"}, zone="elsewhere.lab")
    key = site_tsig_key(plan, SECRET)
    server = DnsServer("127.0.0.1", bind.port, 2.0)
    change = DnsChange("elsewhere.lab", "upsert", "api.hosted.elsewhere.lab", (), ("10.0.2.20",))
    records = {r.fqdn: r for r in desired_records(plan)["elsewhere.lab"]}
    update = update_message("elsewhere.lab", [change], records, "lab", key)
    with pytest.raises(
        TargetError, match=r"answered NOTAUTH .*not authoritative for elsewhere.lab"
    ):
        send_update(server, "elsewhere.lab", update, key)


def test_silent_server_times_out() -> None:
    # A listening socket that never accepts: the TCP handshake completes, no answer ever comes.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(TargetError, match=r"did not answer within 0.5 s"):
            apply_dns(make_plan({"hosted": "10.0.2.20"}), SECRET, port=port, timeout=0.5)
        assert time.monotonic() - started < 3


def test_missing_tsig_key_or_primary_is_a_clear_error() -> None:
    plan = make_plan({"hosted": "10.0.2.20"})
    with pytest.raises(TargetError, match=r"tsigKey is not set"):
        apply_dns(plan, None, port=1)
    with pytest.raises(TargetError, match=r"not base64"):
        apply_dns(plan, "not base64!!", port=1)


def _externaldns_writes(bind: Bind, fqdn: str, address: str, txt_name: str) -> None:
    """Records as ExternalDNS (TXT registry) writes them: the A record and its ownership TXT."""
    key = site_tsig_key(make_plan({"hosted": "10.0.2.20"}), SECRET)
    keyring = dns.tsigkeyring.from_text({key.name: (key.algorithm, key.secret)})
    update = dns.update.UpdateMessage("hypershift.lab.", keyring=keyring, keyname="hcplb-key.")
    update.replace(f"{fqdn}.", 300, "A", address)
    text = txt_text("edns-owner", "service/clusters-hosted/kube-apiserver")
    update.replace(f"{txt_name}.", 300, "TXT", f'"{text}"')
    response = dns.query.tcp(update, "127.0.0.1", port=bind.port, timeout=2)
    assert response.rcode() == dns.rcode.NOERROR


def test_names_externaldns_owns_are_left_alone(bind: Bind) -> None:
    _externaldns_writes(
        bind, "api.hosted.hypershift.lab", "10.0.4.7", "a-api.hosted.hypershift.lab"
    )
    _externaldns_writes(  # the old format: the TXT at the name itself
        bind, "api-int.hosted.hypershift.lab", "10.0.4.7", "api-int.hosted.hypershift.lab"
    )
    report = apply_dns(
        make_plan({"hosted": "10.0.2.20", "other": "10.0.2.21"}), SECRET, port=bind.port
    )
    assert report.left_alone == (
        "api.hosted.hypershift.lab (ExternalDNS owner edns-owner, "
        "service/clusters-hosted/kube-apiserver)",
        "api-int.hosted.hypershift.lab (ExternalDNS owner edns-owner, "
        "service/clusters-hosted/kube-apiserver)",
    )
    assert {c.name for c in report.changes} == {
        "api.other.hypershift.lab",
        "api-int.other.hypershift.lab",
    }
    assert bind.answer("api.hosted.hypershift.lab") == ["10.0.4.7"]
    assert bind.answer("api-int.hosted.hypershift.lab") == ["10.0.4.7"]
    # hcplb's own registry is never in ExternalDNS's format
    assert bind.answer("a-api.other.hypershift.lab", "TXT") == []
    registry = bind.answer("_hcplb.hypershift.lab", "TXT")
    assert registry and not any("heritage=" in text for text in registry)


def test_externaldns_provider_refuses_apply_dns() -> None:
    text = (
        SITE.format(
            site="lab",
            zone="hypershift.lab",
            key="hcplb-key",
            clusters="    - {name: hosted, namespace: clusters, baseDomain: hypershift.lab, pool: p}",
        )
        + "    provider: externaldns\n"
    )
    plan = plan_site(load_site_text(text, "site.yaml").site)
    with pytest.raises(TargetError, match="ExternalDNS in the management cluster writes"):
        apply_dns(plan, SECRET, port=1)


def test_ipv6_vips_get_aaaa_and_a_family_change_replaces_the_record(bind: Bind) -> None:
    def dual(clusters: dict[str, str]) -> SitePlan:
        text = SITE.format(
            site="lab",
            zone="hypershift.lab",
            key="hcplb-key",
            clusters="\n".join(
                f"    - {{name: {n}, namespace: clusters, baseDomain: hypershift.lab, vip: '{v}'}}"
                for n, v in clusters.items()
            ),
        )
        text = (
            text.replace(
                "machineNetwork: 192.168.125.0/24",
                "machineNetworks: [192.168.125.0/24, '2001:db8:125::/64']",
            )
            .replace(
                "{name: master-0, address: 192.168.125.20}",
                "{name: master-0, addresses: [192.168.125.20, '2001:db8:125::20']}",
            )
            .replace("address: 192.168.125.1}", "addresses: [192.168.125.1, '2001:db8:125::1']}")
        )
        return plan_site(load_site_text(text, "site.yaml").site)

    report = apply_dns(dual({"v6": "2001:db8:2::20", "v4": "10.0.2.20"}), SECRET, port=bind.port)
    assert "api.v6.hypershift.lab AAAA 2001:db8:2::20 (was nothing)" in [
        c.describe() for c in report.changes
    ]
    assert "api-int.v6.hypershift.lab AAAA 2001:db8:2::20" in report.checked
    assert bind.answer("api.v6.hypershift.lab", "AAAA") == ["2001:db8:2::20"]
    assert bind.answer("api.v6.hypershift.lab") == []
    # The IPv4 cluster moves to IPv6: its A record goes, an AAAA comes.
    moved = apply_dns(
        dual({"v6": "2001:db8:2::20", "v4": "2001:db8:2::21"}), SECRET, port=bind.port
    )
    assert "api.v4.hypershift.lab AAAA 2001:db8:2::21 (was 10.0.2.20)" in [
        c.describe() for c in moved.changes
    ]
    assert bind.answer("api.v4.hypershift.lab") == []
    assert bind.answer("api.v4.hypershift.lab", "AAAA") == ["2001:db8:2::21"]

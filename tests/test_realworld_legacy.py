"""Legacy MetalLB input: the pre-0.13 ConfigMap, the AddressPool kind, old Service annotations."""

from __future__ import annotations

from pathlib import Path

from hcplb.importer import import_site
from hcplb.lint.engine import lint_inputs
from hcplb.lint.sources import read_texts
from hcplb.spec import load_site_text

CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  namespace: metallb-system
  name: config
data:
  config: |
    peers:
    - peer-address: 192.168.1.1
      peer-asn: 64500
      my-asn: 64501
    address-pools:
    - name: default
      protocol: bgp
      addresses:
      - 192.168.10.0/28
"""
ADDRESSPOOL = """apiVersion: metallb.io/v1beta1
kind: AddressPool
metadata: {name: lan, namespace: metallb-system}
spec: {protocol: layer2, addresses: [10.1.1.240-10.1.1.250]}
"""
SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
  annotations:
    metallb.universe.tf/loadBalancerIPs: 192.168.10.5
spec: {type: LoadBalancer}
"""


def _findings(text: str) -> list[tuple[str, int, str]]:
    inputs, read = read_texts([("m.yaml", text)])
    return [(f.rule, f.line, f.hint) for f in lint_inputs(inputs, read).findings]


def test_the_legacy_configmap_is_read_checked_and_explained() -> None:
    found = _findings(CONFIGMAP)
    (legacy,) = [f for f in found if f[0] == "metallb.legacy.configmap"]
    assert legacy[1] == 7 and "IPAddressPool + BGPAdvertisement" in legacy[2]
    # Read as the CRs it stands for: the pool is advertised, so no "not advertised".
    assert not [f for f in found if f[0] == "cross.pool.not-advertised"]


def test_import_converts_the_legacy_configmap(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(CONFIGMAP)
    site = load_site_text(import_site([tmp_path / "config.yaml"]).text, "i.yaml").site
    assert [p.addresses for p in site.spec.pools] == [["192.168.10.0/28"]]
    assert site.spec.routers[0].address == "192.168.1.1" and site.spec.routers[0].asn == 64500
    assert site.spec.management_cluster.asn == 64501


def test_the_addresspool_kind_is_read_as_a_pool_with_its_advertisement() -> None:
    found = _findings(ADDRESSPOOL)
    assert [f[0] for f in found if f[0].startswith("metallb.legacy")] == [
        "metallb.legacy.addresspool"
    ]
    assert not [f for f in found if f[0] == "cross.pool.not-advertised"]
    assert not [f for f in found if f[0] == "schema.invalid"]  # one finding, not two


def test_a_deprecated_service_annotation_names_its_replacement() -> None:
    (found,) = [f for f in _findings(SERVICE) if f[0] == "metallb.annotation.deprecated"]
    assert "metallb.io/loadBalancerIPs" in found[2]
    assert not [f for f in _findings(SERVICE.replace("universe.tf", "io")) if "deprecated" in f[0]]


DNSMASQ = """# dnsmasq for the hosted cluster (the style of HyperShift's lab docs)
domain-needed
host-record=api.hosted.example.com,10.0.2.20
address=/api-int.hosted.example.com/10.0.2.20
address=/apps.hosted.example.com/
host-record=broken
"""


def test_dnsmasq_records_are_read() -> None:
    inputs, read = read_texts([("dnsmasq.d/hosted.conf", DNSMASQ)])
    assert {(r.name, r.value, r.line) for r in inputs.records} == {
        ("api.hosted.example.com", "10.0.2.20", 3),
        ("api-int.hosted.example.com", "10.0.2.20", 4),
    }
    assert [(f.line, f.rule) for f in read] == [(6, "dns.syntax")]  # line 5 is legal
    assert all(f.hint for f in read)


def test_a_speakers_running_config_is_node_side_not_the_router() -> None:
    folder = Path(__file__).parent / "fixtures" / "realworld" / "node-running-config"
    conf = (folder / "speaker-running.conf").read_text()
    inputs, read = read_texts([("speaker-running.conf", conf)])
    assert inputs.routers == ()
    assert [f.rule for f in read] == ["read.node-side"]
    router = conf.replace("192.168.40.1-in", "FROM-ROUTER").replace("192.168.40.1-pl", "VIPS-pl")
    inputs, read = read_texts([("frr.conf", router)])
    assert len(inputs.routers) == 1

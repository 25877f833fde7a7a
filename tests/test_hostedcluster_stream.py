"""`hcplb hostedcluster patch SITE -`: a filter for pipelines and GitOps plugins."""

from __future__ import annotations

from typer.testing import CliRunner

from hcplb.cli import app
from tests.conftest import EXAMPLES, UPSTREAM

FIXTURE = UPSTREAM / "hypershift" / "cli-render-fixtures" / "agent-minimal.yaml"
SHARED = EXAMPLES / "fleet-shared.yaml"
PINNED = EXAMPLES / "fleet.yaml"

LISTED = """\
# a comment before the document
apiVersion: hypershift.openshift.io/v1beta1
kind: HostedCluster
metadata:
  name: alpha   # the site lists it
  namespace: clusters
spec:
  dns:
    baseDomain: fleet.lab
  networking:
    apiServer:
      allowedCIDRBlocks: [10.9.0.0/16]
  services:
  - service: APIServer
    servicePublishingStrategy:
      type: NodePort
"""
OTHER = """\
apiVersion: v1
kind: ConfigMap   # untouched, byte for byte
metadata: {name: keep-me, namespace: clusters}
data:
  odd:   "spacing kept"
"""


def _run(site: str, stdin: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["hostedcluster", "patch", site, "-"], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_unlisted_hostedcluster_gets_the_shared_pools_services() -> None:
    text = FIXTURE.read_text()
    code, out, err = _run(str(SHARED), text)
    assert code == 0, err
    head, _, _ = text.partition("kind: HostedCluster")
    assert out.startswith(head)  # the Namespace and Secrets before it, byte for byte
    assert "hostname: api.example.example.com\n      type: LoadBalancer" in out
    assert "note: clusters/example: not in the site: given the shared pool's services" in err


def test_listed_cluster_patched_other_documents_and_comments_kept() -> None:
    code, out, err = _run(str(SHARED), f"{OTHER}---\n{LISTED}")
    assert code == 0, err
    other, listed = out.split("---\n")
    assert other == OTHER
    assert listed.startswith("# a comment before the document\n")
    assert "name: alpha   # the site lists it" in listed
    assert "hostname: api.alpha.fleet.lab" in listed
    assert "allowedCIDRBlocks: [10.9.0.0/16]" not in listed  # the site's list (none) wins
    assert "clusters/alpha: spec.services[APIServer]" in err


def test_unlisted_shared_cluster_keeps_its_allow_list() -> None:
    code, out, _ = _run(str(SHARED), LISTED.replace("name: alpha", "name: zeta"))
    assert code == 0
    assert "allowedCIDRBlocks: [10.9.0.0/16]" in out
    assert "hostname: api.zeta.fleet.lab" in out


def test_unlisted_cluster_without_a_shared_pool_is_a_located_error() -> None:
    code, out, err = _run(str(PINNED), f"{OTHER}---\n{LISTED.replace('alpha', 'zeta')}")
    assert code == 2 and out == ""
    assert err.startswith(
        "<stdin>:8:1: error: metadata: HostedCluster clusters/zeta is not in the site and the "
        "site has no shared pool to give it"
    )


def test_a_stream_without_hostedclusters_passes_through() -> None:
    code, out, _ = _run(str(PINNED), OTHER)
    assert code == 0 and out == OTHER


def test_wrong_argument_count_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["hostedcluster", "patch", str(SHARED)])
    assert result.exit_code == 2
    assert "patch SITE -" in result.output

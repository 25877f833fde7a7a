"""The site spec loader: the seed loads, and bad specs fail with located messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from hcplb.errors import SpecError
from hcplb.plan import plan_site
from hcplb.spec import LoadedSite, load_site_text

from .conftest import EXAMPLES, GOLDEN, data_files

ERROR_CASES = data_files(Path(__file__).parent / "errors", "*.yaml", at_least=5)


def test_seed_loads_without_warnings(seed: LoadedSite) -> None:
    assert seed.site.name == "hypershift-lab"
    assert seed.warnings == ()
    plan = plan_site(seed.site)
    assert [c.vip for c in plan.clusters] == ["10.0.2.20"]
    assert plan.accepted_networks == ("10.0.2.20/32",)
    assert plan.maximum_paths == 3


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c.stem for c in ERROR_CASES])
def test_error_text_matches_golden(case: Path, update_golden: bool) -> None:
    with pytest.raises(SpecError) as info:
        load_site_text(case.read_text(), f"{case.stem}.yaml")
    text = "\n".join(info.value.lines()) + "\n"
    golden = case.with_suffix(".txt")
    if update_golden:
        golden.write_text(text)
    assert text == golden.read_text()


def test_every_example_loads() -> None:
    for path in data_files(EXAMPLES, "*.yaml", at_least=2):
        load_site_text(path.read_text(), str(path))
    assert GOLDEN.parent.is_dir()


def test_init_prints_the_seed_example() -> None:
    from hcplb.cli.site_cmds import seed_text

    assert seed_text() == (EXAMPLES / "seed.yaml").read_text()


def test_more_nodes_than_ecmp_paths_is_a_located_error() -> None:
    text = (EXAMPLES / "seed.yaml").read_text()
    text = text.replace("machineNetwork: 192.168.125.0/24", "machineNetwork: 192.168.0.0/16")
    head, _, rest = text.partition("    nodes:\n")
    _, _, tail = rest.partition("  # BGP between")
    nodes = "".join(
        f"      - {{name: n{i}, address: 192.168.{126 + i // 200}.{1 + i % 200}}}\n"
        for i in range(257)
    )
    assert tail, "the seed's layout changed: nodes are followed by the bgp comment"
    spec = head + "    nodes:\n" + nodes + "  # BGP between" + tail
    with pytest.raises(SpecError) as info:
        load_site_text(spec, "wide.yaml")
    (line,) = [x for x in info.value.lines() if "ECMP" in x]
    nodes_line = spec.splitlines().index("    nodes:") + 1
    assert line.startswith(f"wide.yaml:{nodes_line}:"), line
    assert "spec.managementCluster.nodes: 257 nodes exceed FRR's 256 ECMP paths" in line
    assert "(hint: " in line

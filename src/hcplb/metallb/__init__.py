"""What MetalLB (FRR mode) would do: the controller's IP allocation and each speaker's frr.conf.

    sim = simulate(manifests, [apiserver_service("hosted-hosted")], nodes)
    sim.allocations["hosted-hosted/kube-apiserver"]   # ("10.0.2.20",)
    sim.frr_configs["master-0"]                       # the node's frr.conf

Running a node's frr.conf as MetalLB does: zebra, bgpd with `-p 0` (no BGP listener: the node
always dials the router) and bfdd; see SPEAKER_DAEMONS.
"""

from __future__ import annotations

from hcplb.errors import MetallbError
from hcplb.metallb.allocator import Allocation, allocate
from hcplb.metallb.config import parse_config
from hcplb.metallb.corpus import frr_config_from_mapping, load_frr_input
from hcplb.metallb.frr import Advertisement, BfdProfile, FrrConfig, Session, render_frr
from hcplb.metallb.model import MetallbConfig
from hcplb.metallb.objects import (
    CONTROL_PLANE_NAMESPACE_LABEL,
    EXCLUDE_LABEL,
    apiserver_service,
    control_plane_namespace,
    node_object,
)
from hcplb.metallb.simulate import Simulation, simulate
from hcplb.metallb.speaker import SpeakerConfig

__all__ = [
    "CONTROL_PLANE_NAMESPACE_LABEL",
    "EXCLUDE_LABEL",
    "SPEAKER_DAEMONS",
    "Advertisement",
    "Allocation",
    "BfdProfile",
    "FrrConfig",
    "MetallbConfig",
    "MetallbError",
    "Session",
    "Simulation",
    "SpeakerConfig",
    "allocate",
    "apiserver_service",
    "control_plane_namespace",
    "frr_config_from_mapping",
    "load_frr_input",
    "node_object",
    "parse_config",
    "render_frr",
    "simulate",
]

# The FRR daemons and options MetalLB's speaker container runs (its `daemons` file), minus the
# `-A 127.0.0.1` vty bind and fd limits: bgpd never listens (`-p 0`), so nodes dial the router.
SPEAKER_DAEMONS: dict[str, tuple[str, ...]] = {
    "zebra": ("-s", "90000000"),
    "bgpd": ("-p", "0"),
    "bfdd": (),
}

"""HostedCluster files and objects: put the site's publishing strategy in, check a live one.

- `patch_hostedcluster_file(path, desired, *, write=True) -> PatchResult` and
  `patch_hostedcluster_text(text, desired, *, file)`: comment-preserving in-place edit.
- `desired_hostedclusters(plan) -> tuple[DesiredHostedCluster, ...]`: what the site wants.
- `check_hostedcluster(client, desired) -> CheckReport`: compare a live HostedCluster.
"""

from hcplb.hypershift.check import CheckReport, Comparison, check_hostedcluster
from hcplb.hypershift.patch import (
    DesiredHostedCluster,
    PatchResult,
    desired_hostedclusters,
    patch_hostedcluster_file,
    patch_hostedcluster_text,
)

__all__ = [
    "CheckReport",
    "Comparison",
    "DesiredHostedCluster",
    "PatchResult",
    "check_hostedcluster",
    "desired_hostedclusters",
    "patch_hostedcluster_file",
    "patch_hostedcluster_text",
]

"""Where hcplb acts: this machine, an SSH host, or a lab host, behind one small interface.

    target = open_target("ssh://admin@r1.example.net")   # or "local"
    target.run(["vtysh", "-c", "show bgp summary json"], timeout=5)   # -> runner.Result
    target.put("/etc/frr/frr.conf", text, 0o640)
    target.close()

`LabTarget(lab, host)` runs inside a lab host (`hcplb.lab.Lab.run`). The Kubernetes API is
the other edge: `hcplb.targets.kube` (client, resources, lightkube errors as TargetError).
"""

from __future__ import annotations

from typing import Any

from hcplb.errors import TargetError
from hcplb.targets.base import Target
from hcplb.targets.lab import LabTarget
from hcplb.targets.local import LocalTarget

__all__ = ["LabTarget", "LocalTarget", "Target", "open_target"]


def open_target(spec: str, **ssh_options: Any) -> Target:
    """`local` or `ssh://user@host[:port]` as a Target (SSH connects on first use)."""
    if spec == "local":
        return LocalTarget()
    if spec.startswith("ssh://"):
        from hcplb.targets.ssh import SshTarget  # asyncssh is imported only when needed

        return SshTarget.from_url(spec, **ssh_options)
    raise TargetError(f"unknown target {spec!r} (hint: `local` or ssh://user@host[:port])")

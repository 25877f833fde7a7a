"""`hcplb apply`: push a site to its routers, DNS and cluster without leaving one half done.

- `plan_apply(plan, options, base_dir=...)`: the steps (cluster, routers, DNS), in order, from
  one render of the site (`hcplb.apply.planner`); `execute(apply_plan, systems, ...)` carries
  them out or, dry run, shows each one's diff (`hcplb.apply.executor`).

- `apply_router(target, plan, router, frr_conf, *, secrets, dry_run, confirm_timeout)`:
  commit-confirmed FRR change (`hcplb.apply.router`); `prepare_host(...)`: the host
  preparation of `router/setup.sh` as checks and idempotent fixes (`hcplb.apply.preflight`).
- `apply_dns(plan, tsig_secret, *, server, port, dry_run)`: signed RFC 2136 updates with an
  ownership registry, read back (`hcplb.apply.dns`).
- `apply_cluster(client, manifests, *, dry_run, force_conflicts)`: server-side apply of the
  MetalLB objects, MetalLB CR first (`hcplb.apply.cluster`); the client comes from
  `hcplb.targets.kube.kube_client(kubeconfig, context)`.
"""

from hcplb.apply.cluster import ClusterReport, ObjectResult, apply_cluster
from hcplb.apply.dns import DnsChange, DnsReport, apply_dns
from hcplb.apply.executor import StepReport, Systems, execute
from hcplb.apply.planner import ApplyOptions, ApplyPlan, plan_apply
from hcplb.apply.preflight import HostCheck, check_host, prepare_host
from hcplb.apply.router import RouterReport, apply_router

__all__ = [
    "ApplyOptions",
    "ApplyPlan",
    "ClusterReport",
    "DnsChange",
    "DnsReport",
    "HostCheck",
    "ObjectResult",
    "RouterReport",
    "StepReport",
    "Systems",
    "apply_cluster",
    "apply_dns",
    "apply_router",
    "check_host",
    "execute",
    "plan_apply",
    "prepare_host",
]

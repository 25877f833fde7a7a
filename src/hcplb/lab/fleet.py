"""Hosted clusters that come and go on a running lab: `lab cluster add` / `lab cluster remove`.

    added = add(lab, "delta", "clusters")        # VIP from the shared pool, served, published
    remove(lab, "delta")

An add does what the management cluster does when HyperShift creates a hosted control plane:
MetalLB gives its kube-apiserver Service the first free address of the shared pool (the
clusters already running keep theirs), every node binds the VIP (kube-proxy) and its API
stand-in starts answering on it with a certificate for its names, each speaker's frr.conf
becomes what MetalLB now renders (so the nodes announce it), and ExternalDNS writes `api` and
`api-int` with RFC 2136 and TSIG to the lab's BIND, each with its registry TXT record in
ExternalDNS's format (`hcplb.dnsowner`). The routers are not touched: their rendered frr.conf
for the site with the new cluster must be byte-identical to the one they run, or the add is
refused. Then it waits until the routers route the VIP over every announcing node, DNS
answers and the API answers HTTPS. Everything lives in the lab's namespaces, processes and
directory, so `lab down` removes it; the journal lists the added clusters (`verify --lab`
probes them).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from hcplb.converged import converged_site
from hcplb.dnsowner import registry_record, service_resource
from hcplb.errors import HcplbError, LabError
from hcplb.fsutil import owner_ids, write_atomic
from hcplb.lab import converge, frr, netns, pki, standin
from hcplb.lab.cluster import ClusterView, lab_plan, simulate_site
from hcplb.lab.core import CA_FILE, Lab
from hcplb.lab.state import Expectations, LabCluster
from hcplb.lab.topology import DNS
from hcplb.plan import ClusterPlan, SitePlan
from hcplb.render import Secrets, resolve_site_secrets
from hcplb.render.externaldns import txt_owner_id
from hcplb.render.frr import render_frr_conf
from hcplb.render.router import router_dir
from hcplb.runner import run
from hcplb.settings import CONVERGE_TIMEOUT, LAB_SETUP_TIMEOUT
from hcplb.spec import load_site
from hcplb.spec.models import HostedCluster, Site

__all__ = ["Change", "add", "remove"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Change:
    """What an add or remove did, and how long until it was verified (seconds)."""

    cluster: LabCluster
    steps: tuple[str, ...]
    seconds: float


def add(
    lab: Lab,
    name: str,
    namespace: str,
    *,
    pool: str | None = None,
    timeout: float = CONVERGE_TIMEOUT,
    on_step: Progress | None = None,
) -> Change:
    """Add hosted cluster `namespace/name` on a shared pool; LabError when it cannot be."""
    started = time.monotonic()
    say = on_step or (lambda _text: None)
    site, secrets = _site(lab)
    pool_name = _shared_pool(site, pool)
    if any((c.cluster.namespace, c.cluster.name) == (namespace, name) for c in lab.plan.clusters):
        raise LabError(f"lab {lab.name} already has hosted cluster {namespace}/{name}")
    base_domain = site.spec.dns.zone or site.spec.hosted_clusters[0].base_domain
    try:
        HostedCluster.model_validate(
            {"name": name, "namespace": namespace, "baseDomain": base_domain, "pool": pool_name}
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "cluster"
        raise LabError(f"hosted cluster {namespace}/{name}: {where}: {first['msg']}") from None
    # 1. MetalLB: the new Service gets the pool's first free address, the others keep theirs
    vip = _allocate(
        site,
        secrets,
        lab,
        LabCluster(name=name, namespace=namespace, pool=pool_name, base_domain=base_domain, vip=""),
    )
    added = LabCluster(
        name=name, namespace=namespace, pool=pool_name, base_domain=base_domain, vip=vip
    )
    clusters = (*lab.state.clusters, added)
    plan = lab_plan(site, clusters)
    view = simulate_site(plan, secrets, profile=lab.state.profile)
    _check_routers(lab, plan, secrets)
    say(f"MetalLB: {namespace}-{name}/kube-apiserver gets {vip} from pool {pool_name}")
    # recorded before anything is created, so `lab down` knows it whatever happens next
    _record(lab, plan, view, clusters)
    cp = _cluster_plan(plan, added)
    # 2. every node binds the VIP; the API stand-in serves it with a certificate for its names
    _loopbacks(lab, "add", vip)
    ca = pki.load_ca(lab.state_dir / CA_FILE)
    cert = standin.issue_cert(
        ca, name, cp.control_plane_namespace, [cp.api_name, cp.api_int_name], vip
    )
    nodes = [n.name for n in plan.nodes]
    standin.set_cluster(lab, name, standin.listeners(lab, nodes, vip, name, cert))
    say(f"API stand-in: {cp.api_name}:6443 on {len(nodes)} nodes")
    # 3. the speakers announce it: each node's frr.conf as MetalLB renders it now
    _speakers(lab, view)
    say(f"speakers: {len(view.simulation.frr_configs)} frr.conf applied")
    # 4. ExternalDNS: A records and their registry TXT records, RFC 2136 signed with TSIG
    _nsupdate(lab, plan, _dns_lines(plan, cp, add=True))
    say(f"DNS: {cp.api_name}, {cp.api_int_name} A {vip} with ExternalDNS registry records")
    # 5. verified: routes over every announcing node, names, HTTPS
    _wait(lab, view.expect, cp, timeout)
    seconds = time.monotonic() - started
    return Change(added, ("metallb", "api", "speakers", "dns", "verified"), seconds)


def remove(
    lab: Lab, name: str, *, timeout: float = CONVERGE_TIMEOUT, on_step: Progress | None = None
) -> Change:
    """Remove a cluster `lab cluster add` added (its Service deleted: records, VIP, listeners)."""
    started = time.monotonic()
    say = on_step or (lambda _text: None)
    gone = [c for c in lab.state.clusters if c.name == name]
    if not gone:
        listed = ", ".join(c.name for c in lab.state.clusters) or "none"
        raise LabError(
            f"lab {lab.name} has no added hosted cluster {name!r} (added: {listed}) "
            "(hint: only clusters `hcplb lab cluster add` added can be removed)"
        )
    cluster = gone[0]
    site, secrets = _site(lab)
    cp = _cluster_plan(lab.plan, cluster)
    clusters = tuple(c for c in lab.state.clusters if c != cluster)
    plan = lab_plan(site, clusters)
    view = simulate_site(plan, secrets, profile=lab.state.profile)
    # ExternalDNS deletes what it owns; the speakers withdraw; the Service's endpoints go
    _nsupdate(lab, plan, _dns_lines(plan, cp, add=False))
    _speakers(lab, view)
    standin.remove_cluster(lab, name)
    _loopbacks(lab, "del", cluster.vip)
    _record(lab, plan, view, clusters)
    say(f"removed {cluster.namespace}/{cluster.name} ({cluster.vip})")
    withdrawn = _withdrawn(lab, cluster.vip, timeout)
    if not withdrawn:
        raise LabError(f"the routers still route {cluster.vip} {timeout:g} s after the remove")
    return Change(cluster, ("dns", "speakers", "api", "withdrawn"), time.monotonic() - started)


# -- steps -----------------------------------------------------------------------------------


def _site(lab: Lab) -> tuple[Site, Secrets]:
    site = load_site(lab.site_file).site
    return site, resolve_site_secrets(site, base_dir=Path(lab.state.site_source).parent)


def _shared_pool(site: Site, pool: str | None) -> str:
    shared = [p.name for p in site.spec.pools if p.assignment == "shared"]
    if pool is None:
        if len(shared) == 1:
            return shared[0]
        raise LabError(
            "the site has no shared pool (hint: a pool with `assignment: shared`, see "
            "examples/fleet-shared.yaml)"
            if not shared
            else f"the site has several shared pools ({', '.join(shared)}) (hint: --pool NAME)"
        )
    if pool not in shared:
        names = ", ".join(shared) or "none"
        raise LabError(
            f"pool {pool!r} is not a shared pool of the site (shared pools: {names}) (hint: MetalLB "
            "hands out addresses to new hosted clusters only from `assignment: shared` pools)"
        )
    return pool


def _allocate(site: Site, secrets: Secrets, lab: Lab, candidate: LabCluster) -> str:
    trial = lab_plan(site, (*lab.state.clusters, candidate))
    sim = converged_site(trial, secrets, profile=lab.state.profile).simulation
    key = f"{candidate.namespace}-{candidate.name}/kube-apiserver"
    got = sim.allocations.get(key) if sim is not None else None
    if not got:
        why = sim.unallocated.get(key, "no pool matches") if sim is not None else "no MetalLB"
        raise LabError(f"MetalLB gives {key} no address: {why}")
    return got[0]


def _cluster_plan(plan: SitePlan, cluster: LabCluster) -> ClusterPlan:
    return next(
        c
        for c in plan.clusters
        if (c.cluster.namespace, c.cluster.name) == (cluster.namespace, cluster.name)
    )


def _check_routers(lab: Lab, plan: SitePlan, secrets: Secrets) -> None:
    """The routers' frr.conf for the site with the change is the one they run, byte for byte."""
    for router in plan.routers:
        running = lab.render_dir / router_dir(plan, router) / "frr.conf"
        wanted = render_frr_conf(plan, router, password=secrets.bgp_password)
        if running.exists() and running.read_text(encoding="utf-8") != wanted:
            raise LabError(
                f"router {router.name}'s configuration would change (hint: only a shared pool "
                "lets hosted clusters come and go without touching the routers)"
            )


def _record(lab: Lab, plan: SitePlan, view: ClusterView, clusters: Sequence[LabCluster]) -> None:
    vips = {n.name: list(view.vips) for n in plan.nodes}
    lab.record(clusters=tuple(clusters), vips=vips, expect=view.expect)
    lab.plan = plan


def _loopbacks(lab: Lab, verb: str, vip: str) -> None:
    def one(node: str) -> None:
        netns = lab.host(node).netns
        result = run(
            ["ip", "-n", netns, "addr", verb, f"{vip}/32", "dev", "lo"], timeout=LAB_SETUP_TIMEOUT
        )
        if not result.ok and "File exists" not in result.stderr:
            raise LabError(f"{node}: ip addr {verb} {vip}/32 dev lo: {result.stderr.strip()}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, [n.name for n in lab.plan.nodes]))


def _speakers(lab: Lab, view: ClusterView) -> None:
    """Each speaker's frr.conf becomes MetalLB's new one, its changed lines entered with vtysh
    (a fraction of a second; frr-reload.py, the fallback, takes seconds per node)."""
    configs = view.simulation.frr_configs

    def one(node: str) -> None:
        path = lab.host_dir(node) / "etc/frr/frr.conf"
        old = path.read_text(encoding="utf-8")
        if old == configs[node]:
            return
        argv = frr.config_commands(old, configs[node])
        result = lab.run(node, ["vtysh", *argv], timeout=LAB_SETUP_TIMEOUT)
        if not result.ok:  # a change vtysh line by line cannot make: frr-reload.py's way
            lab.reload_frr(node, configs[node])
            return
        write_atomic(path, configs[node], mode=0o640, owner=owner_ids("frr"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, sorted(configs)))


def _dns_lines(plan: SitePlan, cp: ClusterPlan, *, add: bool) -> list[str]:
    """The UPDATE ExternalDNS sends for the Service's hostnames: A and registry TXT records."""
    owner = txt_owner_id(plan)
    prefix = plan.site.spec.dns.external_dns.txt_prefix
    resource = service_resource(cp.control_plane_namespace, "kube-apiserver")
    ttl = plan.site.spec.dns.ttl
    lines = []
    for fqdn in (cp.api_name, cp.api_int_name):
        txt, text = registry_record(fqdn, "A", owner, resource, prefix)
        lines += [f"update delete {fqdn}. A", f"update delete {txt}. TXT"]
        if add:
            lines += [
                f"update add {fqdn}. {ttl} A {cp.vip}",
                f'update add {txt}. {ttl} TXT "{text}"',
            ]
    return lines


def _nsupdate(lab: Lab, plan: SitePlan, lines: Sequence[str]) -> None:
    """One signed UPDATE to the lab's DNS server, sent from the first node (ExternalDNS runs
    in the management cluster); the key file stays in the lab directory (never argv)."""
    server = lab.host(DNS).primary_address
    zone = plan.site.spec.dns.zone
    if zone is None:
        return  # no zone: clients use the VIP
    script = "\n".join([f"server {server}", f"zone {zone}", *lines, "send", ""])
    node = plan.nodes[0].name
    result = lab.run(
        node, ["nsupdate", "-k", str(lab.tsig_file)], timeout=LAB_SETUP_TIMEOUT, input=script
    )
    if not result.ok:
        raise LabError(
            f"nsupdate from {node} to {server}: {(result.stderr or result.stdout).strip()}"
        )


def _wait(lab: Lab, expect: Expectations, cp: ClusterPlan, timeout: float) -> None:
    prefix = f"{cp.vip}/32"
    mine = Expectations(
        sessions={},
        routes={
            r: {p: h for p, h in routes.items() if p == prefix}
            for r, routes in expect.routes.items()
        },
        names={n: a for n, a in expect.names.items() if n in (cp.api_name, cp.api_int_name)},
        urls=[u for u in expect.urls if f"//{cp.api_name}:" in u],
    )
    result = converge.wait(lab, mine, timeout=timeout, interval=0.05)
    if not result.ok:
        bad = "; ".join(f"{c.kind} on {c.host}: {c.detail}" for c in result.failing())
        raise LabError(
            f"{cp.cluster.namespace}/{cp.cluster.name} not verified after {timeout:g} s: {bad}"
        )


def _withdrawn(lab: Lab, vip: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        gone = True
        for router in lab.plan.routers:
            try:
                table = netns.routes(
                    lab.run(
                        router.name,
                        ["ip", "-j", "route", "show", "proto", "bgp"],
                        timeout=LAB_SETUP_TIMEOUT,
                    )
                )
            except (HcplbError, ValueError):
                table = {f"{vip}/32": set()}
            gone = gone and f"{vip}/32" not in table
        if gone:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)

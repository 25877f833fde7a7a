"""The guide's literal configuration with a site's values: for benchmarks and labs only.

It reproduces the how-to guide (../seed): the router accepts anything its neighbours send
(`no bgp ebgp-requires-policy`), BGP is open to anyone, no BFD, ECMP hashed per source, and
one VIP pool any Service may take. `lab up --profile guide` and the benchmarks run it to
measure what hcplb's profile changes; `render` never writes it. The files keep hcplb's names
and places, so a lab runs either profile the same way.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from hcplb.plan import SitePlan
from hcplb.render.cluster import METALLB, METALLB_V1BETA2, cluster_files
from hcplb.render.files import RenderedFile
from hcplb.render.firewall import BGP_PORT, nft_table_head
from hcplb.render.host import SYSCTL_FILENAME, HostCommand, daemons_file
from hcplb.render.hostprep import (
    Action,
    HostStep,
    Shell,
    daemons_step,
    firewalld_actions,
    frr_package_steps,
    iptables_package,
    nftables_actions,
    persist_iptables,
    setup_script,
    sysctl_step,
)
from hcplb.render.router import router_dir
from hcplb.spec.models import Firewall, Router
from hcplb.spec.pools import pool_networks

__all__ = [
    "GUIDE_ADVERTISEMENT",
    "GUIDE_PEER",
    "GUIDE_POOL",
    "GUIDE_SYSCTL",
    "guide_manifests",
    "guide_netns_host_commands",
    "render_guide_cluster_files",
    "render_guide_frr_conf",
    "render_guide_router_files",
]

GUIDE_POOL = "hcp-api-pool"
GUIDE_PEER = "upstream-router-peer"
GUIDE_ADVERTISEMENT = "hcp-api-bgp-adv"
GUIDE_SYSCTL = (("net.ipv4.ip_forward", "1"),)


# --- the router -------------------------------------------------------------------------------


def render_guide_frr_conf(plan: SitePlan, router: Router) -> str:
    """The guide's router config with this site's values (insecure on purpose)."""
    peerings = plan.peerings_of(router)
    lines = [
        f"hostname {router.name}",
        "frr defaults traditional",
        "log syslog informational",
        "",
        f"router bgp {router.asn}",
        f"  bgp router-id {router.router_id}",
        "  no bgp ebgp-requires-policy",
        "",
        "  ! Define your MetalLB nodes",
    ]
    lines += [f"  neighbor {p.node.address} remote-as {p.node_asn}" for p in peerings]
    lines += ["", "  address-family ipv4 unicast"]
    lines += [f"    neighbor {p.node.address} activate" for p in peerings]
    lines.append("  exit-address-family")
    return "\n".join(lines) + "\n"


def _header(router: Router) -> list[str]:
    return [f"# The guide's firewall step for router {router.name}: BGP open to anyone."]


def _iptables_rules(router: Router) -> str:
    lines = [*_header(router), "*filter", f"-I INPUT -p tcp --dport {BGP_PORT} -j ACCEPT", "COMMIT"]
    return "\n".join(lines) + "\n"


def _nft(router: Router) -> str:
    lines = [
        *_header(router),
        *nft_table_head(),
        "\tchain input {",
        "\t\ttype filter hook input priority filter; policy accept;",
        f"\t\ttcp dport {BGP_PORT} accept",
        "\t}",
        "}",
    ]
    return "\n".join(lines) + "\n"


def _firewalld(router: Router) -> str:
    lines = [
        "#!/bin/bash",
        *_header(router),
        "set -euo pipefail",
        "",
        f"firewall-cmd --permanent --add-port={BGP_PORT}/tcp",
        "firewall-cmd --reload",
    ]
    return "\n".join(lines) + "\n"


def _firewall_file(plan: SitePlan, router: Router) -> RenderedFile:
    base = router_dir(plan, router)
    if router.firewall is Firewall.iptables:
        return RenderedFile(f"{base}/iptables.rules", _iptables_rules(router), kind="firewall")
    if router.firewall is Firewall.nftables:
        return RenderedFile(f"{base}/hcplb.nft", _nft(router), kind="firewall")
    return RenderedFile(f"{base}/firewalld.sh", _firewalld(router), mode=0o755, kind="firewall")


def guide_host_steps(router: Router) -> tuple[HostStep, ...]:
    """The guide's preparation of a router (setup.sh's steps; BGP open to anyone)."""
    actions: tuple[Action, ...]
    if router.firewall is Firewall.iptables:
        actions = (
            iptables_package(),
            Shell(
                "open BGP",
                "iptables -C INPUT -p tcp --dport 179 -j ACCEPT 2>/dev/null ||"
                ' iptables-restore --noflush "$here/iptables.rules"',
            ),
            persist_iptables(six=False),
        )
    elif router.firewall is Firewall.nftables:
        actions = nftables_actions()
    else:
        actions = firewalld_actions("firewall-cmd --query-port=179/tcp")
    title = f"firewall ({router.firewall.value}): BGP open to anyone (the guide's rule)"
    return (
        *frr_package_steps(),
        sysctl_step(GUIDE_SYSCTL),
        HostStep("firewall", title, actions),
        daemons_step("bgpd"),
    )


def render_guide_router_files(plan: SitePlan) -> list[RenderedFile]:
    """Every router's files as the guide has them (no password: the guide sets none)."""
    files: list[RenderedFile] = []
    for router in plan.routers:
        base = router_dir(plan, router)
        files += [
            RenderedFile(f"{base}/frr.conf", render_guide_frr_conf(plan, router), kind="frr"),
            RenderedFile(f"{base}/daemons", daemons_file({"bgpd"}), kind="daemons"),
            RenderedFile(f"{base}/{SYSCTL_FILENAME}", "net.ipv4.ip_forward = 1\n", kind="sysctl"),
            _firewall_file(plan, router),
            RenderedFile(
                f"{base}/setup.sh",
                setup_script(plan, router, guide_host_steps(router)),
                mode=0o755,
                kind="script",
            ),
        ]
    return files


def guide_netns_host_commands(plan: SitePlan, router: Router) -> tuple[HostCommand, ...]:
    """sysctl and firewall commands that prepare a fresh lab namespace as the guide's router."""
    commands = [HostCommand(("sysctl", "-qw", f"{key}={value}")) for key, value in GUIDE_SYSCTL]
    if router.firewall is Firewall.iptables:
        commands.append(HostCommand(("iptables-restore", "--noflush"), _iptables_rules(router)))
    else:
        commands.append(HostCommand(("nft", "-f", "-"), _nft(router)))
    return tuple(commands)


# --- the cluster ------------------------------------------------------------------------------


def _meta(plan: SitePlan, name: str) -> dict[str, Any]:
    return {"name": name, "namespace": plan.site.spec.management_cluster.metallb_namespace}


def guide_manifests(plan: SitePlan) -> list[dict[str, Any]]:
    """The guide's three MetalLB objects: one open pool, a peer per router, one advertisement."""
    addresses = [a for pool in plan.site.spec.pools for a in pool.addresses]
    covered = list(pool_networks(addresses))
    for c in plan.clusters:  # a fixed VIP outside every pool still needs an address to hand out
        if not any(ipaddress.ip_address(c.vip) in n for n in covered):
            addresses.append(str(ipaddress.ip_network(c.vip)))
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": METALLB,
            "kind": "IPAddressPool",
            "metadata": _meta(plan, GUIDE_POOL),
            "spec": {"addresses": addresses, "autoAssign": True},
        }
    ]
    asn = plan.site.spec.management_cluster.asn
    for router in plan.routers:
        name = GUIDE_PEER if len(plan.routers) == 1 else f"{GUIDE_PEER}-{router.name}"
        docs.append(
            {
                "apiVersion": METALLB_V1BETA2,
                "kind": "BGPPeer",
                "metadata": _meta(plan, name),
                "spec": {"peerAddress": router.address, "peerASN": router.asn, "myASN": asn},
            }
        )
    docs.append(
        {
            "apiVersion": METALLB,
            "kind": "BGPAdvertisement",
            "metadata": _meta(plan, GUIDE_ADVERTISEMENT),
            "spec": {"ipAddressPools": [GUIDE_POOL]},
        }
    )
    return docs


def render_guide_cluster_files(plan: SitePlan) -> list[RenderedFile]:
    """The guide's manifests, one kind per file, without hcplb's comments."""
    return cluster_files(plan, guide_manifests(plan), explain=False)

"""README.md: the site's runbook, the guide's steps in order with this site's values and files.

It names only files that were rendered (it is given them), so it cannot point at a file that
does not exist; it never holds a secret, only where each secret comes from.
"""

from __future__ import annotations

from collections.abc import Iterable

from hcplb.metallb.frrk8s import OPENSHIFT_NAMESPACE as FRRK8S_NAMESPACE
from hcplb.plan import ClusterPlan, SitePlan
from hcplb.render.alerts import ALERTS, PROMETHEUS_RULE_FILE
from hcplb.render.dns import NSUPDATE_FILE, TSIG_KEY_FILE, dns_zones
from hcplb.render.drain import drain_section
from hcplb.render.failover import failover_section
from hcplb.render.files import RenderedFile
from hcplb.render.guide import GUIDE_ADVERTISEMENT, GUIDE_PEER, GUIDE_POOL
from hcplb.render.hostedcluster import hostedcluster_paths
from hcplb.render.router import router_dir
from hcplb.render.topology import TOPOLOGY_FILE, topology_mermaid

__all__ = ["render_runbook"]

# with more hosted clusters than this, the per-cluster checks are shown for the first one only
_CHECKS_FOR_EACH = 10
# what someone who followed the guide has in the cluster (one router: one peer)
_GUIDE_OBJECTS = (
    f"ipaddresspool/{GUIDE_POOL} bgppeer/{GUIDE_PEER} bgpadvertisement/{GUIDE_ADVERTISEMENT}"
)


def render_runbook(plan: SitePlan, files: tuple[RenderedFile, ...]) -> RenderedFile:
    paths = {f.path for f in files}
    sections = [
        _intro(plan),
        _site_table(plan),
        _picture(plan, paths),
        _prerequisites(plan),
        _router_step(plan, files),
        _metallb_step(plan, files),
        _dns_step(plan, paths),
        _hostedcluster_step(plan),
        _verify_step(plan),
        _alerts_step(plan, paths),
        failover_section(plan),
        drain_section(plan, paths),
        _secrets_note(files),
    ]
    text = "\n\n".join(s.rstrip("\n") for s in sections if s) + "\n"
    return RenderedFile("README.md", text, kind="runbook")


def _code(*lines: str) -> str:
    return "```sh\n" + "\n".join(lines) + "\n```"


def _bullets(items: Iterable[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def _intro(plan: SitePlan) -> str:
    n = len(plan.clusters)
    return (
        f"# Runbook: site `{plan.site.name}`\n\n"
        f"How to publish the API server of {n} hosted cluster{'s' if n != 1 else ''} through a "
        "`LoadBalancer` Service\n"
        "that MetalLB announces over BGP to the router(s), with DNS records for `api` and\n"
        "`api-int`. The steps are the guide's, in its order, with this site's values; each names\n"
        "the files to use. Run the commands from this directory. Rendered by `hcplb render`:\n"
        "change the site spec and render again rather than editing these files."
    )


def _site_table(plan: SitePlan) -> str:
    spec = plan.site.spec
    mc = spec.management_cluster
    bgp = spec.bgp
    rows = [
        f"| Router `{r.name}` | AS {r.asn}, router-id {r.router_id}, address {r.address}, "
        f"firewall {r.firewall.value} |"
        for r in plan.routers
    ]
    nodes = ", ".join(
        f"{n.name} {n.address}" + (f" (AS {n.asn})" if n.asn else "") for n in mc.nodes
    )
    bfd = (
        f"{bgp.bfd.receive_interval}/{bgp.bfd.transmit_interval} ms x{bgp.bfd.detect_multiplier}"
        f" (profile `{bgp.bfd.name}`)"
        if bgp.bfd
        else "off"
    )
    password = f"from {bgp.password.describe()}" if bgp.password else "none"
    rows += [
        f"| Management cluster | AS {mc.asn}, MetalLB in `{mc.metallb_namespace}`, "
        f"machine network {' and '.join(mc.machine_networks)} |",
        f"| Nodes | {nodes} |",
        f"| BGP | hold {bgp.hold_time:g}s, keepalive {bgp.keepalive_time:g}s, "
        f"connect {bgp.connect_time:g}s, BFD {bfd}, password {password}, {bgp.peering} peers |",
    ]
    clusters = [
        f"| `{c.cluster.namespace}/{c.cluster.name}` | `{c.control_plane_namespace}` | {c.vip} "
        f"| `{c.metallb_pool}` | {c.api_name}, {c.api_int_name} |"
        for c in plan.clusters
    ]
    return (
        "## This site\n\n| | |\n|---|---|\n"
        + "\n".join(rows)
        + "\n\n| Hosted cluster | Control plane | VIP | MetalLB pool | API names |\n"
        "|---|---|---|---|---|\n" + "\n".join(clusters)
    )


def _picture(plan: SitePlan, paths: set[str]) -> str:
    svg = (
        f"![the site: routers, nodes, BGP sessions, VIPs]({TOPOLOGY_FILE})\n\n"
        if TOPOLOGY_FILE in paths
        else ""
    )
    return (
        "## The site at a glance\n\n"
        + svg
        + "The same picture as a Mermaid diagram (Git hosting draws it):\n\n"
        + "```mermaid\n"
        + topology_mermaid(plan)
        + "```"
    )


def _prerequisites(plan: SitePlan) -> str:
    ns = plan.site.spec.management_cluster.metallb_namespace
    return "## 0. Prerequisites\n\n" + _bullets(
        [
            "A management cluster with the multicluster engine (or ACM) installed, `oc` logged in.",
            f"The MetalLB Operator installed in `{ns}`.",
            "A root shell on each router (RHEL/Fedora with dnf, or Debian/Ubuntu with apt).",
            "Tested for real: Debian 12 with systemd, booted in hcplb's lab (`hcplb lab up "
            "--router-host systemd`): `setup.sh` with each firewall flavour, `apply --router` "
            "over SSH with reload, rollback and a reboot. RHEL/Fedora: checked only by the "
            "tools' parsers (`vtysh -C` for frr.conf, shellcheck for the scripts).",
        ]
    )


def _router_step(plan: SitePlan, files: tuple[RenderedFile, ...]) -> str:
    parts = ["## 1. Router (guide: FRR Router Installation and Configuration)"]
    for router in plan.routers:
        base = router_dir(plan, router)
        mine = [f.path for f in files if f.path.rsplit("/", 1)[0] == base]
        peers = len(plan.peerings_of(router))
        parts.append(
            f"Router `{router.name}` ({router.address}): copy `{base}/` to it and run `setup.sh`\n"
            "as root. It installs FRR, sets the sysctls (forwarding; ECMP hashed per connection),\n"
            f"opens BGP (TCP 179) and BFD (UDP 3784/3785) to the {peers} nodes only, enables the\n"
            "daemons and loads `frr.conf`. It is idempotent: run it again after every render.\n\n"
            + _code(
                f"ssh root@{router.address} mkdir -p hcplb-router",
                f"scp {base}/* root@{_bracketed(router.address)}:hcplb-router/",
                f"ssh root@{router.address} 'cd hcplb-router && ./setup.sh'",
            )
            + "\n\nFiles: "
            + ", ".join(f"`{p}`" for p in mine)
            + "\n\nCheck: the nodes are listed, `Active` until MetalLB is configured (step 2):\n\n"
            + _code('sudo vtysh -c "show ip bgp summary"')
        )
    return "\n\n".join(parts)


def _metallb_step(plan: SitePlan, files: tuple[RenderedFile, ...]) -> str:
    ns = plan.site.spec.management_cluster.metallb_namespace
    listing = _bullets(
        f"`{f.path}`: {f.kind}"
        for f in files
        if f.path.startswith("cluster/") and f.path != PROMETHEUS_RULE_FILE
    )
    return (
        "## 2. MetalLB (guide: MetalLB BGP Setup)\n\n"
        "The `MetalLB` CR first (the guide forgets it: nothing runs without it), then the rest:\n\n"
        + _code(
            "oc apply -f cluster/metallb.yaml",
            f"oc -n {ns} wait metallb/metallb --for=condition=Available --timeout=10m",
            "oc apply -k cluster/",
        )
        + "\n\n"
        + listing
        + "\n\nIf you applied the guide's manifests before, delete them: its pool gives the VIP to any\n"
        "Service and its peer duplicates hcplb's (MetalLB's FRR mode rejects duplicate peers):\n\n"
        + _code(f"oc -n {ns} delete {_GUIDE_OBJECTS} --ignore-not-found")
        + "\n\nCheck: on the router every session is `Established` (PfxRcd stays 0 until a hosted "
        "cluster exists):\n\n"
        + _code('sudo vtysh -c "show ip bgp summary"', 'sudo vtysh -c "show bfd peers brief"')
        + "\n\n"
        + _backend_note(plan)
    )


def _backend_note(plan: SitePlan) -> str:
    """Where the node side of BGP lives for the site's bgpBackend, and how to look at it."""
    mc = plan.site.spec.management_cluster
    node = mc.nodes[0].name
    if mc.bgp_backend == "frr":
        pod = f"oc -n {mc.metallb_namespace} get pod -l component=speaker --field-selector spec.nodeName={node} -o name"
        return (
            "BGP backend `frr` (`bgpBackend: frr`): MetalLB's speaker pods run FRR themselves and\n"
            "render each node's frr.conf (older OpenShift releases). A node's FRR, e.g. "
            f"`{node}`:\n\n" + _code(f'oc -n {mc.metallb_namespace} exec "$({pod})" -c frr -- '
            'vtysh -c "show bgp summary"')
        )  # fmt: skip
    ns = FRRK8S_NAMESPACE
    pod = f"oc -n {ns} get pod -l app=frr-k8s --field-selector spec.nodeName={node} -o name"
    secret = (
        "\n\nThe BGP password: frr-k8s runs in another namespace than MetalLB, so MetalLB copies\n"
        f"it from the Secret into the FRRConfigurations in clear: restrict who may read `{ns}`.\n"
        if plan.site.spec.bgp.password is not None
        else ""
    )
    return (
        "BGP backend `frr-k8s` (`bgpBackend: frr-k8s`, what current OpenShift runs): MetalLB's\n"
        "speaker runs no FRR. It writes one `FRRConfiguration` per node (`metallb-<node>`) in\n"
        f"`{ns}`; the frr-k8s daemon set merges every FRRConfiguration that selects a node\n"
        "and renders that node's frr.conf. Another FRRConfiguration selecting the nodes is merged\n"
        "in too: one that widens what a node advertises or accepts changes BGP here (`hcplb lint`\n"
        "reports it). frr-k8s refuses a hold time under 3 s. Per node, the merge result, its\n"
        f"sessions and its FRR, e.g. `{node}`:\n\n"
        + _code(
            f"oc -n {ns} get frrconfigurations",
            f"oc get frrnodestate {node} -o jsonpath='{{.status.lastConversionResult}}{{\"\\n\"}}'",
            f"oc -n {ns} get bgpsessionstates -l frrk8s.metallb.io/node={node}",
            f'oc -n {ns} exec "$({pod})" -c frr -- vtysh -c "show bgp summary"',
        )
        + secret
    )


def _externaldns_step(plan: SitePlan) -> str:
    dns = plan.site.spec.dns
    return (
        "## 3. DNS (guide: DNS records and IPs) by ExternalDNS\n\n"
        f"ExternalDNS in the management cluster writes `api` and `api-int` of every hosted cluster "
        f"into zone `{dns.zone}` on `{dns.primary}` (RFC 2136, TSIG key "
        f"`{dns.tsig_key.name if dns.tsig_key else '?'}`), from the VIP MetalLB gave each "
        "kube-apiserver Service, for clusters created later too. The primary must let the key "
        "update and transfer (AXFR) the zone. `hcplb apply --dns` leaves these names to it.\n\n"
        + _code(
            "oc apply -k externaldns/",
            f"oc -n {dns.external_dns.namespace} logs deploy/hcplb-external-dns",
        )
        + "\n\nCheck (every name answers its VIP once the cluster's Service has one):\n\n"
        + _code(*(line for c in _checked(plan) for line in _dig(c)))
    )


def _dns_step(plan: SitePlan, paths: set[str]) -> str:
    if plan.site.spec.dns.provider == "externaldns":
        return _externaldns_step(plan)
    zones = list(dns_zones(plan))
    snippets = ", ".join(f"`dns/{z}.records` to zone `{z}`" for z in zones)
    key = f"-k {TSIG_KEY_FILE} " if TSIG_KEY_FILE in paths else ""
    options = [
        f"in BIND: add {snippets}; increase the SOA serial; `rndc reload <zone>`;",
        f"or as dynamic updates: `nsupdate {key}{NSUPDATE_FILE}` (or `hcplb apply <site.yaml> --dns`);",
        "or, on a single client without DNS: append `dns/hosts` to `/etc/hosts`.",
    ]
    first = plan.clusters[0]
    return (
        "## 3. DNS (guide: DNS records and IPs)\n\n"
        "Before the hosted cluster is created: its kubeconfig and its nodes use the API name.\n\n"
        + _bullets(options)
        + "\n\nCheck (every name answers its VIP):\n\n"
        + _code(*(line for c in _checked(plan) for line in _dig(c)))
        + ("" if len(plan.clusters) <= _CHECKS_FOR_EACH else _likewise(plan, first))
    )


def _hostedcluster_step(plan: SitePlan) -> str:
    rows = [
        f"`{c.cluster.namespace}/{c.cluster.name}`: `{path}`"
        for c, path in zip(plan.clusters, hostedcluster_paths(plan), strict=True)
    ]
    return (
        "## 4. Hosted cluster (guide: Install the Hosted Cluster)\n\n"
        "`spec.services` cannot change once the HostedCluster exists: put the fields of its file\n"
        "into the HostedCluster before creating it. In ACM, paste them in the YAML view before\n"
        "*Create*; with the CLI, render, patch, then create:\n\n"
        + _code(
            "hcp create cluster agent ... --render > hostedcluster.yaml",
            "hcplb hostedcluster patch hostedcluster.yaml --site <site.yaml>",
            "oc apply -f hostedcluster.yaml",
        )
        + "\n\n"
        + _bullets(rows)
        + "\n\nCheck: the Service has the VIP:\n\n"
        + _code(
            *(
                f"oc -n {c.control_plane_namespace} get svc kube-apiserver   # EXTERNAL-IP {c.vip}"
                for c in _checked(plan)
            )
        )
    )


def _bracketed(address: str) -> str:
    """An IPv6 address in brackets, as scp and URLs write a host (IPv4 as it is)."""
    return f"[{address}]" if ":" in address else address


def _verify_step(plan: SitePlan) -> str:
    first = plan.clusters[0]
    router = plan.routers[0]
    nodes = len(plan.nodes)
    router_checks = [
        f"ip {'-6 ' if c.family == 6 else ''}route show {c.vip}   # {nodes} nexthop(s), one per node"
        for c in _checked(plan)
    ] + [
        'sudo vtysh -c "show bgp summary"'
        if 6 in plan.families
        else 'sudo vtysh -c "show ip bgp summary"',
        f'sudo vtysh -c "show bgp ipv6 unicast {first.vip}/128"'
        if first.family == 6
        else f'sudo vtysh -c "show ip bgp {first.vip}/32"',
        'sudo vtysh -c "show bfd peers brief"' if plan.bfd else "",
    ]
    client_checks = [line for c in _checked(plan) for line in _client(c)]
    return (
        "## 5. Verify (guide: Verify the connection)\n\n"
        "Everything at once, with a diagnosis for each failure:\n\n"
        + _code(
            f"hcplb verify <site.yaml> --router ssh://root@{_bracketed(router.address)} "
            "--kubeconfig <management kubeconfig> --resolver <DNS server>"
        )
        + "\n\nBy hand, on the router:\n\n"
        + _code(*(c for c in router_checks if c))
        + "\n\nFrom a client:\n\n"
        + _code(*client_checks)
        + ("" if len(plan.clusters) <= _CHECKS_FOR_EACH else _likewise(plan, first))
    )


def _alerts_step(plan: SitePlan, paths: set[str]) -> str:
    if PROMETHEUS_RULE_FILE not in paths:
        return ""
    ns = plan.site.spec.management_cluster.metallb_namespace
    parts = [
        "## 6. Alerts (after day one)\n\n"
        "Nothing else tells you that a session dropped or a VIP stopped being announced. "
        f"`{PROMETHEUS_RULE_FILE}`\nholds a PrometheusRule for OpenShift monitoring on the metrics "
        "the MetalLB and frr-k8s speakers export\n(names from their sources: metallb/metallb "
        "`internal/bgp/native`, `frr-tools/metrics/collector`,\n`speaker/main.go`; metallb/frr-k8s "
        "`frr-tools/metrics/collector`):\n\n"
        + _code(
            f"oc apply -f {PROMETHEUS_RULE_FILE}",
            f"oc -n {ns} get prometheusrule hcplb-bgp-alerts",
        )
        + "\n\n`hcplb lint` checks a rules file of your own for the same alerts. Each alert links "
        "to its section here (`runbook_url`)."
    ]
    for alert in ALERTS:
        if alert.name == "HcplbBFDSessionDown" and plan.bfd is None:
            continue
        metrics = ", ".join(f"`{m}`" for m in alert.metrics)
        parts.append(
            f"### {alert.name}\n\nFires when {alert.what}. Reads {metrics}.\n\nFix: {alert.fix}"
        )
    return "\n\n".join(parts)


def _secrets_note(files: tuple[RenderedFile, ...]) -> str:
    secret = [f"`{f.path}`" for f in files if f.secret]
    if not secret:
        return ""
    return (
        "## Secret files\n\n"
        + _bullets(secret)
        + "\n\nThey hold secrets (mode 0600): keep them out of version control and delete them\n"
        "from machines that do not need them."
    )


def _checked(plan: SitePlan) -> tuple[ClusterPlan, ...]:
    return plan.clusters if len(plan.clusters) <= _CHECKS_FOR_EACH else plan.clusters[:1]


def _likewise(plan: SitePlan, first: ClusterPlan) -> str:
    rest = len(plan.clusters) - 1
    return (
        f"\n\n(Shown for `{first.cluster.name}`; likewise for the other {rest} hosted clusters, "
        "which `hcplb verify` checks all.)"
    )


def _dig(c: ClusterPlan) -> list[str]:
    return [f"dig +short {c.api_name}   # {c.vip}", f"dig +short {c.api_int_name}   # {c.vip}"]


def _client(c: ClusterPlan) -> list[str]:
    kubeconfig = f"{c.cluster.name}.kubeconfig"
    ca = f"{c.cluster.name}-ca.crt"
    jsonpath = "'{.clusters[0].cluster.certificate-authority-data}'"
    return [
        f"dig +short {c.api_name}",
        f"hcp create kubeconfig --namespace {c.cluster.namespace} --name {c.cluster.name}"
        f" > {kubeconfig}",
        f"oc --kubeconfig {kubeconfig} config view --raw -o jsonpath={jsonpath} | base64 -d > {ca}",
        f"curl --cacert {ca} https://{c.api_name}:6443/version   # TLS verified, via the VIP",
        f"oc --kubeconfig {kubeconfig} get --raw /readyz",
        f"oc login https://{c.api_name}:6443 -u kubeadmin",
    ]

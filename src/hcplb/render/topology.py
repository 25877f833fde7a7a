"""The site as a picture: topology.svg (Graphviz) and the same graph as a Mermaid block.

Routers (AS, router-id), nodes (AS, address), one edge per BGP session (solid with BFD, dashed
without), each hosted cluster's VIP with its api/api-int names, and the client network. Every
element has a stable id (`session.frr.master-0`, `vip.hosted.hosted`, ...) that reports use to
colour the same picture by probe results; `element_ids` lists them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hcplb.graphviz import dot_svg, quote
from hcplb.plan import ClusterPlan, Peering, SitePlan, node_asn
from hcplb.render.files import RenderedFile
from hcplb.spec.models import Node, Router

__all__ = [
    "MAX_CLUSTERS_DRAWN",
    "TOPOLOGY_FILE",
    "Element",
    "element_ids",
    "elements",
    "render_topology",
    "topology_dot",
    "topology_mermaid",
]

TOPOLOGY_FILE = "topology.svg"
MAX_CLUSTERS_DRAWN = 16
"""beyond this many hosted clusters the picture shows the first ones and a '+N more' box"""

# status -> (line colour, fill colour); reports pass a status per element id
_COLOURS = {
    "pass": ("#2e7d32", "#e8f5e9"),
    "fail": ("#c62828", "#ffebee"),
    "warn": ("#ef6c00", "#fff3e0"),
    "skip": ("#757575", "#f5f5f5"),
}


@dataclass(frozen=True)
class Element:
    """One drawn thing: its id, kind (router, node, session, vip, names, client, route) and text."""

    id: str
    kind: str
    label: str


def router_element(router: Router) -> str:
    return f"router.{router.name}"


def node_element(node: Node) -> str:
    return f"node.{node.name}"


def _pairs(plan: SitePlan) -> tuple[Peering, ...]:
    """One peering per router and node: a dual-stack pair is one line in the picture."""
    seen: dict[tuple[str, str], Peering] = {}
    for p in plan.peerings:
        seen.setdefault((p.router.name, p.node.name), p)
    return tuple(seen.values())


def session_element(router: Router, node: Node) -> str:
    return f"session.{router.name}.{node.name}"


def vip_element(c: ClusterPlan) -> str:
    return f"vip.{c.cluster.namespace}.{c.cluster.name}"


def names_element(c: ClusterPlan) -> str:
    return f"names.{c.cluster.namespace}.{c.cluster.name}"


def _drawn(plan: SitePlan) -> tuple[ClusterPlan, ...]:
    return plan.clusters[:MAX_CLUSTERS_DRAWN]


def elements(plan: SitePlan) -> tuple[Element, ...]:
    """Everything the picture shows, in drawing order."""
    spec = plan.site.spec
    bfd = plan.bfd
    session = (
        f"BGP + BFD {bfd.receive_interval} ms x{bfd.detect_multiplier}" if bfd else "BGP, no BFD"
    )
    clients = "\n".join(plan.client_networks) or spec.lab.client_network
    out = [Element("client", "client", f"client network\n{clients}")]
    out += [Element(f"route.{r.name}", "route", "") for r in plan.routers]
    out += [
        Element(
            router_element(r), "router", f"router {r.name}\nAS {r.asn}\nrouter-id {r.router_id}"
        )
        for r in plan.routers
    ]
    out += [
        Element(
            node_element(n),
            "node",
            f"{n.name}\nAS {node_asn(plan.site, n)}\n" + "\n".join(n.addresses),
        )
        for n in plan.nodes
    ]
    out += [Element(session_element(p.router, p.node), "session", session) for p in _pairs(plan)]
    for c in _drawn(plan):
        key = f"{c.cluster.namespace}/{c.cluster.name}"
        out.append(Element(vip_element(c), "vip", f"{key}\nVIP {c.vip}"))
        out.append(Element(names_element(c), "names", f"{c.api_name}\n{c.api_int_name}"))
    return tuple(out)


def element_ids(plan: SitePlan, kind: str) -> tuple[str, ...]:
    return tuple(e.id for e in elements(plan) if e.kind == kind)


def _attrs(element_id: str, status: Mapping[str, str], **extra: str) -> str:
    state = status.get(element_id)
    attrs = {"id": element_id, **extra}
    if state in _COLOURS:
        line, fill = _COLOURS[state]
        attrs["class"] = f"status-{state}"
        attrs["color"] = line
        attrs["fontcolor"] = line
        attrs["penwidth"] = "2.5"
        if "shape" in extra:
            attrs["style"] = ",".join(s for s in (extra.get("style", ""), "filled") if s)
            attrs["fillcolor"] = fill
    return ", ".join(f"{k}={quote(v)}" for k, v in attrs.items())


def topology_dot(plan: SitePlan, status: Mapping[str, str] | None = None) -> str:
    """The DOT source; `status` maps element ids to pass/fail/warn/skip to colour them."""
    status = status or {}
    by_id = {e.id: e for e in elements(plan)}
    mc = plan.site.spec.management_cluster
    lines = [
        f"digraph {quote(plan.site.name)} {{",
        '  graph [rankdir=LR, compound=true, fontname="Helvetica", fontsize=11, nodesep=0.3, ordering=out,'
        f" label={quote(_legend(plan))}, labelloc=b];",
        '  node [fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9, arrowhead=none];',
        f"  client [{_attrs('client', status, shape='note', label=by_id['client'].label)}];",
    ]
    for r in plan.routers:
        rid = router_element(r)
        lines.append(
            f"  {quote(rid)} [{_attrs(rid, status, shape='box', label=by_id[rid].label)}];"
        )
        lines.append(f"  client -> {quote(rid)} [{_attrs(f'route.{r.name}', status)}];")
    lines.append(
        f"  subgraph cluster_mgmt {{ label={quote(f'management cluster (MetalLB, AS {mc.asn})')};"
        ' style="rounded"; color="#9e9e9e";'
    )
    for n in plan.nodes:
        nid = node_element(n)
        lines.append(
            f"    {quote(nid)} [{_attrs(nid, status, shape='box', style='rounded', label=by_id[nid].label)}];"
        )
    lines.append("  }")
    for p in _pairs(plan):
        sid = session_element(p.router, p.node)
        style = "solid" if plan.bfd else "dashed"
        lines.append(
            f"  {quote(router_element(p.router))} -> {quote(node_element(p.node))} "
            f"[{_attrs(sid, status, style=style)}];"
        )
    lines += _vip_lines(plan, status, by_id)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _vip_lines(
    plan: SitePlan, status: Mapping[str, str], by_id: Mapping[str, Element]
) -> list[str]:
    drawn = _drawn(plan)
    lines = [
        '  subgraph cluster_vips { label="hosted cluster API VIPs (announced by every node)";'
        ' style="rounded"; color="#9e9e9e";'
    ]
    for c in drawn:
        vid, nid = vip_element(c), names_element(c)
        lines.append(
            f"    {quote(vid)} [{_attrs(vid, status, shape='ellipse', label=by_id[vid].label)}];"
        )
        lines.append(
            f"    {quote(nid)} [{_attrs(nid, status, shape='box', style='dashed', label=by_id[nid].label)}];"
        )
        lines.append(f"    {quote(vid)} -> {quote(nid)} [style=dotted];")
    rest = len(plan.clusters) - len(drawn)
    if rest:
        lines.append(f'    more [shape=plaintext, label="+{rest} more hosted clusters"];')
    lines.append("  }")
    last = node_element(plan.nodes[-1])
    for c in drawn:
        lines.append(
            f"  {quote(last)} -> {quote(vip_element(c))} [ltail=cluster_mgmt, style=dotted];"
        )
    return lines


def _legend(plan: SitePlan) -> str:
    bfd = plan.bfd
    sessions = (
        f"solid line: BGP session with BFD ({bfd.receive_interval} ms x{bfd.detect_multiplier})"
        if bfd
        else "dashed line: BGP session without BFD"
    )
    return f"site {plan.site.name}: {sessions}"


def topology_mermaid(plan: SitePlan) -> str:
    """The same graph as a Mermaid flowchart (Git hosting renders it in the runbook)."""

    def mid(element_id: str) -> str:
        return element_id.replace(".", "_").replace("-", "_")

    def text(label: str) -> str:
        return '"' + label.replace('"', "'").replace("\n", "<br/>") + '"'

    by_id = {e.id: e for e in elements(plan)}
    mc = plan.site.spec.management_cluster
    lines = ["flowchart LR", f"  client[{text(by_id['client'].label)}]"]
    for r in plan.routers:
        rid = router_element(r)
        lines.append(f"  {mid(rid)}[{text(by_id[rid].label)}]")
        lines.append(f"  client --- {mid(rid)}")
    lines.append(f'  subgraph mgmt["management cluster (MetalLB, AS {mc.asn})"]')
    for n in plan.nodes:
        nid = node_element(n)
        lines.append(f"    {mid(nid)}({text(by_id[nid].label)})")
    lines.append("  end")
    link = "---" if plan.bfd else "-.-"
    for p in _pairs(plan):
        label = "BFD" if plan.bfd else "no BFD"
        lines.append(
            f"  {mid(router_element(p.router))} {link}|{label}| {mid(node_element(p.node))}"
        )
    lines.append('  subgraph vips["hosted cluster API VIPs (announced by every node)"]')
    drawn = _drawn(plan)
    for c in drawn:
        vid, nid = vip_element(c), names_element(c)
        lines.append(f"    {mid(vid)}(({text(by_id[vid].label)}))")
        lines.append(f"    {mid(nid)}[{text(by_id[nid].label)}]")
        lines.append(f"    {mid(vid)} -.- {mid(nid)}")
    rest = len(plan.clusters) - len(drawn)
    if rest:
        lines.append(f'    more["+{rest} more hosted clusters"]')
    lines.append("  end")
    lines.append("  mgmt -.-> vips")
    return "\n".join(lines) + "\n"


def render_topology(plan: SitePlan) -> RenderedFile:
    """topology.svg, laid out by Graphviz."""
    return RenderedFile(TOPOLOGY_FILE, dot_svg(topology_dot(plan)), kind="topology picture")

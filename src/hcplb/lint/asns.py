"""Public ASNs in hand-built configs: the same check as the site spec's, on what lint reads."""

from __future__ import annotations

from collections.abc import Iterator

from hcplb.lint.findings import Finding, Where, warning
from hcplb.lint.world import World
from hcplb.spec.checks import PUBLIC_ASN_HINT, is_private_asn


def _public(world: World) -> Iterator[tuple[Where, int, str]]:
    for router in world.routers:
        bgp = router.bgp
        if isinstance(bgp.asn, int):
            yield Where(router.config.file, bgp.line), bgp.asn, f"router {router.name}"
        for nb in bgp.neighbors.values():
            asn = bgp.remote_asn(nb)
            if isinstance(asn, int):
                yield Where(router.config.file, nb.line), asn, f"neighbor {nb.name}"
    for peer in world.metallb.peers:
        for key in ("myASN", "peerASN"):
            asn = peer.integer("spec", key)
            if asn is not None:
                yield peer.where("spec", key), asn, f"BGPPeer {peer.name} {key}"


def check_asns(world: World) -> list[Finding]:
    found: list[Finding] = []
    seen: set[tuple[str, int]] = set()
    for where, asn, what in _public(world):
        key = (where.file, asn)  # one finding per file and ASN, not per neighbor
        if asn <= 0 or is_private_asn(asn) or key in seen:
            continue
        seen.add(key)
        found.append(warning(where, "asn.public", f"{what}: ASN {asn} is public", PUBLIC_ASN_HINT))
    return found

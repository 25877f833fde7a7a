"""`bench security`: attacks on the router from the machine network, in a lab, per profile.

Each attack starts from a verified fresh state (every session Established, full ECMP, no
route in any router's BGP table but the VIPs) and the lab is brought back to it afterwards.
Attacks: a compromised node (its own outbound filter removed: its frr.conf replaced)
announces 0.0.0.0/0, the machine network, a prefix covering the pools, a host route outside
every pool, and more host routes than maximum-prefix; a speaker without the site's MD5
password (a wrong one, then none; on a variant of the site with a password when it has
none); an intruder plugged into the machine network tries to peer. The outcome is decided
from what the routers hold (RIB, FIB), the session state and the kernel's counters, never
from a timer alone.
"""

from __future__ import annotations

import json
import secrets as random
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from hcplb.bench import evidence as E
from hcplb.bench.attacks import RouteAttack, compromised_config, route_attacks
from hcplb.bench.intruder import add_intruder, remove_intruder, try_to_peer
from hcplb.errors import LabError
from hcplb.lab import Lab, converge, down, up
from hcplb.lab import faults as F
from hcplb.lab import watch as W
from hcplb.render import resolve_site_secrets
from hcplb.render.profile import Profile
from hcplb.settings import COMMAND_TIMEOUT, CONVERGE_TIMEOUT

__all__ = ["ATTACK_IDS", "Outcome", "SecurityReport", "check_fresh", "run_attack", "run_security"]

ATTACK_IDS = (
    "default-route", "machine-network", "pool-supernet", "outside-pools", "prefix-flood",
    "md5-password", "intruder",
)  # fmt: skip
DECIDE_S = 10.0
MD5_MIN_S = 5.0
MD5_MAX_S = 20.0
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Outcome:
    id: str
    title: str
    accepted: bool
    evidence: str

    @property
    def verdict(self) -> str:
        return "accepted" if self.accepted else "rejected"


@dataclass(frozen=True)
class SecurityReport:
    site: str
    results: dict[str, tuple[Outcome, ...]]
    """profile -> outcomes, in ATTACK_IDS order"""

    def as_json(self) -> dict[str, Any]:
        attacks = []
        for attack_id in ATTACK_IDS:
            row: dict[str, Any] = {"id": attack_id}
            evidence: dict[str, str] = {}
            for profile, outcomes in self.results.items():
                for o in outcomes:
                    if o.id == attack_id:
                        row["title"] = o.title
                        row[profile] = o.verdict
                        evidence[profile] = o.evidence
            row["evidence"] = evidence
            attacks.append(row)
        return {"site": self.site, "profiles": list(self.results), "attacks": attacks}


# -- one attack ------------------------------------------------------------------------------


def _sessions(lab: Lab, node: str) -> dict[str, int]:
    """router -> the node's router ASN, for every router the node peers with."""
    address = lab.host(node).primary_address
    asn = {r.name: r.asn for r in lab.plan.routers}
    return {r: asn[r] for r, peers in lab.expect.sessions.items() if address in peers}


def _routers(lab: Lab, node: str) -> list[tuple[str, int]]:
    return [(lab.host(r).interfaces[0].ip, a) for r, a in _sessions(lab, node).items()]


def _route_attack(lab: Lab, node: str, attack: RouteAttack, password: str | None) -> Outcome:
    peer = lab.host(node).primary_address
    routers = list(_sessions(lab, node))
    before = {r: E.neighbor(lab, r, peer) for r in routers}
    config = compromised_config(
        lab.plan, node, _routers(lab, node), attack.announce, password=password
    )
    F.load_node_config(lab, node, config)
    started = time.monotonic()
    views: dict[str, E.RouterView] = {}
    while True:
        views = {r: E.router_view(lab, r, peer) for r in routers}
        taken = {r: v.taken(attack) for r, v in views.items()}
        if any(taken.values()):
            time.sleep(0.3)  # let zebra install what bgpd took, for the FIB evidence
            views = {r: E.router_view(lab, r, peer) for r in routers}
            break
        processed = all(
            v.neighbor.updates_recv > before[r].updates_recv or v.neighbor.state != "Established"
            for r, v in views.items()
        )
        if processed and time.monotonic() - started > 1.0:
            break
        if time.monotonic() - started > DECIDE_S:
            raise LabError(f"{attack.id}: no router processed {node}'s update in {DECIDE_S:g} s")
        time.sleep(0.1)
    accepted = any(v.taken(attack) for v in views.values())
    evidence = "; ".join(v.describe(attack, before[r]) for r, v in views.items())
    return Outcome(attack.id, attack.title, accepted, evidence)


def _md5_try(lab: Lab, node: str, password: str | None, label: str) -> tuple[bool, str]:
    peer = lab.host(node).primary_address
    routers = list(_sessions(lab, node))
    before = {r: E.neighbor(lab, r, peer) for r in routers}
    md5_before = {r: E.md5_counters(lab, r) for r in routers}
    legit = sorted({v for vips in W.announced_by(lab, node).values() for v in vips})
    F.load_node_config(
        lab, node, compromised_config(lab.plan, node, _routers(lab, node), legit, password=password)
    )
    lab.run(
        node, ["vtysh", "-c", "clear bgp *"], timeout=COMMAND_TIMEOUT
    )  # dial again with these credentials
    started = time.monotonic()
    while True:
        now = {r: E.neighbor(lab, r, peer) for r in routers}
        md5 = {r: E.md5_counters(lab, r) for r in routers}
        up_again = [
            r for r in routers
            if now[r].state == "Established" and now[r].connections > before[r].connections
        ]  # fmt: skip
        drops = {r: E.counter_delta(md5_before[r], md5[r]) for r in routers}
        elapsed = time.monotonic() - started
        if up_again or (elapsed > MD5_MIN_S and all(drops.values())) or elapsed > MD5_MAX_S:
            break
        time.sleep(0.2)
    parts = [
        f"{r}: session {now[r].state}"
        + (" again (a new connection was accepted)" if r in up_again else f" for {elapsed:.1f} s")
        + (f", kernel dropped segments: {drops[r]}" if drops[r] else "")
        for r in routers
    ]
    return bool(up_again), f"{label}: " + ", ".join(parts)


def _md5_attack(lab: Lab, node: str) -> Outcome:
    wrong = "hcplb-wrong-" + random.token_hex(6)
    accepted_wrong, wrong_text = _md5_try(lab, node, wrong, "wrong password")
    _restore(lab, node)  # the next try starts from the fresh state too
    accepted_none, none_text = _md5_try(lab, node, None, "no password")
    title = "a speaker without the site's MD5 password (a wrong one, then none) dials the router"
    return Outcome(
        "md5-password", title, accepted_wrong or accepted_none, f"{wrong_text}; {none_text}"
    )


def _intruder_attack(lab: Lab) -> Outcome:
    intruder = add_intruder(lab)
    asn = lab.plan.site.spec.management_cluster.asn
    try:
        parts = []
        accepted = False
        for router in lab.plan.routers:
            before = E.firewall_counters(lab, router.name)
            probe = try_to_peer(intruder, router.address, asn)
            after = E.firewall_counters(lab, router.name)
            accepted |= bool(probe["established"])
            parts.append(
                f"{router.name}: {E.describe_probe(probe)}; {E.firewall_delta(before, after)}"
            )
    finally:
        remove_intruder(lab, intruder)
    title = f"an intruder at {intruder.address} on the machine network opens TCP 179 and sends OPEN"
    return Outcome("intruder", title, accepted, "; ".join(parts))


def _restore(lab: Lab, node: str) -> None:
    """Back to the fresh state: the node's own config, sessions reset, full ECMP, VIPs only."""
    peer = lab.host(node).primary_address
    F.restore_config(lab, node)
    for router in _sessions(lab, node):
        if E.neighbor(lab, router, peer).state != "Established":
            lab.run(
                router, ["vtysh", "-c", f"clear bgp ipv4 unicast {peer}"], timeout=COMMAND_TIMEOUT
            )
    check_fresh(lab)


def check_fresh(lab: Lab, *, timeout: float = CONVERGE_TIMEOUT) -> None:
    """LabError unless every session is up, ECMP full and the routers hold only the VIPs."""
    result = converge.wait(lab, lab.expect, timeout=timeout, kinds=("sessions", "routes"))
    if not result.ok:
        bad = "; ".join(f"{c.kind} on {c.host}: {c.detail}" for c in result.failing())
        raise LabError(f"the lab did not come back to its fresh state: {bad}")
    for router, vips in lab.expect.routes.items():
        extra = E.bgp_prefixes(lab, router) - {v if "/" in v else f"{v}/32" for v in vips}
        if extra:
            raise LabError(f"{router} still holds {', '.join(sorted(extra))} after the restore")


# -- per profile -----------------------------------------------------------------------------


def _password_variant(site: Path, workdir: Path) -> Path:
    """A copy of the site with `spec.bgp.password` from a file holding a random password."""
    yaml = YAML()
    data = yaml.load(site.read_text(encoding="utf-8"))
    secret = workdir / "bgp-password"
    secret.write_text(random.token_urlsafe(18) + "\n")
    secret.chmod(0o600)
    data["spec"].setdefault("bgp", {})["password"] = {"file": str(secret)}
    variant = workdir / site.name
    with variant.open("w", encoding="utf-8") as handle:
        yaml.dump(data, handle)
    return variant


def _lab_name(prefix: str) -> str:
    return prefix + "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(6))


def _on_lab(
    site: Path, profile: Profile, say: Progress, body: Callable[[Lab], list[Outcome]]
) -> list[Outcome]:
    name = _lab_name("bs-")
    say(f"lab {name}: bringing up {site.name} ({profile} profile)")
    lab = up(site, name=name, profile=profile)
    try:
        return body(lab)
    finally:
        down(name)


def run_attack(lab: Lab, attack_id: str, *, node: str | None = None) -> Outcome:
    """One attack from the fresh state, then the lab brought back to it (LabError if it cannot)."""
    node = node or sorted(h.name for h in lab.topology.by_role("node"))[0]
    if attack_id == "intruder":
        return _intruder_attack(lab)
    if attack_id == "md5-password":
        try:
            return _md5_attack(lab, node)
        finally:
            _restore(lab, node)
    secrets = resolve_site_secrets(lab.plan.site, base_dir=Path(lab.state.site_source).parent)
    password = secrets.bgp_password if lab.state.profile == "hcplb" else None
    legit = sorted({v for vips in W.announced_by(lab, node).values() for v in vips})
    attacks = {a.id: a for a in route_attacks(lab.plan, legit)}
    if attack_id not in attacks:
        raise LabError(f"unknown attack {attack_id!r} (attacks: {', '.join(ATTACK_IDS)})")
    try:
        return _route_attack(lab, node, attacks[attack_id], password)
    finally:
        _restore(lab, node)


def _attacks(lab: Lab, say: Progress, ids: tuple[str, ...]) -> list[Outcome]:
    check_fresh(lab)
    outcomes = []
    for attack_id in ids:
        outcomes.append(run_attack(lab, attack_id))
        say(f"  {attack_id}: {outcomes[-1].verdict}")
    return outcomes


def run_security(
    site: Path, *, profiles: tuple[Profile, ...] = tuple(Profile), progress: Progress | None = None
) -> SecurityReport:
    """Every attack against a lab of `site` for each profile; labs removed even on error."""
    say = progress or (lambda _text: None)
    has_password = bool(_site_password(site))
    results: dict[str, tuple[Outcome, ...]] = {}
    ids = tuple(a for a in ATTACK_IDS if has_password or a != "md5-password")
    for profile in profiles:
        outcomes = _on_lab(site, profile, say, lambda lab: _attacks(lab, say, ids))
        if not has_password:
            workdir = Path(tempfile.mkdtemp(prefix="hcplb-bench-"))
            try:
                variant = _password_variant(site, workdir)
                say(f"  md5-password: on a variant of {site.name} with a password")
                outcomes += _on_lab(
                    variant, profile, say, lambda lab: _attacks(lab, say, ("md5-password",))
                )
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
        order = {a: i for i, a in enumerate(ATTACK_IDS)}
        results[profile] = tuple(sorted(outcomes, key=lambda o: order[o.id]))
    return SecurityReport(str(site), results)


def _site_password(site: Path) -> bool:
    yaml = YAML(typ="safe")
    data = yaml.load(site.read_text(encoding="utf-8")) or {}
    return bool(((data.get("spec") or {}).get("bgp") or {}).get("password"))


def dumps(report: SecurityReport) -> str:
    return json.dumps(report.as_json(), indent=2)

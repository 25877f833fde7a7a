"""Load the golden corpus inputs (`golden/frr/*.input.yaml`) into FrrConfig.

The inputs are MetalLB's session-manager parameters, not CRs: durations such as `1s` become
whole seconds (truncated), `advertisements` at the top level go to every session. A session
that omits `myASN` takes every field it omits from the session before it: the corpus writes
"identical parameters to test-peer" that way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from hcplb.errors import MetallbError
from hcplb.metallb._fields import Fields, parse_bfd_profile
from hcplb.metallb.frr import Advertisement, BfdProfile, FrrConfig, Session, SessionOptions
from hcplb.metallb.model import go_duration

__all__ = ["frr_config_from_mapping", "load_frr_input", "read_input", "session_options"]

_TOP = {"hostname", "logLevel", "bfdProfiles", "sessions", "advertisements", "extraConfig"}
_SESSION = {
    "name",
    "peerAddress",
    "peerInterface",
    "peerPort",
    "sourceAddress",
    "myASN",
    "routerID",
    "peerASN",
    "dynamicASN",
    "holdTime",
    "keepaliveTime",
    "connectTime",
    "password",
    "ebgpMultiHop",
    "vrf",
    "dualStackAddressFamily",
    "disableMP",
    "bfdProfile",
    "gracefulRestart",
    "localASN",
    "advertisements",
}
_ADV = {"prefix", "communities", "localPref"}
_BFD = {
    "name",
    "receiveInterval",
    "transmitInterval",
    "detectMultiplier",
    "echoInterval",
    "echoMode",
    "passiveMode",
    "minimumTtl",
}


def _seconds(f: Fields, key: str) -> int | None:
    if not f.has(key):
        return None
    return int(go_duration(f.raw[key], f.at(key)))


def session_options(f: Fields, timer: Callable[[Fields, str], int | None]) -> SessionOptions:
    """The options both corpora spell alike (`holdTime`, `password`, `bfdProfile`, ...);
    `timer` reads a timer: a Go duration here, whole seconds in the frr-k8s corpus."""
    return SessionOptions(
        hold_time=timer(f, "holdTime"),
        keepalive_time=timer(f, "keepaliveTime"),
        connect_time=timer(f, "connectTime"),
        password=f.text("password"),
        bfd_profile=f.text("bfdProfile"),
        graceful_restart=f.flag("gracefulRestart"),
        ebgp_multihop=f.flag("ebgpMultiHop"),
        local_asn=f.integer("localASN"),
    )


def _advertisement(raw: Any, where: str) -> Advertisement:
    f = Fields(raw, where)
    f.only(_ADV)
    return Advertisement(f.text("prefix"), tuple(f.texts("communities")), f.integer("localPref"))


def _session(f: Fields, common: tuple[Advertisement, ...]) -> Session:
    f.only(_SESSION)
    own = tuple(
        _advertisement(a, f.at(f"advertisements[{i}]"))
        for i, a in enumerate(f.items("advertisements"))
    )
    return Session(
        my_asn=f.integer("myASN"),
        peer_address=f.text("peerAddress"),
        peer_interface=f.text("peerInterface"),
        peer_port=f.integer("peerPort"),
        peer_asn=f.integer("peerASN"),
        dynamic_asn=f.text("dynamicASN"),
        source_address=f.text("sourceAddress"),
        router_id=f.text("routerID"),
        vrf=f.text("vrf"),
        dual_stack_address_family=f.flag("dualStackAddressFamily"),
        **asdict(session_options(f, _seconds)),
        name=f.text("name"),
        advertisements=own + common,
    )


def _bfd(raw: Any, where: str) -> BfdProfile:
    f = Fields(raw, where)
    f.only(_BFD)
    return parse_bfd_profile(f, f.text("name"))


def frr_config_from_mapping(raw: Mapping[str, Any], where: str = "input") -> FrrConfig:
    """An FrrConfig from the corpus input shape (see the module docstring)."""
    f = Fields(raw, where)
    f.only(_TOP)
    common = tuple(
        _advertisement(a, f.at(f"advertisements[{i}]"))
        for i, a in enumerate(f.items("advertisements"))
    )
    sessions: list[Session] = []
    previous: Mapping[str, Any] = {}
    for i, raw_session in enumerate(f.items("sessions")):
        s = Fields(raw_session, f.at(f"sessions[{i}]"))
        if not s.has("myASN") and previous:
            s = Fields({**previous, **s.raw}, s.where)
        previous = s.raw
        sessions.append(_session(s, common))
    return FrrConfig(
        hostname=f.text("hostname"),
        log_level=f.text("logLevel", "info"),
        bfd_profiles=tuple(
            _bfd(b, f.at(f"bfdProfiles[{i}]")) for i, b in enumerate(f.items("bfdProfiles"))
        ),
        sessions=tuple(sessions),
        extra_config=f.text("extraConfig"),
    )


def read_input(path: Path) -> Any:
    """One corpus input file's YAML (`{}` when empty); MetallbError naming the file if it
    cannot be read or parsed. The frr-k8s corpus loaders read theirs here too."""
    try:
        return YAML(typ="safe", pure=True).load(path.read_text()) or {}
    except (OSError, YAMLError) as exc:
        raise MetallbError(f"{path}: {exc}") from exc


def load_frr_input(path: Path) -> FrrConfig:
    """Read one `*.input.yaml` of the golden corpus; MetallbError naming the file if malformed."""
    return frr_config_from_mapping(read_input(path), str(path))

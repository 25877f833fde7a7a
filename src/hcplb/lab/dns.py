"""BIND 9 on the lab's `dns` host: authoritative for the site's zones, updatable with a TSIG key.

The host's private `/etc/bind`, `/var/lib/bind`, `/var/cache/bind` and `/run/named` are lab
directories, so `named -f -c /etc/bind/named.conf` and `nsupdate -k /etc/bind/tsig.key` run
verbatim inside it. Zone files come from `hcplb.render.dns.zone_file` (the rendered records).
"""

from __future__ import annotations

import base64
import secrets as random
from dataclasses import dataclass
from pathlib import Path

from hcplb.fsutil import write_atomic
from hcplb.plan import SitePlan
from hcplb.render.dns import dns_zones, tsig_key_file, zone_file
from hcplb.render.secrets import Secrets

LAB_KEY_NAME = "hcplb-lab-key"
LAB_KEY_ALGORITHM = "hmac-sha256"
# no `-4`: an IPv6 or dual-stack lab answers on IPv6 too (listen-on-v6 says where)
NAMED_ARGV = ("/usr/sbin/named", "-f", "-c", "/etc/bind/named.conf")
CHECK_ARGV = ("/usr/bin/named-checkconf", "-z", "/etc/bind/named.conf")
KEY_FILE = "tsig.key"


@dataclass(frozen=True)
class Tsig:
    """The key the lab's BIND accepts updates with. `file` is in BIND `key` syntax (0600)."""

    name: str
    algorithm: str
    file: Path

    def __repr__(self) -> str:
        return f"Tsig(name={self.name!r}, algorithm={self.algorithm!r}, file={str(self.file)!r})"


def _write_private(path: Path, text: str) -> None:
    write_atomic(path, text, mode=0o600)


def write_tsig(plan: SitePlan, secrets: Secrets, lab_dir: Path) -> Tsig:
    """The site's TSIG key when it has one, else a fresh lab key; written to `<lab>/tsig.key`."""
    spec_key = plan.site.spec.dns.tsig_key
    path = lab_dir / KEY_FILE
    if spec_key is not None and secrets.tsig_secret:
        _write_private(path, tsig_key_file(plan, secrets.tsig_secret))
        return Tsig(spec_key.name, spec_key.algorithm, path)
    secret = base64.b64encode(random.token_bytes(32)).decode()
    text = f'key "{LAB_KEY_NAME}" {{\n\talgorithm {LAB_KEY_ALGORITHM};\n\tsecret "{secret}";\n}};\n'
    _write_private(path, text)
    return Tsig(LAB_KEY_NAME, LAB_KEY_ALGORITHM, path)


def named_conf(zones: list[str], tsig: Tsig, listen: str, *more: str) -> str:
    """BIND's options and zones; it listens on `listen` and `more` of each family."""
    v4 = [a for a in (listen, *more) if ":" not in a]
    v6 = [a for a in (listen, *more) if ":" in a]
    lines = [
        "// hcplb lab: authoritative only, updates signed with the lab's TSIG key",
        "options {",
        '\tdirectory "/var/cache/bind";',
        '\tpid-file "/run/named/named.pid";',
        '\tsession-keyfile "/run/named/session.key";',
        f"\tlisten-on {{ {''.join(f'{a}; ' for a in v4)}127.0.0.1; }};",
        f"\tlisten-on-v6 {{ {''.join(f'{a}; ' for a in v6)}::1; }};"
        if v6
        else "\tlisten-on-v6 { none; };",
        "\trecursion no;",
        "\tallow-query { any; };",
        "\tdnssec-validation no;",
        "\tnotify no;",
        "};",
        "controls { };",
        f'include "/etc/bind/{KEY_FILE}";',
    ]
    for zone in zones:
        lines += [
            f'zone "{zone}" {{',
            "\ttype primary;",
            f'\tfile "/var/lib/bind/db.{zone}";',
            f'\tallow-update {{ key "{tsig.name}"; }};',
            "};",
        ]
    return "\n".join(lines) + "\n"


def write_config(host_dir: Path, plan: SitePlan, tsig: Tsig, listen: str, *more: str) -> list[str]:
    """Write the dns host's named.conf, key and zone files; return the zones served.

    `listen` is the server's address (the zone's NS); it also answers on `more` addresses (its
    other family's, its other network's)."""
    zones = list(dns_zones(plan))
    etc = host_dir / "etc/bind"
    write_atomic(etc / KEY_FILE, tsig.file.read_bytes(), mode=0o600)
    write_atomic(etc / "named.conf", named_conf(zones, tsig, listen, *more))
    for zone in zones:
        text = zone_file(plan, zone, ns_address=listen)
        write_atomic(host_dir / "lib/bind" / f"db.{zone}", text)
    return zones

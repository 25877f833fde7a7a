"""router/ files against the real thing, each in throwaway network namespaces of its own.

FRR: bgpd (and bfdd) load every rendered frr.conf through `vtysh -f`, as `vtysh -b` does at
boot, and show it back unchanged. Firewall: every rules file passes `iptables-restore --test`
or `nft -c`, the lab's commands apply, and packets prove BGP is open to the nodes only.
The root namespace's firewall and addresses are never touched.
"""

from __future__ import annotations

import secrets
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from hcplb.plan import plan_site
from hcplb.render.files import RenderedFile
from hcplb.render.host import netns_host_commands, sysctl_settings
from hcplb.render.profile import netns_host_commands_of, parse_profile
from hcplb.runner import Result, run
from hcplb.spec import load_site
from tests.test_render_router import CASES, RENDERS, TEST_PASSWORD, Render, render_case

pytestmark = pytest.mark.lab

# What FRR leaves out of `show running-config` because it is the default.
_ELIDED = {"detect-multiplier 3", "receive-interval 300", "transmit-interval 300"}
_NOISE = {"Building configuration...", "Current configuration:", "end", "bgp no-rib"}
# zebra shows the test namespace's forwarding sysctls (off there; host prep turns them on)
_NOISE |= {"no ip forwarding", "no ipv6 forwarding"}


@contextmanager
def netns(tag: str) -> Iterator[str]:
    """A new, empty network namespace with a unique name; deleted afterwards, always."""
    name = f"hcplbtest-{tag}-{secrets.token_hex(3)}"
    run(["ip", "netns", "add", name], timeout=10, check=True)
    try:
        run(["ip", "link", "set", "lo", "up"], netns=name, timeout=10, check=True)
        yield name
    finally:
        run(["ip", "netns", "del", name], timeout=10)


@pytest.fixture
def render(monkeypatch: pytest.MonkeyPatch) -> Render:
    monkeypatch.setenv("HCPLB_TEST_BGP_PASSWORD", TEST_PASSWORD)
    return render_case


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextmanager
def frr_daemons(ns: str, daemons: tuple[str, ...]) -> Iterator[str]:
    """FRR daemons with an empty config in `ns` under a unique pathspace; yields the pathspace.

    bgpd runs without zebra or a BGP listener: it only has to take the configuration.
    """
    pathspace = f"hcplbt{secrets.token_hex(4)}"
    etc, var = Path("/etc/frr") / pathspace, Path("/var/run/frr") / pathspace
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for directory in (etc, var):
            directory.mkdir(parents=True)
            shutil.chown(directory, "frr", "frr")
        for name in ("empty.conf", "vtysh.conf"):
            (etc / name).write_text("")
            shutil.chown(etc / name, "frr", "frr")
        for daemon in daemons:
            argv = ["ip", "netns", "exec", ns, f"/usr/lib/frr/{daemon}", "-N", pathspace]
            argv += ["-f", str(etc / "empty.conf"), "-i", str(var / f"{daemon}.pid")]
            argv += ["--log", f"file:{var / daemon}.log"]
            if daemon == "bgpd":
                argv += ["-Z", "-n", "-p", "0"]
            procs.append(
                subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
        deadline = time.monotonic() + 15
        while not all((var / f"{d}.vty").exists() for d in daemons):
            assert all(p.poll() is None for p in procs), "an FRR daemon exited at start"
            assert time.monotonic() < deadline, f"FRR vty sockets not up in {var}"
            time.sleep(0.05)
        yield pathspace
    finally:
        _stop(procs)
        shutil.rmtree(etc, ignore_errors=True)
        shutil.rmtree(var, ignore_errors=True)


def _blocks(text: str) -> dict[str, list[str]]:
    """Top-level config lines mapped to their sub-lines; comments and FRR's banners dropped."""
    blocks: dict[str, list[str]] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("!") or line in _NOISE or line.startswith("frr version"):
            continue
        if line.startswith("hostname "):
            continue  # vtysh shows its own host's name here
        if raw[:1] != " ":
            if line != "exit":
                current = line
                blocks[current] = []
            continue
        blocks[current].append(line)
    return blocks


def _write(files: list[RenderedFile], root: Path) -> dict[str, Path]:
    out = {}
    for f in files:
        (root / f.path).parent.mkdir(parents=True, exist_ok=True)
        (root / f.path).write_text(f.content, encoding="utf-8")
        out[f.path] = root / f.path
    return out


@pytest.mark.parametrize(("golden", "case", "profile"), RENDERS, ids=[r[0] for r in RENDERS])
def test_frr_takes_the_config_and_shows_it_back(
    render: Render, tmp_path: Path, golden: str, case: str, profile: str
) -> None:
    for path, conf in _write(render(case, profile), tmp_path).items():
        if not path.endswith("frr.conf"):
            continue
        text = conf.read_text(encoding="utf-8")
        daemons = ("bgpd", "bfdd") if "\nbfd\n" in text else ("bgpd",)
        if "\nzebra " in text:  # zebra's own settings (work-queue) are shown by zebra only
            daemons = ("zebra", *daemons)
        with netns("frr") as ns, frr_daemons(ns, daemons) as pathspace:
            loaded = run(["vtysh", "-N", pathspace, "-f", str(conf)], timeout=30)
            assert loaded.rc == 0, f"{path}: {loaded.stdout}{loaded.stderr}"
            shown = run(["vtysh", "-N", pathspace, "-c", "show running-config"], timeout=30)
        if profile == "guide":
            continue  # the guide's text is not in FRR's canonical form
        running = _blocks(shown.stdout)
        wanted = {k: [x for x in v if x not in _ELIDED] for k, v in _blocks(text).items()}
        assert running == wanted, f"{path}: FRR shows a different configuration"


def _check(argv: list[str], ns: str, text: str) -> None:
    result = run(argv, netns=ns, input=text, timeout=30)
    assert result.rc == 0, f"{' '.join(argv)}: {result.stderr}"


@pytest.mark.parametrize(("golden", "case", "profile"), RENDERS, ids=[r[0] for r in RENDERS])
def test_firewall_files_pass_their_tools(
    render: Render, golden: str, case: str, profile: str
) -> None:
    files = [f for f in render(case, profile) if f.kind == "firewall"]
    assert files
    with netns("fwcheck") as ns:
        for f in files:
            if f.path.endswith("ip6tables.rules"):
                _check(["ip6tables-restore", "--test", "--noflush"], ns, f.content)
            elif f.path.endswith("iptables.rules"):
                _check(["iptables-restore", "--test", "--noflush"], ns, f.content)
            elif f.path.endswith(".nft"):
                _check(["nft", "-c", "-f", "-"], ns, f.content)
            else:
                assert f.path.endswith("firewalld.sh")  # shellcheck'd; the lab uses nft


@pytest.mark.parametrize(("golden", "case", "profile"), RENDERS, ids=[r[0] for r in RENDERS])
def test_lab_commands_apply_in_a_namespace(golden: str, case: str, profile: str) -> None:
    plan = plan_site(load_site(CASES[case]).site)
    for router in plan.routers:
        commands = netns_host_commands_of(parse_profile(profile), plan, router)
        with netns("prep") as ns:
            for cmd in commands:
                run(cmd.argv, input=cmd.input, netns=ns, timeout=30, check=True)
            expected = (
                {"net.ipv4.ip_forward": "1", "net.ipv4.fib_multipath_hash_policy": "0"}
                if profile == "guide"
                else dict(sysctl_settings(plan.families))  # per family of the site
            )
            assert any("forward" in key for key in expected)
            for key, want in expected.items():
                value = run(["sysctl", "-n", key], netns=ns, timeout=10)
                assert value.stdout.strip() == want, key
            nft = [c for c in commands if c.argv[0] == "nft"]
            for cmd in nft:  # the nft file replaces its table: loading it again is fine
                run(cmd.argv, input=cmd.input, netns=ns, timeout=30, check=True)
            if profile == "hcplb":
                listed = run(["nft", "list", "ruleset"], netns=ns, timeout=10).stdout
                assert "dport 179" in listed and "drop" in listed


_LISTENER = """
import socket, sys
socks = []
for port in (179, 8179):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(16)
    socks.append(s)
print("ready", flush=True)
import selectors
sel = selectors.DefaultSelector()
for s in socks:
    sel.register(s, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        conn, _ = key.fileobj.accept()
        conn.close()
"""

_DIAL = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1.5,
                             source_address=(sys.argv[3], 0)).close()
except OSError:
    sys.exit(1)
"""


def _dial(ns: str, source: str, port: int) -> bool:
    argv = [sys.executable, "-c", _DIAL, "192.168.125.1", str(port), source]
    return run(argv, netns=ns, timeout=10).rc == 0


@pytest.mark.parametrize("case", ["seed", "ibgp", "per-node-asn", "dynamic"])
def test_bgp_reaches_the_router_from_nodes_only(case: str) -> None:
    """seed: iptables; ibgp: nftables; per-node-asn: firewalld (nft equivalent); dynamic: CIDR."""
    plan = plan_site(load_site(CASES[case]).site)
    router = plan.routers[0]
    with netns("rtr") as rtr, netns("peer") as peer:
        tag = secrets.token_hex(3)
        run(
            ["ip", "link", "add", f"hr{tag}", "type", "veth", "peer", "name", f"hp{tag}",
             "netns", peer],
            netns=rtr, timeout=10, check=True,
        )  # fmt: skip
        run(["ip", "addr", "add", "192.168.125.1/24", "dev", f"hr{tag}"], netns=rtr, timeout=10)
        run(["ip", "link", "set", f"hr{tag}", "up"], netns=rtr, timeout=10, check=True)
        for address in ("192.168.125.20/24", "192.168.125.99/24"):
            run(["ip", "addr", "add", address, "dev", f"hp{tag}"], netns=peer, timeout=10)
        run(["ip", "link", "set", f"hp{tag}", "up"], netns=peer, timeout=10, check=True)
        listener = subprocess.Popen(
            ["ip", "netns", "exec", rtr, sys.executable, "-c", _LISTENER],
            stdout=subprocess.PIPE,
        )
        try:
            assert listener.stdout is not None
            ready, _, _ = select.select([listener.stdout], [], [], 10)
            assert ready and listener.stdout.readline().strip() == b"ready"
            for address in ("192.168.125.20", "192.168.125.99"):  # open before the firewall
                assert _dial(peer, address, 179)
            for cmd in netns_host_commands(plan, router):
                run(cmd.argv, input=cmd.input, netns=rtr, timeout=30, check=True)
            assert _dial(peer, "192.168.125.20", 179), "a node cannot reach BGP"
            stranger_allowed = plan.site.spec.bgp.peering == "dynamic"
            assert _dial(peer, "192.168.125.99", 179) is stranger_allowed
            assert _dial(peer, "192.168.125.99", 8179), "other traffic was touched"
        finally:
            _stop([listener])


_STUBS = {
    # Package managers must not run: FRR and the firewall tools are installed already.
    "dnf": 'echo "stub: dnf $*" >&2; exit 99\n',
    "apt-get": 'echo "stub: apt-get $*" >&2; exit 99\n',
    "systemctl": (
        'echo "systemctl $*" >>"$HCPLB_STUB_LOG"\n'
        'case "$1" in\n'
        '  is-active) [ -e "$HCPLB_STUB_DIR/frr-active" ] ;;\n'
        '  restart) touch "$HCPLB_STUB_DIR/frr-active" ;;\n'
        "esac\n"
    ),
    "firewall-cmd": (
        'echo "firewall-cmd $*" >>"$HCPLB_STUB_LOG"\n'
        'if [ "$*" = "--permanent --get-policies" ]; then\n'
        '  if [ -e "$HCPLB_STUB_DIR/policy" ]; then echo "allow-host-ipv6 hcplb-bgp"; '
        "else echo allow-host-ipv6; fi\n"
        "fi\n"
        'case "$*" in *--new-policy=*) touch "$HCPLB_STUB_DIR/policy" ;; esac\n'
        'case "$*" in --info-policy=*) [ -e "$HCPLB_STUB_DIR/policy" ] ;; esac\n'
    ),
}

_DRIVER = """\
set -eu
mount -t overlay overlay -o lowerdir=/etc,upperdir="$1/upper",workdir="$1/work" /etc
export PATH="$1/bin:$PATH" HCPLB_STUB_LOG="$1/calls.log" HCPLB_STUB_DIR="$1"
bash "$2/setup.sh"
echo "=== second run"
bash "$2/setup.sh"
echo "=== state"
iptables -S INPUT; nft list ruleset
grep -c hcplb /etc/nftables.conf || true
"""


def _prepare_sandbox(files: list[RenderedFile], tmp_path: Path, router: str) -> Path:
    for path, target in _write(files, tmp_path / "out").items():
        target.chmod(0o755 if path.endswith(".sh") else 0o644)
    for directory in ("upper", "work", "bin"):
        (tmp_path / directory).mkdir()
    # a Debian router with iptables-persistent (setup.sh would install it: no package here)
    (tmp_path / "upper" / "iptables").mkdir()
    for name, body in _STUBS.items():
        (tmp_path / "bin" / name).write_text("#!/bin/bash\n" + body)
        (tmp_path / "bin" / name).chmod(0o755)
    return tmp_path / "out" / "router" / router if router else tmp_path / "out" / "router"


def _sandbox(tmp_path: Path, here: Path, driver: str) -> Result:
    """Run driver with bash in new network and mount namespaces; $1 tmp_path, $2 here."""
    argv = ["unshare", "--net", "--mount", "--propagation", "private", "bash", "-c", driver]
    return run([*argv, "driver", str(tmp_path), str(here)], timeout=120)


@pytest.mark.parametrize(("case", "router"), [("seed", ""), ("ibgp", ""), ("password", ""),
                                              ("two-routers", "frr-b")])  # fmt: skip
def test_setup_sh_twice_in_a_sandbox(
    render: Render, tmp_path: Path, case: str, router: str
) -> None:
    """setup.sh in its own network and mount namespaces, /etc an overlay, systemctl a stub.

    The second run changes nothing; the password never shows in what it prints.
    """
    here = _prepare_sandbox(render(case, "hcplb"), tmp_path, router)
    result = _sandbox(tmp_path, here, _DRIVER)
    output = result.stdout + result.stderr
    assert result.rc == 0, output
    assert TEST_PASSWORD not in output
    _, _, rest = result.stdout.partition("=== second run")
    second, _, state = rest.partition("=== state")
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert calls.count("systemctl restart frr") == 1
    assert "systemctl reload frr" not in calls
    assert "frr is running with this configuration already" in second
    upper = tmp_path / "upper"
    assert (upper / "frr" / "frr.conf").read_text() == (here / "frr.conf").read_text()
    assert (upper / "frr" / "daemons").read_text() == (here / "daemons").read_text()
    assert (upper / "sysctl.d" / "90-hcplb.conf").exists()
    firewall = load_site(CASES[case]).site.spec.routers[-1].firewall.value
    if firewall == "iptables":
        assert state.count("-j HCPLB-INPUT") == 1
    elif firewall == "nftables":
        assert "table inet hcplb" in state
        assert state.rstrip().endswith("\n1")  # one include line in /etc/nftables.conf
    else:
        # created once: the second run finds firewalld.sh unchanged and the policy loaded
        assert calls.count("firewall-cmd --permanent --new-policy=hcplb-bgp") == 1
        assert calls.count("firewall-cmd --permanent --delete-policy=hcplb-bgp") == 0


def test_setup_sh_refuses_a_bad_frr_conf_without_showing_the_password(
    render: Render, tmp_path: Path
) -> None:
    here = _prepare_sandbox(render("password", "hcplb"), tmp_path, "")
    conf = here / "frr.conf"
    conf.write_text(conf.read_text().replace(" password ", " password-typo "))
    driver = _DRIVER.split('bash "$2/setup.sh"')[0] + 'bash "$2/setup.sh"\n'
    result = _sandbox(tmp_path, here, driver)
    assert result.rc == 1
    assert "FRR rejects frr.conf; nothing was changed" in result.stderr
    assert "password <redacted>" in result.stderr
    assert TEST_PASSWORD not in result.stdout + result.stderr
    assert not (tmp_path / "upper" / "frr").exists()
    assert not (tmp_path / "upper" / "sysctl.d").exists()

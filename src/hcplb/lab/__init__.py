"""The rehearsal lab: a whole site on one machine, with real FRR, BIND and TLS in namespaces.

    lab = up("examples/seed.yaml", name="seed")      # builds, waits for convergence
    lab.run("frr", ["vtysh", "-c", "show ip bgp summary"], timeout=10)   # -> runner.Result
    lab.run("client", ["curl", "https://api.hosted.hypershift.lab:6443/version"], timeout=10)
    down("seed")

Public API
- `up(site_path, name=None, *, bare=False, profile="hcplb", timeout=60.0, on_phase=None,
  on_checks=None) -> Lab`: render the site (`render_site`, the same output `hcplb render`
  writes), simulate MetalLB on it, build the hosts and wait for convergence. LabError if
  the name is taken, the machine lacks root/FRR/BIND, or it does not converge (then the lab
  is left running for inspection). `bare=True`: routers run FRR with an empty config and no
  sysctl/firewall (for `apply`); only DNS is waited for. `router_host="systemd"`: each
  router is a booted Debian 12 (systemd-nspawn on an overlay of the image `hcplb lab image
  build` caches, see `routerhost` and `nspawn`) set up by the rendered setup.sh; `lab.run`
  on it enters the container (`nsenter`), so systemctl, firewall-cmd and vtysh work verbatim.
- `down(name) -> None`: remove every process, namespace, link and file of the lab, also
  after `up` was killed half way.
- `status(name, *, probe=True) -> LabStatus`, `list_labs() -> list[LabSummary]`.
- `Lab.open(name) -> Lab`, with `lab.name`, `lab.hosts` (topology `Host`s: name, role,
  netns, interfaces, gateways, loopbacks), `lab.host(name)`, `lab.plan` (SitePlan),
  `lab.state` (LabState, the journal), `lab.state_dir`, `lab.site_file`, `lab.render_dir`
  (what `hcplb render` wrote for this site), `lab.ca_file`, `lab.tsig_file` (BIND key
  syntax, for `nsupdate -k`), `lab.expect` (Expectations: `hcplb.converged`'s state as the
  journal keeps it: sessions, routes, names, URLs),
  `lab.host_dir(host)` (the host's private /etc/frr, /run/frr, log/, ... live under it).
- Running: `lab.run(host, argv, *, timeout, input=None) -> runner.Result`; `lab.argv(host,
  argv) -> list[str]` (the wrapped command line, e.g. for exec); `lab.spawn(host, role, argv)
  -> pid` and `lab.spawn_all([(host, role, argv), ...]) -> [pid]` (journalled first, stopped
  by `down`); `lab.processes(host=None, role=None)` (recorded and still running);
  `lab.stop(host, roles=None)`; FRR as frrinit.sh runs it: `lab.start_frr(hosts)` =
  `lab.spawn_frr(hosts)` (daemons from the host's /etc/frr/daemons) + `lab.boot_frr(hosts)`
  (`vtysh -b`), `lab.restart_frr(host)`; `lab up` uses `lab.spawn_frr(hosts,
  read_config=True)` (each daemon reads its part of frr.conf, `frr.split_config`, at start)
  and `lab.wait_listening(hosts, port)`; `lab.switch_port(host) -> (switch host, port)`
  (`ip link set PORT down` on the switch unplugs the host).
- Convergence: `hcplb.lab.converge.probe(lab, lab.expect)` / `wait(...)` -> Conditions (one
  per router and kind, and the client's DNS and HTTPS).
- Hosted clusters coming and going: `hcplb.lab.fleet.add(lab, name, namespace, pool=None)` /
  `remove(lab, name)` -> Change (a shared pool; the routers untouched; `lab.state.clusters`
  lists what was added). The API stand-in is one process for the lab (`hcplb.lab.standin`:
  its config, `stop_node`/`start_node`, `set_cluster`/`remove_cluster`).
- Verify: `hcplb.lab.verification.prepare_lab(name)` -> verify's expectations and targets
  inside the lab's hosts (`hcplb verify --lab`).

How a command runs as a host: `ip netns exec <netns> unshare --mount --uts --propagation
private -- <lab>/hosts/<host>/enter CMD...`; `enter` bind-mounts the host's private
/etc/frr, /run/frr, /etc/bind, /etc/resolv.conf, ... over the real paths (see `hostfs`), so
vtysh, frr-reload.py, named, dig and curl work unmodified and nothing leaks to the machine.

Host names: the spec's routers and nodes, `client`, `dns`, and `lan` (the switch namespace
holding the `br-machine` and `br-client` bridges). Namespaces: `hcplb-<lab>.<host>`.
State: `$HCPLB_LAB_DIR/<lab>/` (default `/var/lib/hcplb/labs/<lab>/`), journal `state.json`.
"""

from __future__ import annotations

from hcplb.lab.converge import Condition, Convergence
from hcplb.lab.core import Lab
from hcplb.lab.info import HostStatus, LabStatus, LabSummary, list_labs, status
from hcplb.lab.state import Expectations, LabState, labs_root
from hcplb.lab.teardown import Orphan, orphans
from hcplb.lab.teardown import down as _down
from hcplb.lab.topology import Host, Interface, Topology
from hcplb.lab.up import preflight, up


def down(name: str) -> None:
    """Remove lab `name` entirely (processes, namespaces, links, files); an `up` still
    building it is stopped first."""
    _down(name)


__all__ = [
    "Condition",
    "Convergence",
    "Expectations",
    "Host",
    "HostStatus",
    "Interface",
    "Lab",
    "LabState",
    "LabStatus",
    "LabSummary",
    "Orphan",
    "Topology",
    "down",
    "labs_root",
    "list_labs",
    "orphans",
    "preflight",
    "status",
    "up",
]

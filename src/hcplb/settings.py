"""Timeouts and paths: one home for each value (a leaf: imports nothing of hcplb).

Timeouts are seconds. Each names the wait it bounds; a command-line option that overrides one
takes its default from here.
"""

from __future__ import annotations

from pathlib import Path

# -- FRR, where Debian/RHEL packages put it (routers and lab hosts alike) ----------------------

FRR_ETC = "/etc/frr"
FRR_CONF = f"{FRR_ETC}/frr.conf"
FRR_DAEMONS = f"{FRR_ETC}/daemons"
FRR_RUN = "/run/frr"
FRR_LIB = "/usr/lib/frr"
"""the daemons (bgpd, zebra, bfdd, ...) and frr-reload.py on Debian"""
FRR_RELOAD = f"{FRR_LIB}/frr-reload.py"
FRR_RELOAD_PATHS = (FRR_RELOAD, "/usr/libexec/frr/frr-reload.py")
"""where frr-reload.py lives on Debian (frr-pythontools) and on RHEL"""
VTYSH = "/usr/bin/vtysh"

# -- labs ---------------------------------------------------------------------------------------

LABS_ENV = "HCPLB_LAB_DIR"
DEFAULT_LABS_ROOT = Path("/var/lib/hcplb/labs")

# -- limits on input (hostile input fails at once, far above any real site) --------------------

MAX_SPEC_BYTES = 2 * 1024 * 1024
"""a site spec; 10,000 hosted clusters are ~1 MB of YAML"""
MAX_SPEC_LINE = 8192
"""characters on one line of a site spec (ruamel reads a long line slowly: 1 MB took 5 s)"""
MAX_SPEC_DEPTH = 32
"""nesting of a site spec (a real one is 6 levels deep)"""
ALIAS_ALLOWANCE = 10_000
"""values YAML aliases may expand to beyond one per byte of text ("billion laughs")"""
MAX_SECRET_BYTES = 4096
"""a secret file (one line: a BGP password or a TSIG secret)"""
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
"""manifests `hostedcluster patch` reads (a `hcp create cluster --render` output is ~50 KB)"""

# -- timeouts -----------------------------------------------------------------------------------

COMMAND_TIMEOUT = 10.0
"""one command on a router or lab host (vtysh show, cat, chown), an SSH connect, a kube call"""
PROBE_TIMEOUT = 3.0
"""one verify probe (`verify --timeout`)"""
LAB_PROBE_TIMEOUT = 15.0
"""one round-trip of a lab readiness condition (vtysh, ip route, dig, curl in a lab host)"""
LAB_SETUP_TIMEOUT = 20.0
"""one `ip -batch` or host-preparation command while a lab is built"""
FRR_START_TIMEOUT = 15.0
BGP_PORT = 179  # where a router's bgpd listens (the nodes run bgpd -p 0 and dial it)
"""FRR daemons' vty sockets to appear after start"""
FRR_BOOT_TIMEOUT = 60.0
"""`vtysh -b` loading a lab host's frr.conf (a 32-node, 200-cluster lab loads 32 configs of
400 lines at once; on 2 loaded cores one took over 15 s)"""
CONVERGE_TIMEOUT = 60.0
"""a lab to converge (`lab up --timeout`), a healed node to be back, a router to confirm"""
HOST_TIMEOUT = 30.0
"""one host-preparation check or fix on a router (apply)"""
INSTALL_TIMEOUT = 600.0
"""installing packages on a router (apply --prepare-host)"""
RELOAD_TIMEOUT = 120.0
"""frr-reload.py --test/--reload on a router"""
ROLLBACK_WAIT = 60.0
"""after a rollback: nodes that got a NOTIFICATION back off before they dial again"""
DOT_TIMEOUT = 30.0
"""Graphviz's `dot` drawing one topology picture"""
LAB_DOWN_WAIT = 30.0
"""`lab down` waits this long for an `lab up` it stopped to clean up, then kills it"""

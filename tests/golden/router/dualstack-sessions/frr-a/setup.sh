#!/bin/bash
# hcplb: set up router frr-a (site dualstack-sessions) from the files beside this script.
# The guide's router steps as one idempotent script: run it as root, again after every
# `hcplb render`; it changes only what differs. It never prints frr.conf (it may hold
# the BGP password).
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
daemons_changed=no
conf_changed=no

say() { printf '==> %s\n' "$*"; }
die() {
	printf 'setup.sh: %s\n' "$*" >&2
	exit 1
}

# put SRC DEST MODE [OWNER:GROUP]: install SRC when DEST differs; fails (1) when unchanged.
put() {
	if cmp -s "$1" "$2"; then
		return 1
	fi
	install -D -m "$3" "$1" "$2"
	if [ -n "${4:-}" ]; then
		chown "$4" "$2"
	fi
}

# pkg NAME...: install packages with dnf or apt-get.
apt_updated=no
pkg() {
	if command -v dnf >/dev/null 2>&1; then
		dnf install -y "$@"
	elif command -v apt-get >/dev/null 2>&1; then
		if [ "$apt_updated" = no ]; then
			apt-get update -qq
			apt_updated=yes
		fi
		DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
	else
		die "neither dnf nor apt-get found: install $* first"
	fi
}

[ "$(id -u)" -eq 0 ] || die "run me as root"

say "FRR package"
command -v vtysh >/dev/null 2>&1 || pkg frr
# systemctl reload frr runs frr-reload.py: part of frr on RHEL, of frr-pythontools on Debian.
if [ ! -e /usr/libexec/frr/frr-reload.py ] && [ ! -e /usr/lib/frr/frr-reload.py ]; then
	pkg frr-pythontools
fi

say "check frr.conf with FRR's own parser before changing anything"
if ! out=$(vtysh -C -f "$here/frr.conf" 2>&1); then
	printf '%s\n' "$out" | sed -E 's/(password).*/\1 <redacted>/' >&2
	die "FRR rejects frr.conf; nothing was changed"
fi

say "sysctl: net.ipv4.ip_forward=1, net.ipv4.fib_multipath_hash_policy=1, net.ipv6.conf.all.forwarding=1, net.ipv6.fib_multipath_hash_policy=1"
put "$here/90-hcplb.conf" /etc/sysctl.d/90-hcplb.conf 0644 || true
sysctl -q -p /etc/sysctl.d/90-hcplb.conf

say "firewall (nftables): BGP and BFD only from the cluster nodes"
command -v nft >/dev/null 2>&1 || pkg nftables
put "$here/hcplb.nft" /etc/hcplb/hcplb.nft 0644 || true
nft -f "$here/hcplb.nft"
# Loaded at boot by the nftables service through an include in its config.
include='include "/etc/hcplb/hcplb.nft"'
for conf in /etc/sysconfig/nftables.conf /etc/nftables.conf; do
	if [ -f "$conf" ]; then
		grep -qxF "$include" "$conf" || printf '%s\n' "$include" >>"$conf"
		break
	fi
done
systemctl enable --quiet nftables

say "FRR daemons: bgpd, bfdd"
if put "$here/daemons" /etc/frr/daemons 0640 frr:frr; then
	daemons_changed=yes
fi

say "frr.conf"
if [ -f /etc/frr/frr.conf ] && [ ! -e /etc/frr/frr.conf.before-hcplb ] &&
	! cmp -s "$here/frr.conf" /etc/frr/frr.conf; then
	cp -p /etc/frr/frr.conf /etc/frr/frr.conf.before-hcplb
fi
if put "$here/frr.conf" /etc/frr/frr.conf 0640 frr:frr; then
	conf_changed=yes
fi

say "frr service"
systemctl enable --quiet frr
if [ "$daemons_changed" = yes ] || ! systemctl is-active --quiet frr; then
	systemctl restart frr
elif [ "$conf_changed" = yes ]; then
	systemctl reload frr
else
	say "frr is running with this configuration already"
fi
say "done; check the sessions: vtysh -c 'show bgp summary'"

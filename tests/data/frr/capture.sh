#!/bin/bash
# Capture real FRR JSON for the probe parser tests (tests/data/frr/*.json).
#
# Builds a throwaway topology of network namespaces (router + 3 MetalLB-like nodes on one
# bridge), one FRR per namespace with `-N <pathspace>`, walks it through the states the
# verify probes must recognise, saves the router's JSON answers, and tears everything down
# (only the pids it started). Run as root from the repository root:
#   bash tests/data/frr/capture.sh tests/data/frr
set -euo pipefail
OUT=${1:?usage: capture.sh OUTDIR}
P="hcplbcap-$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
VIP=10.0.2.20
NODES=(n0 n1 n2)
HOSTS=(r "${NODES[@]}")
mkdir -p "$OUT"

teardown() {
  set +e
  for h in "${HOSTS[@]}"; do
    for f in /var/run/frr/"$P-$h"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
  done
  sleep 0.5
  for h in "${HOSTS[@]}"; do
    for f in /var/run/frr/"$P-$h"/*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
  done
  for h in "${HOSTS[@]}" lan; do ip netns del "$P-$h" 2>/dev/null; done
  for h in "${HOSTS[@]}"; do rm -rf "/etc/frr/$P-$h" "/var/run/frr/$P-$h"; done
}
trap teardown EXIT

vty() { local h=$1; shift; ip netns exec "$P-$h" vtysh -N "$P-$h" "$@"; }
conf() { local h=$1; shift; local args=(-c "configure terminal"); for c in "$@"; do args+=(-c "$c"); done; vty "$h" "${args[@]}" >/dev/null; }
save() {  # save STATE: the router's answers to every command the probes use
  local s=$1
  vty r -c "show bgp summary json" >"$OUT/$s.summary.json"
  vty r -c "show bgp neighbors json" >"$OUT/$s.neighbors.json"
  vty r -c "show bgp ipv4 unicast $VIP/32 json" >"$OUT/$s.bgp-vip.json"
  vty r -c "show ip route $VIP/32 json" >"$OUT/$s.route-vip.json"
  vty r -c "show bfd peers json" >"$OUT/$s.bfd.json" || true
  echo "captured $s"
}
wait_for() {  # wait_for SECONDS CMD...: poll until CMD succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    if [ $SECONDS -ge $deadline ]; then
      echo "timeout waiting for: $*" >&2
      vty r -c "show bgp summary" >&2
      vty n0 -c "show bgp summary" >&2
      vty r -c "show bgp neighbors 192.168.125.20 json" >&2
      vty n0 -c "show bgp neighbors 192.168.125.1 json" >&2
      return 1
    fi
    sleep 0.2
  done
}
established() { [ "$(vty r -c "show bgp summary json" | grep -c '"state":"Established"')" -eq "$1" ]; }
nexthops() { [ "$(vty r -c "show ip route $VIP/32 json" | grep -o '"active":true' | wc -l)" -eq "$1" ]; }
bfd_up() { [ "$(vty r -c "show bfd peers json" | grep -o '"status":"up"' | wc -l)" -eq "$1" ]; }
state_is() { vty r -c "show bgp neighbors $1 json" | grep -q "\"bgpState\":\"$2\""; }
node_reset_seen() { vty "$1" -c "show bgp neighbors json" | grep -q "$2"; }

ip netns add "$P-lan"
ip netns exec "$P-lan" ip link add br0 type bridge
ip netns exec "$P-lan" ip link set br0 up
i=0
for h in "${HOSTS[@]}"; do
  ip netns add "$P-$h"
  ip netns exec "$P-$h" ip link set lo up
  ip link add "hc$i$h" type veth peer name eth0 netns "$P-$h"
  ip link set "hc$i$h" netns "$P-lan"
  ip netns exec "$P-lan" ip link set "hc$i$h" master br0 up
  ip netns exec "$P-$h" ip link set eth0 up
  i=$((i + 1))
done
ip netns exec "$P-r" ip addr add 192.168.125.1/24 dev eth0
ip netns exec "$P-r" sysctl -qw net.ipv4.ip_forward=1
i=20
for h in "${NODES[@]}"; do
  ip netns exec "$P-$h" ip addr add "192.168.125.$i/24" dev eth0
  ip netns exec "$P-$h" ip addr add "$VIP/32" dev lo
  i=$((i + 1))
done

for h in "${HOSTS[@]}"; do
  mkdir -p "/etc/frr/$P-$h" "/var/run/frr/$P-$h"
  touch "/etc/frr/$P-$h/vtysh.conf"
done
cat >"/etc/frr/$P-r/frr.conf" <<CONF
frr defaults traditional
hostname frr
ip prefix-list HCP-VIPS seq 5 permit 10.0.2.20/32
route-map HCP-IN permit 10
 match ip address prefix-list HCP-VIPS
route-map HCP-OUT deny 10
bfd
 profile hcplb-bfd
  receive-interval 300
  transmit-interval 300
  detect-multiplier 3
 exit
exit
router bgp 64512
 bgp router-id 192.168.125.1
 bgp ebgp-requires-policy
 neighbor HCP-NODES peer-group
 neighbor HCP-NODES remote-as 64513
 neighbor HCP-NODES bfd
 neighbor HCP-NODES bfd profile hcplb-bfd
 neighbor HCP-NODES timers 3 9
 neighbor 192.168.125.20 peer-group HCP-NODES
 neighbor 192.168.125.21 peer-group HCP-NODES
 neighbor 192.168.125.22 peer-group HCP-NODES
 address-family ipv4 unicast
  maximum-paths 3
  neighbor HCP-NODES route-map HCP-IN in
  neighbor HCP-NODES route-map HCP-OUT out
  neighbor HCP-NODES maximum-prefix 1
 exit-address-family
exit
CONF
i=20
for h in "${NODES[@]}"; do
  cat >"/etc/frr/$P-$h/frr.conf" <<CONF
hostname $h
ip prefix-list allowed seq 1 permit $VIP/32
route-map in deny 20
route-map out permit 1
 match ip address prefix-list allowed
bfd
 profile hcplb-bfd
  receive-interval 300
  transmit-interval 300
  detect-multiplier 3
 exit
exit
router bgp 64513
 no bgp ebgp-requires-policy
 no bgp network import-check
 no bgp default ipv4-unicast
 bgp router-id 192.168.125.$i
 neighbor 192.168.125.1 remote-as 64512
 neighbor 192.168.125.1 timers 3 9
 neighbor 192.168.125.1 timers connect 1
 neighbor 192.168.125.1 bfd
 neighbor 192.168.125.1 bfd profile hcplb-bfd
 address-family ipv4 unicast
  network $VIP/32
  neighbor 192.168.125.1 activate
  neighbor 192.168.125.1 route-map in in
  neighbor 192.168.125.1 route-map out out
 exit-address-family
exit
CONF
  i=$((i + 1))
done
start() {  # start HOST DAEMON [ARGS...]
  local h=$1 d=$2; shift 2
  ip netns exec "$P-$h" "/usr/lib/frr/$d" -N "$P-$h" -d "$@" >/dev/null 2>&1
}
boot() { vty "$1" -b >/dev/null; }  # push the integrated frr.conf into the running daemons
for h in "${HOSTS[@]}"; do chown -R frr:frr "/etc/frr/$P-$h" "/var/run/frr/$P-$h"; done
for d in zebra bfdd bgpd; do start r "$d"; done
boot r
for h in "${NODES[@]}"; do start "$h" zebra; start "$h" bfdd; start "$h" bgpd -p 0; boot "$h"; done

wait_for 15 established 3
wait_for 30 nexthops 3
wait_for 30 bfd_up 3
vty r -c "show running-config" >"$OUT/established.running-config.txt"
save established

# maximum-paths 1: three BGP paths, one FIB nexthop
conf r "router bgp 64512" "address-family ipv4 unicast" "maximum-paths 1"
wait_for 20 nexthops 1
save maxpaths1
conf r "router bgp 64512" "address-family ipv4 unicast" "maximum-paths 3"
wait_for 20 nexthops 3

# no inbound policy (RFC 8212): sessions up, routes filtered, (Policy) in the text summary
conf r "router bgp 64512" "address-family ipv4 unicast" "no neighbor HCP-NODES route-map HCP-IN in"
wait_for 20 nexthops 0
vty r -c "show bgp summary" >"$OUT/policy.summary.txt"
save policy
conf r "router bgp 64512" "address-family ipv4 unicast" "neighbor HCP-NODES route-map HCP-IN in"
wait_for 20 nexthops 3

# one node's speaker stopped: its session goes Active, its BFD peer down, two nexthops
kill "$(cat "/var/run/frr/$P-n2/bgpd.pid")"
kill "$(cat "/var/run/frr/$P-n2/bfdd.pid")"
wait_for 30 nexthops 2
wait_for 30 bfd_up 2
save speaker-stopped

# BFD off on the node side only: the router's BFD peer for n2 stays down (one-sided)
start n2 bfdd
sed -i '/ neighbor 192.168.125.1 bfd/d' "/etc/frr/$P-n2/frr.conf"
start n2 bgpd -p 0
boot n2
wait_for 30 established 3
wait_for 30 nexthops 3
sleep 1.5 # BFD has had 5 x its 300 ms detection time to come up and has not
save bfd-one-sided
conf n2 "router bgp 64513" "neighbor 192.168.125.1 bfd" "neighbor 192.168.125.1 bfd profile hcplb-bfd"
wait_for 30 bfd_up 3

# router without the neighbor n2, and with a neighbor nobody runs (.23): Active/Connect
conf r "router bgp 64512" "no neighbor 192.168.125.22" "neighbor 192.168.125.23 peer-group HCP-NODES"
wait_for 30 established 2
save neighbor-missing

conf r "router bgp 64512" "no neighbor 192.168.125.23" "neighbor 192.168.125.22 peer-group HCP-NODES"
wait_for 30 established 3

# the router expects the wrong AS for the nodes: they get "Bad Peer AS"; the router's own
# record of the peer shows only Active and the configured remoteAs (nodes dial in)
conf r "router bgp 64512" "neighbor HCP-NODES remote-as 64599"
wait_for 30 node_reset_seen n0 "Bad Peer AS"
save bad-peer-as
vty n0 -c "show bgp neighbors json" >"$OUT/bad-peer-as.node-neighbors.json"
conf r "router bgp 64512" "neighbor HCP-NODES remote-as 64513"
wait_for 30 established 3

# the router presents another AS of its own: the nodes refuse its OPEN
conf r "router bgp 64512" "neighbor HCP-NODES local-as 64600 no-prepend replace-as"
wait_for 30 node_reset_seen n0 "Bad Peer AS"
sleep 1
save router-as-changed
conf r "router bgp 64512" "no neighbor HCP-NODES local-as 64600 no-prepend replace-as"
wait_for 30 established 3

# bgpd stopped on the router: vtysh answers text
kill "$(cat "/var/run/frr/$P-r/bgpd.pid")"
kill "$(cat "/var/run/frr/$P-r/bfdd.pid")"
wait_for 10 bash -c "! kill -0 $(cat "/var/run/frr/$P-r/bgpd.pid") 2>/dev/null"
for c in "show bgp summary json" "show bfd peers json"; do
  f="$OUT/bgpd-stopped.$(echo "$c" | awk '{print $2}').txt"
  vty r -c "$c" >"$f" 2>&1 || echo "exit $?" >>"$f"
done
echo "captured bgpd-stopped"

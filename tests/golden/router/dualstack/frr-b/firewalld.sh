#!/bin/bash
# hcplb: router frr-b (site hypershift-dualstack).
# Accept BGP (TCP 179) and BFD (UDP 3784, 3785) only from the cluster nodes, drop those ports
# from anyone else (IPv4 and IPv6), and leave all other traffic alone.
# This router's other BGP neighbours, if any, need their own accept rule before this one.
set -euo pipefail

# A policy from any zone to the host itself (firewalld >= 0.9); its negative priority
# puts it before the zones. Recreated on every run so removed nodes lose access.
policy=hcplb-bgp
fw() { firewall-cmd --permanent "$@" >/dev/null; }
if firewall-cmd --permanent --get-policies | tr ' ' '\n' | grep -qxF "$policy"; then
	fw --delete-policy="$policy"
fi
fw --new-policy="$policy"
fw --policy="$policy" --add-ingress-zone=ANY
fw --policy="$policy" --add-egress-zone=HOST
fw --policy="$policy" --set-priority=-100
fw --policy="$policy" --add-rich-rule='rule priority="-10" family="ipv4" source address="192.168.125.20" port port="179" protocol="tcp" accept'
fw --policy="$policy" --add-rich-rule='rule priority="-10" family="ipv4" source address="192.168.125.20" port port="3784" protocol="udp" accept'
fw --policy="$policy" --add-rich-rule='rule priority="-10" family="ipv4" source address="192.168.125.20" port port="3785" protocol="udp" accept'
fw --policy="$policy" --add-rich-rule='rule priority="-10" family="ipv4" source address="192.168.125.21" port port="179" protocol="tcp" accept'
fw --policy="$policy" --add-rich-rule='rule priority="-10" family="ipv4" source address="192.168.125.21" port port="3784" protocol="udp" accept'
fw --policy="$policy" --add-rich-rule='rule priority="-10" family="ipv4" source address="192.168.125.21" port port="3785" protocol="udp" accept'
fw --policy="$policy" --add-rich-rule='rule priority="-10" family="ipv4" source address="192.168.125.22" port port="179" protocol="tcp" accept'
fw --policy="$policy" --add-rich-rule='rule priority="-10" family="ipv4" source address="192.168.125.22" port port="3784" protocol="udp" accept'
fw --policy="$policy" --add-rich-rule='rule priority="-10" family="ipv4" source address="192.168.125.22" port port="3785" protocol="udp" accept'
fw --policy="$policy" --add-rich-rule='rule priority="-10" family="ipv6" source address="2001:db8:125::20" port port="179" protocol="tcp" accept'
fw --policy="$policy" --add-rich-rule='rule priority="-10" family="ipv6" source address="2001:db8:125::20" port port="3784" protocol="udp" accept'
fw --policy="$policy" --add-rich-rule='rule priority="-10" family="ipv6" source address="2001:db8:125::20" port port="3785" protocol="udp" accept'
fw --policy="$policy" --add-rich-rule='rule priority="-10" family="ipv6" source address="2001:db8:125::21" port port="179" protocol="tcp" accept'
fw --policy="$policy" --add-rich-rule='rule priority="-10" family="ipv6" source address="2001:db8:125::21" port port="3784" protocol="udp" accept'
fw --policy="$policy" --add-rich-rule='rule priority="-10" family="ipv6" source address="2001:db8:125::21" port port="3785" protocol="udp" accept'
fw --policy="$policy" --add-rich-rule='rule priority="-10" family="ipv6" source address="2001:db8:125::22" port port="179" protocol="tcp" accept'
fw --policy="$policy" --add-rich-rule='rule priority="-10" family="ipv6" source address="2001:db8:125::22" port port="3784" protocol="udp" accept'
fw --policy="$policy" --add-rich-rule='rule priority="-10" family="ipv6" source address="2001:db8:125::22" port port="3785" protocol="udp" accept'
fw --policy="$policy" --add-rich-rule='rule priority="10" port port="179" protocol="tcp" drop'
fw --policy="$policy" --add-rich-rule='rule priority="10" port port="3784" protocol="udp" drop'
fw --policy="$policy" --add-rich-rule='rule priority="10" port port="3785" protocol="udp" drop'
firewall-cmd --reload >/dev/null

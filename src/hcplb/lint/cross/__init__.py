"""Lint's rules across systems: the cluster side (pools, VIPs, DNS) and the router side."""

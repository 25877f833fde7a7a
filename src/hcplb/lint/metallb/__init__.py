"""Lint's MetalLB rules: pools, advertisements, peers, BFD profiles, the MetalLB CR."""

"""Lint's reading of FRR configs: the frozen model, the line parser, neighbor commands, policy."""

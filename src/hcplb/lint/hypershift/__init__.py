"""Lint's HostedCluster rules: the CRD's CEL validations, by hand, on create and on update."""

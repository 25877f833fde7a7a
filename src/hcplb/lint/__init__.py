"""Lint existing router, MetalLB, HyperShift and DNS files, alone and across systems."""

from hcplb.lint.findings import Finding, LintReport, Severity

__all__ = ["Finding", "LintReport", "Severity"]

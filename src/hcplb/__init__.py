"""hcplb: publish HyperShift hosted cluster API servers through MetalLB (BGP) and FRR."""

__version__ = "0.1.0"
__all__ = ["__version__"]

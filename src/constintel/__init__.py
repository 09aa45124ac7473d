"""ConstIntel: an open-source customer data platform for retail brands."""

__all__ = ["__version__"]

__version__ = "0.1.0"

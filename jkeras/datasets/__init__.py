"""Small real data sets that ship inside the package (nothing is downloaded)."""
from jkeras.datasets import digits

__all__ = ["digits"]

"""Keras auto-names: `dense`, `dense_1`, ... counted per session."""
import collections
import re

_counts = collections.defaultdict(int)


def to_snake_case(name):
    """`Conv2DTranspose` -> `conv2d_transpose`, as Keras names its layers."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()
    return s[1:] if s.startswith("_") else s


def unique_name(prefix):
    """`prefix` the first time, then `prefix_1`, `prefix_2`, ... until reset."""
    n = _counts[prefix]
    _counts[prefix] += 1
    return prefix if n == 0 else f"{prefix}_{n}"


def reset_names():
    _counts.clear()

"""Helpers shared across jkeras: the identifier registry, data adapters and array utilities."""

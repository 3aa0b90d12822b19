"""Keras 1 and Keras 2.0-2.3 compatibility: `legacy.interfaces` (Keras 1 arguments) and the old module
paths' lazy re-exports. This package sits on floor 2: it imports only the standard library and
`jkeras.backend`, so that layers (floor 3) may use it."""

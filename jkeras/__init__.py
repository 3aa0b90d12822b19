"""jkeras: the Keras 2 API on JAX, compiled with XLA."""
__version__ = "0.1.0"

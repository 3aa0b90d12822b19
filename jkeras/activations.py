"""Keras activation functions in `jax.numpy`, with Keras 3's formulas and names (but Keras 2's
`hard_sigmoid`, the one Keras 2 code and files mean)."""
import contextlib
import threading

import jax
import jax.numpy as jnp

from jkeras.backend import registry


def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    """`x` above `threshold` (else `alpha * (x - threshold)`), clipped at `max_value`."""
    x = jnp.asarray(x)
    if alpha != 0.0 and max_value is None and threshold == 0:
        return jax.nn.leaky_relu(x, negative_slope=alpha)
    y = jnp.where(x > threshold, x, 0) if threshold != 0 else jax.nn.relu(x)
    if max_value is not None:
        y = jnp.clip(y, 0, max_value)
    if alpha != 0.0:
        y = y - alpha * jax.nn.relu(threshold - x)
    return y


def leaky_relu(x, negative_slope=0.2):
    """`x` for positive inputs, `negative_slope * x` otherwise."""
    return jax.nn.leaky_relu(jnp.asarray(x), negative_slope=negative_slope)


def relu6(x):
    """ReLU capped at 6: `min(max(x, 0), 6)`."""
    return jax.nn.relu6(jnp.asarray(x))


@jax.tree_util.register_pytree_node_class
class Logits:
    """The logits an output came from, and how: `kind` "softmax" (over `axis`) or "sigmoid".
    A pytree with `kind` and `axis` static, so a compiled step can carry it as a value."""

    def __init__(self, value, kind, axis=None):
        self.value, self.kind, self.axis = value, kind, axis

    def tree_flatten(self):
        return (self.value,), (self.kind, self.axis)

    @classmethod
    def tree_unflatten(cls, static, children):
        return cls(children[0], *static)


class _Table(threading.local):
    entries = None  # id(output) -> (output, Logits) while `keep_logits` runs


_table = _Table()


@contextlib.contextmanager
def keep_logits(known=()):
    """While the block runs, softmax and sigmoid outputs remember their inputs, so that a
    crossentropy of such an output is computed from its logits, as tf.keras 2 does in `fit`.
    `known`: `(output, Logits or None)` pairs from an earlier block (`found_logits`)."""
    outer, _table.entries = _table.entries, {}
    for output, logits in known:
        if logits is not None:
            _table.entries[id(output)] = (output, logits)
    try:
        yield
    finally:
        _table.entries = outer


def _remember(output, kind, axis, logits):
    if _table.entries is not None:
        _table.entries[id(output)] = (output, Logits(logits, kind, axis))
    return output


def found_logits(output):
    """The `Logits` of `output` if a `keep_logits` block saw a softmax or sigmoid make it."""
    entry = (_table.entries or {}).get(id(output))
    return entry[1] if entry is not None and entry[0] is output else None


def logits_of(output, kind, axis=None):
    """The logits `output` came from through a `kind` ("softmax"/"sigmoid") activation over
    `axis`, if a `keep_logits` block saw it made; else None."""
    found = found_logits(output)
    if found is None or found.kind != kind:
        return None
    if kind == "softmax" and not (isinstance(found.axis, int) and found.axis % output.ndim == axis % output.ndim):
        return None
    return found.value


def sigmoid(x):
    """`1 / (1 + exp(-x))`."""
    x = jnp.asarray(x)
    return _remember(jax.nn.sigmoid(x), "sigmoid", None, x)


def hard_sigmoid(x):
    """Keras 2's piecewise-linear sigmoid, `clip(0.2 * x + 0.5, 0, 1)` (as `K.hard_sigmoid`): what Keras 2
    code and files mean by "hard_sigmoid" (Keras 3's is `relu6(x + 3) / 6`)."""
    return jnp.clip(0.2 * jnp.asarray(x) + 0.5, 0.0, 1.0)


def softmax(x, axis=-1):
    """`exp(x) / sum(exp(x))` along `axis`."""
    x = jnp.asarray(x)
    return _remember(jax.nn.softmax(x, axis=axis), "softmax", axis, x)


def log_softmax(x, axis=-1):
    """`log(softmax(x))` along `axis`, computed stably."""
    return jax.nn.log_softmax(jnp.asarray(x), axis=axis)


def softplus(x):
    """`log(exp(x) + 1)`."""
    return jax.nn.softplus(jnp.asarray(x))


def softsign(x):
    """`x / (abs(x) + 1)`."""
    return jax.nn.soft_sign(jnp.asarray(x))


def tanh(x):
    """Hyperbolic tangent."""
    return jnp.tanh(x)


def elu(x, alpha=1.0):
    """`x` for positive inputs, `alpha * (exp(x) - 1)` otherwise."""
    return jax.nn.elu(jnp.asarray(x), alpha=alpha)


def selu(x):
    """ELU scaled by Klambauer et al.'s constants (scale 1.0507..., alpha 1.6732...)."""
    return jax.nn.selu(jnp.asarray(x))


def gelu(x, approximate=False):
    """`x * P(X <= x)` for standard normal X; the tanh approximation if `approximate`."""
    return jax.nn.gelu(jnp.asarray(x), approximate=approximate)


def silu(x):
    """`x * sigmoid(x)`."""
    return jax.nn.silu(jnp.asarray(x))


def swish(x):
    """Keras 2's name for `silu`; a separate function so it serializes as "swish"."""
    return jax.nn.silu(jnp.asarray(x))


def exponential(x):
    """`exp(x)`."""
    return jnp.exp(x)


def linear(x):
    """The identity: what `activation=None` means."""
    return x


def mish(x):
    """`x * tanh(softplus(x))`."""
    x = jnp.asarray(x)
    return x * jnp.tanh(jax.nn.softplus(x))


_OBJECTS = {fn.__name__: fn for fn in (
    relu, leaky_relu, relu6, sigmoid, hard_sigmoid, softmax, log_softmax, softplus, softsign,
    tanh, elu, selu, gelu, silu, swish, exponential, linear, mish)}


def get(identifier):
    """The activation for a name, a Keras config dict or a callable; None means `linear`."""
    if identifier is None:
        return linear
    return deserialize(identifier)


def deserialize(config, custom_objects=None):
    """The activation named by `config` (a name or a Keras config dict)."""
    return registry.deserialize_keras_object(config, _OBJECTS, "activation function", custom_objects)


def serialize(activation):
    """The Keras name of a built-in activation ("relu"); a Keras 3 dict for any other."""
    name = getattr(activation, "__name__", None)
    if _OBJECTS.get(name) is activation:
        return name
    return registry.serialize_keras_object(activation, "keras.activations")

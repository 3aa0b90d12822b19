"""Categorical preprocessing layers: category encoding and discretization, and what the hashing,
lookup and text layers share (output modes and their encoding, the host layers), with tf.keras 2's
(and Keras 3's) indices and configs.

Numeric layers (CategoryEncoding, Discretization, IntegerLookup) are JAX functions and can sit inside
a model. String work (StringLookup, TextVectorization, Hashing, HashedCrossing) runs eagerly in Python
on numpy or `str` inputs and returns integer (or encoded float) numpy arrays: like Keras recommends,
put these layers in the data pipeline, or at the model's entry by calling them on the raw data before
`fit`/`predict`; a compiled step cannot hold strings.
"""
import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend.keras_tensor import KerasTensor
from jkeras.layers.base import Layer


_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def _check_mode(mode, allowed, layer):
    mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(mode, mode)
    if mode not in allowed:
        raise ValueError(f"The `output_mode` argument of {type(layer).__name__} must be one of "
                         f"{allowed}; received output_mode={mode!r}.")
    return mode


def _encode(indices, mode, depth, count_weights=None, idf_weights=None):
    """Integer `indices` encoded as Keras's `encode_categorical_inputs`: one-hot (a new last axis
    unless it is already 1), or multi-hot/count/tf-idf over the last axis; out-of-range indices
    (a mask) count for nothing."""
    if mode == "int":
        return indices
    x = jnp.asarray(indices)
    if x.ndim == 0:
        x = x[None]
    if mode == "one_hot":
        if x.shape[-1] == 1 and x.ndim > 1:
            x = x[..., 0]
        return jax.nn.one_hot(x, depth, dtype="float32")
    hot = jax.nn.one_hot(x, depth, dtype="float32")
    if count_weights is not None:
        hot = hot * jnp.asarray(count_weights, "float32")[..., None]
    counts = jnp.sum(hot, axis=-2)
    if mode == "multi_hot":
        return jnp.minimum(counts, 1.0)
    if mode == "tf_idf":
        return counts * jnp.asarray(idf_weights, "float32")
    return counts


def _output_dtype_argument(kwargs):
    """Drop the integer/float `dtype` Keras configs carry for the output: these layers' outputs are
    fixed by `output_mode` (the policy stays the default)."""
    if kwargs.get("dtype") in ("int64", "int32", "float32", "string"):
        kwargs.pop("dtype")
    return kwargs


def _is_symbolic(inputs):
    is_kt = lambda t: isinstance(t, KerasTensor)  # noqa: E731
    return any(is_kt(t) for t in jax.tree.leaves(inputs, is_leaf=is_kt))


class _HostLayer(Layer):
    """A layer whose work is Python/numpy string processing: called on arrays it runs eagerly;
    on a symbolic tensor (inside a model) it raises an error saying where it belongs."""

    def __call__(self, inputs, *args, **kwargs):
        if _is_symbolic(inputs):
            raise ValueError(f"{type(self).__name__} '{self.name}' works on strings and runs eagerly on "
                             "numpy/str data, not inside a compiled model: call it on the raw data first "
                             "(the data pipeline), e.g. `x = layer(texts); model.fit(x, y)`.")
        if args:
            raise TypeError(f"{type(self).__name__} takes its inputs as one argument.")
        kwargs.pop("training", None)
        return self._host_call(inputs, **kwargs)

    def init(self, key, input_shape):
        return {}, {}


class CategoryEncoding(Layer):
    """Encodes integer category ids as one-hot, multi-hot or count vectors of length `num_tokens`.

    Args:
        num_tokens: the number of categories; inputs are ids in `[0, num_tokens)`.
        output_mode: "one_hot" (a new last axis, unless the last axis is 1), "multi_hot"
            or "count" (over the last axis).

    Call arguments: `count_weights`, weights of each input id for "count".
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if num_tokens is None or not isinstance(num_tokens, (int, np.integer)) or num_tokens < 1:
            raise ValueError(f"`num_tokens` must be set to a positive int; received num_tokens={num_tokens!r}.")
        if sparse:
            raise ValueError("CategoryEncoding(sparse=True): jkeras has no sparse tensors.")
        self.num_tokens = int(num_tokens)
        self.output_mode = _check_mode(output_mode, ("one_hot", "multi_hot", "count"), self)
        self.sparse = False

    def init(self, key, input_shape):
        return {}, {}

    def apply(self, params, state, inputs, *, training=False, key=None, count_weights=None):
        if count_weights is not None and self.output_mode != "count":
            raise ValueError("`count_weights` is not used when `output_mode` is not `'count'`. "
                             f"Received `count_weights={count_weights}`.")
        return _encode(inputs.astype("int32"), self.output_mode, self.num_tokens, count_weights), state

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode,
                "sparse": self.sparse}


def _summarize(values, epsilon):
    """A weighted sample of sorted `values`: one point per `epsilon` of the data (Keras's summary)."""
    values = np.sort(np.reshape(values, [-1]))
    step = max(np.size(values) / (1.0 / epsilon), 1)
    boundaries = values[int(step - 1)::int(step)]
    return np.stack([boundaries, np.ones_like(boundaries) * step])


def _compress(summary, epsilon):
    """`summary` reduced to `1 / epsilon` points by interpolating its cumulative weights."""
    if summary.shape[1] * epsilon < 1:
        return summary
    percents = epsilon + np.arange(0.0, 1.0, epsilon)
    cum_weights = summary[1].cumsum()
    cum_percents = cum_weights / cum_weights[-1]
    bins = np.interp(percents, cum_percents, summary[0])
    cum_weights = np.interp(percents, cum_percents, cum_weights)
    weights = cum_weights - np.concatenate((np.array([0]), cum_weights[:-1]))
    return np.stack((bins, weights)).astype("float32")


class Discretization(Layer):
    """Buckets numbers by `bin_boundaries`: `[b0, b1]` gives ids 0 (x < b0), 1 (b0 <= x < b1), 2.

    Args:
        bin_boundaries: sorted boundaries; or
        num_bins: the number of buckets, with boundaries learned by `adapt` as approximate
            quantiles (Keras's summary algorithm, accuracy `epsilon`).
        output_mode: "int", "one_hot", "multi_hot" or "count".
    """

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int", sparse=False,
                 **kwargs):
        super().__init__(**_output_dtype_argument(kwargs))
        if sparse:
            raise ValueError("Discretization(sparse=True): jkeras has no sparse tensors.")
        if num_bins is not None and num_bins < 0:
            raise ValueError(f"`num_bins` must be greater than or equal to 0. Received: `num_bins={num_bins}`")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError("Both `num_bins` and `bin_boundaries` should not be set. Received: "
                             f"`num_bins={num_bins}` and `bin_boundaries={bin_boundaries}`")
        if num_bins is None and bin_boundaries is None:
            raise ValueError("You need to set either `num_bins` or `bin_boundaries`.")
        self.output_mode = _check_mode(output_mode, ("int", "one_hot", "multi_hot", "count"), self)
        self.bin_boundaries = None if bin_boundaries is None else [float(b) for b in bin_boundaries]
        self.num_bins, self.epsilon, self.sparse = num_bins, epsilon, False
        self._summary = np.array([[], []], dtype="float32")

    def adapt(self, data, batch_size=None, steps=None):
        """Learn `num_bins - 1` boundaries from `data` (an array, or an iterable of batches)."""
        if self.num_bins is None:
            raise ValueError("Cannot adapt a Discretization layer that has been initialized with "
                             "`bin_boundaries`, use `num_bins` instead.")
        summary = np.array([[], []], dtype="float32")
        for batch in _batches(data, steps):
            new = _summarize(np.asarray(batch, "float32"), self.epsilon)
            merged = np.concatenate((new, summary), axis=1)
            summary = _compress(np.take(merged, np.argsort(merged[0]), axis=1), self.epsilon)
        self._summary = summary
        self.bin_boundaries = _compress(summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def init(self, key, input_shape):
        return {}, {}

    def apply(self, params, state, inputs, *, training=False, key=None):
        if self.bin_boundaries is None:
            raise ValueError("You need to either pass the `bin_boundaries` argument at construction time "
                             "or call `adapt(dataset)` before you can start using the `Discretization` layer.")
        indices = jnp.digitize(inputs, jnp.asarray(self.bin_boundaries, "float32")).astype("int32")
        return _encode(indices, self.output_mode, len(self.bin_boundaries) + 1), state

    def get_config(self):
        # no `trainable`: Keras 3's Discretization takes only `name` and `dtype` besides its own arguments
        config_ = {k: v for k, v in super().get_config().items() if k in ("name", "dtype")}
        return {**config_, "bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins,
                "epsilon": self.epsilon, "output_mode": self.output_mode, "sparse": self.sparse}

    @classmethod
    def from_config(cls, config_):
        """An adapted layer's config has both `num_bins` and the learned boundaries (as Keras's)."""
        config_ = dict(config_)
        boundaries = config_.pop("bin_boundaries") if config_.get("num_bins") is not None else None
        layer = cls(**config_)
        if boundaries is not None:
            layer.bin_boundaries = list(boundaries)
        return layer


def _batches(data, steps=None):
    """`data` as a list of batches: an array-like is one batch, another iterable yields several."""
    if isinstance(data, (np.ndarray, list, tuple, str)) or hasattr(data, "__array__"):
        return [data]
    batches = []
    for i, batch in enumerate(data):
        if steps is not None and i >= steps:
            break
        batches.append(batch[0] if isinstance(batch, tuple) else batch)
    return batches

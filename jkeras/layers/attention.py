"""Attention layers: dot-product `Attention` (Luong), `AdditiveAttention` (Bahdanau) and
`MultiHeadAttention` (Vaswani et al.), with Keras's weights, masks and config keys.

`Attention`/`AdditiveAttention` are called on a list `[query, value]` or
`[query, value, key]` with an optional mask list `[query_mask, value_mask]`.
`MultiHeadAttention` is called as Keras calls it, `mha(query, value, key=None, ...)`;
the call is recorded as a node on the list `[query, value(, key)]`, so Keras masks of
the inputs reach it as the mask list, as Keras 3 reads them off its arguments.
Its projections are nested `EinsumDense` layers `query`, `key`, `value` (`gate`) and
`attention_output`, each with a `kernel` and `bias` as Keras's: `mha/query/kernel` is
`(query_dim, num_heads, key_dim)`, `mha/attention_output/kernel` `(num_heads, value_dim, dim)`.
"""
import math
import string

import jax
import jax.numpy as jnp

from jkeras import constraints, initializers, regularizers
from jkeras.backend.random import split_by_name
from jkeras.layers._utils import weight_options_config
from jkeras.layers.base import Layer
from jkeras.layers.einsum_dense import EinsumDense
from jkeras.layers.regularization import _check_rate, _layer_key


def _dropout(layer, x, rate, key):
    """Inverted dropout of `x` with the layer's key (its `seed` folded in)."""
    keep = jax.random.bernoulli(_layer_key(layer, key), 1.0 - rate, x.shape)
    return jnp.where(keep, x / jnp.asarray(1.0 - rate, x.dtype), jnp.zeros_like(x))


def _causal_mask(tq, tv):
    """`(1, Tq, Tv)`: query step i sees value steps j <= i."""
    return jnp.tril(jnp.ones((tq, tv), bool))[None]


def _as_bool(mask):
    mask = jnp.asarray(mask)
    return mask if mask.dtype == jnp.bool_ else mask > 0.5


def _split_masks(mask, count):
    """The mask list of a list-input call, `count` entries, None where absent."""
    if mask is None:
        return [None] * count
    if not isinstance(mask, (list, tuple)):
        raise ValueError(f"The mask of an attention layer must be a list [query_mask, value_mask]; "
                         f"received mask={mask!r}.")
    mask = list(mask) + [None] * (count - len(mask))
    return [None if m is None else _as_bool(m) for m in mask[:count]]


class _DenseAttention(Layer):
    """What `Attention` and `AdditiveAttention` share: inputs, masks, softmax, dropout."""

    def __init__(self, use_scale, dropout, seed, **kwargs):
        causal = kwargs.pop("causal", False)  # tf.keras 2's deprecated constructor flag
        super().__init__(**kwargs)
        _check_rate(dropout)
        self.use_scale = bool(use_scale)
        self.dropout = dropout
        self.seed = seed
        self.causal = bool(causal)
        self.supports_masking = True

    def _check_input_compatible(self, inputs):
        self._shapes(inputs)

    def _shapes(self, inputs):
        """`(query_shape, value_shape, key_shape)`, checked as Keras checks them."""
        name = type(self).__name__
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{name} layer must be called on a list of inputs, namely [query, value] "
                             f"or [query, value, key]. Received: inputs={inputs}.")
        if not 2 <= len(inputs) <= 3:
            raise ValueError(f"{name} layer accepts inputs list of length 2 or 3, namely [query, "
                             f"value] or [query, value, key]. Received length: {len(inputs)}.")
        shapes = [tuple(t.shape if hasattr(t, "shape") else t) for t in inputs]
        q, v = shapes[0], shapes[1]
        k = shapes[2] if len(shapes) > 2 else v
        if min(len(q), len(v), len(k)) < 3:
            raise ValueError(f"{name} '{self.name}' expects query, value and key of shape (batch, "
                             f"steps, dim); received shapes {shapes}.")
        if q[-1] != k[-1] or v[-2] != k[-2]:
            raise ValueError(f"{name} '{self.name}': query and key need the same last dim, and value "
                             f"and key the same number of steps; received shapes {shapes}.")
        return q, v, k

    def apply(self, params, state, inputs, *, training=False, key=None, mask=None,
              return_attention_scores=False, use_causal_mask=False):
        self._shapes(inputs)
        q, v = inputs[0], inputs[1]
        k = inputs[2] if len(inputs) > 2 else v
        q_mask, v_mask = _split_masks(mask, 2)
        scores = self._scores(params, q, k)
        scores_mask = None if v_mask is None else v_mask[..., None, :]
        if use_causal_mask or self.causal:
            causal = _causal_mask(*scores.shape[-2:])
            scores_mask = causal if scores_mask is None else scores_mask & causal
        if scores_mask is not None:
            big = 65504.0 if scores.dtype == jnp.float16 else 1.0e9  # float16's largest value
            scores = jnp.where(scores_mask, scores, scores - jnp.asarray(big, scores.dtype))
        weights = jax.nn.softmax(scores, axis=-1)
        if training and self.dropout > 0:
            weights = _dropout(self, weights, self.dropout, key)
        output = jnp.matmul(weights, v)
        if q_mask is not None:
            output = jnp.where(q_mask[..., None], output, jnp.zeros_like(output))
        return ((output, weights) if return_attention_scores else output), state

    def compute_mask(self, inputs, mask=None):
        """The query's mask, as Keras gives it."""
        if mask is None or not isinstance(mask, (list, tuple)) or mask[0] is None:
            return None
        return mask[0]

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale, "dropout": self.dropout,
                "seed": self.seed}


class Attention(_DenseAttention):
    """Dot-product (Luong-style) attention over `[query, value]` or `[query, value, key]`.

    Args:
        use_scale: learn a scalar `scale` that multiplies the scores.
        score_mode: "dot" (`query @ key^T`) or "concat"
            (`concat_score_weight * sum(tanh(scale * (query + key)))`).
        dropout: fraction of the attention weights dropped in training.
        seed: int folded into the layer's key for the dropout.

    Call arguments: `inputs` `[query (batch, Tq, dim), value (batch, Tv, dim)(, key)]`,
    `mask` `[query_mask (batch, Tq), value_mask (batch, Tv)]`,
    `return_attention_scores`, `use_causal_mask`, `training`.

    Output: `(batch, Tq, value_dim)`, and the `(batch, Tq, Tv)` attention weights
    with `return_attention_scores=True`.
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(use_scale, dropout, seed, **kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError("Invalid value for argument score_mode. Expected one of {'dot', "
                             f"'concat'}}. Received: score_mode={score_mode}")
        self.score_mode = score_mode

    def init(self, key, input_shape):
        self._shapes(input_shape)
        params = {}
        if self.use_scale:
            params["scale"] = jnp.ones((), self.dtype)
        if self.score_mode == "concat":
            params["concat_score_weight"] = jnp.ones((), self.dtype)
        return params, {}

    def _scores(self, params, q, k):
        scale = params.get("scale")
        if self.score_mode == "dot":
            scores = jnp.matmul(q, jnp.swapaxes(k, -2, -1))
            return scores if scale is None else scores * scale
        summed = q[..., :, None, :] + k[..., None, :, :]
        if scale is not None:
            summed = scale * summed
        return params["concat_score_weight"] * jnp.sum(jnp.tanh(summed), axis=-1)

    def get_config(self):
        return {**super().get_config(), "score_mode": self.score_mode}


class AdditiveAttention(_DenseAttention):
    """Additive (Bahdanau-style) attention: scores `sum(scale * tanh(query + key))`.

    Args:
        use_scale: learn a `scale` vector `(dim,)` for the scores (default True).
        dropout: fraction of the attention weights dropped in training.

    Call arguments and output as `Attention`'s.
    """

    def __init__(self, use_scale=True, dropout=0.0, seed=None, **kwargs):
        super().__init__(use_scale, dropout, seed, **kwargs)

    def init(self, key, input_shape):
        q, _, _ = self._shapes(input_shape)
        if not self.use_scale:
            return {}, {}
        return {"scale": initializers.get("glorot_uniform")(key, (q[-1],), self.dtype)}, {}

    def _scores(self, params, q, k):
        summed = jnp.tanh(q[..., :, None, :] + k[..., None, :, :])
        if self.use_scale:
            summed = params["scale"] * summed
        return jnp.sum(summed, axis=-1)


# ---------------------------------------------------------------------------
# MultiHeadAttention
# ---------------------------------------------------------------------------
def _projection_equation(free_dims, bound_dims, output_dims):
    """Keras's EinsumDense equation for a projection: `free` axes kept, the last `bound` axes
    contracted with the kernel, `output` axes added; returns `(equation, bias_axes)`."""
    letters = string.ascii_lowercase
    free = letters[:free_dims]
    bound = letters[free_dims:free_dims + bound_dims]
    out = letters[free_dims + bound_dims:free_dims + bound_dims + output_dims]
    return f"{free}{bound},{bound}{out}->{free}{out}", out


def _attention_equations(rank, attn_axes):
    """Einsum equations `(key, query) -> scores` and `(scores, value) -> output` over projected
    tensors `(batch, <other dims>, <attention dims>, heads, channels)`, as Keras builds them."""
    letters = string.ascii_lowercase
    target = letters[:rank]
    batch_dims = [i for i in range(rank) if i not in attn_axes and i != rank - 1]
    source, offset = "", rank
    for i in range(rank):
        if i in batch_dims or i == rank - 1:
            source += target[i]
        else:
            source += letters[offset]
            offset += 1
    product = "".join([target[i] for i in batch_dims] + [target[i] for i in attn_axes]
                      + [source[i] for i in attn_axes])
    return f"{source},{target}->{product}", f"{product},{source}->{target}", len(product)


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al., 2017), as Keras's `MultiHeadAttention`.

    Args:
        num_heads: number of attention heads.
        key_dim: size of each head for query and key.
        value_dim: size of each head for value (default `key_dim`).
        dropout: dropout rate of the attention weights.
        use_bias: whether the projections have biases.
        output_shape: the trailing output shape (default: the query's last dim).
        attention_axes: the axes attention runs over (default: all but batch, heads, channels).
        use_gate: multiply the attention output by a sigmoid gate projected from the query.
        sliding_window: query step i sees only key steps with `|i - j| < sliding_window`.
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        kernel_constraint, bias_constraint: for every projection.
        seed: int folded into the layer's key for the dropout.

    Call: `mha(query, value, key=None, attention_mask=None, return_attention_scores=False,
    training=None, use_causal_mask=False)`; `query_mask`, `value_mask`, `key_mask` come
    from the inputs' Keras masks (or by keyword). Output: `(batch, T, dim)` (or
    `output_shape`), and the `(batch, heads, T, S)` attention scores when asked.
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 use_gate=False, sliding_window=None, seed=None, **kwargs):
        for name in ("query_shape", "key_shape", "value_shape", "softmax_robust_masking",
                     "flash_attention"):
            kwargs.pop(name, None)  # tf.keras 2 config entries; the shapes come from the call
        for name, value in (("num_heads", num_heads), ("key_dim", key_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Received an invalid value for argument `{name}`, expected a "
                                 f"positive integer. Received: {name}={value}")
        if value_dim is not None and (not isinstance(value_dim, int) or value_dim <= 0):
            raise ValueError("Received an invalid value for argument `value_dim`, expected a positive "
                             f"integer or `None`. Received: value_dim={value_dim}")
        if sliding_window is not None and (not isinstance(sliding_window, int) or sliding_window <= 0):
            raise ValueError("`sliding_window` must be `None` or a positive integer. "
                             f"Received: sliding_window={sliding_window}")
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        _check_rate(dropout)
        self.supports_masking = True
        self._num_heads, self._key_dim = num_heads, key_dim
        self._value_dim = value_dim or key_dim
        self._dropout, self._use_bias, self._use_gate = dropout, bool(use_bias), bool(use_gate)
        if isinstance(output_shape, int):
            output_shape = (output_shape,)
        self._output_shape = tuple(output_shape) if output_shape else None
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        elif attention_axes is not None and not isinstance(attention_axes, (list, tuple)):
            raise ValueError(f"`attention_axes` must be an int, list, or tuple. Received: "
                             f"attention_axes={attention_axes}")
        self._attention_axes = None if attention_axes is None else tuple(attention_axes)
        self._sliding_window = sliding_window
        self.seed = seed
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        names = ["query", "key"] + (["gate"] if self._use_gate else []) + ["value", "attention_output"]
        self.projections = [self._projection(n) for n in names]  # Keras's weight order

    def _projection(self, name, query_rank=3):
        """The EinsumDense projection `name` for queries of rank `query_rank`."""
        equation, bias_axes, output_shape = self._projection_spec(name, query_rank, None)
        return EinsumDense(equation, output_shape, bias_axes=bias_axes if self._use_bias else None,
                           activation="sigmoid" if name == "gate" else None,
                           kernel_initializer=self.kernel_initializer,
                           bias_initializer=self.bias_initializer,
                           kernel_regularizer=self.kernel_regularizer,
                           bias_regularizer=self.bias_regularizer,
                           kernel_constraint=self.kernel_constraint,
                           bias_constraint=self.bias_constraint, name=name, dtype=self._dtype_policy)

    def _projection_spec(self, name, rank, query_dim):
        """`(equation, bias_axes, output_shape)` of projection `name` for inputs of rank `rank`."""
        heads = self._num_heads
        if name == "attention_output":
            out = self._output_shape or (query_dim,)
            equation, bias_axes = _projection_equation(rank - 1, 2, len(out))
        else:
            out = (heads, self._value_dim if name in ("value", "gate") else self._key_dim)
            equation, bias_axes = _projection_equation(rank - 1, 1, 2)
        return equation, bias_axes, (None,) * (rank - 2) + tuple(out)

    def _sub(self, name):
        return next(p for p in self.projections if p.name == name)

    num_heads = property(lambda self: self._num_heads)
    key_dim = property(lambda self: self._key_dim)
    value_dim = property(lambda self: self._value_dim)
    dropout = property(lambda self: self._dropout)
    use_bias = property(lambda self: self._use_bias)
    attention_axes = property(lambda self: self._attention_axes)
    query_dense = property(lambda self: self._sub("query"))
    key_dense = property(lambda self: self._sub("key"))
    value_dense = property(lambda self: self._sub("value"))
    output_dense = property(lambda self: self._sub("attention_output"))

    # the call's arguments, in the order the layer's list of inputs holds them: a file names
    # the value and key as keyword arguments of the call, as tf.keras 2 writes them
    call_input_names = ("query", "value", "key")

    def build_shapes_config(self):
        """tf.keras 2's `query_shape`, `value_shape` and `key_shape` config entries, from which
        it builds the layer when loading (each None before this layer is built)."""
        shapes = getattr(self, "_build_input_shape", None) if self.built else None
        if shapes is None:
            return {"query_shape": None, "value_shape": None, "key_shape": None}
        q, v, k = (list(s) for s in self._shapes(shapes))
        return {"query_shape": q, "value_shape": v, "key_shape": k}

    def __call__(self, query, value=None, key=None, **kwargs):
        if value is None and isinstance(query, (list, tuple)):  # a node replayed from a config
            inputs = list(query)
        elif value is None:
            raise ValueError(f"MultiHeadAttention '{self.name}' needs a `value` tensor: call it as "
                             "`mha(query, value)` or `mha(query, value, key)`.")
        else:
            inputs = [query, value] + ([] if key is None else [key])
        return super().__call__(inputs, **kwargs)

    # ---- shapes ----
    def _check_input_compatible(self, inputs):
        self._shapes(inputs)

    def _shapes(self, inputs):
        if not isinstance(inputs, (list, tuple)) or not 2 <= len(inputs) <= 3:
            raise ValueError(f"MultiHeadAttention '{self.name}' takes [query, value] or [query, "
                             f"value, key]; received {inputs!r}.")
        shapes = [tuple(t.shape if hasattr(t, "shape") else t) for t in inputs]
        q, v = shapes[0], shapes[1]
        k = shapes[2] if len(shapes) > 2 else v
        if len(q) < 3 or len(v) < 3 or len(k) != len(v) or len(q) != len(v):
            raise ValueError(f"MultiHeadAttention '{self.name}' expects query, value and key of the "
                             f"same rank >= 3 (batch, steps, dim); received shapes {shapes}.")
        if v[1:-1] != k[1:-1]:
            raise ValueError("All dimensions of `value` and `key`, except the last one, must be "
                             f"equal. Received: value_shape={v} and key_shape={k}")
        return q, v, k

    def _axes(self, rank):
        """Attention axes of the projected rank-`rank + 1` tensors, non-negative."""
        if self._attention_axes is None:
            return tuple(range(1, rank - 1))
        return tuple(a if a >= 0 else rank + a for a in self._attention_axes)

    # ---- the pure protocol ----
    def init(self, key, input_shape):
        q, v, k = self._shapes(input_shape)
        self._attention_axes = self._axes(len(q))  # resolved at build, as Keras's config shows it
        in_shapes = {"query": q, "gate": q, "key": k, "value": v,
                     "attention_output": tuple(q[:-1]) + (self._num_heads, self._value_dim)}
        params = {}
        for sub in self.projections:  # Keras builds its projections for the query's rank
            sub.equation, bias_axes, sub.partial_output_shape = self._projection_spec(
                sub.name, len(q), q[-1])
            sub.bias_axes = bias_axes if self._use_bias else None
            params[sub.name] = type(sub).init(sub, split_by_name(key, sub.name), in_shapes[sub.name])[0]
        return params, {}

    def apply(self, params, state, inputs, *, training=False, key=None, mask=None, query_mask=None,
              value_mask=None, key_mask=None, attention_mask=None, return_attention_scores=False,
              use_causal_mask=False):
        self._shapes(inputs)
        query, value = inputs[0], inputs[1]
        key_tensor = inputs[2] if len(inputs) > 2 else value
        masks = _split_masks(mask, 3)
        given = [None if m is None else _as_bool(m) for m in (query_mask, value_mask, key_mask)]
        q_mask, v_mask, k_mask = [g if g is not None else m for g, m in zip(given, masks)]

        def project(name, x):
            sub = self._sub(name)
            return type(sub).apply(sub, params[name], {}, x)[0]

        q = project("query", query)
        k = project("key", key_tensor)
        v = project("value", value)
        attn_mask = self._attention_mask(q, v, q_mask, v_mask, k_mask, attention_mask, use_causal_mask)
        # Keras 3 runs the fused `dot_product_attention` unless it must return or drop scores, or
        # the projections are not rank 4: there a fully masked row attends uniformly, not to nothing
        fused = not (self._dropout > 0 or return_attention_scores or q.ndim != 4)
        output, scores = self._attend(q, k, v, attn_mask, training, key, zero_masked_rows=not fused)
        if self._use_gate:
            output = output * project("gate", query)
        output = project("attention_output", output)
        return ((output, scores) if return_attention_scores else output), state

    def _attention_mask(self, q, v, q_mask, v_mask, k_mask, attention_mask, use_causal_mask):
        """Keras's merged boolean mask: query `[B, T, 1]`, value and key `[B, 1, S]`, causal and
        sliding-window `[1, T, S]`, and the explicit `attention_mask`, ANDed."""
        auto = None

        def both(a, b):
            return b if a is None else a & b

        if q_mask is not None:
            auto = q_mask[..., None]
        for m in (v_mask, k_mask):
            if m is not None:
                auto = both(auto, m[..., None, :])
        tq, tv = q.shape[1], v.shape[1]
        if use_causal_mask:
            auto = both(auto, _causal_mask(tq, tv))
        if self._sliding_window is not None:
            distance = jnp.abs(jnp.arange(tq)[:, None] - jnp.arange(tv)[None, :])
            auto = both(auto, (distance < self._sliding_window)[None])
        if attention_mask is None:
            return auto
        return both(auto, _as_bool(attention_mask))

    def _attend(self, q, k, v, attn_mask, training, key, zero_masked_rows):
        """Scaled dot products, masked softmax over the attention axes, dropout, and the
        weighted sum of values: `(output, scores)`."""
        axes = self._axes(q.ndim - 1)
        dot, combine, scores_rank = _attention_equations(q.ndim, axes)
        q = q * jnp.asarray(1.0 / math.sqrt(float(self._key_dim)), q.dtype)
        scores = jnp.einsum(dot, k, q)
        norm_axes = tuple(range(scores_rank - len(axes), scores_rank))
        if attn_mask is not None:
            for _ in range(scores.ndim - attn_mask.ndim):
                attn_mask = jnp.expand_dims(attn_mask, -len(axes) * 2 - 1)
            large = -3e4 if scores.dtype == jnp.float16 else -1e9
            scores = jnp.where(attn_mask, scores, jnp.asarray(large, scores.dtype))
        scores = jnp.exp(scores - jax.nn.logsumexp(scores, axis=norm_axes, keepdims=True)) \
            if len(norm_axes) > 1 else jax.nn.softmax(scores, axis=norm_axes[0])
        if attn_mask is not None and zero_masked_rows:  # a fully masked row attends to nothing
            scores = jnp.where(attn_mask, scores, jnp.zeros_like(scores))
        weights = scores
        if training and self._dropout > 0:
            weights = _dropout(self, scores, self._dropout, key)
        return jnp.einsum(combine, weights, v), scores

    def compute_mask(self, inputs, mask=None):
        """The query's mask carries over to the output."""
        if mask is None or not isinstance(mask, (list, tuple)) or mask[0] is None:
            return None
        return mask[0]

    def get_config(self):
        config = {**super().get_config(), "num_heads": self._num_heads, "key_dim": self._key_dim,
                  "value_dim": self._value_dim, "dropout": self._dropout, "use_bias": self._use_bias,
                  "use_gate": self._use_gate,
                  "output_shape": self._output_shape,
                  "attention_axes": self._attention_axes, "sliding_window": self._sliding_window}
        options = weight_options_config(self, "kernel", "bias")
        return {**config, **{k: options[k] for k in (
            "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
            "activity_regularizer", "kernel_constraint", "bias_constraint")}, "seed": self.seed}

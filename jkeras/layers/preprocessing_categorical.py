"""Categorical preprocessing layers: category encoding, discretization, hashing, vocabulary lookups and
text vectorization, with tf.keras 2's (and Keras 3's) indices, vocabularies and configs.

Numeric layers (CategoryEncoding, Discretization, IntegerLookup) are JAX functions and can sit inside
a model. String work (StringLookup, TextVectorization, Hashing, HashedCrossing) runs eagerly in Python
on numpy or `str` inputs and returns integer (or encoded float) numpy arrays: like Keras recommends,
put these layers in the data pipeline, or at the model's entry by calling them on the raw data before
`fit`/`predict`; a compiled step cannot hold strings.
"""
import collections
import re

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend.keras_tensor import KerasTensor
from jkeras.layers.base import Layer
from jkeras.layers.preprocessing_hash import fingerprint64, siphash

_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
_STRIP_REGEX = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
_MASK64 = (1 << 64) - 1
# `tf.strings.lower` as TextVectorization calls it (no encoding) lowercases ASCII letters only
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


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


def _strings(values, encoding="utf-8"):
    """`values` (str, bytes, nested lists or arrays of them) as a numpy array of `str`."""
    array = np.asarray(values, dtype=object)
    flat = [v.decode(encoding) if isinstance(v, bytes) else v for v in array.ravel()]
    if not all(isinstance(v, str) for v in flat):
        raise ValueError(f"Expected string inputs; received values of types "
                         f"{sorted({type(v).__name__ for v in flat})}.")
    return np.asarray(flat, dtype=object).reshape(array.shape)


def _hash_text(value):
    """The bytes TensorFlow hashes for a value: a string's UTF-8, an integer's decimal form."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value)).encode("ascii")
    raise ValueError(f"Hashing takes strings or integers; received {value!r} ({type(value).__name__}).")


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


class Hashing(_HostLayer):
    """Hashes strings or integers into `num_bins` bins as TensorFlow does: FarmHash Fingerprint64
    (integers hashed as their decimal text), or salted SipHash-2-4 when `salt` is set.

    Args:
        num_bins: the number of bins, the mask's included.
        mask_value: a value that goes to bin 0 (the others to `[1, num_bins)`).
        salt: an int or a pair of ints: use the keyed (strong) hash.
        output_mode: "int", "one_hot", "multi_hot" or "count".

    Runs eagerly on numpy/str inputs (see the module docstring).
    """

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False, **kwargs):
        super().__init__(**_output_dtype_argument(kwargs))
        if num_bins is None or num_bins <= 0:
            raise ValueError("The `num_bins` for `Hashing` cannot be `None` or non-positive values. "
                             f"Received: num_bins={num_bins}.")
        if sparse:
            raise ValueError("Hashing(sparse=True): jkeras has no sparse tensors.")
        if salt is not None and not (isinstance(salt, int) or (
                isinstance(salt, (tuple, list)) and len(salt) == 2)):
            raise ValueError("The `salt` argument for `Hashing` can only be a tuple of size 2 integers, or a "
                             f"single integer. Received: salt={salt}.")
        self.num_bins, self.mask_value, self.sparse = int(num_bins), mask_value, False
        self.salt = None if salt is None else ([salt, salt] if isinstance(salt, int) else list(salt))
        self.output_mode = _check_mode(output_mode, ("int", "one_hot", "multi_hot", "count"), self)

    def _bins(self, values):
        bins = self.num_bins
        masked = self.mask_value is not None and bins > 1
        if masked:
            bins -= 1
        array = np.asarray(values, dtype=object)
        hash_ = (lambda b: siphash(self.salt, b)) if self.salt is not None else fingerprint64
        out = []
        for v in array.ravel():
            v = v.decode("utf-8") if isinstance(v, bytes) else (v.item() if hasattr(v, "item") else v)
            if masked and v == self.mask_value:
                out.append(0)
            else:
                out.append(hash_(_hash_text(v)) % bins + (1 if masked else 0))
        return np.asarray(out, "int64").reshape(array.shape)

    def _host_call(self, inputs):
        return np.asarray(_encode(self._bins(inputs), self.output_mode, self.num_bins))

    def get_config(self):
        return {**super().get_config(), "dtype": "int64" if self.output_mode == "int" else "float32",
                "num_bins": self.num_bins, "salt": self.salt, "mask_value": self.mask_value,
                "output_mode": self.output_mode, "sparse": self.sparse}


def _fingerprint_cat(fp1, fp2):
    """TensorFlow's `FingerprintCat64`: two 64-bit fingerprints combined."""
    mul = 0xC6A4A7935BD1E995
    result = fp1 ^ mul
    result ^= (_shift_mix((fp2 * mul) & _MASK64) * mul) & _MASK64
    result = (result * mul) & _MASK64
    result = (_shift_mix(result) * mul) & _MASK64
    return _shift_mix(result)


def _shift_mix(value):
    return value ^ (value >> 47)


class HashedCrossing(_HostLayer):
    """Crosses two or more categorical features into `num_bins` bins, as `tf.sparse.cross_hashed`:
    each string feature fingerprinted (an integer feature taken as it is), the features combined
    with `FingerprintCat64` from TensorFlow's key.

    Runs eagerly on numpy inputs (a list of same-shaped arrays, rank <= 2).
    """

    _HASH_KEY = 0xDECAFCAFFE  # tf.sparse.cross_hashed's default key

    def __init__(self, num_bins, output_mode="int", sparse=False, **kwargs):
        super().__init__(**_output_dtype_argument(kwargs))
        if sparse:
            raise ValueError("HashedCrossing(sparse=True): jkeras has no sparse tensors.")
        self.num_bins, self.sparse = int(num_bins), False
        self.output_mode = _check_mode(output_mode, ("int", "one_hot"), self)

    def _host_call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError("`HashedCrossing` should be called on at least two features. "
                             f"Received: inputs={inputs!r}")
        arrays = [np.asarray(x, dtype=object) for x in inputs]
        shape = arrays[0].shape
        if any(a.shape != shape for a in arrays) or len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
            raise ValueError("All `HashedCrossing` inputs should have the same shape, (batch,) or (batch, 1); "
                             f"received shapes {[a.shape for a in arrays]}.")
        out = []
        for values in zip(*(a.ravel() for a in arrays)):
            crossed = self._HASH_KEY
            for v in values:
                v = v.decode("utf-8") if isinstance(v, bytes) else (v.item() if hasattr(v, "item") else v)
                feature = fingerprint64(v.encode("utf-8")) if isinstance(v, str) else int(v) & _MASK64
                crossed = _fingerprint_cat(crossed, feature)
            out.append(crossed % self.num_bins)
        return np.asarray(_encode(np.asarray(out, "int64").reshape(shape), self.output_mode, self.num_bins))

    def get_config(self):
        return {**super().get_config(), "dtype": "int64" if self.output_mode == "int" else "float32",
                "num_bins": self.num_bins, "output_mode": self.output_mode, "sparse": self.sparse}


class _IndexLookup(Layer):
    """The vocabulary and index layout Keras's StringLookup/IntegerLookup share.

    Indices: the mask token at 0 (in "int" mode, when set), then `num_oov_indices` OOV
    indices, then the vocabulary. `adapt` keeps the most frequent tokens (ties: the larger
    token first), at most `max_tokens` indices in all.
    """

    def __init__(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary=None, idf_weights=None,
                 invert=False, output_mode="int", sparse=False, pad_to_max_tokens=False, vocabulary_size=None,
                 **kwargs):
        kwargs.pop("has_input_vocabulary", None)
        kwargs.pop("has_static_table", None)
        super().__init__(**_output_dtype_argument(kwargs))
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"If set, `max_tokens` must be greater than 1. Received: max_tokens={max_tokens}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"If pad_to_max_tokens is True, must set `max_tokens`. Received: max_tokens={max_tokens}")
        if num_oov_indices < 0:
            raise ValueError("`num_oov_indices` must be greater than or equal to 0. "
                             f"Received: num_oov_indices={num_oov_indices}")
        output_mode = _check_mode(output_mode, _MODES, self)
        if invert and output_mode != "int":
            raise ValueError("`output_mode` must be `'int'` when `invert` is true. "
                             f"Received: output_mode={output_mode}")
        if sparse:
            raise ValueError(f"{type(self).__name__}(sparse=True): jkeras has no sparse tensors.")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError("`idf_weights` should only be set if `output_mode` is `'tf_idf'`. Received: "
                             f"idf_weights={idf_weights} and output_mode={output_mode}")
        self.max_tokens, self.num_oov_indices = max_tokens, int(num_oov_indices)
        self.mask_token, self.oov_token = mask_token, oov_token
        self.invert, self.output_mode, self.sparse = bool(invert), output_mode, False
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self._tokens, self._idf = [], None
        # what the config records: a given vocabulary as it was given (Keras's), else the adapted one
        self._has_input_vocabulary, self._input_vocabulary, self._input_idf = False, None, None
        self._frozen_size = vocabulary_size
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # ---- the vocabulary ----
    def _token(self, value):
        """One token in this layer's canonical form."""
        raise NotImplementedError

    def _oov_start(self):
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start(self):
        return self._oov_start() + self.num_oov_indices

    def vocabulary_size(self):
        """The number of indices: special ones and the vocabulary."""
        return self._token_start() + len(self._tokens)

    def get_vocabulary(self, include_special_tokens=True):
        """The token of every index, in order (the mask and OOV tokens first)."""
        specials = [self.mask_token] * self._oov_start() + [self.oov_token] * self.num_oov_indices
        return (specials if include_special_tokens else []) + list(self._tokens)

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Set the vocabulary (with or without the special tokens first) and, in "tf_idf" mode, its weights."""
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError("`idf_weights` must be set if output_mode is TF_IDF")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError("`idf_weights` should only be set if output_mode is `'tf_idf'`. Received: "
                             f"output_mode={self.output_mode} and idf_weights={idf_weights}")
        if isinstance(vocabulary, str):
            with open(vocabulary, encoding="utf-8") as f:
                vocabulary = [line.rstrip("\n") for line in f]
        tokens = [self._token(v) for v in np.asarray(vocabulary, dtype=object).ravel()]
        if not tokens:
            raise ValueError(f"Cannot set an empty vocabulary, you passed {vocabulary}.")
        given = list(tokens)
        specials = [self.mask_token] * self._oov_start() + [self.oov_token] * self.num_oov_indices
        found_specials = tokens[:len(specials)] == specials
        if found_specials:
            tokens = tokens[len(specials):]
        repeated = [t for t, n in collections.Counter(tokens).items() if n > 1]
        if repeated:
            raise ValueError("The passed vocabulary has at least one repeated term. Please uniquify your "
                             f"dataset. The repeated terms are {repeated}")
        if self.mask_token is not None and self.mask_token in tokens:
            raise ValueError("Found reserved mask token at unexpected location in `vocabulary`. Note that passed "
                             "`vocabulary` does not need to include the OOV and mask tokens. Either remove all "
                             "mask and OOV tokens, or include them only at the start of the vocabulary in "
                             f"precisely this order: {specials}. Received: mask_token={self.mask_token}")
        if self.oov_token is not None and self.invert and self.oov_token in tokens:
            raise ValueError("Found reserved OOV token at unexpected location in `vocabulary`. Either remove "
                             "all mask and OOV tokens, or include them only at the start of the vocabulary in "
                             f"precisely this order: {specials}. Received: oov_token={self.oov_token}")
        if self.max_tokens is not None and len(specials) + len(tokens) > self.max_tokens:
            raise ValueError("Attempted to set a vocabulary larger than the maximum vocab size. Passed vocab "
                             f"size is {len(specials) + len(tokens)}, max vocab size is {self.max_tokens}.")
        idf = None
        if self.output_mode == "tf_idf":
            idf = np.asarray(idf_weights, "float32")
            if idf.ndim != 1 or len(idf) != len(given):
                raise ValueError("`idf_weights` must be the same length as vocabulary. len(idf_weights) is "
                                 f"{len(idf)}, len(vocabulary) is {len(given)}")
            if not found_specials:
                idf = np.concatenate([np.full(self._token_start(), np.average(idf), "float32"), idf])
        self._tokens, self._idf, self._has_input_vocabulary = tokens, idf, True
        self._input_vocabulary = given  # the config holds the vocabulary as it was given, as Keras's does
        self._input_idf = None if idf is None else [float(w) for w in np.asarray(idf_weights).ravel()]
        self._frozen_size = self.vocabulary_size()

    def adapt(self, data, batch_size=None, steps=None):
        """Learn the vocabulary (and tf-idf weights) from `data`: an array, or an iterable of batches."""
        self._learn([row for batch in _batches(data, steps) for row in self._adapt_rows(batch)])

    def _learn(self, rows):
        """The vocabulary of token `rows` (each row one document)."""
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt {type(self).__name__} layer after setting a static vocabulary via "
                             "init argument or `set_vocabulary`.")
        counts, documents = collections.Counter(), collections.Counter()
        for row in rows:
            counts.update(row)
            documents.update(set(row))
        num_documents = len(rows)
        for special in (self.mask_token, self.oov_token):
            if special is not None:
                counts.pop(special, None)
        # Keras's `np.lexsort((tokens, counts))[::-1]`: the most frequent first, ties by the larger token
        tokens = sorted(counts, key=lambda t: (counts[t], t), reverse=True)
        if self.max_tokens:
            tokens = tokens[:self.max_tokens - self._token_start()]
        self._tokens, self._has_input_vocabulary = tokens, False
        self._input_vocabulary = self._input_idf = None
        if self.output_mode == "tf_idf":
            idf = np.log(1 + num_documents / (1 + np.asarray([documents[t] for t in tokens], "float64")))
            idf = idf.astype("float32")
            self._idf = np.concatenate([np.full(self._token_start(), np.mean(idf) if len(idf) else 0,
                                                "float32"), idf])
            self._input_idf = idf
        self._frozen_size = self.vocabulary_size()

    def _adapt_rows(self, batch):
        """The token rows of one adapt batch (a rank 0 or 1 batch is one row)."""
        array = np.asarray(batch, dtype=object)
        if array.ndim < 2:
            array = array.reshape(1, -1)
        return [[self._token(v) for v in row] for row in array.reshape(array.shape[0], -1)]

    # ---- the lookup ----
    def _depth(self):
        return self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()

    def _idf_weights(self):
        idf = self._idf
        if self.pad_to_max_tokens:
            idf = np.pad(idf, (0, self.max_tokens - len(idf)))
        return idf

    def _index_of(self, token, table):
        """The index of one token: the mask, the vocabulary, or an OOV index."""
        if self.mask_token is not None and token == self.mask_token:
            return 0 if self.output_mode == "int" else -1  # a mask counts for nothing when encoded
        index = table.get(token)
        if index is not None:
            return index
        if self.num_oov_indices == 0:
            raise ValueError(f"When `num_oov_indices=0` all inputs should be in vocabulary, found OOV values "
                             f"[{token!r}], consider setting `num_oov_indices=1`.")
        return self._oov_start() + (self._oov_bucket(token) if self.num_oov_indices > 1 else 0)

    def _table(self):
        start = self._token_start()
        return {t: i + start for i, t in enumerate(self._tokens)}

    def _check_ready(self):
        if self.output_mode != "int" and not self.pad_to_max_tokens and not self._tokens:
            raise RuntimeError(f"When using `output_mode={self.output_mode}` and `pad_to_max_tokens=False`, you "
                               "must set the layer's vocabulary before calling it. Either pass a `vocabulary` "
                               "argument to the layer, or call `adapt` with some sample data.")

    def _lookup(self, values):
        """Indices of `values` (numpy, any shape) in Python, the host path."""
        self._check_ready()
        array = np.asarray(values, dtype=object)
        if self.invert:
            vocab = self.get_vocabulary()
            out = [vocab[int(i)] if 0 <= int(i) < len(vocab) else self.oov_token for i in array.ravel()]
            if self.mask_token is not None:
                out = [self.mask_token if int(i) == 0 else t for i, t in zip(array.ravel(), out)]
            return self._output_tokens(out, array.shape)
        table = self._table()
        indices = np.asarray([self._index_of(self._token(v), table) for v in array.ravel()], "int64")
        indices = indices.reshape(array.shape)
        if self.output_mode == "int":
            return indices
        idf = self._idf_weights() if self.output_mode == "tf_idf" else None
        return np.asarray(_encode(indices, self.output_mode, self._depth(), idf_weights=idf))

    def get_config(self):
        vocabulary = self._input_vocabulary if self._has_input_vocabulary else (self._tokens or None)
        idf = self._input_idf if self.output_mode == "tf_idf" else None
        return {**super().get_config(), "dtype": "int64" if self.output_mode == "int" else "float32",
                "invert": self.invert, "max_tokens": self.max_tokens, "num_oov_indices": self.num_oov_indices,
                "oov_token": self.oov_token, "mask_token": self.mask_token, "output_mode": self.output_mode,
                "sparse": self.sparse, "pad_to_max_tokens": self.pad_to_max_tokens,
                "idf_weights": None if idf is None else [float(w) for w in idf],
                "vocabulary": None if vocabulary is None else list(vocabulary),
                "vocabulary_size": self._frozen_size}


class StringLookup(_IndexLookup, _HostLayer):
    """Maps strings to integer indices of a vocabulary (or back, with `invert=True`), as Keras's StringLookup.

    Args:
        max_tokens: the most indices (special ones included) `adapt` may make.
        num_oov_indices: OOV indices; with several, an unknown string goes to
            `Fingerprint64(string) % num_oov_indices` (TensorFlow's hash).
        mask_token: a token for index 0 (in "int" mode), dropped in the other modes.
        oov_token: the token of the OOV indices in `get_vocabulary` and `invert`.
        vocabulary: a list of strings or a file with one per line; or call `adapt(data)`.
        output_mode: "int", "one_hot", "multi_hot", "count" or "tf_idf" (with `idf_weights`).

    Runs eagerly on numpy/str inputs and returns numpy arrays (see the module docstring); the
    vocabulary is written into the config, so `.h5` files carry it (an adapted one too).
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]", vocabulary=None,
                 idf_weights=None, encoding="utf-8", invert=False, output_mode="int", sparse=False,
                 pad_to_max_tokens=False, **kwargs):
        kwargs.pop("vocabulary_dtype", None)
        self.encoding = encoding
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary, idf_weights, invert,
                         output_mode, sparse, pad_to_max_tokens, **kwargs)

    def _token(self, value):
        if isinstance(value, bytes):
            return value.decode(self.encoding)
        if not isinstance(value, str):
            raise ValueError(f"StringLookup '{self.name}' expects strings; received {value!r} "
                             f"({type(value).__name__}).")
        return value

    def _oov_bucket(self, token):
        return fingerprint64(token.encode(self.encoding)) % self.num_oov_indices

    def _output_tokens(self, tokens, shape):
        return np.asarray(tokens, dtype=object).reshape(shape)

    def _host_call(self, inputs):
        return self._lookup(inputs)

    def get_config(self):
        return {**super().get_config(), "encoding": self.encoding}


class IntegerLookup(_IndexLookup):
    """Maps integers to indices of a vocabulary (or back, with `invert=True`), as Keras's IntegerLookup.

    The same arguments as StringLookup, with integer tokens (`oov_token=-1`); an unknown
    integer goes to `value % num_oov_indices` among several OOV indices. The lookup is a JAX
    function of the (constant) vocabulary, so this layer also runs inside a compiled model.
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1, vocabulary=None,
                 vocabulary_dtype="int64", idf_weights=None, invert=False, output_mode="int", sparse=False,
                 pad_to_max_tokens=False, **kwargs):
        if vocabulary_dtype not in ("int64", "int32"):
            raise ValueError(f"IntegerLookup `vocabulary_dtype` must be an integer dtype; received "
                             f"{vocabulary_dtype!r}.")
        self.vocabulary_dtype = vocabulary_dtype
        super().__init__(max_tokens, num_oov_indices, None if mask_token is None else int(mask_token),
                         int(oov_token), vocabulary, idf_weights, invert, output_mode, sparse,
                         pad_to_max_tokens, **kwargs)

    def _token(self, value):
        if isinstance(value, (str, bytes)) or not float(value).is_integer():
            raise ValueError(f"IntegerLookup '{self.name}' expects integers; received {value!r}.")
        return int(value)

    def _oov_bucket(self, token):
        return token % self.num_oov_indices

    def _output_tokens(self, tokens, shape):
        return np.asarray(tokens, "int64").reshape(shape)

    def __call__(self, inputs, *args, **kwargs):
        """On arrays, the host lookup: exact int64 tokens (JAX holds int32) and tf.keras's int64 outputs;
        on symbolic inputs, the JAX lookup that a compiled model runs."""
        if _is_symbolic(inputs) or isinstance(inputs, jax.Array) or args or kwargs.get("training"):
            return super().__call__(inputs, *args, **kwargs)
        return self._lookup(np.asarray(inputs))

    def init(self, key, input_shape):
        return {}, {}

    def apply(self, params, state, inputs, *, training=False, key=None):
        self._check_ready()
        x = jnp.asarray(inputs).astype("int32")
        vocab = jnp.asarray(self.get_vocabulary(), "int32")
        if self.invert:
            tokens = jnp.where((x >= 0) & (x < vocab.shape[0]), vocab[jnp.clip(x, 0, vocab.shape[0] - 1)],
                               self.oov_token)
            return (tokens if self.mask_token is None else jnp.where(x == 0, self.mask_token, tokens)), state
        indices = self._jax_indices(x)
        if self.output_mode == "int":
            return indices, state
        idf = self._idf_weights() if self.output_mode == "tf_idf" else None
        return _encode(indices, self.output_mode, self._depth(), idf_weights=idf), state

    def _jax_indices(self, x):
        start = self._token_start()
        if not self._tokens:
            index = jnp.full(x.shape, -1, "int32")
        else:
            tokens = np.asarray(self._tokens, "int64")
            order = np.argsort(tokens, kind="stable")
            sorted_tokens = jnp.asarray(tokens[order], "int32")
            pos = jnp.clip(jnp.searchsorted(sorted_tokens, x), 0, len(tokens) - 1)
            index = jnp.where(sorted_tokens[pos] == x, jnp.asarray(order, "int32")[pos] + start, -1)
        if self.num_oov_indices == 1:
            index = jnp.where(index < 0, self._oov_start(), index)
        elif self.num_oov_indices > 1:
            index = jnp.where(index < 0, jnp.mod(x, self.num_oov_indices) + self._oov_start(), index)
        elif not isinstance(x, jax.core.Tracer) and bool(jnp.any(index < 0)):
            raise ValueError("When `num_oov_indices=0` all inputs should be in vocabulary, found OOV values "
                             f"{np.asarray(x)[np.asarray(index) < 0].tolist()}, consider setting "
                             "`num_oov_indices=1`.")
        if self.mask_token is not None:
            index = jnp.where(x == self.mask_token, 0 if self.output_mode == "int" else -1, index)
        return index

    def get_config(self):
        return {**super().get_config(), "vocabulary_dtype": self.vocabulary_dtype}


_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = ("whitespace", "character")


class TextVectorization(_HostLayer):
    """Turns raw strings into token indices (or multi-hot/count/tf-idf vectors), as Keras's TextVectorization.

    Each string is standardized (`standardize`: "lower_and_strip_punctuation", "lower",
    "strip_punctuation", None or a callable on a `str`), split (`split`: "whitespace",
    "character", None or a callable returning a list of tokens), extended with `ngrams`
    (an int n for 1..n, or a tuple of widths; joined by spaces) and looked up in a
    StringLookup whose index 0 is the mask token "" and 1 the OOV token "[UNK]".

    Args:
        max_tokens: the vocabulary's size limit for `adapt`.
        output_mode: "int" (rows padded with 0 to `output_sequence_length`, or to the
            longest row), "multi_hot", "count" or "tf_idf".
        vocabulary, idf_weights: a fixed vocabulary instead of `adapt(data)`.

    Runs eagerly on numpy/str inputs `(batch,)` or `(batch, 1)` and returns numpy arrays (see
    the module docstring).
    """

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace", ngrams=None,
                 output_mode="int", output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", **kwargs):
        kwargs.pop("vocabulary_size", None)
        super().__init__(**_output_dtype_argument(kwargs))
        if not (standardize is None or standardize in _STANDARDIZE or callable(standardize)):
            raise ValueError(f"`standardize` must be one of {(None,) + _STANDARDIZE} or a callable; received "
                             f"standardize={standardize!r}.")
        if not (split is None or split in _SPLIT or callable(split)):
            raise ValueError(f"`split` must be one of {(None,) + _SPLIT} or a callable; received split={split!r}.")
        if not (ngrams is None or (isinstance(ngrams, int) and ngrams > 0) or (
                isinstance(ngrams, (tuple, list)) and all(isinstance(n, int) and n > 0 for n in ngrams))):
            raise ValueError(f"`ngrams` must be None, an integer, or a tuple of integers. Received: ngrams={ngrams}")
        output_mode = _check_mode(output_mode, ("int", "multi_hot", "count", "tf_idf"), self)
        if output_sequence_length is not None and output_mode != "int":
            raise ValueError("`output_sequence_length` must not be set if `output_mode` is not 'int'. Received "
                             f"output_sequence_length={output_sequence_length}.")
        if ragged or sparse:
            raise ValueError("TextVectorization(ragged=True or sparse=True): jkeras has no ragged or sparse "
                             "tensors; use output_sequence_length to pad.")
        self._standardize, self._split, self._ngrams_arg = standardize, split, ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else (
            None if ngrams is None else tuple(ngrams))
        self._output_mode, self._output_sequence_length = output_mode, output_sequence_length
        self._encoding = encoding
        self._lookup_layer = StringLookup(max_tokens=max_tokens, mask_token="", oov_token="[UNK]",
                                          vocabulary=vocabulary, idf_weights=idf_weights, encoding=encoding,
                                          output_mode=output_mode, pad_to_max_tokens=pad_to_max_tokens,
                                          name=f"{self.name}_lookup")

    def _tokens(self, text):
        """One string's tokens: standardized, split and n-grammed."""
        if self._standardize in ("lower", "lower_and_strip_punctuation"):
            text = text.translate(_ASCII_LOWER)
        if self._standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            text = _STRIP_REGEX.sub("", text)
        if callable(self._standardize):
            text = self._standardize(text)
        if self._split is None:
            tokens = [text]
        elif self._split == "whitespace":
            tokens = text.split()
        elif self._split == "character":
            tokens = list(text)
        else:
            tokens = list(self._split(text))
        if self._ngrams is not None:
            tokens = [" ".join(tokens[i:i + n]) for n in self._ngrams for i in range(len(tokens) - n + 1)]
        return tokens

    def _rows(self, inputs):
        texts = _strings(inputs, self._encoding)
        if texts.ndim == 2 and texts.shape[-1] == 1:
            texts = texts[:, 0]
        if texts.ndim > 1:
            raise ValueError("When using `TextVectorization` to tokenize strings, the input rank must be 1 or the "
                             f"last shape dimension must be 1. Received: inputs.shape={texts.shape} with "
                             f"rank={texts.ndim}")
        return [self._tokens(t) for t in np.atleast_1d(texts)], texts.ndim == 0

    def adapt(self, data, batch_size=None, steps=None):
        """Learn the vocabulary (and tf-idf weights) from raw strings."""
        self._lookup_layer._learn([row for batch in _batches(data, steps) for row in self._rows(batch)[0]])

    def _host_call(self, inputs):
        lookup = self._lookup_layer
        if self._split is None and self._ngrams is None and self._output_mode == "int":
            texts = _strings(inputs, self._encoding)  # each string is one token: the shape is kept
            return lookup._lookup(np.vectorize(lambda t: self._tokens(t)[0], otypes=[object])(texts))
        rows, scalar = self._rows(inputs)
        if self._output_mode != "int":
            lookup._check_ready()
            table = lookup._table()
            depth = lookup._depth()
            idf = lookup._idf_weights() if self._output_mode == "tf_idf" else None
            out = np.zeros((len(rows), depth), "float32")
            for r, row in enumerate(rows):
                indices = [lookup._index_of(t, table) for t in row]
                if indices:
                    out[r] = np.asarray(_encode(np.asarray(indices), self._output_mode, depth, idf_weights=idf))
            return out[0] if scalar else out
        table = lookup._table()
        indexed = [[lookup._index_of(t, table) for t in row] for row in rows]
        length = self._output_sequence_length or max([len(r) for r in indexed] + [0])
        out = np.zeros((len(indexed), length), "int64")
        for r, row in enumerate(indexed):
            out[r, :min(len(row), length)] = row[:length]
        return out[0] if scalar else out

    def get_vocabulary(self, include_special_tokens=True):
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self):
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None):
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights)

    def get_config(self):
        lookup = self._lookup_layer
        config = lookup.get_config()
        if not callable(self._standardize) and not callable(self._split):
            standardize, split = self._standardize, self._split
        else:
            raise ValueError("TextVectorization with a callable `standardize` or `split` has no config: "
                             "register the callable and pass its name, or rebuild the layer in code.")
        return {**Layer.get_config(self), "dtype": "string", "max_tokens": lookup.max_tokens,
                "standardize": standardize, "split": split, "ngrams": self._ngrams_arg,
                "output_mode": self._output_mode, "output_sequence_length": self._output_sequence_length,
                "pad_to_max_tokens": lookup.pad_to_max_tokens, "sparse": False, "ragged": False,
                "vocabulary": config["vocabulary"], "idf_weights": config["idf_weights"],
                "encoding": self._encoding, "vocabulary_size": self.vocabulary_size()}

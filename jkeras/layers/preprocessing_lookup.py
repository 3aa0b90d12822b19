"""The vocabulary lookups `StringLookup` and `IntegerLookup`: a vocabulary (given or adapted) maps
values to indices, with tf.keras 2's OOV and mask indices, inverse lookup and output modes.
"""
import collections

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.layers.base import Layer
from jkeras.layers.preprocessing_hash import fingerprint64
from jkeras.layers.preprocessing_categorical import (_HostLayer, _MODES, _batches, _check_mode, _encode,
                                                     _is_symbolic, _output_dtype_argument)


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

"""`TextVectorization`: standardize, split and n-gram strings, then look the tokens up in a
vocabulary (a `StringLookup`), with tf.keras 2's tokens and output modes.
"""
import re

import numpy as np

from jkeras.layers.base import Layer
from jkeras.layers.preprocessing_categorical import (_HostLayer, _batches, _check_mode, _encode,
                                                     _output_dtype_argument)
from jkeras.layers.preprocessing_lookup import StringLookup


_STRIP_REGEX = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
# `tf.strings.lower` as TextVectorization calls it (no encoding) lowercases ASCII letters only
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _strings(values, encoding="utf-8"):
    """`values` (str, bytes, nested lists or arrays of them) as a numpy array of `str`."""
    array = np.asarray(values, dtype=object)
    flat = [v.decode(encoding) if isinstance(v, bytes) else v for v in array.ravel()]
    if not all(isinstance(v, str) for v in flat):
        raise ValueError(f"Expected string inputs; received values of types "
                         f"{sorted({type(v).__name__ for v in flat})}.")
    return np.asarray(flat, dtype=object).reshape(array.shape)


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

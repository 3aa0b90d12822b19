"""The hashing layers `Hashing` and `HashedCrossing`: TensorFlow's bins for strings and integers
(FarmHash fingerprints, or SipHash with a salt; the hash functions are in `preprocessing_hash`).
"""
import numpy as np

from jkeras.layers.preprocessing_hash import fingerprint64, siphash
from jkeras.layers.preprocessing_categorical import _HostLayer, _check_mode, _encode, _output_dtype_argument


_MASK64 = (1 << 64) - 1


def _hash_text(value):
    """The bytes TensorFlow hashes for a value: a string's UTF-8, an integer's decimal form."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value)).encode("ascii")
    raise ValueError(f"Hashing takes strings or integers; received {value!r} ({type(value).__name__}).")


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

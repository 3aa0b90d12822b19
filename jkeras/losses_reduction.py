"""How a loss's per-sample values become one value, as Keras 3's `keras/src/losses/loss.py`
does it: ranks aligned, sample weights and masks merged, and Keras's reductions. Shared by
the losses, the metrics and the trainer."""
import jax.numpy as jnp

from jkeras.backend import config

REDUCTIONS = ("sum_over_batch_size", "sum", "none", None, "mean", "mean_with_sample_weight")


class Reduction:
    """tf.keras 2's names for the reductions a `Loss` takes (`tf.keras.losses.Reduction`)."""

    AUTO = "auto"
    NONE = "none"
    SUM = "sum"
    SUM_OVER_BATCH_SIZE = "sum_over_batch_size"

    @classmethod
    def all(cls):
        return (cls.AUTO, cls.NONE, cls.SUM, cls.SUM_OVER_BATCH_SIZE)

    @classmethod
    def validate(cls, key):
        if key not in cls.all():
            raise ValueError(f'Invalid Reduction Key: {key}. Expected keys are "{cls.all()}"')


def upcast_half(x):
    """`x` in float32 if it holds float16/bfloat16 values, else as it is: losses and metrics
    reduce in float32, where a mixed precision model's square of 300 does not overflow."""
    x = jnp.asarray(x)
    if jnp.issubdtype(x.dtype, jnp.floating) and x.dtype.itemsize < 4:
        return x.astype(jnp.float32)
    return x


def as_float(x, dtype=None):
    """`x` as an array of `dtype`, or as floats of at least 32 bits (floatx unless already floating)."""
    x = jnp.asarray(x)
    if dtype is not None:
        return x.astype(dtype)
    return upcast_half(x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(config.floatx()))


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Squeeze or expand the last dim of one of two arrays whose ranks differ by one, as Keras does."""
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1 and expand_rank_1:
            x2 = jnp.expand_dims(x2, -1)
        else:
            x1 = jnp.squeeze(x1, -1)
    elif x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        if x1.ndim == 1 and expand_rank_1:
            x1 = jnp.expand_dims(x1, -1)
        else:
            x2 = jnp.squeeze(x2, -1)
    return x1, x2


def standardize_reduction(reduction):
    if reduction == "auto":  # tf.keras's name for the default
        return "sum_over_batch_size"
    if reduction not in REDUCTIONS:
        raise ValueError(f"Invalid value for argument `reduction`. Expected one of {REDUCTIONS}. "
                         f"Received: reduction={reduction!r}")
    return reduction


def div_no_nan(x, y):
    """`x / y`, and 0 where `y` is 0."""
    return jnp.where(y == 0, 0.0, x / jnp.where(y == 0, 1.0, y))


def apply_mask(sample_weight, mask, reduction, dtype):
    """Merge a boolean mask into the sample weights, as Keras's `apply_mask`."""
    if mask is None:
        return sample_weight
    if reduction in ("mean", "sum_over_batch_size"):
        # Valid entries weigh total/valid, so the batch mean becomes a mean over valid entries.
        scale = div_no_nan(jnp.asarray(mask.size, dtype), jnp.sum(mask.astype(dtype)))
        float_mask = jnp.where(mask, scale, 0.0).astype(dtype)
    else:
        float_mask = mask.astype(dtype)
    if sample_weight is None:
        return float_mask
    float_mask, sample_weight = squeeze_or_expand_to_same_rank(float_mask, jnp.asarray(sample_weight, dtype))
    return sample_weight * float_mask


def reduce_weighted_values(values, sample_weight=None, mask=None, reduction="sum_over_batch_size",
                           dtype=None):
    """Weight per-sample `values` and reduce them, as Keras's `Loss.__call__` does.

    Sample weights with fewer dims than `values` (per-sample weights of a
    per-timestep loss) are broadcast over the trailing dims.
    """
    reduction = standardize_reduction(reduction)
    values = as_float(values, dtype)
    sample_weight = apply_mask(sample_weight, mask, reduction, values.dtype)
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(values, jnp.asarray(sample_weight, values.dtype))
        sample_weight = jnp.reshape(sample_weight, sample_weight.shape
                                    + (1,) * max(values.ndim - sample_weight.ndim, 0))
        values = values * sample_weight
    if reduction in (None, "none") or values.shape in ((), (0,)):
        return values
    total = jnp.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        return div_no_nan(total, jnp.sum(sample_weight))
    return div_no_nan(total, jnp.asarray(values.size, total.dtype))

"""Regression metrics: squared, absolute, percentage and logarithmic errors, log-cosh, cosine
similarity, root mean squared error and mean relative error.
"""
import jax.numpy as jnp
import numpy as np

from jkeras.backend.naming import unique_name
from jkeras.losses import (cosine_similarity, log_cosh, mean_absolute_error, mean_absolute_percentage_error,
                           mean_squared_error, mean_squared_logarithmic_error,
                           squeeze_or_expand_to_same_rank)
from jkeras.metrics.base import Mean, MeanMetricWrapper
from jkeras.losses_reduction import div_no_nan


class MeanSquaredError(MeanMetricWrapper):
    """Mean squared error between labels and predictions."""

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """Mean absolute error between labels and predictions."""

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """Mean absolute percentage error between labels and predictions."""

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """Mean squared logarithmic error between labels and predictions."""

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, name=name, dtype=dtype)


class LogCoshError(MeanMetricWrapper):
    """Mean of the logarithm of the hyperbolic cosine of the error."""

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(log_cosh, name=name, dtype=dtype)


def _positive_cosine_similarity(y_true, y_pred, axis=-1):
    return -cosine_similarity(y_true, y_pred, axis=axis)


class CosineSimilarity(MeanMetricWrapper):
    """Mean cosine similarity between labels and predictions (1 means same direction)."""

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(_positive_cosine_similarity, name=name, dtype=dtype, axis=axis)


class RootMeanSquaredError(Mean):
    """Square root of the (weighted) mean squared error."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update(self, state, y_true, y_pred, sample_weight=None):
        y_true, y_pred = squeeze_or_expand_to_same_rank(jnp.asarray(y_true, self.dtype),
                                                        jnp.asarray(y_pred, self.dtype))
        return super().update(state, jnp.square(y_pred - y_true), sample_weight)

    def _result(self, state):
        return jnp.sqrt(super()._result(state))


class MeanRelativeError(Mean):
    """Mean of `|y_true - y_pred| / normalizer` (0 where the normalizer is 0)."""

    def __init__(self, normalizer, name=None, dtype=None):
        super().__init__(name=name or unique_name("mean_relative_error"), dtype=dtype)
        self.normalizer = np.asarray(normalizer, self.dtype)

    def update(self, state, y_true, y_pred, sample_weight=None):
        y_pred, y_true = squeeze_or_expand_to_same_rank(jnp.asarray(y_pred, self.dtype),
                                                        jnp.asarray(y_true, self.dtype))
        if y_pred.shape != y_true.shape:
            raise ValueError(f"MeanRelativeError needs y_true and y_pred of one shape; received "
                             f"{y_true.shape} and {y_pred.shape}.")
        errors = div_no_nan(jnp.abs(y_true - y_pred), jnp.broadcast_to(self.normalizer, y_pred.shape))
        return super().update(state, errors, sample_weight)

    def get_config(self):
        return {**super().get_config(), "normalizer": self.normalizer.tolist()}

"""Keras metrics as pure state machines that the trainer compiles.

Every metric is an object holding only its configuration; its running values
live in a state pytree (a dict of float arrays named like Keras's metric
variables):

    state = metric.init()
    state = metric.update(state, y_true, y_pred, sample_weight=None)   # jittable
    value = metric.result(state)

A sample weight of 0 means the sample does not count (the trainer masks
padded rows this way); `Mean`-based metrics compute `sum(value * w) / sum(w)`.
`update_state`, `result()` and `reset_state` give Keras's stateful facade on
top for eager use. Numerics follow Keras 3 (`keras/src/metrics`).

    >>> m = BinaryAccuracy()
    >>> s = jax.jit(m.update)(m.init(), jnp.array([1, 0]), jnp.array([0.9, 0.8]))
    >>> float(m.result(s))
    0.5
"""
from jkeras.metrics.functions import (  # noqa: F401  (exported)
                                      KLD, MAE, MAPE, MSE, MSLE, accuracy, binary_accuracy,
                                      binary_crossentropy, binary_focal_crossentropy, categorical_accuracy,
                                      categorical_crossentropy, categorical_focal_crossentropy,
                                      categorical_hinge, cosine, cosine_proximity, cosine_similarity, hinge,
                                      huber, kl_divergence, kld, kullback_leibler_divergence, log_cosh,
                                      logcosh, mae, mape, mean_absolute_error,
                                      mean_absolute_percentage_error, mean_squared_error,
                                      mean_squared_logarithmic_error, mse, msle, poisson,
                                      sparse_categorical_accuracy, sparse_categorical_crossentropy,
                                      sparse_top_k_categorical_accuracy, squared_hinge,
                                      squeeze_or_expand_to_same_rank, top_k_categorical_accuracy)
from jkeras.metrics.base import (  # noqa: F401  (exported)
                                 Keras2StatefulMetric, Mean, MeanMetricWrapper, MeanTensor, Metric, Sum)
from jkeras.metrics.accuracy_metrics import (  # noqa: F401  (exported)
                                             Accuracy, BinaryAccuracy, CategoricalAccuracy,
                                             SparseCategoricalAccuracy, SparseTopKCategoricalAccuracy,
                                             TopKCategoricalAccuracy)
from jkeras.metrics.regression import (  # noqa: F401  (exported)
                                       CosineSimilarity, LogCoshError, MeanAbsoluteError,
                                       MeanAbsolutePercentageError, MeanRelativeError, MeanSquaredError,
                                       MeanSquaredLogarithmicError, RootMeanSquaredError)
from jkeras.metrics.probabilistic import (  # noqa: F401  (exported)
                                          BinaryCrossentropy, CategoricalCrossentropy, CategoricalHinge,
                                          Hinge, KLDivergence, Poisson, SparseCategoricalCrossentropy,
                                          SquaredHinge)
from jkeras.metrics.confusion import (  # noqa: F401  (exported)
                                      AUC, FalseNegatives, FalsePositives, NEG_INF, Precision,
                                      PrecisionAtRecall, Recall, RecallAtPrecision, SensitivityAtSpecificity,
                                      SpecificityAtSensitivity, TrueNegatives, TruePositives,
                                      confusion_counts)
from jkeras.metrics.iou import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU  # noqa: F401  (exported)
from jkeras.metrics.scores import F1Score, FBetaScore, R2Score  # noqa: F401  (exported)
from jkeras.metrics.lookup import (  # noqa: F401  (exported)
                                   ALL_OBJECTS_DICT, clone_metric, clone_metrics, deserialize, get,
                                   resolve_custom, serialize)

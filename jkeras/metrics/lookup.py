"""Finding metrics: `get` (what a `compile(metrics=...)` entry means), `serialize`/`deserialize`,
the name table `ALL_OBJECTS_DICT`, `clone_metric(s)` and `resolve_custom`.
"""
import inspect
import re

from jkeras import losses
from jkeras.backend.naming import to_snake_case
from jkeras.backend.registry import deserialize_keras_object, get_custom_objects, serialize_keras_object
from jkeras.metrics.accuracy_metrics import (Accuracy, BinaryAccuracy, CategoricalAccuracy,
                                             SparseCategoricalAccuracy, SparseTopKCategoricalAccuracy,
                                             TopKCategoricalAccuracy)
from jkeras.metrics.base import Keras2StatefulMetric, Mean, MeanMetricWrapper, MeanTensor, Metric, Sum
from jkeras.metrics.confusion import (AUC, FalseNegatives, FalsePositives, Precision, PrecisionAtRecall,
                                      Recall, RecallAtPrecision, SensitivityAtSpecificity,
                                      SpecificityAtSensitivity, TrueNegatives, TruePositives)
from jkeras.metrics.functions import _FN_OBJECTS
from jkeras.metrics.iou import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from jkeras.metrics.probabilistic import (BinaryCrossentropy, CategoricalCrossentropy, CategoricalHinge,
                                          Hinge, KLDivergence, Poisson, SparseCategoricalCrossentropy,
                                          SquaredHinge)
from jkeras.metrics.regression import (CosineSimilarity, LogCoshError, MeanAbsoluteError,
                                       MeanAbsolutePercentageError, MeanRelativeError, MeanSquaredError,
                                       MeanSquaredLogarithmicError, RootMeanSquaredError)
from jkeras.metrics.scores import F1Score, FBetaScore, R2Score


_CLASSES = (
    Metric, Sum, Mean, MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy,
    SparseCategoricalAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanSquaredError,
    MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError, LogCoshError,
    CosineSimilarity, RootMeanSquaredError, Hinge, SquaredHinge, CategoricalHinge, KLDivergence, Poisson,
    BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, TruePositives,
    FalsePositives, TrueNegatives, FalseNegatives, Precision, Recall, AUC, IoU, MeanIoU, BinaryIoU,
    OneHotIoU, OneHotMeanIoU, FBetaScore, F1Score, R2Score, SensitivityAtSpecificity,
    SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision, MeanRelativeError, MeanTensor,
)
ALL_OBJECTS_DICT = {
    **{name: obj for name, obj in _FN_OBJECTS.items() if not inspect.isclass(obj)},
    **{cls.__name__: cls for cls in _CLASSES},
    **{to_snake_case(cls.__name__): cls for cls in _CLASSES},
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy, "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError, "mape": MeanAbsolutePercentageError,
    "MAPE": MeanAbsolutePercentageError, "msle": MeanSquaredLogarithmicError,
    "MSLE": MeanSquaredLogarithmicError,
}
# Which metric "accuracy"/"acc" and "crossentropy"/"ce" mean, by `losses.label_kind`.
_BY_KIND = {
    "accuracy": {"binary": BinaryAccuracy, "sparse": SparseCategoricalAccuracy,
                 "categorical": CategoricalAccuracy},
    "crossentropy": {"binary": BinaryCrossentropy, "sparse": SparseCategoricalCrossentropy,
                     "categorical": CategoricalCrossentropy},
}
_BY_KIND.update(acc=_BY_KIND["accuracy"], ce=_BY_KIND["crossentropy"])


def clone_metric(metric):
    """A new `Metric` with the same config (a fresh state); a metric function as it is (Keras 2)."""
    if isinstance(metric, Metric):
        return type(metric).from_config(metric.get_config())
    return metric


def clone_metrics(metrics):
    """`clone_metric` of each metric of a list or dict (Keras 2)."""
    if metrics is None:
        return None
    if isinstance(metrics, dict):
        return {key: clone_metric(value) for key, value in metrics.items()}
    return [clone_metric(metric) for metric in metrics]


def serialize(metric):
    """A metric function's name, or a `Metric` instance's Keras 3 config dict."""
    if isinstance(metric, Metric):
        return serialize_keras_object(metric, "keras.metrics")
    return losses.serialize(metric)


def deserialize(config, custom_objects=None):
    """A metric (class instance or function) from a name or a Keras 3 / tf.keras config dict."""
    return deserialize_keras_object(config, ALL_OBJECTS_DICT, "metric", custom_objects)


def _object_name(obj):
    """Keras 2's name for a metric function or object, as its logs and History keys show it: its
    `name` or `__name__` as written (segmentation-models' `f1-score`, a function `myMetric`), else
    its class's name in snake case. Only a `<lambda>` loses its brackets, as in Keras 3 (tf.keras 2
    keeps them; Keras 3 also drops the `-` and snake-cases every name)."""
    name = getattr(obj, "name", None) or getattr(obj, "__name__", None)
    if not isinstance(name, str):
        return to_snake_case(type(obj).__name__)
    return re.sub(r"[^\w.\-]+", "", name)


def _is_keras2_stateful(obj):
    """A Keras 2.1-2.2 stateful metric: a callable (a `Layer`) with `stateful = True` and `reset_states`."""
    return (not isinstance(obj, (Metric, str, dict, type)) and getattr(obj, "stateful", False) is True
            and callable(obj) and callable(getattr(obj, "reset_states", None)))


def resolve_custom(spec):
    """A `compile(metrics=...)` spec with each entry that names a custom object (a name, or a
    config's `class_name`, in `get_custom_objects()`, as `custom_objects` scopes fill it) replaced
    by that object, named as the entry named it; so the metrics built at the first `fit` find it
    outside the scope (`load_model(..., custom_objects=...)`). Other entries stay as they are."""
    if isinstance(spec, dict) and "class_name" not in spec:
        return {key: resolve_custom(value) for key, value in spec.items()}
    if isinstance(spec, (list, tuple)):
        return type(spec)(resolve_custom(item) for item in spec)
    name = spec.get("class_name") if isinstance(spec, dict) else spec
    if not isinstance(name, str) or name not in get_custom_objects():
        return spec
    metric = deserialize(spec)
    metric = Keras2StatefulMetric(metric) if _is_keras2_stateful(metric) else metric
    if not isinstance(metric, Metric):
        return MeanMetricWrapper(metric, name=spec if isinstance(spec, str) else _object_name(metric))
    if isinstance(spec, str):
        metric.name = spec
    return metric


def get(identifier, y_true_shape=None, y_pred_shape=None, loss=None):
    """The `Metric` a `compile(metrics=[...])` entry means, named as Keras names it in the logs.

    `identifier`: a name, a Keras 3 or tf.keras config dict, a `Metric` class
    or instance, a `Loss` instance, or a function `(y_true, y_pred) ->
    per-sample values` (wrapped in `MeanMetricWrapper`), or a Keras 2 stateful metric layer
    (`Keras2StatefulMetric`). `"accuracy"`/`"acc"`
    and `"crossentropy"`/`"ce"` become the binary, sparse or categorical
    metric that the loss and the target/prediction shapes call for (see
    `jkeras.losses.label_kind`). A name given as a string is the metric's name.
    """
    if identifier is None:
        raise ValueError("Expected a metric, received None.")
    if isinstance(identifier, str) and identifier.lower() in _BY_KIND:
        metric = _BY_KIND[identifier.lower()][losses.label_kind(y_true_shape, y_pred_shape, loss)]()
    else:
        metric = identifier if _is_keras2_stateful(identifier) else deserialize(identifier)
    if _is_keras2_stateful(metric):  # also one named in a file, found in `custom_objects`
        metric = Keras2StatefulMetric(metric)
    if not isinstance(metric, Metric):
        metric = MeanMetricWrapper(metric, name=_object_name(metric))
    if isinstance(identifier, str):
        metric.name = identifier
    if y_pred_shape is not None:
        metric.build(y_true_shape, y_pred_shape)
    return metric

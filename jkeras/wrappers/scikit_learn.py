"""Keras 2's scikit-learn wrappers: a model-building function as a scikit-learn estimator, so it
works in `cross_val_score`, `GridSearchCV` and pipelines.

`build_fn(**params)` returns a compiled model; the keyword arguments given to the wrapper go to
`build_fn`, `fit`, `predict` and `evaluate` by name, as in Keras 2. scikit-learn is optional:
with it installed the wrappers are real scikit-learn estimators (tags, `clone`, `repr`).
"""
import types
import warnings

import numpy as np

from jkeras.models import Sequential
from jkeras.utils.generic_utils import has_arg
from jkeras.utils.np_utils import to_categorical

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
except ImportError:  # the wrappers still work by duck typing
    class BaseEstimator:
        """Stand-in when scikit-learn is not installed."""

    class ClassifierMixin:
        _estimator_type = "classifier"

    class RegressorMixin:
        _estimator_type = "regressor"


def _is_categorical_crossentropy(loss):
    name = loss if isinstance(loss, str) else getattr(loss, "__name__", type(loss).__name__)
    return name in ("categorical_crossentropy", "CategoricalCrossentropy")


class BaseWrapper(BaseEstimator):
    """Holds `build_fn` and the keyword arguments for it and for `fit`/`predict`/`evaluate`."""

    def __init__(self, build_fn=None, **sk_params):
        self.build_fn = build_fn
        self.sk_params = sk_params
        self.check_params(sk_params)

    def _builder(self):
        """The function that builds the model: `build_fn`, its `__call__`, or this class's own."""
        if self.build_fn is None:
            return self.__call__
        if isinstance(self.build_fn, (types.FunctionType, types.MethodType)):
            return self.build_fn
        return self.build_fn.__call__

    def check_params(self, params):
        """Raise ValueError for a parameter that neither the builder nor fit/predict/evaluate takes."""
        legal = [Sequential.fit, Sequential.predict, Sequential.evaluate, self._builder()]
        for name in params:
            if name != "nb_epoch" and not any(has_arg(fn, name) for fn in legal):
                raise ValueError(f"{name} is not a legal parameter")

    def get_params(self, deep=True, **params):
        """`build_fn` and the wrapper's keyword arguments (what `clone` rebuilds it from)."""
        return {**self.sk_params, "build_fn": self.build_fn}

    def set_params(self, **params):
        self.check_params(params)
        build_fn = params.pop("build_fn", self.build_fn)
        self.build_fn = build_fn
        self.sk_params.update(params)
        return self

    def filter_sk_params(self, fn, override=None):
        """The wrapper's keyword arguments that `fn` takes, updated with `override`."""
        out = {k: v for k, v in self.sk_params.items() if has_arg(fn, k)}
        out.update(override or {})
        return out

    def fit(self, x, y, **kwargs):
        """Build a fresh model with `build_fn` and train it; returns the History."""
        build = self._builder()
        self.model = build(**self.filter_sk_params(build))
        y = np.asarray(y)
        if _is_categorical_crossentropy(getattr(self.model, "loss", None)) and y.ndim != 2:
            y = to_categorical(y)
        fit_args = self.filter_sk_params(Sequential.fit)
        if "nb_epoch" in self.sk_params and "epochs" not in fit_args:
            warnings.warn("The `nb_epoch` argument has been renamed `epochs`.")
            fit_args["epochs"] = self.sk_params["nb_epoch"]
        fit_args.update(kwargs)
        return self.model.fit(x, y, **fit_args)


class KerasClassifier(ClassifierMixin, BaseWrapper):
    """A classifier: labels of any kind (mapped to 0..n-1 and back); `score` is the accuracy."""

    def fit(self, x, y, sample_weight=None, **kwargs):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] > 1:
            self.classes_ = np.arange(y.shape[1])
        elif y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1):
            self.classes_ = np.unique(y)
            y = np.searchsorted(self.classes_, y)
        else:
            raise ValueError(f"Invalid shape for y: {y.shape}")
        self.n_classes_ = len(self.classes_)
        if sample_weight is not None:
            kwargs["sample_weight"] = sample_weight
        return super().fit(x, y, **kwargs)

    def predict(self, x, **kwargs):
        """The predicted class labels (in the labels' own kind)."""
        proba = np.asarray(self.model.predict(x, **self.filter_sk_params(Sequential.predict, kwargs)))
        classes = proba.argmax(axis=-1) if proba.shape[-1] > 1 else (proba > 0.5).astype("int32")[..., 0]
        return self.classes_[classes]

    def predict_proba(self, x, **kwargs):
        """Class probabilities `(n, n_classes)`; a single sigmoid output becomes `[1 - p, p]`."""
        probs = np.asarray(self.model.predict(x, **self.filter_sk_params(Sequential.predict, kwargs)))
        return np.hstack([1 - probs, probs]) if probs.shape[1] == 1 else probs

    def score(self, x, y, **kwargs):
        """The model's accuracy on `(x, y)` (it must be compiled with `metrics=['accuracy']`)."""
        y = np.searchsorted(self.classes_, np.asarray(y))
        if _is_categorical_crossentropy(self.model.loss) and y.ndim != 2:
            y = to_categorical(y, len(self.classes_))
        outputs = self.model.evaluate(x, y, **self.filter_sk_params(Sequential.evaluate, kwargs))
        outputs = outputs if isinstance(outputs, list) else [outputs]
        for name, value in zip(self.model.metrics_names, outputs):
            if name in ("accuracy", "acc"):
                return float(value)
        raise ValueError("The model is not configured to compute accuracy. You should pass "
                         '`metrics=["accuracy"]` to the `model.compile()` method.')


class KerasRegressor(RegressorMixin, BaseWrapper):
    """A regressor: `predict` drops a trailing axis of 1; `score` is minus the loss."""

    def predict(self, x, **kwargs):
        preds = np.asarray(self.model.predict(x, **self.filter_sk_params(Sequential.predict, kwargs)))
        return np.squeeze(preds, axis=-1) if preds.shape[-1] == 1 else preds

    def score(self, x, y, **kwargs):
        loss = self.model.evaluate(x, y, **self.filter_sk_params(Sequential.evaluate, kwargs))
        return -float(loss[0] if isinstance(loss, list) else loss)

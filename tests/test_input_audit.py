"""The input audit: every public entry point checks its arguments before changing state.

Each case here is one row of the table in docs/errors.md (its `test` column holds the case's
id), and `test_every_documented_row_has_a_case` keeps the two in step. A case asserts the
exception type and the stable part of the message; the `STATEFUL` cases also assert that
the failed call left the object exactly as it was. Cases marked xfail name a check the
owner of trainer.py, compile_utils.py, the data adapters or the saving package still has
to add; each such xfail's reason is the proposed check.
"""
import importlib.util
import os
import re
import warnings

import numpy as np
import pytest

import jkeras
from jkeras import backend as K
from jkeras import callbacks as cb
from jkeras import errors
from jkeras import layers as L
from jkeras import optimizers as O

DOC = os.path.join(os.path.dirname(__file__), "..", "docs", "errors.md")
X = np.zeros((4, 3), "float32")
Y = np.zeros((4, 2), "float32")
needs_tbx = pytest.mark.skipif(importlib.util.find_spec("tensorboardX") is None,
                               reason="TensorBoard needs tensorboardX")


def lead(what):
    """An xfail for a check the lead (trainer, compile_utils, data, saving) still has to add."""
    return pytest.mark.xfail(strict=True, reason=f"lead: {what}")


def model(compiled=True, **compile_kwargs):
    """A tiny `Sequential`: Input (3,) -> Dense 'd' (2 units)."""
    m = jkeras.Sequential([jkeras.Input((3,)), L.Dense(2, name="d")])
    if compiled:
        m.compile(**{"optimizer": "sgd", "loss": "mse", **compile_kwargs})
    return m


def fit(m=None, x=X, y=Y, **kwargs):
    return (m or model()).fit(x, y, verbose=0, **kwargs)


def two_inputs():
    p, q = jkeras.Input((3,), name="p"), jkeras.Input((3,), name="q")
    return jkeras.Model([p, q], L.Add()([p, q]))


def batches(*shapes):
    """A generator of `(x, y)` batches with the given x shapes."""
    return ((np.zeros(s, "float32"), np.zeros((s[0], 2), "float32")) for s in shapes)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def case(id, call, exc, match, marks=()):
    return pytest.param(call, exc, match, id=id, marks=marks)


CASES = [
    # ---- Input and the Layer base ----
    case("input-no-shape", lambda: jkeras.Input(), ValueError, "Input needs a `shape`"),
    case("input-bad-shape", lambda: jkeras.Input(shape=(-1,)), ValueError,
         r"`shape` must be a tuple of non-negative ints .*received shape=\(-1,\)"),
    case("input-shape-not-ints", lambda: jkeras.Input(shape=(2.5,)), ValueError,
         r"`shape` must be a tuple of non-negative ints"),
    case("input-bad-batch-size", lambda: jkeras.Input((2,), batch_size=0), ValueError,
         r"`batch_size` must be a positive int or None; received batch_size=0"),
    case("layer-bad-dtype", lambda: L.Dense(2, dtype="foo"), ValueError,
         "Cannot convert 'foo' to a dtype policy"),
    case("layer-bad-name", lambda: L.Dense(2, name=""), ValueError,
         "Layer name must be a non-empty string"),
    case("layer-unknown-kwarg", lambda: L.Dense(2, foo=1), TypeError,
         r"Dense got unexpected keyword arguments \['foo'\]"),
    case("layer-bad-input-shape", lambda: L.Dense(2, input_shape=(-1,)), ValueError,
         r"`input_shape` must be a tuple of non-negative ints"),
    case("layer-call-positional", lambda: L.Dense(2)(X, X), TypeError,
         "takes its inputs as one argument"),
    case("layer-wrong-rank", lambda: L.Conv2D(2, 3)(jkeras.Input((5, 5))), ValueError,
         r"Conv2D 'conv2d' expects inputs of rank 4 .*received shape \(None, 5, 5\)"),
    # ---- layer constructors ----
    case("dense-units", lambda: L.Dense(0), ValueError, "Dense `units` must be a positive int; received 0"),
    case("unknown-activation", lambda: L.Dense(2, activation="nope"), ValueError,
         "Unknown activation function 'nope'. Known names:"),
    case("unknown-initializer", lambda: L.Dense(2, kernel_initializer="nope"), ValueError,
         "Unknown initializer 'nope'. Known names:"),
    case("unknown-regularizer", lambda: L.Dense(2, kernel_regularizer="nope"), ValueError,
         "Unknown regularizer 'nope'"),
    case("unknown-constraint", lambda: L.Dense(2, kernel_constraint="nope"), ValueError,
         "Unknown constraint 'nope'"),
    case("conv-filters", lambda: L.Conv2D(0, 3), ValueError, "`filters` must be a positive int"),
    case("conv-kernel-size", lambda: L.Conv2D(4, (3, 3, 3)), ValueError,
         r"The `kernel_size` argument must be an int or a tuple of 2 ints; received kernel_size=\(3, 3, 3\)"),
    case("conv-strides", lambda: L.Conv2D(4, 3, strides=0), ValueError,
         r"The `strides` argument .*but every value must be > 0"),
    case("conv-padding", lambda: L.Conv2D(4, 3, padding="causal"), ValueError,
         r"The `padding` argument must be one of \('valid', 'same'\); received 'causal'"),
    case("conv-data-format", lambda: L.Conv2D(4, 3, data_format="nhwc"), ValueError,
         "data_format must be one of"),
    case("conv-groups", lambda: L.Conv2D(4, 3, groups=3), ValueError,
         "`filters` must be divisible by `groups`"),
    case("pool-size", lambda: L.MaxPooling2D(pool_size=0), ValueError,
         "The `pool_size` argument must be an int or a tuple of 2 ints"),
    case("dropout-rate", lambda: L.Dropout(1.5), ValueError,
         r"Invalid value received for argument `rate`. .*Received: rate=1.5"),
    case("dropout-rate-type", lambda: L.Dropout("a"), TypeError, "Invalid type for argument `rate`"),
    case("noise-stddev", lambda: L.GaussianNoise(-1.0), ValueError,
         "Invalid value received for argument `stddev`"),
    case("rnn-units", lambda: L.LSTM(0), ValueError,
         "Received an invalid value for argument `units`, expected a positive integer, got 0"),
    case("bidirectional-merge-mode", lambda: L.Bidirectional(L.LSTM(2), merge_mode="x"), ValueError,
         "Invalid merge mode. Received: x"),
    case("wrapper-not-a-layer", lambda: L.TimeDistributed(3), ValueError,
         "Please initialize `TimeDistributed` layer with a `jkeras.layers.Layer` instance"),
    case("embedding-dims", lambda: L.Embedding(0, 4), ValueError,
         "`input_dim` must be a positive integer. Received: input_dim=0"),
    case("reshape-target", lambda: L.Reshape((-1, -1)), ValueError,
         "`target_shape` must hold non-negative ints and at most one -1"),
    case("reshape-target-type", lambda: L.Reshape("ab"), ValueError,
         "`target_shape` must be a tuple of ints; received target_shape='ab'"),
    case("reshape-size", lambda: L.Reshape((7,))(jkeras.Input((2, 3))), ValueError,
         r"cannot reshape inputs of shape .* to target_shape=\(7,\)"),
    case("permute-dims", lambda: L.Permute((1, 3)), ValueError,
         "Permute `dims` must be a permutation of 1..2"),
    case("repeat-vector-n", lambda: L.RepeatVector(0), ValueError, "RepeatVector `n` must be a positive int"),
    case("cropping-negative", lambda: L.Cropping2D(-1), ValueError, "`cropping` cannot be negative"),
    case("batchnorm-axis", lambda: L.BatchNormalization(axis="a"), ValueError,
         "BatchNormalization `axis` must be an int"),
    case("merge-not-a-list", lambda: L.Concatenate()(jkeras.Input((2,))), ValueError,
         "A merge layer should be called on a list of inputs"),
    case("concatenate-shapes", lambda: L.Concatenate()([jkeras.Input((2, 3)), jkeras.Input((4, 3))]),
         ValueError, "A `Concatenate` layer requires inputs with matching shapes"),
    case("lambda-not-callable", lambda: L.Lambda(3), ValueError, "Lambda needs a callable `function`"),
    # ---- building models ----
    case("model-inputs-not-tensors", lambda: jkeras.Model(3, 4), ValueError,
         r"Model `inputs` must be symbolic tensors .*received inputs=3"),
    case("model-disconnected",
         lambda: jkeras.Model(jkeras.Input((2,)), L.Dense(2)(jkeras.Input((3,), name="other"))),
         ValueError, "Graph disconnected: the outputs depend on Input 'other'"),
    case("sequential-layers-type", lambda: jkeras.Sequential(3), TypeError,
         "Sequential `layers` must be a list of layers; received int"),
    case("sequential-add-type", lambda: model(False).add(3), TypeError,
         "Sequential.add expects a Layer; received int"),
    case("sequential-add-duplicate", lambda: model(False).add(L.Dense(2, name="d")), ValueError,
         "All layers in a Sequential model must have unique names"),
    case("sequential-pop-empty", lambda: jkeras.Sequential().pop(), TypeError,
         "There are no layers in the model to pop"),
    case("get-layer-unknown", lambda: model(False).get_layer("nope"), ValueError,
         r"No such layer: 'nope'. Existing layers are: \['d'\]"),
    case("get-layer-index-range", lambda: model(False).get_layer(index=5), ValueError,
         "Asked for layer index 5, but the model has only 1 layers"),
    case("get-layer-neither", lambda: model(False).get_layer(), ValueError,
         "Provide either a layer name or layer index"),
    case("get-layer-both", lambda: model(False).get_layer("d", index=0), ValueError,
         "Pass either `name` or `index` to get_layer, not both"),
    case("get-layer-index-type", lambda: model(False).get_layer(index="a"), TypeError,
         "get_layer `index` must be an int; received 'a'"),
    # ---- compile ----
    case("compile-unknown-optimizer", lambda: model(optimizer="nope"), ValueError,
         "Unknown optimizer 'nope'. Known names: adadelta"),
    case("compile-optimizer-type", lambda: model(optimizer=3), ValueError,
         "Could not interpret optimizer identifier: 3"),
    case("compile-no-loss", lambda: model(loss=None), ValueError, r"compile\(\) needs a `loss`"),
    case("compile-unknown-loss", lambda: model(loss="nope"), ValueError, "Unknown loss 'nope'"),
    case("compile-unknown-metric", lambda: model(metrics=["nope"]), ValueError, "Unknown metric 'nope'"),
    case("compile-loss-list-length", lambda: model(loss=["mse", "mse"]), ValueError,
         r"The model has 1 outputs \['d'\], but `loss` is a list of 2"),
    case("compile-loss-unknown-output", lambda: model(loss={"zz": "mse"}), ValueError,
         r"loss given for unknown outputs \['zz'\]"),
    case("compile-loss-weights-length", lambda: model(loss_weights=[1.0, 2.0]), ValueError,
         "`loss_weights` has 2 entries for 1 outputs"),
    case("compile-loss-weights-type", lambda: model(loss_weights="a"), ValueError,
         "`loss_weights` must be a number, a list or a dict"),
    case("compile-loss-weights-unknown-output", lambda: model(loss_weights={"zz": 1.0}), ValueError,
         r"loss_weights given for unknown outputs \['zz'\]"),
    case("compile-unknown-kwarg", lambda: model(foo=1), TypeError,
         r"compile\(\) got unexpected keyword arguments \['foo'\]"),
    case("compile-steps-per-execution", lambda: model(steps_per_execution=0), ValueError,
         "steps_per_execution must be a positive int; received 0"),
    # ---- fit / evaluate / predict / *_on_batch ----
    case("fit-not-compiled", lambda: fit(model(False)), RuntimeError,
         r"You must compile the model before calling fit\(\)"),
    case("fit-no-x", lambda: fit(x=None), ValueError, "No input data: pass `x`"),
    case("fit-no-y", lambda: fit(y=None), ValueError, "Training and evaluation need targets: pass `y`"),
    case("fit-x-shape", lambda: fit(x=np.zeros((4, 5))), ValueError,
         r"Input 'input_layer' of model 'sequential' expects shape \(None, 3\); received \(4, 5\)"),
    case("fit-input-count", lambda: fit(x=[X, X]), ValueError,
         r"Model 'sequential' expects 1 input\(s\) \['input_layer'\]; received 2"),
    case("predict-dict-missing", lambda: two_inputs().predict({"p": X}), ValueError,
         r"expects inputs named \['p', 'q'\]; missing \['q'\]"),
    case("fit-x-type", lambda: fit(x="abc"), TypeError,
         "Expected numpy or jax arrays as model data; received str"),
    case("fit-sample-count", lambda: fit(y=Y[:3]), ValueError,
         r"Input arrays and target arrays must have the same number of samples; x sizes: \[4\], y sizes: \[3\]"),
    case("fit-sample-weight-count", lambda: fit(sample_weight=np.ones(3)), ValueError,
         "All input arrays must have the same number of samples"),
    case("fit-batch-size", lambda: fit(batch_size=0), ValueError, "batch_size must be a positive int; received 0"),
    case("fit-fixed-batch-size", lambda: fit(_fixed_batch_model(), batch_size=2), ValueError,
         "has a fixed batch size of 4"),
    case("fit-validation-split", lambda: fit(validation_split=1.5), ValueError,
         r"validation_split must be in \[0, 1\); received 1.5"),
    case("fit-validation-split-empty", lambda: fit(x=X[:1], y=Y[:1], validation_split=0.5), ValueError,
         "leaves an empty training or validation set"),
    case("fit-validation-split-generator", lambda: fit(x=batches((2, 3)), y=None, validation_split=0.5),
         ValueError, "validation_split needs array data"),
    case("fit-validation-data", lambda: fit(validation_data=(X,)), ValueError,
         r"validation_data must be a tuple \(x_val, y_val\)"),
    case("fit-callbacks-item", lambda: fit(callbacks=[3]), TypeError,
         "callbacks must be jkeras.callbacks.Callback instances; received int"),
    case("fit-callbacks-type", lambda: fit(callbacks=3), TypeError,
         "callbacks must be a list of jkeras.callbacks.Callback instances; received int"),
    case("fit-unknown-kwarg", lambda: fit(foo=1), TypeError, r"fit\(\) got unexpected keyword arguments"),
    case("fit-target-shape-crossentropy", lambda: fit(model(loss="categorical_crossentropy"), y=np.zeros((4, 7))),
         ValueError, "`y_true` and `y_pred` must have the same shape"),
    case("fit-target-shape", lambda: fit(y=np.zeros((4, 7))), ValueError,
         r"Targets for output 'd' have shape \(4, 7\)"),
    case("fit-sample-weight-shape", lambda: fit(sample_weight=np.ones((4, 5))), ValueError,
         r"sample_weight for output 'd' must have shape \(4,\)"),
    case("fit-epochs", lambda: fit(epochs="a"), ValueError, "epochs must be a non-negative int; received 'a'"),
    case("fit-initial-epoch", lambda: fit(initial_epoch=-1), ValueError,
         "initial_epoch must be a non-negative int; received -1"),
    case("fit-steps-per-epoch", lambda: fit(steps_per_epoch=0), ValueError,
         "steps_per_epoch must be a positive int or None; received 0"),
    case("fit-validation-freq", lambda: fit(validation_data=(X, Y), validation_freq=0), ValueError,
         "validation_freq must be a positive int; received 0"),
    case("fit-validation-split-type", lambda: fit(validation_split="a"), ValueError,
         r"validation_split must be in \[0, 1\); received 'a'"),
    case("fit-class-weight", lambda: fit(class_weight=3), TypeError,
         r"class_weight must be a dict \{class index: weight\}; received int"),
    case("fit-x-dtype", lambda: fit(x=np.array([["a"] * 3] * 4)), ValueError,
         "Input 'input_layer' has dtype <U1; model data must be numeric"),
    case("fit-no-samples", lambda: fit(x=X[:0], y=Y[:0]), ValueError, r"fit\(\) received no samples"),
    case("evaluate-unknown-kwarg", lambda: model().evaluate(X, Y, verbose=0, foo=1), TypeError,
         r"evaluate\(\) got unexpected keyword arguments \['foo'\]"),
    case("evaluate-x-shape", lambda: model().evaluate(np.zeros((4, 5)), Y, verbose=0), ValueError,
         r"expects shape \(None, 3\); received \(4, 5\)"),
    case("predict-x-shape", lambda: model().predict(np.zeros((4, 5))), ValueError,
         r"expects shape \(None, 3\); received \(4, 5\)"),
    case("predict-no-samples", lambda: model().predict(X[:0]), ValueError, r"predict\(\) received no samples"),
    case("train-on-batch-no-y", lambda: model().train_on_batch(X), ValueError,
         "Training and evaluation need targets"),
    case("test-on-batch-sample-count", lambda: model().test_on_batch(X, Y[:3]), ValueError,
         "must have the same number of samples"),
    case("predict-on-batch-x-shape", lambda: model().predict_on_batch(np.zeros((4, 5))), ValueError,
         r"expects shape \(None, 3\); received \(4, 5\)"),
    case("generator-bad-batch", lambda: fit(x=batches((2, 3), (2, 5)), y=None, steps_per_epoch=2),
         ValueError, r"Batch 1 of the data source is not a valid batch: .*received \(2, 5\)"),
    case("generator-empty", lambda: model().fit_generator(iter([]), steps_per_epoch=1, verbose=0),
         ValueError, "The generator yielded no batches"),
    case("fit-generator-type", lambda: model().fit_generator(3, steps_per_epoch=1, verbose=0), TypeError,
         "Expected numpy or jax arrays as model data; received int"),
    # ---- files ----
    case("save-path-type", lambda: model().save(3), TypeError,
         r"save\(\) needs a file path \(a str or os.PathLike\) as `filepath`; received int"),
    case("save-keras-zip", lambda: model().save("m.keras"), ValueError,
         "cannot write Keras 3's `.keras` zip format"),
    case("save-weights-format", lambda: model().save_weights("w.txt"), ValueError,
         r"save_weights\(\) writes Keras's HDF5 format: give a path ending in .h5 or .hdf5"),
    case("load-weights-path-type", lambda: model().load_weights(None), TypeError,
         r"load_weights\(\) needs a file path"),
    case("load-model-path-type", lambda: jkeras.models.load_model(3), TypeError,
         r"load_model\(\) needs a file path \(a str or os.PathLike\) as `filepath`; received int"),
    case("load-missing-file", lambda: jkeras.models.load_model("missing.h5"), FileNotFoundError,
         "No such file: missing.h5"),
    case("load-folder", lambda: model().load_weights(os.getcwd()), errors.FileFormatError,
         "is a folder, not an HDF5 file"),
    case("load-model-weights-only", lambda: (model().save_weights("w.h5"),
                                             jkeras.models.load_model("w.h5")),
         errors.FileFormatError, "has no model_config: it holds weights only"),
    case("model-from-json-invalid", lambda: jkeras.models.model_from_json("{"), errors.ConfigError,
         "model_from_json: not valid JSON"),
    case("model-from-json-type", lambda: jkeras.models.model_from_json(3), errors.ConfigError,
         "model_from_json: expected a JSON string; received int"),
    case("model-from-json-unknown-class",
         lambda: jkeras.models.model_from_json('{"class_name": "Nope", "config": {}}'), errors.ConfigError,
         "Unknown layer class 'Nope'"),
    case("model-from-yaml-python-tag",
         lambda: jkeras.models.model_from_yaml("!!python/object/apply:os.system ['echo hi']"),
         errors.UnsafeLoadError, "model_from_yaml reads only safe YAML"),
    # ---- callbacks ----
    case("callback-monitor-type", lambda: cb.EarlyStopping(monitor=3), TypeError,
         "EarlyStopping `monitor` must be the name of a logged quantity"),
    case("callback-min-delta-type", lambda: cb.EarlyStopping(min_delta="a"), TypeError,
         "EarlyStopping `min_delta` must be a number; received min_delta='a'"),
    case("callback-count-negative", lambda: cb.EarlyStopping(patience=-1), ValueError,
         "EarlyStopping `patience` must be >= 0; received patience=-1"),
    case("callback-count-type", lambda: cb.ReduceLROnPlateau(cooldown="a"), TypeError,
         "ReduceLROnPlateau `cooldown` must be a number"),
    case("callback-path-type", lambda: cb.ModelCheckpoint(None), TypeError,
         r"ModelCheckpoint `filepath` must be a path \(a str or os.PathLike\); received filepath=None"),
    case("callback-path-empty", lambda: cb.BackupAndRestore(""), ValueError,
         "BackupAndRestore `backup_dir` must not be empty"),
    case("checkpoint-filepath-format", lambda: cb.ModelCheckpoint("w.{epoch:zz}.h5"), ValueError,
         r"ModelCheckpoint cannot format filepath 'w.\{epoch:zz\}.h5'"),
    case("checkpoint-save-freq", lambda: cb.ModelCheckpoint("w.h5", save_freq=0), ValueError,
         "Unrecognized save_freq: 0"),
    case("checkpoint-weights-only-path", lambda: cb.ModelCheckpoint("w.txt", save_weights_only=True),
         ValueError, "the filepath must end in .h5 or .hdf5"),
    case("checkpoint-period", lambda: cb.ModelCheckpoint("w.h5", period=0), ValueError,
         "period must be a positive int; received 0"),
    case("callback-unknown-kwarg", lambda: cb.ModelCheckpoint("w.h5", foo=1), TypeError,
         r"ModelCheckpoint got unexpected keyword arguments \['foo'\]"),
    case("reduce-lr-factor", lambda: cb.ReduceLROnPlateau(factor=1.0), ValueError,
         "ReduceLROnPlateau does not support a factor >= 1.0"),
    case("reduce-lr-factor-negative", lambda: cb.ReduceLROnPlateau(factor=-0.5), ValueError,
         "ReduceLROnPlateau `factor` must be >= 0"),
    case("scheduler-not-callable", lambda: cb.LearningRateScheduler(0.1), TypeError,
         "LearningRateScheduler `schedule` must be a function"),
    case("scheduler-output", lambda: fit(callbacks=[cb.LearningRateScheduler(lambda epoch: "x")]),
         ValueError, "The output of the `schedule` function should be a float. Got: x"),
    case("csv-logger-separator", lambda: cb.CSVLogger("log.csv", separator=", "), ValueError,
         "CSVLogger `separator` must be a one-character string"),
    case("tensorboard-update-freq", lambda: cb.TensorBoard(update_freq=0), ValueError,
         "update_freq must be 'epoch', 'batch' or a positive int; received 0", needs_tbx),
    case("tensorboard-profile-batch", lambda: cb.TensorBoard(profile_batch="a"), ValueError,
         "profile_batch must be a non-negative integer or 2-tuple of positive integers", needs_tbx),
    case("lambda-callback-hook", lambda: cb.LambdaCallback(on_foo=print), ValueError,
         "Unknown callback hook 'on_foo'"),
    case("lambda-callback-not-callable", lambda: cb.LambdaCallback(on_epoch_end=3), TypeError,
         "LambdaCallback `on_epoch_end` must be a function"),
    case("backup-save-freq", lambda: cb.BackupAndRestore("backup", save_freq=0), ValueError,
         "save_freq must be 'epoch' or a positive number of batches"),
    case("progbar-count-mode", lambda: cb.ProgbarLogger(count_mode="x"), ValueError,
         "Unknown `count_mode`: 'x'"),
    # ---- optimizers ----
    case("optimizer-learning-rate", lambda: O.SGD(learning_rate="a"), ValueError,
         "Argument `learning_rate` should be a float or a schedule"),
    case("optimizer-unknown-kwarg", lambda: O.Adam(foo=1), ValueError,
         r"Argument\(s\) not recognized: \{'foo': 1\}"),
    case("optimizer-two-clips", lambda: O.SGD(clipnorm=1.0, clipvalue=1.0), ValueError,
         "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set"),
    case("optimizer-clip-or-decay", lambda: O.SGD(clipnorm=-1.0), ValueError,
         "Argument `clipnorm` must be a float >= 0 or None. Received: clipnorm=-1.0"),
    case("optimizer-decay-rate", lambda: O.Adam(beta_1=1.5), ValueError,
         r"Argument `beta_1` must be a float in \[0, 1\). Received: beta_1=1.5"),
    case("optimizer-non-negative", lambda: O.RMSprop(epsilon=-1.0), ValueError,
         "Argument `epsilon` must be a float >= 0. Received: epsilon=-1.0"),
    case("sgd-momentum", lambda: O.SGD(momentum="a"), ValueError,
         r"`momentum` must be a float between \[0, 1\]"),
    case("optimizer-accumulation-steps", lambda: O.SGD(gradient_accumulation_steps=1), ValueError,
         "`gradient_accumulation_steps` must be an integer >= 2"),
    case("optimizer-ema-momentum", lambda: O.SGD(use_ema=True, ema_momentum=2), ValueError,
         r"`ema_momentum` must be in the range \[0, 1\]"),
    case("adamw-weight-decay", lambda: O.AdamW(weight_decay=None), ValueError,
         "Argument `weight_decay` must be a float"),
    case("optimizer-decay-with-schedule",
         lambda: O.SGD(O.schedules.ExponentialDecay(0.1, 10, 0.9), decay=0.1), ValueError,
         "cannot be combined with a learning-rate schedule"),
    case("schedule-decay-steps", lambda: O.schedules.ExponentialDecay(0.1, 0, 0.9), ValueError,
         "Argument `decay_steps` must be > 0"),
    # ---- backend config ----
    case("set-floatx", lambda: K.set_floatx("float8"), ValueError, "Unknown floatx type: 'float8'"),
    case("set-epsilon", lambda: K.set_epsilon("a"), ValueError, "epsilon must be a float >= 0; received 'a'"),
    case("set-image-data-format", lambda: K.set_image_data_format("nhwc"), ValueError,
         "Unknown data_format: 'nhwc'"),
    case("set-check-finite-inputs", lambda: jkeras.config.set_check_finite_inputs("yes"), TypeError,
         "set_check_finite_inputs expects True or False; received 'yes'"),
    case("fit-non-finite", lambda: _fit_with_finite_check(), ValueError,
         r"fit: batch 1 \(batch_size=2, in the order given\) holds NaN or Inf, first at row 2 of x\[0\]"),
]


def _fit_with_finite_check():
    x = X.copy()
    x[2, 0] = np.nan
    jkeras.config.set_check_finite_inputs(True)
    try:
        fit(x=x, batch_size=2)
    finally:
        jkeras.config.set_check_finite_inputs(False)


def _fixed_batch_model():
    m = jkeras.Sequential([jkeras.Input(batch_shape=(4, 3)), L.Dense(2)])
    m.compile("sgd", "mse")
    return m


@pytest.fixture(autouse=True)
def _in_tmp_and_config_kept(tmp_path, monkeypatch):
    """Cases run in an empty folder and may not leave a backend setting changed."""
    monkeypatch.chdir(tmp_path)
    saved = (K.floatx(), K.epsilon(), K.image_data_format())
    yield
    assert (K.floatx(), K.epsilon(), K.image_data_format()) == saved


@pytest.mark.parametrize("call, exc, match", CASES)
def test_bad_input_raises(call, exc, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exc, match=match):
            call()


# ---- a failed call leaves everything as it was ----
def _trained():
    m = model(metrics=["mae"])
    m.fit(X + 1, Y + 1, epochs=1, verbose=0)
    return m


def _model_state(m):
    """Everything a failed call may not change: weights, the optimizer's updates, the step,
    the compile arguments."""
    return ([w.copy() for w in m.get_weights()], m.optimizer.iterations, int(m._step), m.optimizer,
            m.loss, m.metrics_names)


def _same(a, b):
    weights_a, *rest_a = a
    weights_b, *rest_b = b
    return len(weights_a) == len(weights_b) and all(
        np.array_equal(u, v) for u, v in zip(weights_a, weights_b)) and rest_a == rest_b


def _failed_save_then_load(m):
    jkeras.Sequential([jkeras.Input((4,)), L.Dense(2)]).save_weights("other.h5")
    m.load_weights("other.h5")


def _failed_sequential_add(m):
    m.add(L.Conv2D(2, 3))


STATEFUL = [
    pytest.param(lambda m: m.set_weights([np.ones((3, 2)), np.ones((3,))]), ValueError,
                 r"Weight 'd/bias' has shape \(2,\); received an array of shape \(3,\)",
                 id="set-weights-shape"),
    pytest.param(lambda m: m.set_weights([np.ones((3, 2))]), ValueError,
                 r"Layer 'sequential' expects 2 weight arrays \(\['kernel', 'bias'\]\), but received 1",
                 id="set-weights-count"),
    pytest.param(lambda m: m.get_layer("d").set_weights([np.ones((3, 2)), np.full((2,), "a")]),
                 ValueError, "could not convert string to float", id="set-weights-values"),
    pytest.param(lambda m: m.compile("adam", "nope"), ValueError, "Unknown loss 'nope'",
                 id="compile-keeps-previous"),
    pytest.param(lambda m: m.fit(np.zeros((4, 5)), Y, verbose=0), ValueError,
                 r"expects shape \(None, 3\)", id="fit-keeps-state"),
    pytest.param(lambda m: m.fit(X, Y, verbose=0, callbacks=[3]), TypeError,
                 "Callback instances", id="fit-bad-callbacks-keeps-state"),
    pytest.param(lambda m: m.fit(X, Y, verbose=0, validation_data=(X, Y), validation_freq=0),
                 ValueError, "validation_freq must be a positive int",
                 id="fit-validation-freq-keeps-state"),
    pytest.param(_failed_save_then_load, errors.FileFormatError,
                 r"Layer 'd' expects weights of shapes \[\(3, 2\), \(2,\)\]", id="load-weights-keeps-state"),
    pytest.param(lambda m: m.load_weights(write("text.h5", "not hdf5")), errors.FileFormatError,
                 "is not an HDF5 file", id="load-weights-not-hdf5"),
    pytest.param(_failed_sequential_add, ValueError,
                 r"Conv2D 'conv2d' expects inputs of rank 4", id="sequential-add-keeps-model"),
]


@pytest.mark.parametrize("act, exc, match", STATEFUL)
def test_failed_call_changes_nothing(act, exc, match):
    m = _trained()
    before = _model_state(m)
    with pytest.raises(exc, match=match):
        act(m)
    assert _same(before, _model_state(m))
    assert [layer.name for layer in m.layers] == ["d"]
    m.fit(X, Y, epochs=1, verbose=0)  # and the model still trains
    assert m.optimizer.iterations == before[1] + 1


def test_failed_first_fit_leaves_the_model_trainable():
    m = model(loss="categorical_crossentropy", metrics=["accuracy"])
    with pytest.raises(ValueError):
        m.fit(X, np.zeros((4,), "float32"), verbose=0)
    m.fit(X, Y, epochs=1, verbose=0)


@pytest.mark.parametrize("make", [
    lambda: cb.EarlyStopping(mode="x"), lambda: cb.ReduceLROnPlateau(mode="x"),
    lambda: cb.ModelCheckpoint("w.h5", mode="x")], ids=["early-stopping", "reduce-lr", "checkpoint"])
def test_callback_unknown_mode_warns_and_falls_back(make):
    """As in Keras: an unknown `mode` warns and means 'auto' (row callback-mode)."""
    with pytest.warns(UserWarning, match="mode 'x' is unknown, fallback to auto mode"):
        assert make().mode == "auto"


def test_save_into_a_new_folder():
    model().save(os.path.join("new", "folder", "m.h5"))
    assert os.path.exists(os.path.join("new", "folder", "m.h5"))


def test_backend_setters_keep_the_old_value_on_failure():
    """A refused setting leaves the previous one in force (row set-*)."""
    for setter, getter, bad in ((K.set_floatx, K.floatx, "float8"), (K.set_epsilon, K.epsilon, -1.0),
                                (K.set_image_data_format, K.image_data_format, None)):
        before = getter()
        with pytest.raises(ValueError):
            setter(bad)
        assert getter() == before
    K.set_image_data_format("CHANNELS_FIRST")  # any case, as in Keras
    try:
        assert K.image_data_format() == "channels_first"
    finally:
        K.set_image_data_format("channels_last")


def _documented_ids():
    with open(DOC, encoding="utf-8") as f:
        rows = [line for line in f if line.startswith("|") and not set(line) <= set("|-: \n")]
    return [m.group(1) for line in rows[1:] for m in [re.search(r"\|\s*`([\w-]+)`\s*\|\s*$", line)] if m]


def test_every_documented_row_has_a_case():
    tested = {p.id for p in CASES + STATEFUL} | {
        "callback-mode", "failed-first-fit", "save-new-folder", "set-keeps-old-value"}
    documented = _documented_ids()
    assert len(documented) == len(set(documented)), "a row id appears twice in docs/errors.md"
    assert set(documented) == tested, (sorted(set(documented) - tested), sorted(tested - set(documented)))

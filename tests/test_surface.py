"""The whole tf.keras 2 surface: every public name of tf.keras 2.21 (tests/fixtures/tf_keras_names.json,
a copy of ../shared/reference/tf_keras_names.json) exists in jkeras and is called once here: classes
are instantiated with minimal arguments, functions run on tiny inputs, modules are looked into.

`NOT_YET` holds the names jkeras still lacks and is asserted both ways, so it can only shrink.
`NO_TENSORFLOW` holds the names that cannot mean anything without TensorFlow: they exist and raise an
error saying what to use instead (listed in docs/keras2.md).
"""
import importlib
import inspect
import json
import os
import types

import jax
import numpy as np
import pytest

import jkeras

with open(os.path.join(os.path.dirname(__file__), "fixtures", "tf_keras_names.json")) as _f:
    NAMES = json.load(_f)["names"]
ALL = [(sub, name) for sub, names in NAMES.items() for name in names]

NOT_YET = set()
# Names whose tf.keras 2 meaning is a TensorFlow object or graph; calling them says what to use instead.
NO_TENSORFLOW = {("utils", "FeatureSpace"), ("backend", "gradients")}
NO_TENSORFLOW_CALLS = {("backend", "gradients"): lambda f: f(jkeras.backend.variable(1.0), [])}

F32 = np.float32
X = np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]], F32)  # (2, 3)
Y_BIN, P_BIN = np.array([[1.0], [0.0]], F32), np.array([[0.8], [0.3]], F32)
Y_CAT, P_CAT = np.array([[0, 1, 0], [1, 0, 0]], F32), np.array([[0.2, 0.7, 0.1], [0.5, 0.3, 0.2]], F32)
Y_SPARSE = np.array([1, 0])
IMG = np.random.default_rng(0).uniform(0, 255, (4, 4, 3)).astype(F32)
KEY = jax.random.key(0)


def _module(sub):
    return jkeras if sub == "<top>" else importlib.import_module(f"jkeras.{sub}")


def _tiny_model():
    model = jkeras.Sequential([jkeras.layers.Dense(2, input_shape=(3,))])
    model.compile("sgd", "mse")
    return model


# ---------------------------------------------------------------- layers
L = jkeras.layers
LAYER_ARGS = {
    "Activation": ("relu",), "AlphaDropout": (0.1,), "CategoryEncoding": (3,), "CenterCrop": (2, 2),
    "Dense": (2,), "Discretization": ([0.0],), "Dot": (1,), "Dropout": (0.5,), "Embedding": (3, 2),
    "GaussianDropout": (0.1,), "GaussianNoise": (0.1,), "GRU": (2,), "GRUCell": (2,), "HashedCrossing": (3,),
    "Hashing": (3,), "LSTM": (2,), "LSTMCell": (2,), "Lambda": (lambda t: t,), "Permute": ((1,),),
    "RandomBrightness": (0.1,), "RandomContrast": (0.1,), "RandomCrop": (2, 2), "RandomHeight": (0.1,),
    "RandomRotation": (0.1,), "RandomTranslation": (0.1, 0.1), "RandomWidth": (0.1,), "RandomZoom": (0.1,),
    "RepeatVector": (2,), "Rescaling": (1 / 255,), "Reshape": ((3,),), "Resizing": (2, 2),
    "SimpleRNN": (2,), "SimpleRNNCell": (2,), "SpatialDropout1D": (0.1,), "SpatialDropout2D": (0.1,),
    "SpatialDropout3D": (0.1,), "DepthwiseConv1D": (2,), "DepthwiseConv2D": (2,),
}
LAYER_KWARGS = {
    "EinsumDense": {"equation": "ab,bc->ac", "output_shape": 2}, "GroupNormalization": {"groups": 1},
    "InputLayer": {"input_shape": (3,)}, "MultiHeadAttention": {"num_heads": 1, "key_dim": 2},
    "InputSpec": {"ndim": 2},
}
_TWO_ARG = ("Conv", "Convolution", "SeparableConv", "LocallyConnected", "ConvLSTM")
_WRAPPING = {"Bidirectional": lambda: L.LSTM(2), "TimeDistributed": lambda: L.Dense(2),
             "SpectralNormalization": lambda: L.Dense(2), "Wrapper": lambda: L.Dense(2)}


def _layer_instance(name, cls):
    if name in _WRAPPING:
        return cls(_WRAPPING[name]())
    if name == "RNN":
        return cls(L.SimpleRNNCell(2))
    if name == "StackedRNNCells":
        return cls([L.SimpleRNNCell(2)])
    if name.startswith(_TWO_ARG) and name not in LAYER_ARGS:
        return cls(2, 2)
    return cls(*LAYER_ARGS.get(name, ()), **LAYER_KWARGS.get(name, {}))


def _call_layers(name, obj, tmp_path):
    if name == "Input":
        assert obj((3,)).shape == (None, 3)
    elif name in ("add", "average", "concatenate", "maximum", "minimum", "multiply", "subtract"):
        a, b = jkeras.Input((3,)), jkeras.Input((3,))
        assert obj([a, b]).shape[0] is None
    elif name == "dot":
        assert obj([jkeras.Input((3,)), jkeras.Input((3,))], axes=1).shape == (None, 1)
    elif name == "serialize":
        assert obj(L.Dense(2))["class_name"] == "Dense"
    elif name == "deserialize":
        assert isinstance(obj({"class_name": "Dense", "config": {"units": 2}}), L.Dense)
    else:
        instance = _layer_instance(name, obj)
        if hasattr(instance, "get_config"):
            assert isinstance(instance.get_config(), dict)


# ---------------------------------------------------------------- backend
def _backend_calls(K):
    x, sq = X, np.array([[1.0, 2.0], [3.0, 4.0]], F32)
    img = np.ones((1, 4, 4, 2), F32)
    vol = np.ones((1, 4, 4, 4, 2), F32)
    seq = np.ones((1, 5, 2), F32)
    unary = {n: (lambda f: f(x)) for n in (
        "abs", "batch_flatten", "cast_to_floatx", "cos", "count_params", "dtype", "elu", "eval", "exp",
        "flatten", "get_value", "hard_sigmoid", "int_shape", "is_keras_tensor", "is_sparse", "ndim",
        "ones_like", "relu", "round", "shape", "sigmoid", "sign", "sin", "softmax", "softplus",
        "softsign", "sqrt", "square", "stop_gradient", "tanh", "to_dense", "transpose", "zeros_like",
        "all", "any", "argmax", "argmin", "cumprod", "cumsum", "l2_normalize", "max", "mean", "min",
        "prod", "std", "sum", "var", "log", "expand_dims", "print_tensor")}
    unary["log"] = lambda f: f(np.abs(x) + 1)
    unary["sqrt"] = lambda f: f(np.abs(x))
    binary = {n: (lambda f: f(x, x)) for n in (
        "equal", "greater", "greater_equal", "less", "less_equal", "maximum", "minimum", "not_equal")}
    nullary = {n: (lambda f: f()) for n in (
        "backend", "clear_session", "epsilon", "floatx", "get_uid", "image_data_format", "learning_phase",
        "reset_uids")}
    special = {
        "arange": lambda f: f(3), "batch_dot": lambda f: f(sq[None], sq[None], axes=(2, 1)),
        "batch_get_value": lambda f: f([K.variable(x)]),
        "batch_normalization": lambda f: f(x, np.zeros(3, F32), np.ones(3, F32), np.zeros(3, F32),
                                           np.ones(3, F32)),
        "batch_set_value": lambda f: f([(K.variable(x), x + 1)]),
        "bias_add": lambda f: f(x, np.ones(3, F32)),
        "binary_crossentropy": lambda f: f(Y_BIN, P_BIN), "binary_focal_crossentropy": lambda f: f(Y_BIN, P_BIN),
        "categorical_crossentropy": lambda f: f(Y_CAT, P_CAT),
        "categorical_focal_crossentropy": lambda f: f(Y_CAT, P_CAT),
        "sparse_categorical_crossentropy": lambda f: f(Y_SPARSE, P_CAT),
        "cast": lambda f: f(x, "float16"), "clip": lambda f: f(x, 0.0, 1.0),
        "concatenate": lambda f: f([x, x]), "constant": lambda f: f(1.0, shape=(2,)),
        "conv1d": lambda f: f(seq, np.ones((2, 2, 1), F32)), "conv2d": lambda f: f(img, np.ones((2, 2, 2, 1), F32)),
        "conv2d_transpose": lambda f: f(img, np.ones((2, 2, 1, 2), F32), (1, 5, 5, 1)),
        "conv3d": lambda f: f(vol, np.ones((2, 2, 2, 2, 1), F32)),
        "ctc_batch_cost": lambda f: f(np.array([[1, 2]]), np.full((1, 4, 3), 1 / 3, F32), np.array([[4]]),
                                      np.array([[2]])),
        "ctc_decode": lambda f: f(np.full((1, 4, 3), 1 / 3, F32), np.array([4])),
        "ctc_label_dense_to_sparse": lambda f: f(np.array([[1, 2]]), np.array([2])),
        "depthwise_conv2d": lambda f: f(img, np.ones((2, 2, 2, 1), F32)), "dot": lambda f: f(sq, sq),
        "dropout": lambda f: f(x, 0.5, seed=1), "eye": lambda f: f(2),
        "foldl": lambda f: f(lambda acc, v: acc + v, np.arange(3.0, dtype=F32)),
        "foldr": lambda f: f(lambda acc, v: acc + v, np.arange(3.0, dtype=F32)),
        "function": lambda f: f([inp := jkeras.Input((3,))], [L.Dense(1)(inp)])([x]),
        "gather": lambda f: f(x, np.array([1])),
        "gradients": lambda f: f(K.sum(K.square(v := K.variable(x))), [v]),
        "in_test_phase": lambda f: f(x, x * 2), "in_train_phase": lambda f: f(x, x * 2),
        "in_top_k": lambda f: f(P_CAT, Y_SPARSE, 1),
        "learning_phase_scope": lambda f: f(1).__enter__(),
        "local_conv1d": lambda f: f(seq, np.ones((4, 4, 1), F32), (2,), (1,)),
        "local_conv2d": lambda f: f(np.ones((1, 3, 3, 1), F32), np.ones((4, 4, 1), F32), (2, 2), (1, 1),
                                    (2, 2)),
        "manual_variable_initialization": lambda f: f(False),
        "map_fn": lambda f: f(lambda v: v * 2, x),
        "moving_average_update": lambda f: f(K.variable(x), x + 1, 0.9),
        "name_scope": lambda f: f("scope").__enter__(),
        "normalize_batch_in_training": lambda f: f(x, np.ones(3, F32), np.zeros(3, F32), [0]),
        "one_hot": lambda f: f(np.array([0, 2]), 3), "ones": lambda f: f((2,)),
        "permute_dimensions": lambda f: f(x, (1, 0)), "placeholder": lambda f: f(shape=(None, 3)),
        "pool2d": lambda f: f(img, (2, 2)), "pool3d": lambda f: f(vol, (2, 2, 2)), "pow": lambda f: f(x, 2),
        "random_bernoulli": lambda f: f((2,), 0.5, seed=1), "random_binomial": lambda f: f((2,), 0.5, seed=1),
        "random_normal": lambda f: f((2,), seed=1), "random_normal_variable": lambda f: f((2,), 0.0, 1.0, seed=1),
        "random_uniform": lambda f: f((2,), seed=1),
        "random_uniform_variable": lambda f: f((2,), 0.0, 1.0, seed=1),
        "repeat": lambda f: f(x, 2), "repeat_elements": lambda f: f(x, 2, 1), "reshape": lambda f: f(x, (3, 2)),
        "resize_images": lambda f: f(img, 2, 2, "channels_last"),
        "resize_volumes": lambda f: f(vol, 2, 2, 2, "channels_last"), "reverse": lambda f: f(x, 0),
        "rnn": lambda f: f(lambda inp, states: (inp, [states[0] + inp]), seq, [np.zeros((1, 2), F32)]),
        "separable_conv2d": lambda f: f(img, np.ones((2, 2, 2, 1), F32), np.ones((1, 1, 2, 3), F32)),
        "set_epsilon": lambda f: f(K.epsilon()), "set_floatx": lambda f: f(K.floatx()),
        "set_image_data_format": lambda f: f(K.image_data_format()),
        "set_learning_phase": lambda f: f(0), "set_value": lambda f: f(K.variable(x), x + 1),
        "spatial_2d_padding": lambda f: f(img), "spatial_3d_padding": lambda f: f(vol),
        "squeeze": lambda f: f(x[None], 0), "stack": lambda f: f([x, x]),
        "switch": lambda f: f(np.array(True), x, x * 2), "temporal_padding": lambda f: f(seq),
        "tile": lambda f: f(x, (2, 1)), "truncated_normal": lambda f: f((2,), seed=1),
        "update": lambda f: f(K.variable(x), x + 1), "update_add": lambda f: f(K.variable(x), x),
        "update_sub": lambda f: f(K.variable(x), x), "variable": lambda f: f(x), "zeros": lambda f: f((2,)),
    }
    return {**unary, **binary, **nullary, **special}


def _call_backend(name, obj, tmp_path):
    calls = _backend_calls(jkeras.backend)
    assert name in calls, f"no call recipe for backend.{name}"
    with jkeras.backend.name_scope("surface"):
        calls[name](obj)
    if name in ("set_learning_phase", "learning_phase_scope"):
        jkeras.backend.clear_session()


# ---------------------------------------------------------------- losses and metrics
_SPARSE_FNS = ("sparse_categorical_crossentropy", "sparse_categorical_accuracy",
               "sparse_top_k_categorical_accuracy")
_CATEGORICAL_FNS = ("categorical_crossentropy", "categorical_accuracy", "categorical_focal_crossentropy",
                    "top_k_categorical_accuracy", "categorical_hinge")
METRIC_ARGS = {
    "IoU": (3, [0]), "MeanIoU": (3,), "OneHotIoU": (3, [0]), "OneHotMeanIoU": (3,),
    "PrecisionAtRecall": (0.5,), "RecallAtPrecision": (0.5,), "SensitivityAtSpecificity": (0.5,),
    "SpecificityAtSensitivity": (0.5,), "MeanRelativeError": ([1.0],),
    "MeanMetricWrapper": (jkeras.losses.mean_squared_error,),
}


def _call_loss_or_metric(name, obj, tmp_path):
    sub = jkeras.losses if obj.__module__.startswith("jkeras.losses") else jkeras.metrics
    if name == "get":
        assert obj("mse") is not None
    elif name == "serialize":
        assert obj(sub.get("mse")) is not None
    elif name == "deserialize":
        assert obj("mse") is not None
    elif name == "Reduction":
        assert obj.SUM == "sum"
    elif inspect.isclass(obj):
        instance = obj(*METRIC_ARGS.get(name, ()))
        assert isinstance(instance.get_config(), dict)
    elif name in _SPARSE_FNS:
        assert np.shape(obj(Y_SPARSE, P_CAT)) == (2,)
    elif name in _CATEGORICAL_FNS:
        assert np.shape(obj(Y_CAT, P_CAT)) == (2,)
    else:
        assert np.shape(obj(Y_BIN, P_BIN)) in ((2,), (2, 1))


# ---------------------------------------------------------------- the small modules
def _call_serialization_fns(name, obj, tmp_path):
    if name in ("custom_object_scope", "CustomObjectScope"):
        with obj({"Thing": L.Dense}):
            assert jkeras.utils.get_custom_objects().get("Thing") is L.Dense
    elif name == "get_custom_objects":
        assert isinstance(obj(), dict)
    elif name == "get_registered_name":
        assert obj(L.Dense) == "Dense"
    elif name == "get_registered_object":
        assert obj("Dense", module_objects={"Dense": L.Dense}) is L.Dense
    elif name == "register_keras_serializable":
        @obj(package="Surface")
        class Thing(L.Layer):
            pass
        assert jkeras.utils.get_registered_name(Thing) == "Surface>Thing"
    elif name == "serialize_keras_object":
        assert obj(L.Dense(2))["class_name"] == "Dense"
    elif name == "deserialize_keras_object":
        assert isinstance(obj({"class_name": "Dense", "config": {"units": 2}},
                              custom_objects={"Dense": L.Dense}), L.Dense)
    elif name in ("save_model", "load_model"):
        _save_and_load(name, obj, tmp_path)
    else:
        return False
    return True


def _save_and_load(name, obj, tmp_path):
    model, path = _tiny_model(), str(tmp_path / "m.h5")
    (obj if name == "save_model" else jkeras.models.save_model)(model, path)
    loaded = (obj if name == "load_model" else jkeras.models.load_model)(path)
    np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=1e-6)


def _call_models(name, obj, tmp_path):
    model = _tiny_model()
    if name == "Model":
        inp = jkeras.Input((3,))
        assert obj(inp, L.Dense(1)(inp)).output_shape == (None, 1)
    elif name == "Sequential":
        assert obj([L.Dense(1)]).layers
    elif name == "clone_model":
        assert obj(model).get_config() == model.get_config()
    elif name == "model_from_config":
        assert obj(jkeras.saving.serialization.model_config(model)).get_config() == model.get_config()
    elif name == "model_from_json":
        assert obj(model.to_json()).get_config() == model.get_config()
    elif name == "model_from_yaml":
        assert obj(model.to_yaml()).get_config() == model.get_config()
    elif name in ("save_model", "load_model"):
        _save_and_load(name, obj, tmp_path)


CALLBACK_ARGS = {"BackupAndRestore": lambda p: (str(p / "backup"),), "CSVLogger": lambda p: (str(p / "log.csv"),),
                 "ModelCheckpoint": lambda p: (str(p / "m.h5"),), "LearningRateScheduler": lambda p: (lambda e: 0.1,),
                 "TensorBoard": lambda p: (str(p / "tb"),)}


def _call_callbacks(name, obj, tmp_path):
    instance = obj(*CALLBACK_ARGS.get(name, lambda p: ())(tmp_path))
    instance.set_model(_tiny_model())


def _call_optimizers(name, obj, tmp_path):
    if isinstance(obj, types.ModuleType):
        assert any(inspect.isclass(v) for v in vars(obj).values())
    elif name == "get":
        assert obj("adam") is not None
    elif name == "serialize":
        assert obj(jkeras.optimizers.Adam())["class_name"] == "Adam"
    elif name == "deserialize":
        assert isinstance(obj({"class_name": "SGD", "config": {}}), jkeras.optimizers.SGD)
    elif name == "Optimizer":
        assert inspect.isclass(obj) and issubclass(jkeras.optimizers.SGD, obj)
    else:
        assert obj().get_config()["name"]


def _call_activations(name, obj, tmp_path):
    if name == "get":
        assert obj("relu") is jkeras.activations.relu
    elif name == "serialize":
        assert obj(jkeras.activations.relu) == "relu"
    elif name == "deserialize":
        assert obj("relu") is jkeras.activations.relu
    else:
        assert np.shape(obj(X)) == X.shape


def _call_initializers(name, obj, tmp_path):
    if name == "get":
        assert obj("zeros") is not None
    elif name == "serialize":
        assert obj(jkeras.initializers.Zeros())["class_name"] == "Zeros"
    elif name == "deserialize":
        assert obj("ones") is not None
    elif name == "Initializer":
        assert issubclass(jkeras.initializers.Zeros, obj)
    else:
        instance = obj(1.0) if name in ("Constant", "constant") else obj()
        assert np.shape(instance(KEY, (2, 2))) == (2, 2)


def _call_regularizers_or_constraints(name, obj, tmp_path):
    some = "l2" if obj.__module__ == "jkeras.regularizers" else "non_neg"
    if name == "get":
        assert obj(None) is None and obj(some) is not None
    elif name == "serialize":
        assert obj(jkeras.regularizers.L2() if some == "l2" else jkeras.constraints.NonNeg())["class_name"]
    elif name == "deserialize":
        assert obj(some) is not None
    elif name in ("Regularizer", "Constraint"):
        assert obj()(X) is not None
    elif name in ("RadialConstraint", "radial_constraint"):
        assert np.shape(obj()(np.ones((3, 3, 1, 1), F32))) == (3, 3, 1, 1)
    else:
        assert np.shape(obj()(X)) in ((), X.shape)


def _call_utils(name, obj, tmp_path):
    if _call_serialization_fns(name, obj, tmp_path):
        return
    images = tmp_path / "images"
    texts = tmp_path / "texts"
    calls = {
        "GeneratorEnqueuer": lambda: obj(iter([1, 2])),
        "OrderedEnqueuer": lambda: obj(jkeras.utils.Sequence()),
        "SequenceEnqueuer": lambda: obj(jkeras.utils.Sequence()),
        "Progbar": lambda: obj(2, verbose=0).update(1),
        "Sequence": lambda: obj(),
        "TimedThread": lambda: obj(interval=1.0),
        "array_to_img": lambda: obj(IMG).size == (4, 4),
        "audio_dataset_from_directory": lambda: _expect(ValueError, obj, str(tmp_path)),
        "disable_interactive_logging": lambda: obj(),
        "enable_interactive_logging": lambda: obj(),
        "is_interactive_logging_enabled": lambda: obj() in (True, False),
        "get_file": lambda: obj("a.txt", origin=_local_file(tmp_path), cache_dir=str(tmp_path / "cache")),
        "get_source_inputs": lambda: obj(L.Dense(1)(inp := jkeras.Input((3,)))) == [inp],
        "image_dataset_from_directory": lambda: obj(_image_dir(images), image_size=(4, 4), batch_size=2),
        "img_to_array": lambda: obj(jkeras.utils.array_to_img(IMG)).shape == (4, 4, 3),
        "load_img": lambda: obj(_image_dir(images) + "/a/0.png").size == (4, 4),
        "save_img": lambda: obj(str(tmp_path / "x.png"), IMG),
        "model_to_dot": lambda: _maybe_missing(obj, _tiny_model()),
        "plot_model": lambda: _maybe_missing(obj, _tiny_model(), to_file=str(tmp_path / "m.png")),
        "normalize": lambda: obj(X).shape == X.shape,
        "pack_x_y_sample_weight": lambda: obj(X, X) == (X, X),
        "unpack_x_y_sample_weight": lambda: obj((X, X))[2] is None,
        "pad_sequences": lambda: obj([[1, 2], [3]]).shape == (2, 2),
        "set_random_seed": lambda: obj(1234),
        "split_dataset": lambda: obj(np.arange(4), left_size=0.5),
        "text_dataset_from_directory": lambda: obj(_text_dir(texts), batch_size=2),
        "timeseries_dataset_from_array": lambda: obj(np.arange(10), None, 3, batch_size=4),
        "to_categorical": lambda: obj([0, 2]).shape == (2, 3),
        "to_ordinal": lambda: obj([0, 2]).shape == (2, 2),
        "warmstart_embedding_matrix": lambda: obj(["a", "b"], ["b", "c"], np.ones((2, 2), F32)).shape == (2, 2),
    }
    assert name in calls, f"no call recipe for utils.{name}"
    assert calls[name]() is not False


def _expect(error, fn, *args, **kwargs):
    with pytest.raises(error):
        fn(*args, **kwargs)


def _maybe_missing(fn, *args, **kwargs):
    """pydot and graphviz are optional, as in Keras: without them the call says what to install."""
    try:
        fn(*args, **kwargs)
    except ImportError as error:
        assert "pydot" in str(error) or "graphviz" in str(error)


def _local_file(tmp_path):
    path = tmp_path / "source.txt"
    path.write_text("hello")
    return path.as_uri()


def _image_dir(root):
    for label in ("a", "b"):
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(2):
            jkeras.utils.save_img(str(root / label / f"{i}.png"), IMG)
    return str(root)


def _text_dir(root):
    for label in ("a", "b"):
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(2):
            (root / label / f"{i}.txt").write_text(f"text {label} {i}")
    return str(root)


def _call_preprocessing(name, obj, tmp_path):
    if isinstance(obj, types.ModuleType):
        assert [n for n in vars(obj) if not n.startswith("_")]
        return
    _call_utils(name, obj, tmp_path)


def _call_preprocessing_image(name, obj, tmp_path):
    x = np.moveaxis(IMG, -1, 0)  # the random_* helpers take channels first by default
    generator = jkeras.preprocessing.image.ImageDataGenerator()
    calls = {
        "DirectoryIterator": lambda: obj(_image_dir(tmp_path / "images"), generator, target_size=(4, 4),
                                         batch_size=2),
        "ImageDataGenerator": lambda: obj(rotation_range=10).flow(IMG[None], batch_size=1),
        "Iterator": lambda: obj(4, 2, False, None),
        "NumpyArrayIterator": lambda: obj(IMG[None], None, generator, batch_size=1),
        "apply_affine_transform": lambda: obj(x, theta=10).shape == x.shape,
        "apply_brightness_shift": lambda: obj(IMG, 1.2).shape == IMG.shape,
        "apply_channel_shift": lambda: obj(x, 10).shape == x.shape,
        "random_brightness": lambda: obj(IMG, (0.5, 1.5)).shape == IMG.shape,
        "random_channel_shift": lambda: obj(x, 10).shape == x.shape,
        "random_rotation": lambda: obj(x, 10).shape == x.shape,
        "random_shear": lambda: obj(x, 10).shape == x.shape,
        "random_shift": lambda: obj(x, 0.1, 0.1).shape == x.shape,
        "random_zoom": lambda: obj(x, (0.9, 1.1)).shape == x.shape,
        "smart_resize": lambda: np.shape(obj(IMG, (2, 2))) == (2, 2, 3),
    }
    if name in calls:
        assert calls[name]() is not False
    else:
        _call_utils(name, obj, tmp_path)


def _call_preprocessing_sequence(name, obj, tmp_path):
    calls = {
        "TimeseriesGenerator": lambda: len(obj(np.arange(10), np.arange(10), length=3, batch_size=2)) > 0,
        "make_sampling_table": lambda: obj(5).shape == (5,),
        "pad_sequences": lambda: obj([[1, 2], [3]]).shape == (2, 2),
        "skipgrams": lambda: len(obj([1, 2, 3], 4, window_size=1, seed=0)) == 2,
    }
    assert calls[name]() is not False


def _call_preprocessing_text(name, obj, tmp_path):
    calls = {
        "Tokenizer": lambda: obj().fit_on_texts(["a b", "b c"]),
        "hashing_trick": lambda: len(obj("a b c", 5)) == 3,
        "one_hot": lambda: len(obj("a b c", 5)) == 3,
        "text_to_word_sequence": lambda: obj("A b, c!") == ["a", "b", "c"],
        "tokenizer_from_json": lambda: obj(_fitted_tokenizer().to_json()).word_index == _fitted_tokenizer().word_index,
    }
    assert calls[name]() is not False


def _fitted_tokenizer():
    tokenizer = jkeras.preprocessing.text.Tokenizer()
    tokenizer.fit_on_texts(["a b", "b c"])
    return tokenizer


def _call_applications(name, obj, tmp_path):
    # Building every architecture takes minutes (their own tests build them); the call here checks
    # that each refuses a bad `weights` before it builds anything, as Keras does.
    with pytest.raises(ValueError, match="weights"):
        obj(weights="no-such-weights")


def _call_mixed_precision(name, obj, tmp_path):
    calls = {"LossScaleOptimizer": lambda: obj(jkeras.optimizers.SGD()),
             "Policy": lambda: obj("mixed_float16").compute_dtype == "float16",
             "global_policy": lambda: obj().name == "float32",
             "set_global_policy": lambda: obj("float32")}
    assert calls[name]() is not False


def _call_top(name, obj, tmp_path):
    if isinstance(obj, types.ModuleType):
        assert obj.__name__ == f"jkeras.{name}"
    elif name == "Input":
        assert obj((3,)).shape == (None, 3)
    else:
        _call_models(name, obj, tmp_path)


def _call_datasets(name, obj, tmp_path):
    # load_data() downloads Keras's files, which tests may not; the module and its reader are there
    assert isinstance(obj, types.ModuleType) and callable(obj.load_data)


def _call_saving(name, obj, tmp_path):
    assert _call_serialization_fns(name, obj, tmp_path)


CALLERS = {
    "<top>": _call_top, "layers": _call_layers, "backend": _call_backend, "models": _call_models,
    "callbacks": _call_callbacks, "optimizers": _call_optimizers, "losses": _call_loss_or_metric,
    "metrics": _call_loss_or_metric, "activations": _call_activations, "initializers": _call_initializers,
    "regularizers": _call_regularizers_or_constraints, "constraints": _call_regularizers_or_constraints,
    "utils": _call_utils, "datasets": _call_datasets, "preprocessing": _call_preprocessing,
    "preprocessing.image": _call_preprocessing_image, "preprocessing.sequence": _call_preprocessing_sequence,
    "preprocessing.text": _call_preprocessing_text, "applications": _call_applications,
    "mixed_precision": _call_mixed_precision, "saving": _call_saving,
}


def test_the_name_list_is_tf_keras_2():
    assert sum(len(v) for v in NAMES.values()) == 721 and set(CALLERS) == set(NAMES)
    assert len(NO_TENSORFLOW) <= 0.02 * len(ALL)


def test_every_name_exists():
    """Each name of the list is in jkeras, except NOT_YET's; and no NOT_YET name exists by now."""
    missing = [f"{s}.{n}" for s, n in ALL if (s, n) not in NOT_YET and not hasattr(_module(s), n)]
    landed = [f"{s}.{n}" for s, n in sorted(NOT_YET) if hasattr(_module(s), n)]
    assert not missing, f"jkeras lacks these tf.keras 2 names: {missing}"
    assert not landed, f"these exist now: take them out of NOT_YET: {landed}"


RUNS = [(s, n) for s, n in ALL if (s, n) not in NOT_YET]


@pytest.mark.slow  # ~700 tiny calls, each compiling its small XLA programs: about a minute on 2 cores
@pytest.mark.parametrize("sub, name", RUNS, ids=[f"{s}.{n}" for s, n in RUNS])
def test_name_runs(sub, name, tmp_path, monkeypatch):
    obj = getattr(_module(sub), name)
    monkeypatch.chdir(tmp_path)
    if (sub, name) in NO_TENSORFLOW:
        with pytest.raises((NotImplementedError, RuntimeError), match="[Uu]se "):
            NO_TENSORFLOW_CALLS.get((sub, name), lambda f: f())(obj)
        return
    CALLERS[sub](name, obj, tmp_path)

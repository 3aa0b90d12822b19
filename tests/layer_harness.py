"""A layer against real Keras 3 (JAX backend) with the same weights: forward, one training step,
config, `.h5`, masks and mixed-precision policies, in one call (the role of Keras's `run_layer_test`).

Stable API (other test files build on it)::

    run_layer_test(layer, kwargs=None, input_shape=(2, 3), *, ...)

`layer` is a jkeras layer name ("Conv2D"), a jkeras layer class, or a callable
`(lib, **kwargs) -> layer` (`lib` is the `jkeras` or `keras` module), for layers built from other
layers (wrappers).
`kwargs` is a dict or a callable `lib -> dict` (a kwarg that holds a layer must be built per lib).
`input_shape` is the batched shape of the data, or a list of shapes for a multi-input layer.

What it checks, against Keras's same-named layer, its weights copied into jkeras's in order
(the weights are drawn at random with numpy first, so that biases and moving statistics are
non-zero too):

1. weight names and shapes, `supports_masking`, the symbolic output shape, and the forward
   output, eager, with `call_kwargs` and `mask` (to `rtol`/`atol`);
2. one `train_on_batch` (SGD(0.1), mse) of `Input -> pre -> layer -> Flatten -> Dense(2)`:
   the loss and every weight afterwards. `pre` defaults to a bias-free Dense that keeps the
   shape (so that the gradient must pass through the layer); integer inputs get none;
3. `get_config`/`from_config` round trip, and the config's keys and values against Keras's;
4. `.h5` round trip of the trained model: the same weights and next training step (predictions
   when it was not trained);
5. `compute_mask(x, mask)` against Keras's (`mask` is None unless given);
6. the layer under each of `policies` runs: finite outputs of the dtype Keras's (symbolic) call gives.

Options: `stochastic=True` (Dropout family): inference must equal Keras's, and two training steps
with SGD(0) must see different randomness. `keras_layer=False` with `reference=fn` for layers
Keras 3 lacks: `fn(layer_input, layer_weights) -> expected output` (numpy) replaces Keras in 1
and 2 (the loss is recomputed in numpy through the head). `keras_layer`/`keras_kwargs` name
Keras's counterpart where it differs. `pre=lib -> [layers]` replaces the default pre-layers
(e.g. `Embedding(mask_zero=True)` or `Masking()` to train with a mask). `train=False` skips 2
and 4's training step; `check_h5=False` skips 4; `config_ignore` lists config keys not compared.
Tests that call it should use the `cheap_keras_init` fixture. It returns jkeras's model.
"""
import os
import tempfile

import numpy as np

import jkeras

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402

# Keras 3 config keys that Keras 2 (and so jkeras) never had, and Keras 2 keys Keras 3 dropped.
KERAS3_ONLY_KEYS = {"quantization_config", "lora_rank", "lora_alpha", "seed_generator",
                    "synchronized", "rms_scaling"}
KERAS2_ONLY_KEYS = {"activity_regularizer"}
NOT_COMPARED = {"name", "dtype", "module", "registered_name", "build_config"}  # auto-names differ
POLICIES = ("mixed_float16", "mixed_bfloat16")
HEAD_UNITS = 2


def run_layer_test(layer, kwargs=None, input_shape=(2, 3), *, input_dtype="float32", input_data=None,
                   input_range=(0, 5), keras_layer=None, keras_kwargs=None, reference=None,
                   call_kwargs=None, mask=None, stochastic=False, expected_output_shape=None,
                   pre=None, fixed_batch=None, train=True, check_h5=True, policies=POLICIES,
                   config_ignore=(), custom_objects=None, rtol=1e-5, atol=1e-5, seed=0):
    """Check jkeras's `layer(**kwargs)` against Keras 3's (or `reference`); see the module docstring."""
    rng = np.random.default_rng(seed)
    shapes = input_shape if isinstance(input_shape, list) else [input_shape]
    xs = _as_list(input_data) if input_data is not None else [
        _random_input(rng, s, input_dtype, input_range) for s in shapes]
    if fixed_batch is None:
        fixed_batch = bool(_resolve(kwargs, jkeras).get("stateful"))
    with_keras = keras_layer is not False
    if not with_keras and reference is None:
        raise ValueError("run_layer_test needs Keras's layer or a `reference=` callable.")
    build = dict(shapes=shapes, dtype=input_dtype, pre=pre, fixed_batch=fixed_batch)
    ours, ours_layer, ours_pre = _model(jkeras, _maker(jkeras, layer), _resolve(kwargs, jkeras), **build)
    if with_keras:
        theirs, theirs_layer, theirs_pre = _model(keras, _maker(keras, layer if keras_layer is None else keras_layer),
                                      _resolve(kwargs if keras_kwargs is None else keras_kwargs, keras),
                                      **build)
        weights = _randomised(rng, theirs)
        _check_weights_match(ours_layer, theirs_layer)
        assert ours_layer.supports_masking == theirs_layer.supports_masking, "supports_masking"
        assert _shapes(ours_layer.output) == _shapes(theirs_layer.output), "symbolic output shape"
    else:
        theirs = theirs_layer = theirs_pre = None
        weights = [_random_weight(rng, w.name, w.shape) for w in ours.weights]
    ours.set_weights(weights)
    if expected_output_shape is not None:
        assert _shapes(ours_layer.output) == _as_list(expected_output_shape), "expected_output_shape"
    tol = dict(rtol=rtol, atol=atol)
    calls = dict(call_kwargs or {})
    if mask is not None:
        calls["mask"] = mask
    layer_in = _layer_input(ours_pre, xs)
    if with_keras:
        keras_in = _numpy(_layer_input(theirs_pre, xs))  # numpy: no mask rides along, as in jkeras
        _assert_close(layer_in, keras_in, **tol)
        _assert_close(ours_layer(_one(layer_in), **calls), theirs_layer(_one(keras_in), **calls), **tol)
        _assert_close(_no_masks(ours_layer.compute_mask(_one(layer_in), mask)),
                      _no_masks(theirs_layer.compute_mask(_one(keras_in), mask)), **tol)
    else:
        expected = reference(_one(_numpy(layer_in)), [w.numpy() for w in ours_layer.weights])
        _assert_close(ours_layer(_one(layer_in), **calls), expected, **tol)
    with jkeras.utils.custom_object_scope(custom_objects or {}):
        _check_config(ours_layer, theirs_layer, config_ignore)
    if train:
        target = rng.normal(size=(shapes[0][0], HEAD_UNITS)).astype("float32")
        if stochastic:
            _check_random_steps(ours, xs, target)
        else:
            _check_train_step(ours, theirs, ours_layer, ours_pre, reference, xs, target, **tol)
    if check_h5:
        _check_h5(ours, xs, target if train and not stochastic else None, custom_objects, **tol)
    for policy in policies:
        _check_policy(layer, kwargs, keras_layer, keras_kwargs, policy, layer_in, calls)
    return ours


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) and not hasattr(x, "shape") else [x]


def _one(xs):
    """A single input unwrapped; several stay a list."""
    return xs[0] if len(xs) == 1 else list(xs)


def _resolve(spec, lib):
    """A kwargs dict, or the dict a `lib -> dict` callable builds for `lib`."""
    if spec is None:
        return {}
    return dict(spec(lib)) if callable(spec) else dict(spec)


def _maker(lib, layer):
    """A `kwargs -> layer` function for `lib` from a name, a jkeras class or a `lib -> layer` callable."""
    if isinstance(layer, str):
        cls = getattr(lib.layers, layer)
    elif isinstance(layer, type):
        cls = layer if lib is jkeras else getattr(lib.layers, layer.__name__)
    else:
        return lambda **kwargs: layer(lib, **kwargs)
    return lambda **kwargs: cls(**kwargs)


def _random_input(rng, shape, dtype, input_range):
    if np.issubdtype(np.dtype(dtype), np.integer):
        return rng.integers(input_range[0], input_range[1], size=shape).astype(dtype)
    if dtype == "bool":
        return rng.random(shape) > 0.3
    return rng.normal(size=shape).astype(dtype)


def _random_weight(rng, name, shape):
    """A random float32 weight; variances stay positive."""
    if "variance" in name:
        return rng.uniform(0.5, 1.5, size=shape).astype("float32")
    return (0.5 * rng.normal(size=shape)).astype("float32")


def _randomised(rng, model):
    """Draw every float weight of Keras's `model` afresh and return the list of all weights."""
    for v in model.weights:
        if np.issubdtype(np.dtype(v.dtype), np.floating):
            v.assign(_random_weight(rng, v.name, tuple(v.shape)))
    return [np.asarray(w) for w in model.get_weights()]


def _model(lib, make, kwargs, shapes, dtype, pre, fixed_batch):
    """`Input(s) -> pre -> layer -> Flatten -> Dense(HEAD_UNITS)` built from `lib`, the layer, and
    the model of the layer's inputs (None when they are the model's inputs)."""
    inputs = [lib.layers.Input(batch_shape=(s[0] if fixed_batch else None,) + tuple(s[1:]), dtype=dtype)
              for s in shapes]
    if pre is not None:
        pre_layers = list(pre(lib))
    elif np.issubdtype(np.dtype(dtype), np.floating):
        pre_layers = [lib.layers.Dense(s[-1], use_bias=False) for s in shapes]
    else:
        pre_layers = []
    hidden = list(inputs)
    if pre is not None:
        for p in pre_layers:
            hidden = [p(_one(hidden))]
    elif pre_layers:
        hidden = [p(h) for p, h in zip(pre_layers, hidden)]
    layer = make(**kwargs)
    outputs = _as_list(layer(_one(hidden)))
    flat = [lib.layers.Flatten()(o) if len(o.shape) > 2 else
            (lib.layers.Reshape((1,))(o) if len(o.shape) == 1 else o) for o in outputs]
    head = flat[0] if len(flat) == 1 else lib.layers.Concatenate()(flat)
    model = lib.Model(_one(inputs), lib.layers.Dense(HEAD_UNITS)(head))
    return model, layer, (lib.Model(_one(inputs), _one(hidden)) if pre_layers else None)


def _layer_input(pre_model, xs):
    """The values the layer under test receives for model inputs `xs`, computed eagerly."""
    return list(xs) if pre_model is None else _as_list(pre_model(_one(xs)))


def _no_masks(masks):
    """None for a list of Nones: Keras 3's Bidirectional gives None where tf.keras 2 listed one
    None per output."""
    if isinstance(masks, (list, tuple)) and all(m is None for m in masks):
        return None
    return masks


def _shapes(tensors):
    return [tuple(t.shape) for t in _as_list(tensors)]


def _numpy(value):
    if isinstance(value, (list, tuple)):
        return [_numpy(v) for v in value]
    return None if value is None else np.asarray(value)


def _assert_close(ours, theirs, rtol, atol):
    ours, theirs = _numpy(ours), _numpy(theirs)
    if isinstance(theirs, list) or isinstance(ours, list):
        assert isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs), \
            f"{type(ours)} vs {type(theirs)}"
        for a, b in zip(ours, theirs):
            _assert_close(a, b, rtol, atol)
        return
    if theirs is None or ours is None:
        assert ours is None and theirs is None, f"{ours!r} vs {theirs!r}"
        return
    assert ours.shape == theirs.shape, f"shape {ours.shape} vs {theirs.shape}"
    if ours.dtype == bool or theirs.dtype == bool:
        np.testing.assert_array_equal(ours, theirs)
    else:
        np.testing.assert_allclose(ours.astype("float64"), theirs.astype("float64"), rtol=rtol, atol=atol)


def _check_weights_match(ours_layer, theirs_layer):
    ours = [(w.name.split("/")[-1], tuple(w.shape)) for w in ours_layer.weights]
    theirs = [(w.name.split("/")[-1], tuple(w.shape)) for w in theirs_layer.weights]
    assert ours == theirs, f"weights {ours} vs Keras {theirs}"


def _plain(value):
    """A config value with tuples as lists, for comparing with Keras's."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _same_value(ours, theirs):
    """Equal, where a nested serialized object compares on the keys both sides have."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return all(_same_value(ours[k], theirs[k]) for k in set(ours) & set(theirs)
                   if k not in KERAS3_ONLY_KEYS | NOT_COMPARED)
    if isinstance(ours, list) and isinstance(theirs, list):
        return len(ours) == len(theirs) and all(_same_value(a, b) for a, b in zip(ours, theirs))
    return ours == theirs


def _check_config(ours_layer, theirs_layer, ignore):
    config = ours_layer.get_config()
    again = type(ours_layer).from_config(config).get_config()
    assert _plain(again) == _plain(config), "from_config(get_config()) round trip"
    if theirs_layer is None:
        return
    theirs = theirs_layer.get_config()
    ignore = set(ignore) | NOT_COMPARED
    missing = set(theirs) - set(config) - KERAS3_ONLY_KEYS - ignore
    extra = set(config) - set(theirs) - KERAS2_ONLY_KEYS - ignore
    assert not missing and not extra, f"config keys: missing {sorted(missing)}, extra {sorted(extra)}"
    for key in sorted((set(config) & set(theirs)) - ignore):
        assert _same_value(_plain(config[key]), _plain(theirs[key])), \
            f"config[{key!r}]: {config[key]!r} vs Keras {theirs[key]!r}"


def _check_train_step(ours, theirs, ours_layer, ours_pre, reference, xs, target, rtol, atol):
    ours.compile(jkeras.optimizers.SGD(0.1), "mse")
    if theirs is not None:
        theirs.compile(keras.optimizers.SGD(0.1), "mse")
        expected_loss = theirs.train_on_batch(_one(xs), target)
    else:
        expected_loss = _reference_loss(ours, ours_layer, ours_pre, reference, xs, target)
    loss = ours.train_on_batch(_one(xs), target)
    np.testing.assert_allclose(loss, expected_loss, rtol=max(rtol, 1e-5), atol=atol, err_msg="loss")
    after = ours.get_weights()
    assert all(np.all(np.isfinite(w)) for w in after if np.issubdtype(w.dtype, np.floating))
    if theirs is not None:
        for i, (a, b) in enumerate(zip(after, theirs.get_weights())):
            np.testing.assert_allclose(a, np.asarray(b), rtol=rtol, atol=atol,
                                       err_msg=f"weight {i} ({ours.weights[i].path}) after one step")


def _reference_loss(model, layer, pre_model, reference, xs, target):
    """mse of the head (Flatten, Concatenate, Dense) over `reference`'s output, in numpy."""
    layer_in = _one(_numpy(_layer_input(pre_model, xs)))
    outputs = _as_list(reference(layer_in, [w.numpy() for w in layer.weights]))
    flat = np.concatenate([np.reshape(o, (o.shape[0], -1)) for o in outputs], axis=1)
    kernel, bias = (w.numpy() for w in model.layers[-1].weights)
    return np.mean((flat @ kernel + bias - target) ** 2)


def _check_random_steps(ours, xs, target):
    ours.compile(jkeras.optimizers.SGD(0.0), "mse")
    first, second = ours.train_on_batch(_one(xs), target), ours.train_on_batch(_one(xs), target)
    assert np.isfinite(first) and np.isfinite(second)
    assert first != second, "a stochastic layer drew the same randomness in two training steps"


def _check_h5(model, xs, target, custom_objects, rtol, atol):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.h5")
        model.save(path)
        loaded = jkeras.models.load_model(path, custom_objects=custom_objects)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    if target is None:  # untrained: predictions; else the next step's loss tells as much, and more
        np.testing.assert_allclose(loaded.predict(_one(xs), verbose=0),
                                   model.predict(_one(xs), verbose=0), rtol=rtol, atol=atol)
    else:
        np.testing.assert_allclose(loaded.train_on_batch(_one(xs), target),
                                   model.train_on_batch(_one(xs), target), rtol=1e-5, atol=atol,
                                   err_msg="the loaded model's next training step")


def _check_policy(layer, kwargs, keras_layer, keras_kwargs, policy, layer_in, calls):
    """The layer built with `dtype=policy` runs: finite outputs, of Keras's dtype where Keras has it."""
    ours = _maker(jkeras, layer)(**{**_resolve(kwargs, jkeras), "dtype": policy})
    outputs = _numpy(_as_list(ours(_one(layer_in), **calls)))
    for out in outputs:
        if np.issubdtype(out.dtype, np.floating) or out.dtype.name == "bfloat16":
            assert np.all(np.isfinite(out.astype("float32"))), f"non-finite output under {policy}"
    if keras_layer is False:
        compute = jkeras.mixed_precision.Policy(policy).compute_dtype
        assert all(o.dtype.name in (compute, "bool") or np.issubdtype(o.dtype, np.integer)
                   for o in outputs), f"{[o.dtype for o in outputs]} under {policy}"
        return
    theirs = _maker(keras, layer if keras_layer is None else keras_layer)(
        **{**_resolve(kwargs if keras_kwargs is None else keras_kwargs, keras), "dtype": policy})
    symbolic = [keras.KerasTensor(v.shape, dtype=str(v.dtype)) for v in layer_in]  # nothing compiles
    expected = _as_list(theirs(_one(symbolic), **calls))
    assert [o.dtype.name for o in outputs] == [keras.backend.standardize_dtype(o.dtype) for o in expected], \
        f"dtypes under {policy}"

"""LocallyConnected1D/2D (Keras 2 layers Keras 3 dropped): forward, one SGD step, config and
`.h5` files against numbers from real tf.keras 2.21 (`tests/fixtures/tf_keras_layers`, made by
`scripts/fixtures/make_tf_keras_layer_fixtures.py`), and the layer harness against a numpy
reference written from the definition."""
import itertools
import json
import os

import numpy as np
import pytest

import jkeras
from layer_harness import run_layer_test

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "tf_keras_layers")
with open(os.path.join(FIXTURES, "index.json")) as _f:
    INDEX = json.load(_f)["cases"]
RNG = np.random.default_rng(11)


def _plain(value):
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _fixture_model(case):
    layer = getattr(jkeras.layers, case["class_name"])(name="lc", **case["kwargs"])
    return jkeras.Sequential([jkeras.Input(tuple(case["input_shape"][1:])), layer]), layer


def _weights(arrays, prefix):
    return [arrays[k] for k in sorted((k for k in arrays if k.startswith(prefix)),
                                      key=lambda k: int(k[len(prefix):]))]


@pytest.mark.parametrize("name", sorted(INDEX))
def test_matches_tf_keras(name):
    """Output, one SGD(0.1)+mse step (loss and weights) and config equal tf.keras 2's."""
    case = INDEX[name]
    arrays = dict(np.load(os.path.join(FIXTURES, f"{name}.npz")))
    model, layer = _fixture_model(case)
    assert [w.name for w in layer.weights] == [n.split("/")[-1].split(":")[0] for n in case["weight_names"]]
    layer.set_weights(_weights(arrays, "w"))
    np.testing.assert_allclose(model.predict(arrays["x"], verbose=0), arrays["out"], rtol=1e-5, atol=1e-5)
    model.compile(jkeras.optimizers.SGD(0.1), "mse")
    loss = model.train_on_batch(arrays["x"], arrays["y"])
    np.testing.assert_allclose(loss, arrays["loss"], rtol=1e-5, atol=1e-6)
    for ours, theirs in zip(layer.get_weights(), _weights(arrays, "after")):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    config, expected = _plain(layer.get_config()), _plain(case["config"])
    assert set(config) == set(expected)
    for key in set(expected) - {"dtype"}:
        if isinstance(expected[key], dict):
            assert config[key]["class_name"] == expected[key]["class_name"], key
        else:
            assert config[key] == expected[key], key


@pytest.mark.parametrize("name", ["lc1d_impl3_same_strides", "lc2d_impl2_same_cf"])
def test_loads_tf_keras_h5(name):
    """tf.keras 2's `.h5` of the trained model loads: the config, and the trained weights."""
    case = INDEX[name]
    arrays = dict(np.load(os.path.join(FIXTURES, f"{name}.npz")))
    loaded = jkeras.models.load_model(os.path.join(FIXTURES, f"{name}.h5"))
    layer = loaded.layers[-1]
    assert type(layer).__name__ == case["class_name"]
    assert layer.implementation == case["kwargs"].get("implementation", 1)
    for ours, theirs in zip(layer.get_weights(), _weights(arrays, "after")):
        np.testing.assert_array_equal(ours, theirs)
    model, fresh = _fixture_model(case)
    fresh.set_weights(layer.get_weights())
    np.testing.assert_allclose(loaded.predict(arrays["x"], verbose=0), model.predict(arrays["x"], verbose=0),
                               rtol=1e-6, atol=1e-6)


def _reference(rank, kwargs):
    """Numpy LocallyConnected from the definition: every output position sums its receptive
    field (tf.keras 2's: 'same' centres the window at `position * stride`) times its own weights,
    read from the kernel in the layout of `implementation` 1 or 2."""
    kernel_size = np.broadcast_to(kwargs["kernel_size"], (rank,))
    strides = np.broadcast_to(kwargs.get("strides", 1), (rank,))
    padding = kwargs.get("padding", "valid")
    first = kwargs.get("data_format") == "channels_first"
    implementation = kwargs.get("implementation", 1)

    def fn(x, weights):
        kernel = weights[0]
        x = np.moveaxis(x, 1, -1) if first else x
        spatial, channels = x.shape[1:-1], x.shape[-1]
        filters = kernel.shape[-1] if not (first and implementation == 2) else kernel.shape[rank + 1]
        if padding == "same":
            out = tuple(-(-n // s) for n, s in zip(spatial, strides))
        else:
            out = tuple((n - k) // s + 1 for n, k, s in zip(spatial, kernel_size, strides))
        y = np.zeros((x.shape[0],) + out + (filters,))
        for p, o in enumerate(itertools.product(*[range(n) for n in out])):
            left = [k // 2 for k in kernel_size]
            centre = [oi * s + (lf if padding == "valid" else 0) for oi, s, lf in zip(o, strides, left)]
            ranges = [range(max(0, c - lf), min(n, c + k - lf))
                      for c, lf, n, k in zip(centre, left, spatial, kernel_size)]
            for i in itertools.product(*ranges):
                for c in range(channels):
                    if implementation == 1:
                        offset = tuple(a - oi * s for a, oi, s in zip(i, o, strides))
                        f = (np.ravel_multi_index((c,) + offset, (channels,) + tuple(kernel_size)) if first
                             else np.ravel_multi_index(offset + (c,), tuple(kernel_size) + (channels,)))
                        w = kernel[p, f]
                    elif first:
                        w = kernel[(c,) + i + (slice(None),) + o]
                    else:
                        w = kernel[i + (c,) + o]
                    y[(slice(None),) + o] += x[(slice(None),) + i + (c,)][:, None] * w
        if first:
            y = np.moveaxis(y, -1, 1)
        if len(weights) > 1:
            bias = weights[1]
            y = y + (bias.reshape((filters,) + bias.shape[:-1]) if first else bias)
        activation = kwargs.get("activation")
        return np.tanh(y) if activation == "tanh" else y

    return fn


HARNESS_CASES = [
    ("LocallyConnected1D", dict(filters=2, kernel_size=2, activation="tanh"), (2, 5, 3), {}),
    ("LocallyConnected1D", dict(filters=2, kernel_size=3, strides=2, padding="same", implementation=2,
                                data_format="channels_first"), (2, 3, 5),
     dict(policies=(), check_h5=False)),  # see test_h5_round_trip_keeps_the_implementation
    ("LocallyConnected2D", dict(filters=2, kernel_size=(2, 3), strides=(1, 2)), (2, 3, 5, 2), {}),
    ("LocallyConnected2D", dict(filters=3, kernel_size=2, padding="same", implementation=2),
     (2, 3, 3, 2), dict(policies=(), check_h5=False)),
]


@pytest.mark.parametrize("layer, kwargs, shape, options", HARNESS_CASES)
def test_harness_against_numpy_reference(layer, kwargs, shape, options):
    rank = int(layer[-2])
    run_layer_test(layer, kwargs, shape, keras_layer=False, reference=_reference(rank, kwargs), **options)


@pytest.mark.parametrize("implementation", [2, 3])
def test_h5_round_trip_keeps_the_implementation(tmp_path, implementation):
    x = RNG.normal(size=(2, 4, 3)).astype("float32")
    model = jkeras.Sequential([jkeras.Input((4, 3)), jkeras.layers.LocallyConnected1D(
        2, 2, padding="same", implementation=implementation)])
    model.save(tmp_path / "m.h5")
    loaded = jkeras.models.load_model(tmp_path / "m.h5")
    assert loaded.layers[-1].implementation == implementation
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_implementation_3_under_policies():
    """The sparse layout runs in float16/bfloat16 (its numbers are checked against tf.keras 2 above)."""
    x = RNG.normal(size=(2, 4, 3)).astype("float32")
    for policy in ("mixed_float16", "mixed_bfloat16"):
        layer = jkeras.layers.LocallyConnected1D(2, 2, implementation=3, padding="same", dtype=policy)
        y = np.asarray(layer(x))
        assert y.dtype.name == policy.split("_")[1] and np.all(np.isfinite(y.astype("float32")))


def test_fit_decreases_loss():
    x = RNG.normal(size=(16, 4, 4, 2)).astype("float32")
    y = x.sum(axis=(1, 2, 3))[:, None]
    for implementation in (1, 2, 3):
        model = jkeras.Sequential([jkeras.Input((4, 4, 2)),
                                   jkeras.layers.LocallyConnected2D(2, 2, implementation=implementation),
                                   jkeras.layers.Flatten(), jkeras.layers.Dense(1)])
        model.compile(jkeras.optimizers.SGD(0.01), "mse")
        losses = model.fit(x, y, epochs=3, batch_size=16, verbose=0).history["loss"]
        assert losses[-1] < losses[0], implementation


def test_bad_arguments_and_inputs_raise():
    with pytest.raises(ValueError, match="only \"valid\" is supported if implementation is 1"):
        jkeras.layers.LocallyConnected1D(2, 2, padding="same")
    with pytest.raises(ValueError, match="implementation mode"):
        jkeras.layers.LocallyConnected2D(2, 2, implementation=4)
    with pytest.raises(ValueError, match="fully-defined"):
        jkeras.layers.LocallyConnected1D(2, 2)(jkeras.Input((None, 3)))
    with pytest.raises(ValueError, match="<= 0"):
        jkeras.layers.LocallyConnected2D(2, 4)(np.zeros((1, 3, 3, 1), "float32"))
    with pytest.raises(ValueError, match="rank 4"):
        jkeras.layers.LocallyConnected2D(2, 2)(np.zeros((1, 3, 3), "float32"))
    layer = jkeras.layers.LocallyConnected1D(2, 2)
    layer(np.zeros((1, 4, 2), "float32"))
    with pytest.raises(ValueError, match="built for another input shape"):
        layer(np.zeros((1, 5, 2), "float32"))

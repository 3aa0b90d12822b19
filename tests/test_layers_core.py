import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jkeras.layers import activation as A
from jkeras.layers import regularization as R
from jkeras.layers.base import collect_losses
from jkeras.layers.core import Dense, Input
from jkeras.layers.flax_layer import FlaxLayer
from jkeras.layers.lambda_layer import Lambda

keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)
SKIP_KEYS = {"name", "dtype", "quantization_config"}


def check_against_keras(ours, theirs, shape, **call_kwargs):
    """Shape inference, numerics after copying weights, and config of `ours` against Keras 3's `theirs`."""
    x = RNG.normal(size=shape).astype("float32")
    symbolic = ours(Input(batch_shape=(None,) + shape[1:]))
    assert symbolic.shape == tuple(theirs(keras.Input(batch_shape=(None,) + shape[1:])).shape)
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x, **call_kwargs)), np.asarray(theirs(x, **call_kwargs)),
                               rtol=1e-5, atol=1e-5)
    ours_config, theirs_config = ours.get_config(), theirs.get_config()
    assert set(ours_config) - SKIP_KEYS == set(theirs_config) - SKIP_KEYS
    for key in set(theirs_config) - SKIP_KEYS:
        assert ours_config[key] == theirs_config[key], key
    assert type(ours).from_config(ours_config).get_config() == ours_config


@pytest.mark.parametrize("name, kwargs", [
    ("Activation", dict(activation="relu")),
    ("Activation", dict(activation="softmax")),
    ("ReLU", {}),
    ("ReLU", dict(max_value=1.5, negative_slope=0.1, threshold=0.2)),
    ("LeakyReLU", {}),
    ("LeakyReLU", dict(negative_slope=0.05)),
    ("PReLU", dict(alpha_initializer="random_normal")),
    ("PReLU", dict(alpha_initializer="random_normal", shared_axes=[1])),
    ("ELU", dict(alpha=0.7)),
    ("Softmax", {}),
    ("Softmax", dict(axis=1)),
    ("Softmax", dict(axis=[1, 2])),
])
def test_activation_layers_match_keras(name, kwargs):
    check_against_keras(getattr(A, name)(**kwargs), getattr(keras.layers, name)(**kwargs), (4, 3, 5))


def test_leaky_relu_accepts_keras2_alpha():
    assert A.LeakyReLU(alpha=0.2).negative_slope == 0.2


def test_softmax_mask_matches_keras():
    x = RNG.normal(size=(2, 3, 4)).astype("float32")
    mask = RNG.random((2, 1, 4)) > 0.4
    ours = A.Softmax()(x, mask=mask)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(keras.layers.Softmax()(x, mask=mask)), atol=1e-6)
    with pytest.raises(ValueError, match="broadcastable"):
        A.Softmax()(x, mask=np.ones((2, 3), bool))


def test_prelu_checks_inputs():
    layer = A.PReLU()
    layer(np.zeros((2, 3, 5), "float32"))
    with pytest.raises(ValueError, match="PReLU"):
        layer(np.zeros((2, 4, 5), "float32"))


@pytest.mark.parametrize("kwargs", [dict(max_value=-1.0), dict(negative_slope=-0.1), dict(threshold=-1)])
def test_relu_rejects_negative_arguments(kwargs):
    with pytest.raises(ValueError):
        A.ReLU(**kwargs)


def test_dropout_training_and_inference():
    x = jnp.ones((200, 50))
    layer = R.Dropout(0.3)
    assert layer(Input(shape=(50,))).shape == (None, 50)
    np.testing.assert_array_equal(np.asarray(layer.apply({}, {}, x, training=False)[0]), 1.0)
    key = jax.random.key(3)
    y, _ = layer.apply({}, {}, x, training=True, key=key)
    y = np.asarray(y)
    assert abs((y == 0).mean() - 0.3) < 0.02
    np.testing.assert_allclose(y[y != 0], 1 / 0.7, rtol=1e-6)
    np.testing.assert_array_equal(y, np.asarray(layer.apply({}, {}, x, training=True, key=key)[0]))
    other = np.asarray(layer.apply({}, {}, x, training=True, key=jax.random.key(4))[0])
    assert (other != y).any()
    seeded = np.asarray(R.Dropout(0.3, seed=7).apply({}, {}, x, training=True, key=key)[0])
    assert (seeded != y).any()
    with pytest.raises(ValueError, match="key"):
        layer.apply({}, {}, x, training=True)


def test_dropout_noise_shape_and_jit():
    layer = R.Dropout(0.5, noise_shape=(None, 1, 6))
    x = jnp.ones((4, 5, 6))
    y = jax.jit(lambda x, k: layer.apply({}, {}, x, training=True, key=k)[0])(x, jax.random.key(0))
    y = np.asarray(y)
    assert (y == y[:, :1, :]).all()
    assert {0.0, 2.0} == set(np.unique(y))


@pytest.mark.parametrize("layer, shape, shared_axes", [
    (R.SpatialDropout1D(0.5), (3, 7, 8), (1,)),
    (R.SpatialDropout2D(0.5), (3, 4, 5, 8), (1, 2)),
    (R.SpatialDropout2D(0.5, data_format="channels_first"), (3, 8, 4, 5), (2, 3)),
])
def test_spatial_dropout_drops_whole_maps(layer, shape, shared_axes):
    y = np.asarray(layer.apply({}, {}, jnp.ones(shape), training=True, key=jax.random.key(1))[0])
    first = y[tuple(slice(0, 1) if a in shared_axes else slice(None) for a in range(len(shape)))]
    assert (y == first).all()
    assert 0 < (y == 0).mean() < 1


def test_spatial_dropout_checks_rank_and_config():
    with pytest.raises(ValueError, match="rank 3"):
        R.SpatialDropout1D(0.2)(Input(shape=(4, 5, 6)))
    for ours, theirs in [(R.SpatialDropout1D(0.2, seed=1), keras.layers.SpatialDropout1D(0.2, seed=1)),
                         (R.SpatialDropout2D(0.2), keras.layers.SpatialDropout2D(0.2))]:
        assert set(ours.get_config()) == set(theirs.get_config())
        assert type(ours).from_config(ours.get_config()).get_config() == ours.get_config()


@pytest.mark.parametrize("name, kwargs", [("Dropout", dict(rate=0.2, noise_shape=(None, 1, 5), seed=3)),
                                          ("GaussianNoise", dict(stddev=0.3, seed=1)),
                                          ("GaussianDropout", dict(rate=0.4)),
                                          ("ActivityRegularization", dict(l1=0.1, l2=0.2))])
def test_regularization_layers_are_identity_in_inference(name, kwargs):
    check_against_keras(getattr(R, name)(**kwargs), getattr(keras.layers, name)(**kwargs), (4, 3, 5))


def test_gaussian_layers_in_training():
    x = jnp.full((400, 100), 2.0)
    key = jax.random.key(0)
    noisy = np.asarray(R.GaussianNoise(0.5).apply({}, {}, x, training=True, key=key)[0])
    assert abs(noisy.mean() - 2.0) < 0.01 and abs(noisy.std() - 0.5) < 0.01
    dropped = np.asarray(R.GaussianDropout(0.2).apply({}, {}, x, training=True, key=key)[0])
    assert abs(dropped.mean() - 2.0) < 0.01 and abs(dropped.std() - 2.0 * 0.5) < 0.01


@pytest.mark.parametrize("cls, rate", [(R.Dropout, 1.5), (R.GaussianDropout, -0.1), (R.GaussianNoise, -0.5)])
def test_rate_is_validated(cls, rate):
    with pytest.raises(ValueError):
        cls(rate)


def test_activity_regularization_adds_loss_in_training():
    x = jnp.asarray(RNG.normal(size=(4, 3)).astype("float32"))
    layer = R.ActivityRegularization(l1=0.1, l2=0.2)
    with collect_losses() as losses:
        y, _ = layer.apply({}, {}, x, training=True)
        layer.apply({}, {}, x, training=False)
    np.testing.assert_array_equal(np.asarray(y), np.asarray(x))
    expected = (0.1 * np.abs(x).sum() + 0.2 * np.square(x).sum()) / 4
    assert len(losses) == 1
    np.testing.assert_allclose(float(losses[0]), expected, rtol=1e-6)


def times_two(x):
    return x * 2.0


def test_lambda_runs_jax_and_round_trips_by_name():
    layer = Lambda(times_two)
    out = layer(Input(shape=(3, 4)))
    assert out.shape == (None, 3, 4)
    np.testing.assert_allclose(np.asarray(layer(np.ones((2, 3, 4), "float32"))), 2.0)
    config = layer.get_config()
    assert config["function"]["config"] == "times_two"
    assert Lambda.from_config(config).function is times_two  # found in its (imported) module
    restored = Lambda.from_config(config, custom_objects={"times_two": times_two})
    assert restored.function is times_two


def test_lambda_of_a_jax_function_serializes_by_name():
    layer = Lambda(jax.nn.relu)
    assert layer.get_config()["function"]["config"] == "relu"
    np.testing.assert_allclose(np.asarray(layer(np.array([[-1.0, 2.0]], "float32"))), [[0.0, 2.0]])


def test_lambda_arguments_shape_and_mask():
    layer = Lambda(lambda x, axis: jnp.sum(x, axis=axis), arguments={"axis": 1})
    assert layer(Input(shape=(3, 4))).shape == (None, 4)
    np.testing.assert_allclose(np.asarray(layer(np.ones((2, 3, 4), "float32"))), 3.0)
    masked = Lambda(lambda x, mask=None: x if mask is None else x * mask[..., None],
                    mask=lambda x, m: m)
    x = np.ones((2, 3, 4), "float32")
    mask = np.array([[1, 0, 1], [0, 0, 1]], bool)
    np.testing.assert_allclose(np.asarray(masked(x, mask=mask)), x * mask[..., None])
    assert masked.compute_mask(x, mask) is mask


def test_lambda_python_lambda_needs_unsafe_mode():
    """As Keras: a Python lambda is stored as bytecode, rebuilt only with safe_mode=False."""
    offset = 0.5
    config = Lambda(lambda x, scale=2.0: x * scale + offset).get_config()
    assert config["function"]["class_name"] == "__lambda__" and config["function"]["config"]["code"]
    with pytest.raises(ValueError, match="safe_mode"):
        Lambda.from_config(config)
    rebuilt = Lambda.from_config(config, safe_mode=False)
    np.testing.assert_allclose(rebuilt.function(np.ones(2)), [2.5, 2.5])
    config["function"]["config"]["code"] = "bm90IGNvZGU="          # base64 of b"not code"
    with pytest.raises(ValueError, match="Cannot rebuild the `Lambda` layer's Python lambda"):
        Lambda.from_config(config, safe_mode=False)


def test_lambda_reads_keras2_config():
    config = {"name": "lam", "function": "times_two", "function_type": "function", "module": "__main__",
              "output_shape": None, "output_shape_type": "raw", "output_shape_module": None,
              "arguments": {}}
    assert Lambda.from_config(config, custom_objects={"times_two": times_two}).function is times_two


class _DropoutMLP(nn.Module):
    """A small module with batch statistics and dropout, to check state and rngs."""

    @nn.compact
    def __call__(self, x, train: bool):
        x = nn.Dense(4)(x)
        x = nn.BatchNorm(use_running_average=not train, momentum=0.9)(x)
        return nn.Dropout(0.5, deterministic=not train)(x)


def test_flax_dense_params_are_weights_and_outputs_match():
    module = nn.Dense(3)
    layer = FlaxLayer(module)
    out = layer(Input(shape=(5,)))
    assert out.shape == (None, 3)
    assert [w.name for w in layer.weights] == ["kernel", "bias"]
    assert all(w.trainable for w in layer.weights)
    x = RNG.normal(size=(2, 5)).astype("float32")
    variables = {"params": {w.name: w.value for w in layer.weights}}
    np.testing.assert_allclose(np.asarray(layer(x)), np.asarray(module.apply(variables, x)), rtol=1e-6)
    config = layer.get_config()
    assert config["module"]["config"] == {"features": 3}
    restored = FlaxLayer.from_config(config)
    assert isinstance(restored.module, nn.Dense) and restored.module.features == 3


def test_flax_state_training_flag_and_rngs():
    layer = FlaxLayer(_DropoutMLP())
    layer(Input(shape=(6,)))
    assert sorted(w.name for w in layer.trainable_weights) == ["BatchNorm_0/bias", "BatchNorm_0/scale",
                                                               "Dense_0/bias", "Dense_0/kernel"]
    assert sorted(w.name for w in layer.non_trainable_weights) == ["batch_stats/BatchNorm_0/mean",
                                                                   "batch_stats/BatchNorm_0/var"]
    params, state = layer._own_tree(True), layer._own_tree(False)
    x = jnp.asarray(RNG.normal(size=(8, 6)).astype("float32"))
    y_inf, same_state = layer.apply(params, state, x, training=False)
    assert jax.tree.all(jax.tree.map(lambda a, b: bool((a == b).all()), same_state, state))
    step = jax.jit(lambda p, s, x, k: layer.apply(p, s, x, training=True, key=k))
    y_train, new_state = step(params, state, x, jax.random.key(0))
    assert (np.asarray(y_train) == 0).mean() > 0.2
    assert not np.allclose(new_state["batch_stats/BatchNorm_0/mean"], state["batch_stats/BatchNorm_0/mean"])
    grads = jax.grad(lambda p: jnp.sum(layer.apply(p, state, x, training=False)[0] ** 2))(params)
    assert set(grads) == set(params)


def test_flax_layer_rejects_non_modules():
    with pytest.raises(ValueError, match="flax"):
        FlaxLayer(Dense(3))

"""EinsumDense, GroupNormalization, UnitNormalization, SpectralNormalization and Identity against Keras 3."""
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest

import jkeras
from jkeras import layers

keras = pytest.importorskip("keras")
from layer_harness import run_layer_test  # noqa: E402


@pytest.mark.parametrize("kwargs, shape", [
    (dict(equation="ab,bc->ac", output_shape=4, bias_axes="c"), (2, 3)),
    pytest.param(dict(equation="abc,cd->abd", output_shape=(3, 5), bias_axes="d", activation="relu"), (2, 3, 4),
                 marks=pytest.mark.slow),
    pytest.param(dict(equation="...b,bc->...c", output_shape=4), (2, 3, 3), marks=pytest.mark.slow),
    (dict(equation="abc,cde->abde", output_shape=(4, 2, 3), bias_axes="be"), (2, 4, 3)),
])
def test_einsum_dense_matches_keras(cheap_keras_init, kwargs, shape):
    run_layer_test("EinsumDense", kwargs, shape, policies=())


def test_einsum_dense_errors():
    with pytest.raises(ValueError, match="Invalid einsum equation"):
        layers.EinsumDense("ab->b", output_shape=3)(jkeras.Input((3,)))
    with pytest.raises(ValueError, match="Bias dimension 'x'"):
        layers.EinsumDense("ab,bc->ac", output_shape=3, bias_axes="x")(jkeras.Input((3,)))
    with pytest.raises(ValueError, match="output_shape"):
        layers.EinsumDense("ab,bc->ac", output_shape="3")


@pytest.mark.parametrize("kwargs, shape", [
    (dict(groups=2), (2, 3, 4)),
    (dict(groups=-1, axis=1, epsilon=1e-5), (2, 4, 3, 2)),
    pytest.param(dict(groups=1, center=False), (2, 6), marks=pytest.mark.slow),
])
def test_group_normalization_matches_keras(cheap_keras_init, kwargs, shape):
    run_layer_test("GroupNormalization", kwargs, shape, policies=("mixed_float16",))


def test_group_normalization_errors():
    with pytest.raises(ValueError, match="multiple"):
        layers.GroupNormalization(groups=3)(jkeras.Input((4,)))
    with pytest.raises(ValueError, match="more than"):
        layers.GroupNormalization(groups=8)(jkeras.Input((4,)))
    with pytest.raises(ValueError, match="groups"):
        layers.GroupNormalization(groups=0)


@pytest.mark.parametrize("kwargs, shape", [pytest.param({}, (2, 5), marks=pytest.mark.slow),
                                           (dict(axis=[1, 2]), (2, 3, 4))])
def test_unit_normalization_matches_keras(cheap_keras_init, kwargs, shape):
    run_layer_test("UnitNormalization", kwargs, shape, policies=())


def test_unit_normalization_bad_axis():
    with pytest.raises(TypeError):
        layers.UnitNormalization(axis="x")
    with pytest.raises(ValueError, match="out of bounds"):
        layers.UnitNormalization(axis=3)(jkeras.Input((4,)))


def test_identity_matches_keras(cheap_keras_init):
    run_layer_test("Identity", {}, (2, 4), policies=())


def _spectral_pair(make_inner, shape, power_iterations=1):
    """jkeras's and Keras 3's `Input -> SpectralNormalization(inner) -> Flatten -> Dense(2)`, Keras's
    random weights copied over by name (Keras 3 lists `vector_u` between kernel and bias)."""
    def build(lib):
        x = lib.layers.Input(shape[1:])
        sn = lib.layers.SpectralNormalization(make_inner(lib), power_iterations=power_iterations)
        return lib.Model(x, lib.layers.Dense(2)(lib.layers.Flatten()(sn(x)))), sn
    ours, ours_sn = build(jkeras)
    theirs, theirs_sn = build(keras)
    rng = np.random.default_rng(0)
    for v in theirs.weights:
        v.assign(rng.normal(size=v.shape).astype("float32") * 0.5)
    values = {w.path.split("/")[-1]: np.asarray(w) for w in theirs_sn.weights}
    assert [w.name for w in ours_sn.weights] == ["kernel", "bias", "vector_u"]  # Keras's .h5 order
    ours_sn.set_weights([values[w.name] for w in ours_sn.weights])
    ours.layers[-1].set_weights(theirs.layers[-1].get_weights())
    return ours, theirs, ours_sn, theirs_sn


def _by_name(layer):
    return {w.path.split("/")[-1]: np.asarray(w) for w in layer.weights}


@pytest.mark.parametrize("make_inner, shape, iterations", [
    (lambda lib: lib.layers.Dense(3), (4, 5), 2),
    pytest.param(lambda lib: lib.layers.Conv2D(2, 2), (2, 4, 4, 3), 1, marks=pytest.mark.slow),
])
def test_spectral_normalization_matches_keras(cheap_keras_init, tmp_path, make_inner, shape, iterations):
    ours, theirs, ours_sn, theirs_sn = _spectral_pair(make_inner, shape, iterations)
    rng = np.random.default_rng(1)
    x = rng.normal(size=shape).astype("float32")
    y = rng.normal(size=(shape[0], 2)).astype("float32")
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    ours.compile(jkeras.optimizers.SGD(0.1), "mse")
    theirs.compile(keras.optimizers.SGD(0.1), "mse")
    np.testing.assert_allclose(ours.train_on_batch(x, y), theirs.train_on_batch(x, y), rtol=1e-5)
    expected = _by_name(theirs_sn)
    for name, value in _by_name(ours_sn).items():  # kernel and bias by SGD, vector_u by power iteration
        np.testing.assert_allclose(value, expected[name], rtol=1e-5, atol=1e-6, err_msg=name)
    config = ours_sn.get_config()
    assert set(config) == set(theirs_sn.get_config())
    assert type(ours_sn).from_config(config).get_config()["layer"] == config["layer"]
    ours.save(tmp_path / "ours.h5")
    theirs.save(tmp_path / "theirs.h5")
    for loaded in (keras.models.load_model(tmp_path / "ours.h5", compile=False),
                   jkeras.models.load_model(tmp_path / "theirs.h5", compile=False)):
        np.testing.assert_allclose(np.asarray(loaded.predict(x, verbose=0)), ours.predict(x, verbose=0),
                                   rtol=1e-5, atol=1e-5)
        sn = next(lyr for lyr in loaded.layers if "spectral" in lyr.name)
        np.testing.assert_array_equal(_by_name(sn)["vector_u"], expected["vector_u"])


def test_spectral_normalization_errors():
    with pytest.raises(ValueError, match="power_iterations"):
        layers.SpectralNormalization(layers.Dense(2), power_iterations=0)
    with pytest.raises(ValueError, match="Layer"):
        layers.SpectralNormalization("dense")
    with pytest.raises(ValueError, match="kernel"):
        layers.SpectralNormalization(layers.LayerNormalization())(jkeras.Input((3,)))


def test_einsum_dense_initial_kernel_counts_fans_as_keras_3():
    """Glorot over the equation's axes: fan_in 64 and fan_out 32 give the limit sqrt(6 / 96) = 0.25
    (counting the kernel as a conv kernel would give 0.088)."""
    kwargs = dict(equation="abc,cde->abde", output_shape=(4, 4, 8))
    ours = layers.EinsumDense(**kwargs)
    ours(jkeras.Input((4, 64)))
    theirs = keras.layers.EinsumDense(**kwargs)
    theirs(keras.Input((4, 64)))
    for kernel in (ours.weights[0].numpy(), np.asarray(theirs.kernel)):
        assert 0.24 < np.abs(kernel).max() <= 0.25
    assert ours.get_config()["kernel_initializer"]["config"] == {"seed": None}

"""Shared by the application tests: models built in Keras 3 and jkeras, compared via `.h5` files."""
import numpy as np

import jkeras
from jkeras import applications


def randomise(model, rng):
    """Random BN statistics (positive variances), gammas, betas and biases, so all of them count."""
    for layer in model.layers:
        if not layer.weights:
            continue
        values = []
        for w in layer.weights:
            v = np.asarray(w.numpy())
            name = w.path.rsplit("/", 1)[-1]
            if name == "moving_variance":
                v = rng.uniform(0.5, 1.5, v.shape)
            elif name == "gamma":
                v = rng.uniform(0.8, 1.2, v.shape)
            elif name in ("moving_mean", "beta", "bias"):
                v = rng.normal(0.0, 0.05, v.shape)
            values.append(v.astype(np.float32))
        layer.set_weights(values)


def layer_names(model):
    """The model's layer names, with "<input>" for the input layer (its auto-name may differ)."""
    return ["<input>" if type(layer).__name__ == "InputLayer" else layer.name
            for layer in model.layers]


def keras_model(name, path, **kwargs):
    """Keras 3's `name(weights=None, **kwargs)` in a fresh session, randomised, saved to `path`."""
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format
    keras.backend.clear_session()
    model = getattr(keras.applications, name)(weights=None, **kwargs)
    randomise(model, np.random.default_rng(0))
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return model


def jkeras_model(name, **kwargs):
    """jkeras's `name(**kwargs)` in a fresh session."""
    jkeras.backend.clear_session()
    return getattr(applications, name)(**kwargs)


def compare_structure(ours, theirs):
    """Same model name, layer names and types, parameter count and output shape."""
    assert ours.name == theirs.name
    assert layer_names(ours) == layer_names(theirs)
    assert [type(layer).__name__ for layer in ours.layers[1:]] == \
        [type(layer).__name__ for layer in theirs.layers[1:]]
    assert ours.count_params() == theirs.count_params()
    assert ours.output_shape == tuple(theirs.output_shape)


def compare_with_keras(tmp_path, name, input_shape, batch=2, **kwargs):
    """Build `name` in Keras 3 and jkeras with the same arguments; compare structure and outputs."""
    path = str(tmp_path / f"{name}.h5")
    theirs = keras_model(name, path, input_shape=input_shape, **kwargs)
    x = np.random.default_rng(1).uniform(-1.0, 1.0, (batch,) + tuple(input_shape))
    x = x.astype(np.float32)
    expected = np.asarray(theirs.predict(x, verbose=0))

    ours = jkeras_model(name, weights=path, input_shape=input_shape, **kwargs)
    compare_structure(ours, theirs)
    got = np.asarray(ours.predict(x, verbose=0))
    assert got.shape == expected.shape
    if kwargs.get("classifier_activation", "softmax") == "softmax":
        assert float(np.max(expected)) < 0.999  # not saturated, so the comparison means something
    scale = max(1.0, float(np.max(np.abs(expected))))
    np.testing.assert_array_less(np.max(np.abs(got - expected)), 1e-4 * scale)
    return ours, expected

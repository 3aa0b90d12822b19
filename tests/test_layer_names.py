"""Layer names with '/', as Keras 2 and tf.keras 2 allow (keras_applications' DenseNet names its
layers `conv1/conv`, `conv2_block1_0/bn`, ...): they train, save and load in every jkeras format.

Keras 2 wrote such a layer's weights under nested groups (`h5py` splits the name at '/'), and
its `layer_names` attribute holds the whole name; jkeras writes and reads the same layout.
Keras 3 refuses '/' in names, so its loaders cannot read these files.
"""
import h5py
import numpy as np

import jkeras
from jkeras import layers


def _model():
    inp = layers.Input((6, 6, 2), name="input_1")
    x = layers.Conv2D(3, 3, name="conv1/conv")(inp)
    x = layers.BatchNormalization(name="conv1/bn")(x)
    x = layers.Activation("relu", name="conv1/relu")(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return jkeras.Model(inp, layers.Dense(2, activation="softmax", name="fc/out")(x))


def test_slash_names_train_save_and_load_in_every_format(tmp_path):
    model = _model()
    model.compile("adam", "categorical_crossentropy")
    x = np.random.default_rng(0).random((8, 6, 6, 2), np.float32)
    y = np.eye(2, dtype=np.float32)[np.arange(8) % 2]
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    expected = model.predict(x, verbose=0)
    assert [w.path for w in model.weights[:2]] == ["conv1/conv/kernel", "conv1/conv/bias"]

    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r") as f:  # Keras 2's layout: nested groups, whole names listed
        assert "conv1/conv" in [n.decode() for n in f["model_weights"].attrs["layer_names"]]
        assert list(f["model_weights"]["conv1"]["conv"].attrs["weight_names"]) == \
            [b"conv1/conv/kernel:0", b"conv1/conv/bias:0"]
    loaded = jkeras.models.load_model(tmp_path / "m.h5")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), expected)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]

    for name, kwargs in (("w.h5", {"by_name": True}), ("w.h5", {}), ("w.weights.h5", {})):
        model.save_weights(tmp_path / name)
        fresh = _model()
        fresh.load_weights(tmp_path / name, **kwargs)
        np.testing.assert_array_equal(fresh.predict(x, verbose=0), expected)

    model.save(tmp_path / "ckpt")  # Orbax: the names are keys of the parameter tree
    np.testing.assert_array_equal(jkeras.models.load_model(tmp_path / "ckpt").predict(x, verbose=0),
                                  expected)
    again = jkeras.models.model_from_json(model.to_json())
    assert again.get_layer("conv1/bn").name == "conv1/bn"

"""Export a jkeras model to Keras's `.h5` format and load it in Keras 3 (and back).

`model.save("name.h5")` writes Keras's legacy HDF5 layout: the architecture as Keras
config JSON, the weights under Keras's layer and weight names, the training config and
the optimizer state. Keras 3 loads it with `keras.models.load_model`; this script
checks that Keras 3 predicts exactly what jkeras predicted, continues training it in
Keras 3, saves it from Keras 3, and loads that file back into jkeras.

Keras 3 is a separate install (`pip install keras`); it needs a backend chosen before
it is imported, and JAX is already there. Without Keras 3 the script stops after
saving the file, saying so.

Run it with:

    python examples/export_to_keras3.py

With `JKERAS_EXAMPLES_SMALL=1` it trains on 128 samples for one epoch (how the tests
run it).
"""
import os

os.environ.setdefault("KERAS_BACKEND", "jax")   # before keras is imported

import h5py
import numpy as np

import jkeras
from jkeras import layers

SMALL = os.environ.get("JKERAS_EXAMPLES_SMALL") == "1"
SAMPLES = 128 if SMALL else 2048
EPOCHS = 1 if SMALL else 5


def main():
    jkeras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(SAMPLES, 10)).astype("float32")
    y = jkeras.utils.to_categorical((x[:, 0] + x[:, 1] > 0).astype("int32"), 2)

    inputs = jkeras.Input(shape=(10,), name="features")
    h = layers.Dense(16, activation="relu", name="hidden")(inputs)
    h = layers.BatchNormalization(name="norm")(h)
    h = layers.Dropout(0.2)(h)
    outputs = layers.Dense(2, activation="softmax", name="classes")(h)
    model = jkeras.Model(inputs, outputs, name="exported")
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=32, epochs=EPOCHS, verbose=2)
    model.save("exported.h5")
    expected = model.predict(x, verbose=0)

    with h5py.File("exported.h5", "r") as f:      # plain HDF5 in Keras's layout
        print("root attributes:", sorted(f.attrs))
        print("layers:", [name.decode() for name in f["model_weights"].attrs["layer_names"]])

    try:
        import keras
    except ImportError:
        print("Keras 3 is not installed (pip install keras): stopping after writing exported.h5")
        return
    print("Keras", keras.__version__, "backend", keras.backend.backend())

    restored = keras.models.load_model("exported.h5")
    restored.summary()
    np.testing.assert_allclose(np.asarray(restored.predict(x, verbose=0)), expected, rtol=1e-5, atol=1e-6)
    print("Keras 3 predicts what jkeras predicted")

    # Keras 3 starts the optimizer afresh, and (3.x with the JAX backend) needs a compile
    # before it trains a model loaded from a legacy .h5 file.
    restored.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    restored.fit(x, y, batch_size=32, epochs=1, verbose=0)

    # ... and back: a file Keras 3 wrote loads in jkeras, compiled, and trains on.
    restored.save("from_keras3.h5")
    back = jkeras.models.load_model("from_keras3.h5")
    np.testing.assert_allclose(back.predict(x, verbose=0), np.asarray(restored.predict(x, verbose=0)),
                               rtol=1e-5, atol=1e-6)
    back.fit(x, y, batch_size=32, epochs=1, verbose=0)
    print("jkeras loaded Keras 3's file:", [layer.name for layer in back.layers],
          type(back.optimizer).__name__)

    # Weights alone: `.weights.h5` is the layout Keras 3 expects under that name.
    model.save_weights("exported.weights.h5")
    twin = keras.Model.from_config(restored.get_config())
    twin.load_weights("exported.weights.h5")
    np.testing.assert_allclose(np.asarray(twin.predict(x, verbose=0)), expected, rtol=1e-5, atol=1e-6)
    print("Keras 3 loaded jkeras's exported.weights.h5")


if __name__ == "__main__":
    main()

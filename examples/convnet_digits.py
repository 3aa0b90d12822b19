"""A small convnet on the bundled digits data set: train, evaluate, save as `.h5`, reload.

The UCI handwritten digits ship inside jkeras (`jkeras.datasets.digits`: 1,797 grey
8x8 images, values 0 to 16), so this runs offline. It is Keras's MNIST convnet scaled
down to 8x8 images; ten epochs reach over 90% test accuracy on a laptop CPU in well
under a minute.

Run it with:

    python examples/convnet_digits.py

With `JKERAS_EXAMPLES_SMALL=1` it trains on 256 images for one epoch (how the tests
run it); the accuracy is then only checked to be a number.
"""
import os

import numpy as np

import jkeras
from jkeras import layers
from jkeras.datasets import digits
from jkeras.utils import to_categorical

SMALL = os.environ.get("JKERAS_EXAMPLES_SMALL") == "1"
EPOCHS = 1 if SMALL else 10


def load_data():
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    x_train = (x_train[..., None] / 16.0).astype("float32")   # (1438, 8, 8, 1) in [0, 1]
    x_test = (x_test[..., None] / 16.0).astype("float32")     # (359, 8, 8, 1)
    if SMALL:
        x_train, y_train = x_train[:256], y_train[:256]
    return (x_train, to_categorical(y_train, 10)), (x_test, to_categorical(y_test, 10))


def build_model():
    model = jkeras.Sequential([
        layers.Input(shape=(8, 8, 1)),
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Dropout(0.25),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ], name="digits_convnet")
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def main():
    jkeras.utils.set_random_seed(0)      # the same weights, shuffles and dropout every run
    (x_train, y_train), (x_test, y_test) = load_data()
    print("train", x_train.shape, "test", x_test.shape)

    model = build_model()
    model.summary()
    model.fit(x_train, y_train, batch_size=32, epochs=EPOCHS, validation_split=0.1, verbose=2)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test loss {loss:.3f}, test accuracy {accuracy:.3f}")
    if not SMALL:
        assert accuracy > 0.9, accuracy

    model.save("digits_convnet.h5")      # Keras's .h5: Keras 3 and tf.keras 2 load it too
    restored = jkeras.models.load_model("digits_convnet.h5")
    np.testing.assert_array_equal(restored.predict(x_test, verbose=0), model.predict(x_test, verbose=0))
    print("predicted:", restored.predict(x_test[:10], verbose=0).argmax(axis=1))
    print("true:     ", y_test[:10].argmax(axis=1))


if __name__ == "__main__":
    main()

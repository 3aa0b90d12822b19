"""The jkeras demo: train a small convnet on the bundled digits data and save it as `.h5`.

Run `python -m jkeras.demo [--epochs N] [--out PATH]`.
"""
import argparse
import time

import numpy as np

import jkeras
from jkeras import layers
from jkeras.datasets import digits
from jkeras.utils import to_categorical


def build_model():
    """Conv(16) -> Conv(32) -> pool -> dropout -> dense(64) -> softmax(10), for 8x8x1 inputs."""
    return jkeras.Sequential([
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="jkeras_digits.h5")
    args = parser.parse_args(argv)

    jkeras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    x_train = (x_train[..., None] / 16.0).astype("float32")
    x_test = (x_test[..., None] / 16.0).astype("float32")
    y_train, y_test = to_categorical(y_train, 10), to_categorical(y_test, 10)
    print(f"digits: {len(x_train)} training and {len(x_test)} test images of 8x8")

    model = build_model()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.summary()
    start = time.time()
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
              validation_split=0.1, verbose=1)
    print(f"trained in {time.time() - start:.1f}s")
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test loss: {loss:.4f} - test accuracy: {accuracy:.4f}")
    model.save(args.out)
    restored = jkeras.models.load_model(args.out)
    same = np.array_equal(restored.predict(x_test), model.predict(x_test))
    print(f"saved to {args.out}; reloaded model predicts the same: {same}")
    return accuracy


if __name__ == "__main__":
    main()

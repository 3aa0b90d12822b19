"""Transfer learning: a new classifier on a frozen MobileNetV2 base, then fine-tuning.

The recipe of Keras's "transfer learning & fine-tuning" guide:

1. take an ImageNet model without its classifier (`include_top=False`) and freeze it;
2. train a new head on your classes;
3. unfreeze the top of the base, compile again (`trainable` is read by `compile()`),
   and train a little more with a small learning rate.

jkeras never downloads. With `--imagenet` the script loads Keras's weight file for
MobileNetV2 (alpha 0.35, no top) from `<jkeras home>/models/` or `~/.keras/models/`,
e.g. `mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5` for 96x96
images; without it the base starts from random weights (`weights=None`), so the
script runs anywhere. The data are random images with random labels; put your own in
`make_data()`.

Run it with:

    python examples/fine_tune_frozen_base.py [--imagenet]

With `JKERAS_EXAMPLES_SMALL=1` it uses 32 images of 32x32 pixels and one epoch per
phase (how the tests run it).
"""
import os
import sys

import numpy as np

import jkeras
from jkeras import layers
from jkeras.applications import MobileNetV2
from jkeras.applications.mobilenet_v2 import preprocess_input

SMALL = os.environ.get("JKERAS_EXAMPLES_SMALL") == "1"
SIZE = 32 if SMALL else 96               # 96 is one of the sizes Keras has ImageNet files for
SAMPLES = 32 if SMALL else 256
EPOCHS = 1 if SMALL else 3
CLASSES = 3


def make_data():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, size=(SAMPLES, SIZE, SIZE, 3)).astype("float32")
    labels = jkeras.utils.to_categorical(rng.integers(0, CLASSES, SAMPLES), CLASSES)
    return preprocess_input(images), labels    # to [-1, 1], as MobileNetV2 was trained


def main(imagenet=False):
    jkeras.utils.set_random_seed(0)
    images, labels = make_data()

    base_model = MobileNetV2(weights="imagenet" if imagenet else None, include_top=False,
                             input_shape=(SIZE, SIZE, 3), alpha=0.35)
    base_model.trainable = False                       # 1. freeze the whole base

    inputs = jkeras.Input(shape=(SIZE, SIZE, 3))
    x = base_model(inputs, training=False)             # BatchNorm stays in inference mode
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(CLASSES, activation="softmax")(x)
    model = jkeras.Model(inputs, outputs, name="fine_tuned")

    # 2. train the new head only
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    print("phase 1, trainable weights:", len(model.trainable_weights))   # the new Dense: 2
    frozen_before = [w.copy() for w in base_model.get_weights()]
    model.fit(images, labels, batch_size=16, epochs=EPOCHS, verbose=2)
    for before, after in zip(frozen_before, base_model.get_weights()):
        np.testing.assert_array_equal(before, after)      # the base did not move

    # 3. unfreeze the last 10 layers of the base, compile again, train with a small rate
    base_model.trainable = True
    for layer in base_model.layers[:-10]:
        layer.trainable = False
    model.compile(optimizer=jkeras.optimizers.Adam(learning_rate=1e-5),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    print("phase 2, trainable weights:", len(model.trainable_weights))
    model.fit(images, labels, batch_size=16, epochs=EPOCHS, verbose=2)
    changed = sum(not np.array_equal(a, b) for a, b in zip(frozen_before, base_model.get_weights()))
    print(f"{changed} of the base's {len(frozen_before)} weight arrays changed in phase 2")

    model.save("fine_tuned.h5")
    restored = jkeras.models.load_model("fine_tuned.h5")
    np.testing.assert_allclose(restored.predict(images[:4], verbose=0), model.predict(images[:4], verbose=0),
                               rtol=1e-5, atol=1e-6)
    print("saved and reloaded fine_tuned.h5")


if __name__ == "__main__":
    main(imagenet="--imagenet" in sys.argv[1:])

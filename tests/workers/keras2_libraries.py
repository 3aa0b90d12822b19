"""Runs published Keras 2 libraries (pure Python, installed as published) on jkeras imported as
`keras` (`jkeras.install_as_keras()`), in a fresh process: for each case, build the library's
model, train one epoch on tiny data, predict, save to `.h5`, load it back with the library's
custom objects and predict again. Prints one JSON line per case.

Every case first predicts with `fill_weights`'s weights (compared with tf.keras 2's numbers);
the cases after `--train` then go through the whole round. `--tf-keras --reference` prints
those predictions from tf.keras 2 (`TF_USE_LEGACY_KERAS=1`): how
tests/fixtures/keras2_libraries/tf_keras_predictions.npz was written (offline, in a venv with
TensorFlow; the tests never need it).

    python tests/workers/keras2_libraries.py classifiers:mobilenetv2 --train classifiers:seresnet18
"""
import json
import os
import sys
import tempfile

import numpy as np

# case -> input size; the models' smallest inputs that the libraries accept
CASES = {
    "classifiers:seresnet18": 32,
    "classifiers:mobilenetv2": 32,
    "efficientnet:EfficientNetB0": 32,
    "segmentation:Unet:mobilenetv2": 32,
    "segmentation:FPN:mobilenetv2": 32,
    "segmentation:Linknet:mobilenetv2": 32,
    "segmentation:PSPNet:mobilenetv2": 48,
}


def inputs(size, seed=0):
    return np.random.default_rng(seed).random((2, size, size, 3), dtype=np.float32)


def fill_weights(model):
    """Deterministic weights from each weight's position and shape (moving variances positive),
    the same in every Keras: predictions then compare across implementations."""
    values = []
    for i, w in enumerate(model.get_weights()):
        rng = np.random.default_rng(1000 + i)
        if "moving_variance" in model.weights[i].name:
            values.append(rng.uniform(0.5, 1.5, w.shape).astype(w.dtype))
        else:
            fan_in = int(np.prod(w.shape[:-1])) if w.ndim > 1 else 1
            values.append((rng.normal(size=w.shape) / np.sqrt(fan_in)).astype(w.dtype))
    model.set_weights(values)


def build(case, keras, tf_keras=False):
    """The library's model for `case`, and the custom objects its file needs to load."""
    size = CASES[case]
    family, _, rest = case.partition(":")
    shape = (size, size, 3)
    if family == "classifiers":
        if tf_keras:
            from classification_models.tfkeras import Classifiers
        else:
            from classification_models.keras import Classifiers
        model_fn, _ = Classifiers.get(rest)
        return model_fn(input_shape=shape, weights=None, classes=3), {}
    if family == "efficientnet":
        if tf_keras:
            import efficientnet.tfkeras as efn
        else:
            import efficientnet.keras as efn  # registers swish and FixedDropout as custom objects
        return getattr(efn, rest)(input_shape=shape, weights=None, classes=3), {}
    if family == "segmentation":
        import segmentation_models as sm
        arch, backbone = rest.split(":")
        return getattr(sm, arch)(backbone, input_shape=shape, encoder_weights=None, classes=2), {}
    raise ValueError(f"unknown case {case!r}; known: {sorted(CASES)}")


def run(case, keras, workdir, train):
    """Predictions with `fill_weights`'s weights; with `train`, then one epoch, predict, save,
    load with the library's custom objects, predict: the numbers the test checks."""
    model, custom_objects = build(case, keras)
    fill_weights(model)
    x = inputs(CASES[case])
    filled = model.predict(x, verbose=0)
    result = {"case": case, "layers": len(model.layers), "params": int(model.count_params()),
              "predictions": filled.tolist()}
    if not train:
        return result
    target = np.random.default_rng(1).random(filled.shape, dtype=np.float32)
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, target, epochs=1, batch_size=2, verbose=0)
    after = model.predict(x, verbose=0)
    path = os.path.join(workdir, case.replace(":", "_") + ".h5")
    model.save(path)
    loaded = keras.models.load_model(path, custom_objects=custom_objects)
    again = loaded.predict(x, verbose=0)
    result.update(loss=float(history.history["loss"][0]), finite=bool(np.isfinite(after).all()),
                  changed=float(np.abs(after - filled).max()),
                  reload_diff=float(np.abs(again - after).max()),
                  compiled=loaded.optimizer is not None,
                  layer_names_equal=[l.name for l in loaded.layers] == [l.name for l in model.layers])
    return result


def reference(case, keras, tf_keras):
    model, _ = build(case, keras, tf_keras)
    fill_weights(model)
    return model.predict(inputs(CASES[case]), verbose=0)


def main(argv):
    tf_keras = "--tf-keras" in argv
    as_reference = "--reference" in argv
    cases = [a for a in argv if not a.startswith("--")]
    trained = set(argv[argv.index("--train") + 1:]) if "--train" in argv else set()
    if tf_keras:
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        os.environ["SM_FRAMEWORK"] = "tf.keras"
        import tf_keras as keras
    else:
        os.environ.setdefault("SM_FRAMEWORK", "keras")
        import jkeras
        jkeras.install_as_keras()
        import keras
    with tempfile.TemporaryDirectory() as workdir:
        for case in cases:
            if as_reference:
                out = reference(case, keras, tf_keras)
                print(json.dumps({"case": case, "predictions": out.tolist()}), flush=True)
            else:
                print(json.dumps(run(case, keras, workdir, case in trained)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

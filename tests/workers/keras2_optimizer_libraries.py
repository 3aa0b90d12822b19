"""Runs Keras 2-era optimizer libraries, as published, on jkeras imported as `keras`
(`jkeras.install_as_keras()`), in a fresh process: keras-rectified-adam 0.15.0 (`RAdam`) and
keras-lookahead 0.9.0 (`Lookahead`, wrapping RAdam or jkeras's own Adam). For each case: a
linear model trains 12 steps, is saved to `.h5` and loaded back with the libraries' custom
objects; then both train 4 steps more (Lookahead syncs every 5 or 7 steps, so its slow weights
differ from the fast ones at the save). Also segmentation-models 1.0.1's metrics (`f1-score`,
`iou_score`) in History. Prints one JSON line per case; tests/test_keras2_optimizer_libraries.py
checks the numbers against numpy reimplementations of the update rules.

    python tests/workers/keras2_optimizer_libraries.py radam lookahead_adam
"""
import json
import os
import sys
import tempfile

import numpy as np

BATCH, FIRST_EPOCHS = 2, 3  # 8 samples: 4 steps an epoch, 12 steps before the save, 4 after
CASES = ("radam", "radam_options", "lookahead_radam", "lookahead_adam", "segmentation_metrics")


def data():
    """The samples every case trains on (the test rebuilds them for its numpy reference)."""
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    y = np.random.default_rng(1).normal(size=(8, 1)).astype("float32")
    return x, y


def optimizers():
    """case -> a function making that case's optimizer. beta_2 0.99: with Keras's 0.999, RAdam's
    `sma_t` loses 3 digits to cancellation in float32 at the first steps, so no float64
    reference would match it closely."""
    from keras_lookahead import Lookahead
    from keras_radam import RAdam
    return {
        "radam": lambda: RAdam(learning_rate=0.05, beta_2=0.99),
        "radam_options": lambda: RAdam(learning_rate=0.05, beta_2=0.99, amsgrad=True, weight_decay=0.01,
                                       decay=0.05, total_steps=16, warmup_proportion=0.25, min_lr=0.005),
        "lookahead_radam": lambda: Lookahead(RAdam(learning_rate=0.05, beta_2=0.99), sync_period=5,
                                             slow_step=0.4),
        "lookahead_adam": lambda: Lookahead("adam", sync_period=7, slow_step=0.5),
    }


def run_optimizer(case, keras, workdir):
    from keras_lookahead import Lookahead
    from keras_radam import RAdam
    x, y = data()
    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
    model.compile(optimizers()[case](), "mse")
    initial = model.get_weights()
    model.fit(x, y, batch_size=BATCH, epochs=FIRST_EPOCHS, shuffle=False, verbose=0)
    trained = model.get_weights()
    path = os.path.join(workdir, case + ".h5")
    model.save(path)
    loaded = keras.models.load_model(path, custom_objects={"RAdam": RAdam, "Lookahead": Lookahead})
    same_config = loaded.optimizer.get_config() == model.optimizer.get_config()
    for m in (model, loaded):
        m.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    inner = getattr(loaded.optimizer, "optimizer", None)
    return {"initial": initial, "trained": trained, "continued": model.get_weights(),
            "reloaded_continued": loaded.get_weights(), "same_config": same_config,
            "optimizer": type(loaded.optimizer).__name__,
            "inner": None if inner is None else type(inner).__name__,
            "iterations": int(keras.backend.get_value(loaded.optimizer.iterations))}


def run_segmentation_metrics(keras, workdir):
    """segmentation-models' metrics named as the library names them, in History and after `.h5`."""
    import segmentation_models as sm
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(2, 1, activation="sigmoid")(inputs))
    model.compile("adam", sm.losses.bce_jaccard_loss, metrics=[sm.metrics.iou_score, sm.metrics.f1_score])
    x = np.random.default_rng(2).random((4, 8, 8, 3), dtype=np.float32)
    y = (x[..., :2] > 0.5).astype("float32")
    history = model.fit(x, y, batch_size=4, validation_data=(x, y), epochs=1, verbose=0)
    path = os.path.join(workdir, "sm.h5")
    model.save(path)
    custom = {"iou_score": sm.metrics.iou_score, "f1-score": sm.metrics.f1_score,
              "binary_crossentropy_plus_jaccard_loss": sm.losses.bce_jaccard_loss}
    loaded = keras.models.load_model(path, custom_objects=custom)
    ours, theirs = (m.evaluate(x, y, batch_size=4, verbose=0, return_dict=True) for m in (model, loaded))
    return {"history_keys": list(history.history), "metrics_names": model.metrics_names,
            "metric_objects": [m.name for m in model.metrics], "reloaded_logs": list(theirs),
            "reload_gap": max(abs(ours[k] - theirs[k]) for k in ours)}


def main(cases):
    os.environ["SM_FRAMEWORK"] = "keras"
    import jkeras
    jkeras.install_as_keras()
    import keras
    with tempfile.TemporaryDirectory() as workdir:
        for case in cases:
            if case == "segmentation_metrics":
                result = run_segmentation_metrics(keras, workdir)
            else:
                result = run_optimizer(case, keras, workdir)
            result = {k: [w.tolist() for w in v] if isinstance(v, list) and v and isinstance(v[0], np.ndarray)
                      else v for k, v in result.items()}
            print(json.dumps({"case": case, **result}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or CASES)

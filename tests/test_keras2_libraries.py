"""Published Keras 2 libraries run unedited on jkeras imported as `keras` (`install_as_keras()`):
segmentation-models 1.0.1, efficientnet 1.0.0, image-classifiers 1.0.0 over keras-applications
1.0.8, installed by the `test` extra. Each model predicts what tf.keras 2.21 predicts with the
same weights (tests/fixtures/keras2_libraries, written by tests/workers/keras2_libraries.py
--tf-keras); three also train an epoch, save to `.h5` and load back with the library's custom
objects. The libraries run in a fresh process, where `keras` can still be made to mean jkeras."""
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(__file__)
WORKER = os.path.join(HERE, "workers", "keras2_libraries.py")
FIXTURE = os.path.join(HERE, "fixtures", "keras2_libraries", "tf_keras_predictions.npz")
LIBRARIES = ("segmentation_models", "efficientnet", "classification_models", "keras_applications",
             "skimage")
FORWARD = ("classifiers:mobilenetv2", "segmentation:FPN:mobilenetv2",
           "segmentation:Linknet:mobilenetv2", "segmentation:PSPNet:mobilenetv2")
# the whole round: a Lambda of the library's own function (SE blocks), custom objects
# (efficientnet's swish and FixedDropout), a decoder over a backbone
TRAINED = ("classifiers:seresnet18", "efficientnet:EfficientNetB0", "segmentation:Unet:mobilenetv2")

pytestmark = pytest.mark.slow


def _run_worker():
    missing = [name for name in LIBRARIES if importlib.util.find_spec(name) is None]
    assert not missing, f"install the test extra (pip install -e '.[test]'); missing {missing}"
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "SM_FRAMEWORK")}
    proc = subprocess.run([sys.executable, WORKER, *FORWARD, "--train", *TRAINED],
                          capture_output=True, text=True, env=env, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-4000:]
    found = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return {r["case"]: r for r in found}


def test_library_models_predict_as_tf_keras2_and_survive_training_and_h5():
    """One test, one process: under pytest-xdist a module fixture would start it once per worker."""
    results, expected = _run_worker(), np.load(FIXTURE)
    problems = []
    for case in FORWARD + TRAINED:
        ours, theirs = np.asarray(results[case]["predictions"]), expected[case.replace(":", "__")]
        if ours.shape != theirs.shape or not np.allclose(ours, theirs, rtol=1e-4, atol=1e-5):
            gap = np.abs(ours - theirs).max() if ours.shape == theirs.shape else "shape"
            problems.append(f"{case}: predictions differ from tf.keras 2's (max gap {gap})")
    for case in TRAINED:
        r = results[case]
        trained = r["finite"] and np.isfinite(r["loss"]) and r["changed"] > 0
        reloaded = r["layer_names_equal"] and r["compiled"] and r["reload_diff"] <= 1e-6
        if not (trained and reloaded):
            problems.append(f"{case}: {r}")
    assert not problems, "\n".join(problems)

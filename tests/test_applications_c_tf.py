"""RegNetX002 and ResNetRS50 against tf.keras 2.21 (Keras 3 has neither).

The fixtures (tests/fixtures/tf_keras_apps/*.npz, made by
scripts/fixtures/make_tf_keras_app_fixtures.py) hold tf.keras's layer names,
weighted layers and predictions for an input, with every weight set by the
script's deterministic generator; the same generated weights go into jkeras's
model here. A jkeras-saved weights file must also load back by topology and by name.
"""
import importlib.util
import json
import os

import numpy as np
import pytest

import jkeras
from jkeras import applications

_HERE = os.path.dirname(__file__)
_SCRIPT = os.path.join(_HERE, "..", "scripts", "fixtures", "make_tf_keras_app_fixtures.py")
_spec = importlib.util.spec_from_file_location("make_tf_keras_app_fixtures", _SCRIPT)
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)


def _specs(model):
    """`[(short weight name, shape)]` of every weight, layer by layer (the script's order)."""
    return [(w.path.rsplit("/", 1)[-1], tuple(w.shape))
            for layer in model.layers for w in layer.weights]


@pytest.mark.parametrize("name", sorted(fixtures.CASES))
def test_predictions_equal_tf_keras(name, tmp_path):
    data = np.load(os.path.join(_HERE, "fixtures", "tf_keras_apps", f"{name}.npz"))
    model = getattr(applications, name)(weights=None, **fixtures.CASES[name])
    names = [layer.name for layer in model.layers]
    assert names[1:] == list(data["layer_names"])[1:]  # the input layer is named apart
    weighted = [[layer.name, [list(w.shape) for w in layer.weights]]
                for layer in model.layers if layer.weights]
    assert weighted == json.loads(str(data["weighted"]))
    assert model.count_params() == int(data["count_params"])

    model.set_weights(fixtures.fixture_weights(_specs(model)))
    expected = data["y"]
    got = np.asarray(model.predict(data["x"], verbose=0))
    scale = max(1.0, float(np.max(np.abs(expected))))
    np.testing.assert_array_less(np.max(np.abs(got - expected)), 1e-4 * scale)

    # A jkeras weights file loads back by topology and by name (into the same model, so its
    # compiled predict is reused).
    path = str(tmp_path / f"{name}.h5")
    model.save_weights(path)
    for by_name in (False, True):
        model.set_weights([np.zeros_like(w) for w in model.get_weights()])
        model.load_weights(path, by_name=by_name)
        np.testing.assert_array_equal(np.asarray(model.predict(data["x"], verbose=0)), got)


def test_regnet_top_gives_logits_and_second_model_names():
    """As in tf.keras: the head is a plain Dense whatever `classifier_activation` says, and its
    names count per session (`1_head_gap`, then `2_head_gap`)."""
    first = applications.RegNetY002(weights=None, input_shape=(32, 32, 3), classes=3)
    assert first.layers[-1].get_config()["activation"] == "linear"
    assert [layer.name for layer in first.layers[-2:]] == ["1_head_gap", "1head_dense"]
    second = applications.RegNetY002(weights=None, include_top=False, pooling="max",
                                     input_shape=(32, 32, 3))
    assert second.output_shape == (None, 368)
    third = applications.RegNetX002("custom", weights=None, input_shape=(32, 32, 3))
    assert third.name == "custom" and third.layers[-1].name == "2head_dense"
    # tf.keras's SE multiply and residual sum, as named weightless layers.
    assert type(first.get_layer("tf.math.multiply")).__name__ == "Multiply"
    with pytest.raises(ValueError, match="classes` should be 1000"):
        applications.RegNetX002(weights="imagenet", classes=10)


def test_resnet_rs_weight_variants(homes):
    jhome, _ = homes
    with pytest.raises(ValueError, match=r"imagenet-i160"):
        applications.ResNetRS50(weights="imagenet-i224")
    with pytest.raises(ValueError, match="`classes` should be 1000"):
        applications.ResNetRS101(weights="imagenet-i160", classes=10)
    source = applications.ResNetRS50(weights=None, include_top=False, input_shape=(32, 32, 3))
    (jhome / "models").mkdir()
    source.save_weights(str(jhome / "models" / "resnet-rs-50-i160_notop.h5"))
    jkeras.backend.clear_session()
    model = applications.ResNetRS50(weights="imagenet", include_top=False,
                                    input_shape=(32, 32, 3))
    for a, b in zip(source.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)

"""All 53 builders tf.keras added after Keras 2.3: parameter and layer counts, config round trip.

Counts (total, trainable, non-trainable params with the 1000-class top; layers,
the input included) are the ones measured with tf.keras 2.21 and Keras 3.15
(shared/reference/APPLICATIONS.md; tf.keras's layer count, whose op layers
jkeras builds as weightless layers). Parameters do not depend on the image size,
so the models are built at 32x32, and with their initializers' draws replaced by
zeros: the counts need the shapes only, not compiled random draws. Each model also
round-trips its config through JSON. Three models run by default, the rest are
marked slow (building is JAX shape tracing, ~2 ms a layer).
"""
import numpy as np
import pytest

import jkeras
from jkeras import applications

_COUNTS = {
    "EfficientNetB0": (5_330_571, 5_288_548, 42_023, 240),
    "EfficientNetB1": (7_856_239, 7_794_184, 62_055, 342),
    "EfficientNetB2": (9_177_569, 9_109_994, 67_575, 342),
    "EfficientNetB3": (12_320_535, 12_233_232, 87_303, 387),
    "EfficientNetB4": (19_466_823, 19_341_616, 125_207, 477),
    "EfficientNetB5": (30_562_527, 30_389_784, 172_743, 579),
    "EfficientNetB6": (43_265_143, 43_040_704, 224_439, 669),
    "EfficientNetB7": (66_658_687, 66_347_960, 310_727, 816),
    "EfficientNetV2B0": (7_200_312, 7_139_704, 60_608, 273),
    "EfficientNetV2B1": (8_212_124, 8_141_052, 71_072, 337),
    "EfficientNetV2B2": (10_178_374, 10_096_086, 82_288, 352),
    "EfficientNetV2B3": (14_467_622, 14_358_406, 109_216, 412),
    "EfficientNetV2S": (21_612_360, 21_458_488, 153_872, 516),
    "EfficientNetV2M": (54_431_388, 54_139_356, 292_032, 743),
    "EfficientNetV2L": (119_027_848, 118_515_272, 512_576, 1031),
    "ConvNeXtTiny": (28_589_128, 28_589_128, 0, 153),
    "ConvNeXtSmall": (50_223_688, 50_223_688, 0, 297),
    "ConvNeXtBase": (88_591_464, 88_591_464, 0, 297),
    "ConvNeXtLarge": (197_767_336, 197_767_336, 0, 297),
    "ConvNeXtXLarge": (350_196_968, 350_196_968, 0, 297),
    "MobileNetV3Small": (2_554_968, 2_542_856, 12_112, 239),
    "MobileNetV3Large": (5_507_432, 5_483_032, 24_400, 273),
    "RegNetX002": (2_705_640, 2_684_792, 20_848, 145),
    "RegNetX004": (5_194_184, 5_157_512, 36_672, 235),
    "RegNetX006": (6_229_320, 6_196_040, 33_280, 175),
    "RegNetX008": (7_296_968, 7_259_656, 37_312, 175),
    "RegNetX016": (9_233_640, 9_190_136, 43_504, 195),
    "RegNetX032": (15_359_112, 15_296_552, 62_560, 265),
    "RegNetX040": (22_194_312, 22_118_248, 76_064, 245),
    "RegNetX064": (26_283_464, 26_209_256, 74_208, 185),
    "RegNetX080": (39_663_112, 39_572_648, 90_464, 245),
    "RegNetX120": (46_202_440, 46_106_056, 96_384, 205),
    "RegNetX160": (54_389_704, 54_278_536, 111_168, 235),
    "RegNetX320": (107_973_576, 107_811_560, 162_016, 245),
    "RegNetY002": (3_183_844, 3_162_996, 20_848, 197),
    "RegNetY004": (4_371_296, 4_344_144, 27_152, 239),
    "RegNetY006": (6_084_920, 6_055_160, 29_760, 225),
    "RegNetY008": (6_293_056, 6_263_168, 29_888, 211),
    "RegNetY016": (11_255_102, 11_202_430, 52_672, 393),
    "RegNetY032": (19_502_498, 19_436_338, 66_160, 309),
    "RegNetY040": (20_708_928, 20_646_656, 62_272, 323),
    "RegNetY064": (30_665_684, 30_583_252, 82_432, 365),
    "RegNetY080": (39_265_812, 39_180_068, 85_744, 253),
    "RegNetY120": (51_918_928, 51_822_544, 96_384, 281),
    "RegNetY160": (83_712_956, 83_590_140, 122_816, 267),
    "RegNetY320": (145_205_058, 145_046_770, 158_288, 295),
    "ResNetRS50": (35_745_288, 35_691_912, 53_376, 274),
    "ResNetRS101": (63_724_296, 63_618_696, 105_600, 529),
    "ResNetRS152": (86_773_256, 86_621_576, 151_680, 784),
    "ResNetRS200": (93_386_248, 93_209_992, 176_256, 1090),
    "ResNetRS270": (130_104_520, 129_861_448, 243_072, 1474),
    "ResNetRS350": (164_268_360, 163_956_168, 312_192, 1890),
    "ResNetRS420": (192_262_216, 191_891_656, 370_560, 2258),
}
_FAST = ("RegNetX002", "ConvNeXtTiny", "MobileNetV3Small")


@pytest.fixture
def zero_draws(monkeypatch):
    """Initializers' random draws as zeros from numpy (no XLA program compiled per shape)."""
    from jkeras import initializers
    monkeypatch.setattr(initializers, "_draw", lambda key, kind, shape: np.zeros(shape, np.float32))


def _params(weights):
    return sum(int(np.prod(w.shape)) for w in weights)


@pytest.mark.parametrize("name", [
    n if n in _FAST else pytest.param(n, marks=pytest.mark.slow) for n in _COUNTS])
def test_counts_and_config_round_trip(name, zero_draws):
    total, trainable, non_trainable, n_layers = _COUNTS[name]
    model = getattr(applications, name)(weights=None, input_shape=(32, 32, 3))
    assert model.count_params() == total
    assert _params(model.trainable_weights) == trainable
    assert _params(model.non_trainable_weights) == non_trainable
    assert len(model.layers) == n_layers
    assert model.output_shape == (None, 1000)
    config, text = model.get_config(), model.to_json()
    names, shapes = [layer.name for layer in model.layers], [w.shape for w in model.weights]
    del model  # the largest hold over a GiB of weights
    again = jkeras.models.model_from_json(text)
    assert again.get_config() == config
    assert [layer.name for layer in again.layers] == names
    assert [w.shape for w in again.weights] == shapes

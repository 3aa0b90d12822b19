"""jkeras.preprocessing.sequence against tf.keras 2's outputs (tests/fixtures/tf_keras_preprocessing/sequence.json)."""
import json
import os
import random

import numpy as np
import pytest

from jkeras.preprocessing import sequence

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "tf_keras_preprocessing")


@pytest.fixture(scope="module")
def expected():
    with open(os.path.join(FIXTURES, "sequence.json")) as f:
        return json.load(f)


def test_pad_sequences_matches_tf_keras(expected):
    seqs = [[1, 2, 3], [4, 5], [6, 7, 8, 9, 10], []]
    for padding in ("pre", "post"):
        for truncating in ("pre", "post"):
            got = sequence.pad_sequences(seqs, maxlen=4, padding=padding, truncating=truncating, value=-1)
            assert got.tolist() == expected[f"pad_{padding}_{truncating}"], (padding, truncating)
    got = sequence.pad_sequences(seqs)
    assert got.dtype == np.int32 and got.tolist() == expected["pad_default"]


def test_pad_sequences_samples_strings_and_errors():
    got = sequence.pad_sequences([np.ones((2, 3)), np.ones((1, 3))], dtype="float32")
    assert got.shape == (2, 2, 3) and got[1, 0].tolist() == [0, 0, 0]
    words = sequence.pad_sequences([["a", "b"], ["c"]], dtype=object, value="<pad>")
    assert words.tolist() == [["a", "b"], ["<pad>", "c"]]
    with pytest.raises(ValueError, match="dtype=object"):
        sequence.pad_sequences([["a"]], value="x")
    with pytest.raises(ValueError, match="non-iterable"):
        sequence.pad_sequences([1, 2])
    with pytest.raises(ValueError, match="Padding type"):
        sequence.pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match="different from expected shape"):
        sequence.pad_sequences([np.ones((2, 3)), np.ones((1, 2))])


def test_sampling_table_and_skipgrams_match_tf_keras(expected):
    np.testing.assert_allclose(sequence.make_sampling_table(12, sampling_factor=0.1),
                               expected["sampling_table"], rtol=1e-12)
    random.seed(99)
    couples, labels = sequence.skipgrams([0, 1, 2, 3, 4, 5, 2, 1], 7, window_size=2, seed=5)
    assert {"couples": couples, "labels": labels} == expected["skipgrams"]
    random.seed(99)
    couples, labels = sequence.skipgrams([1, 2, 3, 4, 1], 6, window_size=1, negative_samples=0.5,
                                         categorical=True,
                                         sampling_table=[0.0, 1.0, 0.5, 1.0, 0.2, 1.0], seed=8)
    assert {"couples": couples, "labels": labels} == expected["skipgrams_categorical"]


def test_timeseries_generator_matches_tf_keras(expected):
    data = np.arange(40).reshape(20, 2)
    gen = sequence.TimeseriesGenerator(data, np.arange(20), length=4, sampling_rate=2, stride=3,
                                       start_index=1, end_index=18, batch_size=2, reverse=True)
    assert len(gen) == expected["timeseries_len"]
    assert [[b[0].tolist(), b[1].tolist()] for b in (gen[i] for i in range(len(gen)))] == \
        expected["timeseries_batches"]
    assert json.loads(gen.to_json()) == expected["timeseries_config"]
    np.random.seed(0)
    shuffled = sequence.TimeseriesGenerator(data, np.arange(20), length=3, shuffle=True, batch_size=5)
    x, y = shuffled[0]
    np.testing.assert_array_equal(x[:, -1, 0], (y - 1) * 2)  # each window ends just before its target
    with pytest.raises(ValueError, match="same length"):
        sequence.TimeseriesGenerator(data, np.arange(3), length=2)
    with pytest.raises(ValueError, match="disallowed"):
        sequence.TimeseriesGenerator(data, np.arange(20), length=25)


def test_timeseries_generator_trains_a_model():
    import jkeras
    data = np.random.RandomState(0).normal(size=(30, 2)).astype("float32")
    gen = sequence.TimeseriesGenerator(data, data[:, :1], length=4, batch_size=8)
    model = jkeras.Sequential([jkeras.layers.Flatten(input_shape=(4, 2)), jkeras.layers.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(gen, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])

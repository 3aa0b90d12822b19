"""Recurrent layers, cells and wrappers through the layer harness: forward, one training step,
config, `.h5`, masks and policies against Keras 3, over the arguments that change the code path."""
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import jkeras
from layer_harness import run_layer_test

pytestmark = pytest.mark.usefixtures("cheap_keras_init")
TOKENS = np.array([[1, 2, 3, 0, 0], [4, 0, 2, 1, 0]], "int32")  # zeros are masked by mask_zero
ZEROED = np.random.default_rng(2).normal(size=(2, 4, 3)).astype("float32")
ZEROED[0, 2:] = 0.0
ZEROED[1, 1] = 0.0


def embedded(lib):
    """An Embedding that masks token 0, in front of the layer under test."""
    return [lib.layers.Embedding(5, 3, mask_zero=True)]


def masking(lib):
    return [lib.layers.Masking()]


def rnn_of(cell):
    """A `(lib, **kwargs) -> RNN(cell)` builder; `cell` is `lib -> cell`."""
    return lambda lib, **kwargs: lib.layers.RNN(cell(lib), **kwargs)


def wrapped(wrapper, inner, **wrapper_kwargs):
    """A `(lib, **kwargs) -> wrapper(inner)` builder; `inner` is `lib -> layer`."""
    return lambda lib, **kwargs: getattr(lib.layers, wrapper)(inner(lib), **wrapper_kwargs, **kwargs)


def minimal_cell_class(lib):
    """Keras 2's documented custom cell, written once for each library: jkeras's derives from
    `AbstractRNNCell`, Keras 3 (which dropped it) takes a plain `Layer`."""
    ops = jnp if lib is jkeras else keras.ops

    class MinimalRNNCell(getattr(lib.layers, "AbstractRNNCell", lib.layers.Layer)):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        @property
        def state_size(self):
            return self.units

        @property
        def output_size(self):
            return self.units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                    name="recurrent_kernel")

        def call(self, inputs, states):
            output = ops.tanh(ops.matmul(inputs, self.kernel) + ops.matmul(states[0], self.recurrent_kernel))
            return output, [output]

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    return MinimalRNNCell


MINIMAL_CELL = {jkeras: minimal_cell_class(jkeras), keras: minimal_cell_class(keras)}
SEQ = (2, 4, 3)
MASKED = dict(pre=embedded, input_dtype="int32", input_data=TOKENS, mask=TOKENS != 0)
CASES = [
    ("SimpleRNN", dict(units=3), SEQ, {}),
    ("SimpleRNN", dict(units=3, return_sequences=True, activation="relu"), SEQ, {}),
    ("SimpleRNN", dict(units=2, go_backwards=True, unroll=True), SEQ, {}),
    ("SimpleRNN", dict(units=2, stateful=True, return_sequences=True), SEQ, {}),
    ("SimpleRNN", dict(units=2, return_sequences=True), None, MASKED),
    ("LSTM", dict(units=3), SEQ, {}),
    ("LSTM", dict(units=2, return_sequences=True, return_state=True), SEQ, {}),
    ("LSTM", dict(units=2, go_backwards=True, unit_forget_bias=False), SEQ, {}),
    ("LSTM", dict(units=2, unroll=True, return_sequences=True), SEQ, {}),
    ("LSTM", dict(units=2, stateful=True), SEQ, {}),
    ("LSTM", dict(units=2), None, MASKED),
    ("LSTM", dict(units=2, return_sequences=True, go_backwards=True), None, MASKED),
    ("GRU", dict(units=3), SEQ, {}),
    ("GRU", dict(units=2, reset_after=False, return_sequences=True), SEQ, {}),
    ("GRU", dict(units=2, return_state=True, go_backwards=True), SEQ, {}),
    ("GRU", dict(units=2, stateful=True, unroll=True), SEQ, {}),
    ("GRU", dict(units=2, return_sequences=True), SEQ,
     dict(pre=masking, input_data=ZEROED, mask=np.any(ZEROED != 0, axis=-1))),
    (rnn_of(lambda lib: lib.layers.LSTMCell(2)), dict(return_sequences=True), SEQ, {}),
    (rnn_of(lambda lib: lib.layers.GRUCell(2, reset_after=False)), {}, SEQ, {}),
    (rnn_of(lambda lib: lib.layers.SimpleRNNCell(2)), dict(return_state=True), SEQ, {}),
    (rnn_of(lambda lib: lib.layers.StackedRNNCells([lib.layers.LSTMCell(2), lib.layers.GRUCell(3)])),
     {}, SEQ, {}),
    (rnn_of(lambda lib: [lib.layers.SimpleRNNCell(2), lib.layers.LSTMCell(3)]),
     dict(return_sequences=True), SEQ, {}),
    (rnn_of(lambda lib: MINIMAL_CELL[lib](3)), dict(return_sequences=True), SEQ,
     dict(custom_objects={"MinimalRNNCell": MINIMAL_CELL[jkeras]})),
    (wrapped("Bidirectional", lambda lib: lib.layers.LSTM(2)), {}, SEQ, {}),
    (wrapped("Bidirectional", lambda lib: lib.layers.GRU(2, return_sequences=True), merge_mode="sum"),
     {}, SEQ, {}),
    (wrapped("Bidirectional", lambda lib: lib.layers.SimpleRNN(2), merge_mode="mul"), {}, SEQ, {}),
    (wrapped("Bidirectional", lambda lib: lib.layers.LSTM(2, return_sequences=True),
             merge_mode="ave"), {}, SEQ, {}),
    (wrapped("Bidirectional", lambda lib: lib.layers.GRU(2), merge_mode=None), {}, SEQ, {}),
    (wrapped("Bidirectional", lambda lib: lib.layers.LSTM(2, return_state=True)), {}, SEQ, {}),
    (wrapped("Bidirectional", lambda lib: lib.layers.LSTM(2, return_sequences=True)), {}, None, MASKED),
    (wrapped("TimeDistributed", lambda lib: lib.layers.Dense(2)), {}, SEQ, {}),
    (wrapped("TimeDistributed", lambda lib: lib.layers.Conv2D(2, 2)), {}, (2, 3, 3, 3, 2), {}),
    (wrapped("TimeDistributed", lambda lib: lib.layers.Dense(2)), {}, None, MASKED),
]

STOCHASTIC = [
    ("LSTM", dict(units=2, dropout=0.5, recurrent_dropout=0.5), SEQ),
    ("GRU", dict(units=2, dropout=0.5), SEQ),
    ("SimpleRNN", dict(units=2, recurrent_dropout=0.5, return_sequences=True), SEQ),
]


def _id(case):
    name = case[0] if isinstance(case[0], str) else f"built{CASES.index(case)}"
    masked = "-masked" if case[3].get("pre") else ""
    return name + "-" + "-".join(f"{k}={v}" for k, v in case[1].items()) + masked


def _options(index):
    """The first case of each layer runs every check; its variants skip `.h5` and the policies."""
    name, _, shape, options = CASES[index]
    first = not isinstance(name, str) or [c[0] for c in CASES].index(name) == index
    options = dict(options)
    if shape is None:
        options["input_data"] = TOKENS
    return options if first else dict(options, check_h5=False, policies=())


@pytest.mark.parametrize("index", range(len(CASES)), ids=[_id(c) for c in CASES])
def test_layer_matches_keras(index):
    name, kwargs, shape, _ = CASES[index]
    run_layer_test(name, kwargs, TOKENS.shape if shape is None else shape, **_options(index))


@pytest.mark.parametrize("name, kwargs, shape", STOCHASTIC, ids=[c[0] for c in STOCHASTIC])
def test_stochastic_layer(name, kwargs, shape):
    run_layer_test(name, kwargs, shape, stochastic=True, policies=())

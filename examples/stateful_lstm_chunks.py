"""A stateful LSTM that learns a long sequence fed in consecutive chunks.

A sequence too long to unroll in one step can be cut into chunks and fed, in order,
to a *stateful* LSTM, which carries its state from one batch to the next. Rules (as
in Keras): the batch size is fixed (`batch_input_shape`), row i of each batch
continues row i of the previous batch, `fit` must not shuffle, and `reset_states()`
starts new sequences. Here four sine waves of different frequencies, 400 steps each,
are cut into chunks of 20 steps and the model learns to predict the next value.

At the end the script checks that predicting chunk by chunk gives the same outputs
as one stateless pass over the whole sequence with the same weights: the carried
state is exactly the LSTM's state at the end of the previous chunk.

Run it with:

    python examples/stateful_lstm_chunks.py

With `JKERAS_EXAMPLES_SMALL=1` the sequences are 60 steps long and it trains for
2 epochs (how the tests run it).
"""
import os

import numpy as np

import jkeras
from jkeras import layers

SMALL = os.environ.get("JKERAS_EXAMPLES_SMALL") == "1"
BATCH, CHUNK = 4, 20
TOTAL = 60 if SMALL else 400        # time steps per sequence (a multiple of CHUNK)
EPOCHS = 2 if SMALL else 20


def make_waves():
    """`BATCH` sine waves of `TOTAL + 1` steps, shape (BATCH, TOTAL + 1, 1)."""
    t = np.arange(TOTAL + 1, dtype="float32")
    frequencies = np.linspace(0.1, 0.4, BATCH, dtype="float32")
    return np.sin(frequencies[:, None] * t[None, :] + 0.5)[..., None]


def build_stateful():
    model = jkeras.Sequential([
        layers.LSTM(16, stateful=True, return_sequences=True, batch_input_shape=(BATCH, CHUNK, 1)),
        layers.Dense(1),
    ], name="stateful")
    model.compile(optimizer=jkeras.optimizers.Adam(learning_rate=0.01), loss="mse")
    return model


def main():
    jkeras.utils.set_random_seed(0)
    waves = make_waves()
    model = build_stateful()
    model.summary()

    for epoch in range(EPOCHS):
        model.reset_states()                          # back to the start of the sequences
        losses = []
        for start in range(0, TOTAL, CHUNK):          # the chunks, in order
            inputs = waves[:, start:start + CHUNK]
            targets = waves[:, start + 1:start + CHUNK + 1]     # the next value at each step
            losses.append(model.train_on_batch(inputs, targets))
        print(f"epoch {epoch + 1}/{EPOCHS}: mean loss {np.mean(losses):.4f}")

    # `fit` works too, chunk by chunk, with shuffle=False so the rows stay in order:
    model.reset_states()
    model.fit(waves[:, :CHUNK], waves[:, 1:CHUNK + 1], batch_size=BATCH, epochs=1, shuffle=False,
              verbose=0)

    # Predicting chunk by chunk equals one pass over the whole sequence.
    model.reset_states()
    by_chunks = np.concatenate([model.predict(waves[:, s:s + CHUNK], batch_size=BATCH, verbose=0)
                                for s in range(0, TOTAL, CHUNK)], axis=1)
    whole = jkeras.Sequential([layers.LSTM(16, return_sequences=True, input_shape=(None, 1)),
                               layers.Dense(1)], name="whole")
    whole.set_weights(model.get_weights())            # the states are not weights
    np.testing.assert_allclose(by_chunks, whole.predict(waves[:, :TOTAL], verbose=0), atol=1e-5)
    error = float(np.mean((by_chunks - waves[:, 1:]) ** 2))
    print(f"chunked prediction equals the whole-sequence pass; next-step mse {error:.4f}")


if __name__ == "__main__":
    main()

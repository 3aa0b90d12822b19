"""`predict` from several Python threads on one model: the compiled path shares no mutable state."""
import threading

import numpy as np

import jkeras
from jkeras import layers


def test_predict_from_many_threads_gives_each_its_own_answer():
    model = jkeras.Sequential([layers.Dense(16, activation="relu", input_shape=(5,)), layers.Dense(3)])
    rng = np.random.default_rng(0)
    inputs = [rng.normal(size=(7 + i, 5)).astype("float32") for i in range(8)]
    # one thread first, with the same batch size (another batch size is another reduction order)
    expected = [model.predict(x, batch_size=4) for x in inputs]
    (kernel, bias), (kernel2, bias2) = model.layers[0].get_weights(), model.layers[1].get_weights()
    for x, want in zip(inputs, expected):
        np.testing.assert_allclose(want, np.maximum(x @ kernel + bias, 0) @ kernel2 + bias2, rtol=1e-5, atol=1e-6)
    results, errors = [None] * len(inputs), []

    def work(i):
        try:
            for _ in range(5):
                results[i] = model.predict(inputs[i], batch_size=4)
        except Exception as error:  # collected and asserted on the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got, want)  # each thread its own answer, to the bit

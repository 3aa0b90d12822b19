"""What a `fit` compiles: its train step and nothing else."""
import jax
import numpy as np
import pytest

import jkeras


def test_a_fit_lowers_its_train_step_alone():
    """The metrics' results come out of the step's program and the carry's copy is the
    runtime's, so neither is a program to compile on a cold cache. (Lowering is counted,
    not compiling: it happens whether or not the persistent cache holds the program.)"""
    names = []

    def listen(event, duration, **kwargs):
        if event.endswith("jaxpr_to_mlir_module_duration"):
            names.append(kwargs.get("fun_name"))
    model = jkeras.Sequential([jkeras.layers.Dense(5, input_shape=(13,), activation="tanh"),
                               jkeras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = np.ones((40, 13), np.float32), np.arange(40) % 2
    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)
    assert names == ["jit(run)"], names
    assert sorted(history.history) == ["accuracy", "loss"]
    assert model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] == pytest.approx(0.5)

"""steps_per_execution="auto" (the default): chunks of steps per dispatch, every hook kept."""
import jax
import numpy as np
import pytest

import jkeras
from jkeras import backend as K
from jkeras import callbacks, layers


def _data(n=100, d=6, classes=3):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, d)).astype("float32")
    return x, np.eye(classes, dtype="float32")[rng.integers(0, classes, n)]


def _fit(spe, verbose=0, cbs=None, epochs=2):
    x, y = _data()
    K.set_random_seed(7)
    inp = layers.Input((6,))
    h = layers.Dropout(0.2)(layers.Dense(16, activation="relu")(inp))
    model = jkeras.Model(inp, layers.Dense(3, activation="softmax")(h))
    kwargs = {} if spe is None else {"steps_per_execution": spe}
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"], **kwargs)
    history = model.fit(x, y, batch_size=8, epochs=epochs, verbose=verbose, callbacks=cbs)
    return model, history   # 12 full batches + 1 of 4 per epoch


@pytest.mark.parametrize("verbose", [0, 1])
def test_auto_is_the_default_and_equals_one_step_per_dispatch(verbose, capsys):
    base_model, base = _fit(1)
    model, history = _fit(None, verbose=verbose)
    assert model._steps_per_execution == "auto"
    for key in base.history:
        np.testing.assert_allclose(history.history[key], base.history[key], rtol=1e-6)
    for a, b in zip(base_model.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    if verbose:
        assert "13/13" in capsys.readouterr().out


def test_auto_compiles_one_program_per_signature():
    model, _ = _fit(None, verbose=1, epochs=3)   # chunk sizes vary with the measured time
    assert model._trace_counts["train"] == 1      # the short last batch runs padded in the same program


class _Batches(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_batch_end(self, batch, logs=None):
        self.seen.append(batch)


def test_a_class_batch_hook_sees_every_batch_under_auto():
    seen = _Batches()
    _fit(None, cbs=[seen], epochs=1)
    assert seen.seen == list(range(13))


def test_an_instance_batch_hook_sees_every_batch_under_auto():
    seen = []
    _fit(None, cbs=[callbacks.LambdaCallback(on_batch_end=lambda b, logs: seen.append(b))], epochs=1)
    assert seen == list(range(13))


def test_a_bad_steps_per_execution_is_named():
    model = jkeras.Sequential([layers.Dense(1, input_shape=(2,))])
    with pytest.raises(ValueError, match="positive int; received 'fast'"):
        model.compile("sgd", "mse", steps_per_execution="fast")


def test_chunk_sizes_do_not_change_the_bits(monkeypatch):
    """Every chunk runs the one loop program: a run of many small chunks (a progress bar paced to
    ~0 s per dispatch), one of single steps (a batch hook) and one of whole epochs agree exactly."""
    from jkeras.models import trainer
    monkeypatch.setattr(trainer._Pace, "seconds", 1e-9)
    paced, _ = _fit(None, verbose=1)
    whole, _ = _fit(None, verbose=0)
    single, _ = _fit(None, cbs=[_Batches()])
    for a, b, c in zip(paced.get_weights(), whole.get_weights(), single.get_weights()):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_which_callbacks_need_every_batch():
    def needs(*cbs):
        return callbacks.CallbackList(list(cbs)).needs_every_batch

    class Bar(callbacks.ProgbarLogger):  # a Keras 2 progress bar of its own
        def on_batch_end(self, batch, logs=None):
            pass

    assert not needs(callbacks.History(), callbacks.ProgbarLogger(), callbacks.EarlyStopping())
    assert not needs(callbacks.ModelCheckpoint("m.h5"), callbacks.BackupAndRestore("b"))
    assert needs(callbacks.ModelCheckpoint("m.h5", save_freq=3))
    assert needs(callbacks.BackupAndRestore("b", save_freq=2))
    assert needs(callbacks.TerminateOnNaN())
    assert needs(Bar())


def test_an_epoch_checkpoint_leaves_the_epoch_one_dispatch(tmp_path):
    model, _ = _fit(None, cbs=[callbacks.ModelCheckpoint(str(tmp_path / "m.h5"), monitor="loss")])
    assert model._trace_counts["train"] == 1 and (tmp_path / "m.h5").exists()


def test_a_convolution_model_runs_step_by_step_on_cpu():
    """XLA:CPU runs a convolution ~30x slower inside a loop: "auto" keeps such steps straight,
    so its numbers are spe=1's exactly."""
    def fit(spe):
        K.set_random_seed(3)
        model = jkeras.Sequential([layers.Input((6, 1)), layers.Conv1D(2, 3), layers.Flatten(),
                                   layers.Dense(3, activation="softmax")])
        model.compile("adam", "categorical_crossentropy", **({} if spe is None else {"steps_per_execution": spe}))
        x, y = _data(40)
        model.fit(x[..., None], y, batch_size=8, epochs=1, verbose=0)
        return model
    auto, one = fit(None), fit(1)
    if jax.default_backend() == "cpu":
        assert auto._jitted[("train_auto", 8)] is None
        for a, b in zip(auto.get_weights(), one.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_auto_evaluation_and_prediction_run_chunks_and_equal_batch_by_batch():
    """Validation, `evaluate` and `predict` of 8 batches or more under "auto": one loop program
    for every dataset size (the last chunk padded and masked); spe=1's numbers."""
    x, y = _data(400)
    K.set_random_seed(7)
    model = jkeras.Sequential([layers.Input((6,)), layers.Dense(4, activation="relu"),
                               layers.BatchNormalization(), layers.Dense(3, activation="softmax")])
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:100], y[:100], batch_size=8, epochs=1, verbose=0, validation_data=(x[100:], y[100:]))
    sizes = (70, 150, 400)
    auto = [model.evaluate(x[:n], y[:n], batch_size=8, verbose=0) for n in sizes]
    auto_predictions = [model.predict(x[:n], batch_size=8) for n in sizes]
    assert model._trace_counts["test"] == 1 and model._trace_counts["predict"] == 1
    model.compile(model.optimizer, "categorical_crossentropy", metrics=["accuracy"], steps_per_execution=1)
    np.testing.assert_allclose(auto, [model.evaluate(x[:n], y[:n], batch_size=8, verbose=0) for n in sizes],
                               rtol=1e-6)
    for n, got in zip(sizes, auto_predictions):
        np.testing.assert_allclose(got, model.predict(x[:n], batch_size=8), rtol=1e-6, atol=1e-7)


def test_auto_prediction_of_a_stateful_rnn_carries_the_state_through_the_chunks():
    def run(spe):
        K.set_random_seed(5)
        model = jkeras.Sequential([layers.Input(batch_shape=(4, 3, 2)),
                                   layers.SimpleRNN(3, stateful=True), layers.Dense(1)])
        model.compile("sgd", "mse", steps_per_execution=spe)
        x = np.random.default_rng(1).normal(size=(40, 3, 2)).astype("float32")
        model.fit(x, x[:, 0, :1], batch_size=4, verbose=0, shuffle=False)  # measures the step for "auto"
        out = model.predict(x, batch_size=4), model.predict(x[:8], batch_size=4)
        assert (("predict_chunk", model._own_leaves()[1], 4) in model._jitted) == (spe == "auto")
        return out
    for a, b in zip(run("auto"), run(1)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_datasets_of_nearby_sizes_share_one_train_program(monkeypatch):
    """Device data is held at `bucket_rows(n)` rows, so fits on 992 and 1024 samples compile
    one train step; the padding rows are never gathered: the same bits as exact-size data."""
    from jkeras.data import adapters

    def trained(pad):
        if not pad:
            monkeypatch.setattr(adapters, "bucket_rows", lambda n: n)
        K.set_random_seed(3)
        model = jkeras.Sequential([layers.Dense(8, activation="relu", input_shape=(6,)), layers.Dense(3)])
        model.compile("adam", "mse")
        x, y = _data(1024)
        model.fit(x[:992], y[:992], batch_size=32, epochs=2, verbose=0)
        model.fit(x, y, batch_size=32, epochs=1, verbose=0)
        monkeypatch.undo()
        return model

    padded, exact = trained(True), trained(False)
    assert adapters.bucket_rows(992) == adapters.bucket_rows(1024) == 1024
    assert padded._trace_counts["train"] == 1 and exact._trace_counts["train"] == 2
    for a, b in zip(padded.get_weights(), exact.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("spe", [None, 1, 4])
def test_a_padded_short_batch_trains_as_its_own_program_does(spe, monkeypatch):
    """The short last batch runs padded and masked in the full batches' program: the loss,
    metrics and weights equal those of the exact-size program it replaces (Dropout draws
    for the padding rows too, so its mask differs: this model has none)."""
    def trained(pad):
        monkeypatch.setattr(jkeras.Model, "_pads_short_batch", lambda self: pad)
        K.set_random_seed(5)
        x, y = _data()
        model = jkeras.Sequential([layers.Dense(16, activation="relu", input_shape=(6,)),
                                   layers.Dense(3, activation="softmax")])
        kwargs = {} if spe is None else {"steps_per_execution": spe}
        model.compile("adam", "categorical_crossentropy", metrics=["accuracy"], **kwargs)
        seen = _Batches()
        history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[seen])
        monkeypatch.undo()
        return model, history, seen.seen

    (padded, history, seen), (exact, base, base_seen) = trained(True), trained(False)
    assert seen == base_seen and seen[-1] == 12
    for key in base.history:
        np.testing.assert_allclose(history.history[key], base.history[key], rtol=1e-6)
    for a, b in zip(padded.get_weights(), exact.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_only_row_independent_models_pad_the_short_batch():
    dense = jkeras.Sequential([layers.Dense(3, input_shape=(6,))])
    normed = jkeras.Sequential([layers.Dense(3, input_shape=(6,)), layers.BatchNormalization()])
    lam = jkeras.Sequential([layers.Dense(3, input_shape=(6,)), layers.Lambda(lambda t: t - t.mean(0))])
    assert dense._pads_short_batch() and normed._pads_short_batch()   # BatchNormalization masks the padding
    assert not lam._pads_short_batch()
    x, y = _data()
    lam.compile("sgd", "mse")
    lam.fit(x, y, batch_size=8, verbose=0)   # 12 batches of 8 and one of 4
    assert lam._trace_counts["train"] == 2


def test_batch_normalization_leaves_the_padding_out_of_its_statistics(monkeypatch):
    """A padded short batch gives BatchNormalization the batch statistics of its real rows:
    the weights and moving statistics equal those of the exact-size program."""
    def trained(pad):
        monkeypatch.setattr(jkeras.Model, "_pads_short_batch", lambda self: pad)
        K.set_random_seed(2)
        model = jkeras.Sequential([layers.Dense(5, use_bias=False, input_shape=(6,)),
                                   layers.BatchNormalization(momentum=0.5), layers.Dense(3)])
        model.compile("adam", "mse")
        x, y = _data()
        model.fit(x, y, batch_size=16, epochs=2, verbose=0)   # 6 batches of 16 and one of 4
        monkeypatch.undo()
        return model

    padded, exact = trained(True), trained(False)
    assert padded._trace_counts["train"] == 1 and exact._trace_counts["train"] == 2
    for a, b in zip(padded.get_weights(), exact.get_weights()):   # moving statistics included
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_data_smaller_than_a_batch_is_not_padded_up_to_it():
    """`batch_size` larger than the data: one batch of the data's size, as Keras runs it (a
    padding of more than 1/8 of the epoch's rows gets a program of its own)."""
    model = jkeras.Sequential([layers.Dense(3, input_shape=(6,))])
    model.compile("sgd", "mse")
    x, y = _data(10)
    model.fit(x, y, batch_size=1 << 20, verbose=0)
    assert ("train", 10, 1) in model._jitted and model._trace_counts["train"] == 1


def _two_outputs():
    inp = layers.Input((6,))
    h = layers.Dense(8, activation="relu", activity_regularizer="l2")(inp)
    model = jkeras.Model(inp, [layers.Dense(3, activation="softmax", name="a")(h), layers.Dense(1, name="b")(h)])
    model.compile("adam", {"a": "categorical_crossentropy", "b": "mse"}, loss_weights={"a": 1.0, "b": 0.5},
                  metrics={"a": ["accuracy", jkeras.metrics.AUC()], "b": ["mae"]})
    return model


def _masked_sequence():
    model = jkeras.Sequential([layers.Embedding(9, 4, mask_zero=True, input_shape=(5,)), layers.LSTM(3),
                               layers.Dense(3, activation="softmax")])
    model.compile("rmsprop", "categorical_crossentropy", metrics=["accuracy", jkeras.metrics.Precision()])
    return model


@pytest.mark.parametrize("build", [_two_outputs, _masked_sequence])
def test_padding_keeps_weights_masks_penalties_and_metrics(build, monkeypatch):
    """Sample weights, loss weights, an activity penalty, an Embedding mask and stateful
    metrics give, on a padded short batch, what the exact-size program gives."""
    rng = np.random.default_rng(4)
    x, y = _data()
    sw = rng.uniform(0.5, 2.0, 100).astype("float32")
    if build is _masked_sequence:
        x = rng.integers(0, 9, (100, 5))
        x[:, 3:] = 0
        data = dict(x=x, y=y, sample_weight=sw)
    else:
        data = dict(x=x, y={"a": y, "b": y[:, :1]}, sample_weight={"a": sw, "b": sw})

    def trained(pad):
        monkeypatch.setattr(jkeras.Model, "_pads_short_batch", lambda self: pad)
        K.set_random_seed(8)
        model = build()
        history = model.fit(batch_size=16, epochs=2, verbose=0, **data)   # 6 batches of 16 and one of 4
        monkeypatch.undo()
        return model, history.history

    (padded, history), (exact, base) = trained(True), trained(False)
    assert padded._trace_counts["train"] == 1 and exact._trace_counts["train"] == 2
    for key in base:
        np.testing.assert_allclose(history[key], base[key], rtol=2e-5, atol=1e-6, err_msg=key)
    for a, b in zip(padded.get_weights(), exact.get_weights()):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6)

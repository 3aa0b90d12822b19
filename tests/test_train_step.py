"""The named train state and the public, overridable train_step / test_step (Keras 3's JAX
trainer API): numbers against numpy and optax references, a GAN with two optimizers, and
the state accessors callbacks and saving use."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jkeras
from jkeras import layers
from jkeras.models.train_state import TrainState

LR = 0.1


class LinearSGD(jkeras.Model):
    """A linear model trained by its own step: plain SGD on the mean squared error, and an
    evaluation that reports the mean absolute error of the real (unpadded) rows."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros")

    def call(self, x):
        return self.dense(x)

    def init_opt_state(self, trainable):
        return optax.sgd(LR).init(trainable)

    def train_step(self, state, data):
        x, y, _ = data

        def loss(params):
            pred = self.apply(params, state.state, x, training=True)[0]
            return jnp.mean((pred - y[0]) ** 2)  # y: one target per output

        value, grads = jax.value_and_grad(loss)(state.trainable)
        updates, opt_state = optax.sgd(LR).update(grads, state.opt_state)
        new = state._replace(trainable=optax.apply_updates(state.trainable, updates), opt_state=opt_state,
                             step=state.step + 1)
        return {"mse": value}, new

    def test_step(self, state, data):
        x, y, _, mask = data
        pred = self.apply(state.trainable, state.state, x)[0]
        mae = jnp.sum(jnp.abs(pred - y[0])[:, 0] * mask) / jnp.sum(mask)
        return {"mae": mae}, state


def _linear_data(n=48, d=3):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, d)).astype("float32")
    y = (x @ np.array([[0.5], [-1.0], [2.0]], "float32") + 0.3).astype("float32")
    return x, y


def _numpy_sgd(x, y, batch_size, epochs):
    """The reference: SGD on the MSE of `x @ w + b`, batches in order, with its last batch's loss."""
    w, b = np.ones((x.shape[1], 1), np.float64), np.zeros((1,), np.float64)
    for _ in range(epochs):
        for start in range(0, len(x), batch_size):
            xb, yb = x[start:start + batch_size].astype(np.float64), y[start:start + batch_size]
            err = xb @ w + b - yb
            last = np.mean(err ** 2)
            w -= LR * 2 * xb.T @ err / len(xb)
            b -= LR * 2 * err.sum(0) / len(xb)
    return w, b, last


@pytest.mark.parametrize("steps_per_execution", ["auto", 1, 3])
def test_custom_train_step_matches_numpy_sgd(steps_per_execution):
    x, y = _linear_data()
    model = LinearSGD()
    model.compile(steps_per_execution=steps_per_execution)
    history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    w, b, last = _numpy_sgd(x, y, 8, 2)
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(kernel, w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bias, b, rtol=1e-5, atol=1e-6)
    assert list(history.history) == ["mse"]
    np.testing.assert_allclose(history.history["mse"][-1], last, rtol=1e-5)  # the last step's logs
    assert model.get_train_state().step == 12 and model.steps_trained == 12
    assert model._trace_counts["train"] <= 1


def test_custom_train_on_batch_and_test_step_use_only_real_rows():
    x, y = _linear_data(n=20)
    model = LinearSGD()
    model.compile()
    pred = x @ np.ones((3, 1), np.float32)
    mse = model.train_on_batch(x, y, return_dict=True)
    np.testing.assert_allclose(mse["mse"], np.mean((pred - y) ** 2), rtol=1e-6)
    kernel, bias = model.get_weights()
    # evaluate pads the 20 rows up to the batch size; the mask leaves the padding out
    mae = model.evaluate(x, y, batch_size=32, verbose=0)
    np.testing.assert_allclose(mae, np.mean(np.abs(x @ kernel + bias - y)), rtol=1e-6)
    assert model.test_on_batch(x, y, return_dict=True).keys() == {"mae"}


class GAN(jkeras.Model):
    """A generator and a discriminator, each with its own Adam, in one train step."""

    latent = 3

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.generator = jkeras.Sequential([layers.Dense(8, activation="relu", input_shape=(self.latent,)),
                                            layers.Dense(2)], name="generator")
        self.discriminator = jkeras.Sequential([layers.Dense(8, activation="relu", input_shape=(2,)),
                                                layers.Dense(1)], name="discriminator")
        self.d_tx, self.g_tx = optax.adam(1e-2), optax.adam(1e-2)

    def call(self, x):
        return self.discriminator(x)

    def init_opt_state(self, trainable):
        return {"d": self.d_tx.init(trainable["discriminator"]), "g": self.g_tx.init(trainable["generator"])}

    def train_step(self, state, data):
        real = data[0]
        params, opt = state.trainable, state.opt_state
        z = jax.random.normal(self.step_key(state), (real.shape[0], self.latent))
        bce = lambda logits, label: optax.sigmoid_binary_cross_entropy(logits, label).mean()  # noqa: E731
        fake = lambda g: self.generator.apply(g, {}, z, training=True)[0]  # noqa: E731
        score = lambda d, x: self.discriminator.apply(d, {}, x, training=True)[0]  # noqa: E731
        d_loss, d_grads = jax.value_and_grad(
            lambda d: bce(score(d, real), 1.0) + bce(score(d, fake(params["generator"])), 0.0))(params["discriminator"])
        d_updates, d_opt = self.d_tx.update(d_grads, opt["d"])
        d_params = optax.apply_updates(params["discriminator"], d_updates)
        g_loss, g_grads = jax.value_and_grad(lambda g: bce(score(d_params, fake(g)), 1.0))(params["generator"])
        g_updates, g_opt = self.g_tx.update(g_grads, opt["g"])
        new = state._replace(trainable={"discriminator": d_params,
                                        "generator": optax.apply_updates(params["generator"], g_updates)},
                             opt_state={"d": d_opt, "g": g_opt}, step=state.step + 1)
        return {"d_loss": d_loss, "g_loss": g_loss}, new


def _real(n=128):
    return np.random.default_rng(1).normal([2.0, -1.0], 0.3, size=(n, 2)).astype("float32")


def test_gan_with_two_optimizers_trains_both_nets():
    gan = GAN(name="gan")
    gan.compile(seed=5)
    start = gan.get_weights()
    g_before, d_before = gan.generator.get_weights(), gan.discriminator.get_weights()
    history = gan.fit(_real(), epochs=3, batch_size=32, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss"}
    for values in history.history.values():
        assert len(values) == 3 and np.all(np.isfinite(values)) and len(set(values)) == 3
    for before, net in ((g_before, gan.generator), (d_before, gan.discriminator)):
        assert all(not np.array_equal(a, b) for a, b in zip(before, net.get_weights()))
    opt_state = gan.get_train_state().opt_state
    assert set(opt_state) == {"d", "g"}
    assert int(opt_state["g"][0].count) == 12  # optax's own step count: 4 batches x 3 epochs
    assert gan._trace_counts["train"] == 1
    # the step's key comes from the model's seed (and name): the same seed gives the same bits
    again = GAN(name="gan")
    again.compile(seed=5)
    again.set_weights(start)
    again.fit(_real(), epochs=3, batch_size=32, verbose=0)
    for a, b in zip(again.get_weights(), gan.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_train_state_accessors():
    model = jkeras.Sequential([layers.Dense(2, input_shape=(3,)), layers.BatchNormalization()])
    ts = model.get_train_state()
    assert isinstance(ts, TrainState) and ts.opt_state is None and ts.metrics is None
    assert set(ts.trainable["batch_normalization"]) == {"gamma", "beta"}
    assert set(ts.state["batch_normalization"]) == {"moving_mean", "moving_variance"}
    model.compile("adam", "mse", seed=7)
    assert model.seed == 7
    x, y = _linear_data(n=16)
    x, y = x, np.repeat(y, 2, axis=1)
    model.fit(x, y, batch_size=8, verbose=0)
    saved = model.get_train_state()
    weights = model.get_weights()
    model.fit(x, y, batch_size=8, verbose=0)
    assert model.steps_trained == 4
    model.set_train_state(saved)
    assert model.steps_trained == 2
    for a, b in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    wrong = saved._replace(trainable=jax.tree.map(lambda a: a[..., :1], saved.trainable))
    with pytest.raises(ValueError, match=r"trainable.*shape"):
        model.set_train_state(wrong)
    assert model.steps_trained == 2  # nothing changed
    assert model.live_train_state() is None


def test_live_train_state_in_a_batch_callback_is_the_state_after_that_batch():
    model = jkeras.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile("sgd", "mse")
    seen = []

    def record(batch, logs):
        live = model.live_train_state()
        seen.append((batch, int(live.step), jax.tree.map(np.asarray, live.trainable)))

    x, y = _linear_data(n=24)
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0,
              callbacks=[jkeras.callbacks.LambdaCallback(on_train_batch_end=record)])
    assert [(b, s) for b, s, _ in seen] == [(0, 1), (1, 2), (2, 3)]
    np.testing.assert_array_equal(seen[-1][2]["dense"]["kernel"], model.get_weights()[0])


def test_a_checkpoint_every_n_batches_holds_the_weights_after_that_batch(tmp_path):
    model = jkeras.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile("sgd", "mse")
    seen = {}

    def record(batch, logs):
        seen[batch] = np.asarray(model.live_train_state().trainable["dense"]["kernel"])

    x, y = _linear_data(n=32)
    path = str(tmp_path / "w{batch}.h5")
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0,
              callbacks=[jkeras.callbacks.LambdaCallback(on_train_batch_end=record),
                         jkeras.callbacks.ModelCheckpoint(path, save_weights_only=True, save_freq=2)])
    fresh = jkeras.Sequential([layers.Dense(1, input_shape=(3,))])
    fresh.load_weights(str(tmp_path / "w2.h5"))  # saved after batch index 1
    np.testing.assert_array_equal(fresh.get_weights()[0], seen[1])
    assert not np.array_equal(seen[1], model.get_weights()[0])  # not the epoch's end


def test_gan_resumes_mid_epoch_from_backup_and_restore_bit_for_bit(tmp_path):
    def gan():  # the same layer names (the checkpoint's tree keys) and initial weights each time
        jkeras.utils.set_random_seed(0)
        model = GAN(name="gan")
        model.compile(seed=1)
        return model

    straight = gan()
    straight.fit(_real(), epochs=2, batch_size=32, verbose=0)

    class Crash(jkeras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                raise KeyboardInterrupt

    backup = str(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):  # the backup of batch 1 is the newest
        gan().fit(_real(), epochs=2, batch_size=32, verbose=0,
                  callbacks=[Crash(), jkeras.callbacks.BackupAndRestore(backup, save_freq=2)])
    resumed, batches = gan(), []
    resumed.fit(_real(), epochs=2, batch_size=32, verbose=0,
                callbacks=[jkeras.callbacks.BackupAndRestore(backup, save_freq=2),
                           jkeras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: batches.append(b))])
    assert batches == [2, 3, 0, 1, 2, 3]  # from the third batch of the first epoch on
    assert resumed.steps_trained == straight.steps_trained == 8
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(a, b)

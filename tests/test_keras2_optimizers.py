"""Optimizers written the Keras 2 way (`get_updates(loss, params)` with `K.update`) run inside the
jitted step: the same weights as jkeras's built-in rules and a numpy reference, a Lookahead that
wraps another optimizer, slots kept through `.h5`."""
import h5py
import numpy as np
import pytest

import jkeras
from jkeras import backend as K
from jkeras.legacy import interfaces
from jkeras.optimizers import Optimizer

from optimizer_rules import adam_rule, linear_mse_run, lookahead_rule, sgd_rule


class Keras2SGD(Optimizer):
    """Keras 2.3.1's SGD, as Keras 2 libraries copied it."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        learning_rate = kwargs.pop("lr", learning_rate)
        self.initial_decay = kwargs.pop("decay", 0.0)
        super().__init__(**kwargs)
        with K.name_scope(self.__class__.__name__):
            self.iterations = K.variable(0, dtype="int64", name="iterations")
            self.learning_rate = K.variable(learning_rate, name="learning_rate")
            self.momentum = K.variable(momentum, name="momentum")
            self.decay = K.variable(self.initial_decay, name="decay")
        self.nesterov = nesterov
        self.runs = 0

    @interfaces.legacy_get_updates_support
    @K.symbolic
    def get_updates(self, loss, params):
        self.runs += 1
        grads = self.get_gradients(loss, params)
        self.updates = [K.update_add(self.iterations, 1)]
        lr = self.learning_rate
        if self.initial_decay > 0:
            lr = lr * (1. / (1. + self.decay * K.cast(self.iterations, K.dtype(self.decay))))
        moments = [K.zeros(K.int_shape(p), name="moment_" + str(i)) for i, p in enumerate(params)]
        self.weights = [self.iterations] + moments
        for p, g, m in zip(params, grads, moments):
            v = self.momentum * m - lr * g
            self.updates.append(K.update(m, v))
            new_p = p + self.momentum * v - lr * g if self.nesterov else p + v
            self.updates.append(K.update(p, new_p))
        return self.updates

    def get_config(self):
        config = {"learning_rate": float(K.get_value(self.learning_rate)),
                  "momentum": float(K.get_value(self.momentum)), "decay": float(K.get_value(self.decay)),
                  "nesterov": self.nesterov}
        return {**super().get_config(), **config}


class Keras2Adam(Optimizer):
    """Keras 2.2's Adam (`self.lr`, update pairs returned in `self.updates`, dummy `vhats`)."""

    def __init__(self, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(**kwargs)
        self.iterations = K.variable(0, dtype="int64", name="iterations")
        self.lr = K.variable(lr, name="lr")
        self.beta_1 = K.variable(beta_1, name="beta_1")
        self.beta_2 = K.variable(beta_2, name="beta_2")
        self.epsilon = epsilon

    def get_updates(self, loss, params):
        grads = self.get_gradients(loss, params)
        self.updates = [(self.iterations, self.iterations + 1)]  # a pair, as Keras 2.0-2.2 wrote it
        t = K.cast(self.iterations, K.floatx()) + 1
        lr_t = self.lr * (K.sqrt(1. - K.pow(self.beta_2, t)) / (1. - K.pow(self.beta_1, t)))
        ms = [K.zeros(K.int_shape(p), dtype=K.dtype(p), name="m_" + str(i)) for i, p in enumerate(params)]
        vs = [K.zeros(K.int_shape(p), dtype=K.dtype(p), name="v_" + str(i)) for i, p in enumerate(params)]
        vhats = [K.zeros(1, name="vhat_" + str(i)) for i in range(len(params))]
        self.weights = [self.iterations] + ms + vs + vhats
        for p, g, m, v in zip(params, grads, ms, vs):
            m_t = (self.beta_1 * m) + (1. - self.beta_1) * g
            v_t = (self.beta_2 * v) + (1. - self.beta_2) * K.square(g)
            self.updates += [K.update(m, m_t), K.update(v, v_t)]
            self.updates.append(K.update(p, p - lr_t * m_t / (K.sqrt(v_t) + self.epsilon)))
        return self.updates

    def get_config(self):
        config = {"lr": float(K.get_value(self.lr)), "beta_1": float(K.get_value(self.beta_1)),
                  "beta_2": float(K.get_value(self.beta_2)), "epsilon": self.epsilon}
        return {**super().get_config(), **config}


class Lookahead(Optimizer):
    """A Keras 2-era Lookahead: the inner optimizer's `get_updates`, then every `sync_period`
    steps the slow weights move `slow_step` towards the fast ones and the fast ones jump there.
    As the era's wrappers did, its rate and count are the inner optimizer's."""

    def __init__(self, optimizer, sync_period=2, slow_step=0.5, **kwargs):
        super().__init__(**kwargs)
        self.optimizer = jkeras.optimizers.get(optimizer)
        self.sync_period = sync_period
        self.slow_step = slow_step

    @property
    def lr(self):
        return self.optimizer.lr

    @lr.setter
    def lr(self, value):
        self.optimizer.lr = value

    learning_rate = lr

    @property
    def iterations(self):
        return self.optimizer.iterations

    def get_updates(self, loss, params):
        sync = K.equal((self.iterations + 1) % self.sync_period, 0)
        slow = [K.variable(K.get_value(p), name="slow_" + str(i)) for i, p in enumerate(params)]
        self.updates = self.optimizer.get_updates(loss, params)
        with K.control_dependencies(self.updates):  # `p` below is the fast weight after its update
            for p, s in zip(params, slow):
                s_t = s + self.slow_step * (p - s)
                self.updates.append(K.update(s, K.switch(sync, s_t, s)))
                self.updates.append(K.update(p, K.switch(sync, s_t, p)))
        self.weights = self.optimizer.weights + slow
        return self.updates

    def get_config(self):
        config = {"optimizer": jkeras.optimizers.serialize(self.optimizer),
                  "sync_period": self.sync_period, "slow_step": self.slow_step}
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        inner = jkeras.optimizers.deserialize(config.pop("optimizer"), custom_objects)
        return cls(inner, **config)


class WarmUp(Optimizer):
    """A Keras 2-era warm-up wrapper: the inner optimizer's rate rises linearly over `warmup_steps`."""

    def __init__(self, optimizer, warmup_steps=3, **kwargs):
        super().__init__(**kwargs)
        self.optimizer = jkeras.optimizers.get(optimizer)
        self.warmup_steps = warmup_steps
        self.base_lr = float(K.get_value(self.optimizer.lr))

    def get_updates(self, loss, params):
        t = K.cast(self.iterations, K.floatx()) + 1
        self.updates = [K.update(self.optimizer.lr, self.base_lr * K.minimum(1.0, t / self.warmup_steps)),
                        K.update_add(self.iterations, 1)]
        with K.control_dependencies(self.updates):  # the inner optimizer reads the new rate
            return self.updates + self.optimizer.get_updates(loss, params)


X = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
Y = np.random.default_rng(1).normal(size=(8, 1)).astype("float32")


def _model(optimizer):
    jkeras.utils.set_random_seed(5)
    model = jkeras.Sequential([jkeras.layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer, "mse")
    return model


def _trained(optimizer, epochs=2):
    model = _model(optimizer)
    model.fit(X, Y, batch_size=4, epochs=epochs, shuffle=False, verbose=0)
    return model


def _numpy_run(rule, steps=4, batch=4):
    """A linear model under MSE, trained by `rule(params, grads, t)` (t from 1) on the batches in order."""
    return linear_mse_run(rule, _model("sgd").get_weights(), X, Y, batch, steps)


def _check(model, params, rtol=1e-5):
    for got, want in zip(model.get_weights(), params):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-6)


def test_keras2_sgd_equals_builtin_and_numpy_and_traces_once():
    opt = Keras2SGD(learning_rate=0.1, momentum=0.9)
    model = _trained(opt)
    _check(model, _numpy_run(sgd_rule(0.1, 0.9)))
    _check(model, _trained(jkeras.optimizers.SGD(0.1, momentum=0.9)).get_weights())
    # get_updates runs when the step traces (init, one train step), not per batch
    assert (opt.runs, model._trace_counts["train"]) == (2, 1)
    assert opt.iterations == 4 and K.get_value(model.optimizer.iterations) == 4
    # `weights` as get_updates listed them; the weights come in the params tree's order (bias, kernel)
    moments = jkeras.optimizers.slots(model._opt_state)["moment"]["dense"]
    values = opt.get_weights()
    assert values[0] == 4
    np.testing.assert_array_equal(values[1], moments["bias"])
    np.testing.assert_array_equal(values[2], moments["kernel"])


def test_keras2_adam_equals_builtin_and_numpy():
    model = _trained(Keras2Adam(lr=0.05))
    _check(model, _numpy_run(adam_rule(0.05)))
    _check(model, _trained(jkeras.optimizers.Adam(0.05)).get_weights())


def test_learning_rate_is_live_state():
    opt = Keras2SGD(learning_rate=0.1)
    model = _trained(opt, epochs=1)
    K.set_value(model.optimizer.lr, 0.0)  # no recompile: the rate is the state's
    before = model.get_weights()
    model.fit(X, Y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    _check(model, before)
    assert float(K.get_value(opt.learning_rate)) == 0.0 and model._trace_counts["train"] == 1


@pytest.mark.parametrize("inner,rule", [(lambda: jkeras.optimizers.SGD(0.1, momentum=0.9), sgd_rule(0.1, 0.9)),
                                        (lambda: Keras2Adam(lr=0.05), adam_rule(0.05))],
                         ids=["builtin_sgd", "keras2_adam"])
def test_lookahead_wraps_another_optimizer(inner, rule):
    model = _trained(Lookahead(inner()))
    _check(model, _numpy_run(lookahead_rule(rule)))
    assert model.optimizer.iterations == 4  # the inner optimizer's count, read from the state


def test_rate_of_a_wrapped_optimizer_is_live():
    model = _trained(Lookahead(jkeras.optimizers.SGD(0.1, momentum=0.9)))
    K.set_value(model.optimizer.lr, 0.02)  # the inner rate, which lives in the wrapper's state
    assert K.get_value(model.optimizer.lr) == np.float32(0.02)
    model.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    rule = lookahead_rule(sgd_rule(lambda t: 0.1 if t <= 4 else 0.02, 0.9))
    _check(model, _numpy_run(rule, steps=8))
    assert model._trace_counts["train"] == 1


def test_h5_round_trip_keeps_slots(tmp_path):
    path = str(tmp_path / "m.h5")
    model = _trained(Keras2Adam(lr=0.05), epochs=1)
    model.save(path)
    with h5py.File(path, "r") as f:
        names = [n.decode() if isinstance(n, bytes) else n for n in f["optimizer_weights"].attrs["weight_names"]]
    assert names[:3] == ["iteration:0", "Keras2Adam/m/dense/kernel:0", "Keras2Adam/m/dense/bias:0"]
    loaded = jkeras.models.load_model(path, custom_objects={"Keras2Adam": Keras2Adam})
    assert isinstance(loaded.optimizer, Keras2Adam) and K.get_value(loaded.optimizer.lr) == np.float32(0.05)
    saved, restored = (jkeras.optimizers.slots(m._opt_state) for m in (model, loaded))
    for slot in ("m", "v"):
        for layer_weight in ("kernel", "bias"):
            np.testing.assert_array_equal(saved[slot]["dense"][layer_weight],
                                          restored[slot]["dense"][layer_weight])
    assert loaded.optimizer.iterations == 2
    for m in (model, loaded):
        m.fit(X, Y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    _check(loaded, model.get_weights(), rtol=0)
    _check(model, _numpy_run(adam_rule(0.05)))


def test_h5_round_trip_of_a_wrapper(tmp_path):
    path = str(tmp_path / "m.h5")
    model = _trained(Lookahead(Keras2SGD(learning_rate=0.1, momentum=0.9)), epochs=1)
    model.save(path)
    objects = {"Lookahead": Lookahead, "Keras2SGD": Keras2SGD}
    loaded = jkeras.models.load_model(path, custom_objects=objects)
    assert isinstance(loaded.optimizer.optimizer, Keras2SGD)
    for m in (model, loaded):
        m.fit(X, Y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    _check(loaded, model.get_weights(), rtol=0)
    _check(model, _numpy_run(lookahead_rule(sgd_rule(0.1, 0.9))))


def test_warm_up_wrapper_sets_the_inner_rate_each_step():
    def rule(params, grads, t):
        return [p - 0.1 * min(1.0, t / 3) * g for p, g in zip(params, grads)]
    _check(_trained(WarmUp(jkeras.optimizers.SGD(0.1))), _numpy_run(rule))


def test_clipnorm_is_keras2_global_norm():
    def rule(params, grads, t):
        norm = np.sqrt(sum(np.sum(g * g) for g in grads))
        scale = 0.5 / norm if norm >= 0.5 else 1.0
        return [p - 0.1 * g * scale for p, g in zip(params, grads)]
    _check(_trained(Keras2SGD(learning_rate=0.1, clipnorm=0.5)), _numpy_run(rule))


def test_get_and_set_weights():
    opt = Keras2Adam(lr=0.05)
    model = _trained(opt, epochs=1)
    values = opt.get_weights()
    assert [v.shape for v in values] == [(), (1,), (3, 1), (1,), (3, 1), (1,), (1,)]
    model.fit(X, Y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    assert opt.iterations == 4
    opt.set_weights(values)
    assert opt.iterations == 2
    for got, want in zip(opt.get_weights(), values):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="Length of the specified weight list \\(1\\)"):
        opt.set_weights(values[:1])
    with pytest.raises(ValueError, match="weight 1 has shape \\(1,\\)"):
        opt.set_weights([values[0], np.zeros((2,))] + values[2:])
    with pytest.raises(AttributeError, match="slots"):
        jkeras.optimizers.Adam().weights


class DecoupledDecaySGD(Optimizer):
    """A Keras 2-era optimizer with its own `weight_decay` attribute (as AdamW ports had)."""

    def __init__(self, lr=0.1, weight_decay=0.2, **kwargs):
        super().__init__(**kwargs)
        self.lr = K.variable(lr)
        self.weight_decay = K.variable(weight_decay)

    def get_updates(self, loss, params):
        grads = self.get_gradients(loss, params)
        return [K.update(p, p - self.lr * g - self.lr * self.weight_decay * p) for p, g in zip(params, grads)]


def test_own_attributes_named_like_keras3_arguments_and_refused_keras3_arguments():
    def rule(params, grads, t):
        return [p - 0.1 * g - 0.1 * 0.2 * p for p, g in zip(params, grads)]
    _check(_trained(DecoupledDecaySGD()), _numpy_run(rule))
    with pytest.raises(ValueError, match="use_ema"):
        DecoupledDecaySGD(use_ema=True)


def test_reads_before_control_dependencies_see_the_values_before_the_updates():
    # Keras 2's SGD adds 1 to `iterations` first, then decays by the count read afterwards: as in
    # Keras 2's graph the read is the count before the step, so update t uses lr / (1 + decay (t - 1))
    def rule(params, grads, t):
        return [p - 0.1 / (1 + 0.5 * (t - 1)) * g for p, g in zip(params, grads)]
    _check(_trained(Keras2SGD(learning_rate=0.1, decay=0.5)), _numpy_run(rule))


def test_checkpoint_folder_round_trip_of_a_wrapper(tmp_path):
    model = _trained(Lookahead(Keras2Adam(lr=0.05)), epochs=1)
    model.save(str(tmp_path / "ckpt") + "/")
    loaded = jkeras.models.load_model(str(tmp_path / "ckpt") + "/",
                                      custom_objects={"Lookahead": Lookahead, "Keras2Adam": Keras2Adam})
    for m in (model, loaded):
        m.fit(X, Y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    _check(loaded, model.get_weights(), rtol=0)
    assert loaded.optimizer.iterations == 4


class AveragedSGD(Optimizer):
    """SGD keeping a moving average of the weights with `K.moving_average_update` (Polyak)."""

    def __init__(self, lr=0.1, momentum=0.9, **kwargs):
        super().__init__(**kwargs)
        self.lr, self.momentum = K.variable(lr), momentum

    def get_updates(self, loss, params):
        grads = self.get_gradients(loss, params)
        averages = [K.variable(K.get_value(p), name="average_" + str(i)) for i, p in enumerate(params)]
        updates = []
        for p, g, average in zip(params, grads, averages):
            new_p = p - self.lr * g
            updates += [K.update(p, new_p), K.moving_average_update(average, new_p, self.momentum)]
        return updates


def test_moving_average_update_slot():
    averages = []

    def rule(params, grads, t):
        new = [p - 0.1 * g for p, g in zip(params, grads)]
        averages[:] = [0.9 * a + 0.1 * n for a, n in zip(averages or params, new)]
        return new
    model = _trained(AveragedSGD())
    _check(model, _numpy_run(rule))
    slot = jkeras.optimizers.slots(model._opt_state)["average"]["dense"]
    np.testing.assert_allclose(slot["kernel"], averages[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(slot["bias"], averages[1], rtol=1e-5, atol=1e-6)

"""The Keras-named optimizers, each with Keras 3's exact update rule and slot names.

Every rule is written for one parameter, in Keras 3's operation order so the
float32 results agree with Keras to rounding. `step` is Keras's
`iterations + 1`; the returned update is added to the parameter.
"""
import numbers

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend import floatx
from jkeras.optimizers.base import Optimizer, checked, epsilon_or_default


def _power(base, step, dtype):
    return jnp.power(jnp.asarray(base, dtype), step.astype(dtype))


class SGD(Optimizer):
    """Gradient descent, optionally with (Nesterov) momentum.

    `m = momentum * m - lr * g`; the parameter moves by `m`, or with Nesterov by
    `momentum * m - lr * g`. Slot: `momentum` (only when `momentum > 0`).
    """
    _own_config = ("momentum", "nesterov")

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if not isinstance(momentum, numbers.Real) or not 0 <= momentum <= 1:
            raise ValueError(f"`momentum` must be a float between [0, 1]. Received: momentum={momentum}")
        self.momentum = float(momentum)
        self.nesterov = nesterov
        self._slots = ("momentum",) if self.momentum != 0 else ()

    def _leaf_update(self, g, s, lr, step):
        if not self._slots:
            return -(g * lr), {}
        m = s["momentum"] * self.momentum - g * lr
        return (m * self.momentum - g * lr if self.nesterov else m), {"momentum": m}


class RMSprop(Optimizer):
    """Divides the gradient by a running root mean square of recent gradients.

    Slots: `velocity`, then `momentum` (when `momentum > 0`) and
    `average_gradient` (when `centered`).
    """
    _own_config = ("rho", "momentum", "epsilon", "centered")

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho = checked("rho", rho, below=1)
        self.momentum = checked("momentum", momentum)
        self.epsilon = epsilon_or_default(epsilon)
        self.centered = centered
        self._slots = ("velocity",) + (("momentum",) if momentum > 0 else ()) + (
            ("average_gradient",) if centered else ())
        self._slot_groups = tuple((slot,) for slot in self._slots)

    def _leaf_update(self, g, s, lr, step):
        rho, new = self.rho, {}
        new["velocity"] = rho * s["velocity"] + (1 - rho) * jnp.square(g)
        if self.centered:
            new["average_gradient"] = rho * s["average_gradient"] + (1 - rho) * g
            denominator = new["velocity"] - jnp.square(new["average_gradient"]) + self.epsilon
        else:
            denominator = new["velocity"] + self.epsilon
        increment = lr * g / jnp.sqrt(denominator)
        if self.momentum > 0:
            new["momentum"] = self.momentum * s["momentum"] + increment
            return -new["momentum"], new
        return -increment, new


class Adam(Optimizer):
    """Adam, as Keras 3 writes it: `epsilon` is added to `sqrt(v)` *before* bias correction
    of the step size, `lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)`.

    Slots: `momentum`, `velocity`, and `velocity_hat` with `amsgrad`.
    """
    _own_config = ("beta_1", "beta_2", "epsilon", "amsgrad")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = checked("beta_1", beta_1, below=1)
        self.beta_2 = checked("beta_2", beta_2, below=1)
        self.epsilon = epsilon_or_default(epsilon)
        self.amsgrad = amsgrad
        self._slots = ("momentum", "velocity") + (("velocity_hat",) if amsgrad else ())
        self._slot_groups = (("momentum", "velocity"), ("velocity_hat",))

    def _leaf_update(self, g, s, lr, step):
        alpha = lr * jnp.sqrt(1 - _power(self.beta_2, step, g.dtype)) / (1 - _power(self.beta_1, step, g.dtype))
        m = s["momentum"] + (g - s["momentum"]) * (1 - self.beta_1)
        v = s["velocity"] + (jnp.square(g) - s["velocity"]) * (1 - self.beta_2)
        new = {"momentum": m, "velocity": v}
        if self.amsgrad:
            v = new["velocity_hat"] = jnp.maximum(s["velocity_hat"], v)
        return -(m * alpha / (jnp.sqrt(v) + self.epsilon)), new


class AdamW(Adam):
    """Adam with decoupled weight decay (`p -= p * weight_decay * lr` before each update)."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay=weight_decay,
                         **kwargs)


class Adagrad(Optimizer):
    """Per-parameter rates scaled by the inverse root of the summed squared gradients.

    Slot: `accumulator`, starting at `initial_accumulator_value`.
    """
    _own_config = ("initial_accumulator_value", "epsilon")
    _slots = ("accumulator",)

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value = checked("initial_accumulator_value", initial_accumulator_value)
        self.epsilon = epsilon_or_default(epsilon)

    def _initial_slot(self, name, p):
        if name == "accumulator":
            return jnp.full_like(p, self.initial_accumulator_value)
        return super()._initial_slot(name, p)

    def _leaf_update(self, g, s, lr, step):
        accumulator = s["accumulator"] + jnp.square(g)
        return -(lr * g / jnp.sqrt(accumulator + self.epsilon)), {"accumulator": accumulator}


class Adadelta(Optimizer):
    """Adadelta: steps scaled by the ratio of running RMS of updates and of gradients.

    Slots: `accumulated_grad`, `accumulated_delta_var`.
    """
    _own_config = ("rho", "epsilon")
    _slots = ("accumulated_grad", "accumulated_delta_var")

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho = checked("rho", rho, below=1)
        self.epsilon = epsilon_or_default(epsilon)

    def _leaf_update(self, g, s, lr, step):
        rho, eps = self.rho, self.epsilon
        grad_sq = rho * s["accumulated_grad"] + (1 - rho) * jnp.square(g)
        delta = -(jnp.sqrt(s["accumulated_delta_var"] + eps) * g / jnp.sqrt(grad_sq + eps))
        delta_sq = rho * s["accumulated_delta_var"] + (1 - rho) * jnp.square(delta)
        return lr * delta, {"accumulated_grad": grad_sq, "accumulated_delta_var": delta_sq}


class Adamax(Optimizer):
    """Adam with the infinity norm. Slots: `momentum`, `norm` (Keras 3's names)."""
    _own_config = ("beta_1", "beta_2", "epsilon")
    _slots = ("momentum", "norm")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = checked("beta_1", beta_1, below=1)
        self.beta_2 = checked("beta_2", beta_2, below=1)
        self.epsilon = epsilon_or_default(epsilon)

    def _leaf_update(self, g, s, lr, step):
        m = s["momentum"] + (g - s["momentum"]) * (1 - self.beta_1)
        u = jnp.maximum(self.beta_2 * s["norm"], jnp.abs(g))
        step_size = (1 - _power(self.beta_1, step, g.dtype)) * (u + self.epsilon)
        return -(lr * m / step_size), {"momentum": m, "norm": u}


class Nadam(Optimizer):
    """Adam with Nesterov momentum and Keras's momentum schedule `beta_1 * (1 - 0.5 * 0.96^t)`.

    Slots: `momentum`, `velocity`; plus the scalar `u_product` (the running
    product of the momentum schedule) in `slots(opt_state)`.
    """
    _own_config = ("beta_1", "beta_2", "epsilon")
    _slots = ("momentum", "velocity")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = checked("beta_1", beta_1, below=1)
        self.beta_2 = checked("beta_2", beta_2, below=1)
        self.epsilon = epsilon_or_default(epsilon)

    def _init_scalars(self, params):
        leaves = [jnp.asarray(p) for p in jax.tree.leaves(params)]
        return {"u_product": jnp.ones([], leaves[0].dtype if leaves else floatx())}

    def scalars_at(self, iterations, like):
        """`u_product` after `iterations` updates, for files that do not hold it (tf.keras's)."""
        steps = np.arange(1, iterations + 1, dtype=like.dtype)
        factors = self.beta_1 * (1.0 - 0.5 * np.power(like.dtype.type(0.96), steps))
        return {"u_product": np.prod(factors.astype(like.dtype), dtype=like.dtype)}

    def _apply_rule(self, grads, slots, lr, step, params=None):
        u_product = slots["u_product"]
        u_product = u_product * self.beta_1 * (1.0 - 0.5 * _power(0.96, step, u_product.dtype))
        updates, new = super()._apply_rule(grads, {**slots, "u_product": u_product}, lr, step, params)
        return updates, {**new, "u_product": u_product}

    def _leaf_update(self, g, s, lr, step):
        dtype = g.dtype
        beta_1, beta_2 = jnp.asarray(self.beta_1, dtype), jnp.asarray(self.beta_2, dtype)
        u_t = beta_1 * (1.0 - 0.5 * _power(0.96, step, dtype))
        u_t_1 = beta_1 * (1.0 - 0.5 * _power(0.96, step + 1, dtype))
        u_product_t = s["u_product"].astype(dtype)
        u_product_t_1 = u_product_t * u_t_1
        m = s["momentum"] + (g - s["momentum"]) * (1 - beta_1)
        v = s["velocity"] + (jnp.square(g) - s["velocity"]) * (1 - beta_2)
        m_hat = u_t_1 * m / (1 - u_product_t_1) + (1 - u_t) * g / (1 - u_product_t)
        v_hat = v / (1 - _power(beta_2, step, dtype))
        return -(m_hat * lr / (jnp.sqrt(v_hat) + self.epsilon)), {"momentum": m, "velocity": v}


class Ftrl(Optimizer):
    """Follow The Regularized Leader (McMahan et al. 2013), as Keras 3 writes it.

    Slots: `accumulator` (starting at `initial_accumulator_value`) and `linear`. The
    rule sets each parameter to `(clip(linear, -l1, l1) - linear) / quadratic`.
    """
    _own_config = ("learning_rate_power", "initial_accumulator_value", "l1_regularization_strength",
                   "l2_regularization_strength", "l2_shrinkage_regularization_strength", "beta")
    _slots = ("accumulator", "linear")
    uses_params = True

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if learning_rate_power > 0.0:
            raise ValueError("`learning_rate_power` needs to be negative or zero. Received: "
                             f"learning_rate_power={learning_rate_power}.")
        for key, value in (("initial_accumulator_value", initial_accumulator_value),
                           ("l1_regularization_strength", l1_regularization_strength),
                           ("l2_regularization_strength", l2_regularization_strength),
                           ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength)):
            if value < 0.0:
                raise ValueError(f"`{key}` needs to be positive or zero. Received: {key}={value}.")
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def _initial_slot(self, name, p):
        if name == "accumulator":
            return jnp.full_like(p, self.initial_accumulator_value)
        return super()._initial_slot(name, p)

    def _leaf_update(self, g, s, lr, step, p=None):
        power = -self.learning_rate_power
        l2 = self.l2_regularization_strength + self.beta / (2.0 * lr)
        accum = s["accumulator"]
        grad = g + 2 * self.l2_shrinkage_regularization_strength * p
        new_accum = accum + jnp.square(g)
        linear = s["linear"] + (grad - (jnp.power(new_accum, power) - jnp.power(accum, power)) / lr * p)
        quadratic = jnp.power(new_accum, power) / lr + 2 * l2
        l1 = self.l1_regularization_strength
        new_p = (jnp.clip(linear, -l1, l1) - linear) / quadratic
        return new_p - p, {"accumulator": new_accum, "linear": linear}


class Lion(Optimizer):
    """Lion (Chen et al. 2023): the sign of an interpolated momentum. Slot: `momentum`."""
    _own_config = ("beta_1", "beta_2")
    _slots = ("momentum",)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if not isinstance(beta_1, numbers.Real) or beta_1 <= 0 or beta_1 > 1:
            raise ValueError("Argument `beta_1` must be in the [0, 1] range. Otherwise, the "
                             f"optimizer degenerates to SignSGD. Received: beta_1={beta_1}.")
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    def _leaf_update(self, g, s, lr, step):
        m = s["momentum"]
        update = -(lr * jnp.sign(m * self.beta_1 + g * (1.0 - self.beta_1)))
        return update, {"momentum": m * self.beta_2 + g * (1.0 - self.beta_2)}


def _rms(x):
    return jnp.sqrt(jnp.mean(jnp.square(x)))


class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern 2018), as Keras 3 writes it: the second moment of a matrix
    is factored into row (`r`) and column (`c`) averages of its last two axes.

    Slots: `r`, `c` (one-number placeholders for weights of fewer than 2 dimensions, which
    files from tf.keras leave out and Keras 3 keep) and `velocity`.
    """
    _own_config = ("beta_2_decay", "epsilon_1", "epsilon_2", "clip_threshold", "relative_step")
    _slots = ("r", "c", "velocity")
    elementwise = False
    uses_params = True

    def __init__(self, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3,
                 clip_threshold=1.0, relative_step=True, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_2_decay = beta_2_decay
        self.epsilon_1 = epsilon_1
        self.epsilon_2 = epsilon_2
        self.clip_threshold = clip_threshold
        self.relative_step = relative_step

    def slot_layouts(self, shapes):
        """tf.keras keeps `r`, `c` only for 2-D+ weights; Keras 3 adds one-number dummies."""
        each = [[(slot, i) for slot in self._slots if len(shape) >= 2 or slot == "velocity"]
                for i, shape in enumerate(shapes)]
        return [[d for row in each for d in row],
                [(slot, i) for i in range(len(shapes)) for slot in self._slots]]

    def _initial_slot(self, name, p):
        if name == "velocity":
            return jnp.zeros_like(p)
        if p.ndim < 2:
            return jnp.zeros((), p.dtype)
        return jnp.zeros(p.shape[:-1] if name == "r" else p.shape[:-2] + p.shape[-1:], p.dtype)

    def _leaf_update(self, g, s, lr, step, p=None):
        t = step.astype(g.dtype)
        if not callable(self._learning_rate) and self.relative_step:
            lr = jnp.minimum(lr, 1 / jnp.sqrt(t))
        rho = jnp.minimum(lr, 1 / jnp.sqrt(t))
        alpha = jnp.maximum(jnp.asarray(self.epsilon_2, g.dtype), _rms(p)) * rho
        squared = jnp.square(g) + self.epsilon_1
        beta_2 = 1 - jnp.power(t, self.beta_2_decay)
        r, c = s["r"], s["c"]
        if g.ndim >= 2:
            r = beta_2 * r + (1 - beta_2) * jnp.mean(squared, axis=-1)
            c = beta_2 * c + (1 - beta_2) * jnp.mean(squared, axis=-2)
            v = jnp.expand_dims(r / jnp.mean(r, axis=-1, keepdims=True), -1) * jnp.expand_dims(c, -2)
        else:
            v = beta_2 * s["velocity"] + (1 - beta_2) * squared
        u = g / jnp.sqrt(v)
        u_hat = u / jnp.maximum(1.0, _rms(u) / self.clip_threshold)
        return -(alpha * u_hat), {"r": r, "c": c, "velocity": v}

"""The Keras-named optimizers, each with Keras 3's exact update rule and slot names.

Every rule is written for one parameter, in Keras 3's operation order so the
float32 results agree with Keras to rounding. `step` is Keras's
`iterations + 1`; the returned update is added to the parameter.
"""
import numbers

import jax
import jax.numpy as jnp

from jkeras.backend import floatx
from jkeras.optimizers.base import Optimizer, checked


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
        self.epsilon = checked("epsilon", epsilon)
        self.centered = centered
        self._slots = ("velocity",) + (("momentum",) if momentum > 0 else ()) + (
            ("average_gradient",) if centered else ())

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
        self.epsilon = checked("epsilon", epsilon)
        self.amsgrad = amsgrad
        self._slots = ("momentum", "velocity") + (("velocity_hat",) if amsgrad else ())

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
        self.epsilon = checked("epsilon", epsilon)

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
        self.epsilon = checked("epsilon", epsilon)

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
        self.epsilon = checked("epsilon", epsilon)

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
        self.epsilon = checked("epsilon", epsilon)

    def _init_scalars(self, params):
        leaves = [jnp.asarray(p) for p in jax.tree.leaves(params)]
        return {"u_product": jnp.ones([], leaves[0].dtype if leaves else floatx())}

    def _apply_rule(self, grads, slots, lr, step):
        u_product = slots["u_product"]
        u_product = u_product * self.beta_1 * (1.0 - 0.5 * _power(0.96, step, u_product.dtype))
        updates, new = super()._apply_rule(grads, {**slots, "u_product": u_product}, lr, step)
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

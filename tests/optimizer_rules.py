"""Numpy reimplementations of optimizer update rules, in float64, for the Keras 2 optimizer tests:
each `*_rule(...)` returns `rule(params, grads, t) -> new params` (t counts steps from 1), keeping
its slots inside; `linear_mse_run` trains a `Dense(1)` under MSE with one."""
import numpy as np


def linear_mse_run(rule, params, x, y, batch, steps):
    """`params` ([kernel, bias]) of a `Dense(1)` after `steps` steps of `rule` under MSE, on the
    batches of `(x, y)` in order (wrapping around)."""
    params = [np.asarray(p, np.float64) for p in params]
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    for t in range(1, steps + 1):
        i = (t - 1) * batch % len(x)
        xb, yb = x[i:i + batch], y[i:i + batch]
        dpred = 2 * (xb @ params[0] + params[1] - yb) / yb.size
        params = rule(params, [xb.T @ dpred, dpred.sum(0)], t)
    return params


def sgd_rule(lr, momentum):
    """Keras's SGD with momentum; `lr` a number or a function of the step."""
    moments, rate = {}, lr if callable(lr) else (lambda t: lr)

    def rule(params, grads, t):
        for j, g in enumerate(grads):
            moments[j] = momentum * moments.get(j, 0) - rate(t) * g
        return [p + moments[j] for j, p in enumerate(params)]
    return rule


def adam_rule(lr, beta_1=0.9, beta_2=0.999, eps=1e-7):
    """Keras's Adam (the bias corrections folded into the rate)."""
    m, v = {}, {}

    def rule(params, grads, t):
        rate = lr * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
        out = []
        for j, (p, g) in enumerate(zip(params, grads)):
            m[j] = beta_1 * m.get(j, 0) + (1 - beta_1) * g
            v[j] = beta_2 * v.get(j, 0) + (1 - beta_2) * g * g
            out.append(p - rate * m[j] / (np.sqrt(v[j]) + eps))
        return out
    return rule


def radam_rule(lr, beta_1=0.9, beta_2=0.999, eps=1e-7, decay=0.0, weight_decay=0.0, amsgrad=False,
               total_steps=0, warmup_proportion=0.1, min_lr=0.0):
    """RAdam (Liu et al. 2019) as keras-rectified-adam 0.15.0 writes it, with its options: time
    decay, decoupled weight decay, AMSGrad, linear warm-up over `total_steps` then decay to `min_lr`."""
    m, v, vhat = {}, {}, {}
    sma_inf = 2 / (1 - beta_2) - 1

    def rule(params, grads, t):
        rate = lr / (1 + decay * (t - 1)) if decay else lr
        if total_steps:
            warmup = total_steps * warmup_proportion
            decay_steps = max(total_steps - warmup, 1)
            rate = (rate * t / warmup if t <= warmup
                    else rate + (min_lr - rate) / decay_steps * min(t - warmup, decay_steps))
        sma_t = sma_inf - 2 * t * beta_2 ** t / (1 - beta_2 ** t)
        out = []
        for j, (p, g) in enumerate(zip(params, grads)):
            m[j] = beta_1 * m.get(j, 0) + (1 - beta_1) * g
            v[j] = beta_2 * v.get(j, 0) + (1 - beta_2) * g * g
            vhat[j] = np.maximum(vhat.get(j, 0), v[j]) if amsgrad else v[j]
            m_corr, v_corr = m[j] / (1 - beta_1 ** t), np.sqrt(vhat[j] / (1 - beta_2 ** t))
            if sma_t >= 5:
                r_t = np.sqrt((sma_t - 4) / (sma_inf - 4) * (sma_t - 2) / (sma_inf - 2) * sma_inf / sma_t)
                step = r_t * m_corr / (v_corr + eps)
            else:
                step = m_corr
            out.append(p - rate * (step + weight_decay * p))
        return out
    return rule


def lookahead_rule(inner, sync_period=2, slow_step=0.5):
    """Lookahead (Zhang et al. 2019) over `inner`: every `sync_period` steps the slow weights move
    `slow_step` towards the fast ones, and the fast ones start again from there."""
    slow = []

    def rule(params, grads, t):
        slow[:] = slow or [p.copy() for p in params]
        fast = inner(params, grads, t)
        if t % sync_period:
            return fast
        slow[:] = [s + slow_step * (f - s) for s, f in zip(slow, fast)]
        return [s.copy() for s in slow]
    return rule

"""Training speed in one process: jkeras vs Keras 3 (JAX) vs hand-written JAX, interleaved.

The 2-core machine is shared, so processes measured minutes apart see different loads. Here the
contenders train the same `bench.py` workload from the same weights, one epoch each in turn
(A B C, C B A, ...), and both the medians and the median of the per-round ratios are printed
(the latter cancels load that drifts slower than a round); then `predict_on_batch` latency.

    python scripts/bench_inproc.py --workload mlp [--rounds 8] [--samples N] [--quick]
    python scripts/bench_inproc.py --workload lstm --layer GRU

The hand-written contender is `bench_workloads.py`'s jitted, donated per-batch step (for the
`lstm` workload only with `--layer LSTM`).
"""
import argparse
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

import bench_workloads as bw  # noqa: E402

SAMPLES = {"tiny": 32768, "mlp": 8192, "cnn": 1024, "lstm": 2048}


def keras_api(K, workload, layer, x, y, keras3, spe=1):
    """`(model, train one epoch, predict_on_batch)` for library `K` (jkeras or keras)."""
    shape, batch = bw.WORKLOADS[workload]
    stack = bw.keras_layers(K, workload, shape, keras3)
    if workload == "lstm" and layer != "LSTM":
        first = {} if keras3 else {"input_shape": shape}
        stack[-2] = getattr(K.layers, layer)(64, **first)
    model = K.Sequential(stack)
    model.compile(optimizer=K.optimizers.Adam(learning_rate=1e-3),
                  loss="sparse_categorical_crossentropy", steps_per_execution=spe)
    return model, (lambda: model.fit(x, y, batch_size=batch, epochs=1, shuffle=True, verbose=0),
                   lambda: np.asarray(model.predict_on_batch(x[:batch])))


def hand(workload, x, y):
    """`(train one epoch, predict_on_batch)` of the hand-written jax + optax loop."""
    shape, batch = bw.WORKLOADS[workload]
    params, apply = bw.hand_model(workload, shape, jax.random.key(0))
    tx = optax.adam(1e-3)
    state = [params, tx.init(params)]
    rng = np.random.default_rng(0)

    def loss_fn(p, xb, yb):
        return optax.softmax_cross_entropy_with_integer_labels(apply(p, xb), yb).mean()

    def step(p, opt_state, loss_sum, xb, yb):
        loss, grads = jax.value_and_grad(loss_fn)(p, xb, yb)
        updates, opt_state = tx.update(grads, opt_state, p)
        return optax.apply_updates(p, updates), opt_state, loss_sum + loss

    step = jax.jit(step, donate_argnums=(0, 1, 2))

    def epoch():
        perm = rng.permutation(len(x))
        xs, ys = x[perm], y[perm]
        loss_sum = jnp.zeros((), jnp.float32)
        for i in range(0, len(xs), batch):
            state[0], state[1], loss_sum = step(state[0], state[1], loss_sum, xs[i:i + batch],
                                                ys[i:i + batch])
        float(loss_sum)

    fwd = jax.jit(lambda p, xb: jax.nn.softmax(apply(p, xb)))
    return epoch, lambda: np.asarray(fwd(state[0], x[:batch]))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workload", default="lstm", choices=sorted(SAMPLES))
    p.add_argument("--layer", default="LSTM", choices=("LSTM", "GRU", "SimpleRNN"),
                   help="the recurrent layer of the lstm workload")
    p.add_argument("--spe", type=int, default=1, help="jkeras steps_per_execution")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--samples", type=int, default=0, help=f"default {SAMPLES}")
    p.add_argument("--quick", action="store_true", help="3 rounds, half the samples")
    args = p.parse_args(argv)
    samples = args.samples or SAMPLES[args.workload] // (2 if args.quick else 1)
    rounds = 3 if args.quick else args.rounds

    import keras
    import jkeras
    x, y = bw.make_data(args.workload, samples)
    theirs, (k_fit, k_pob) = keras_api(keras, args.workload, args.layer, x, y, keras3=True)
    ours, (j_fit, j_pob) = keras_api(jkeras, args.workload, args.layer, x, y, keras3=False,
                                     spe=args.spe)
    ours.set_weights(theirs.get_weights())
    contenders = {"jkeras": (j_fit, j_pob), "keras3": (k_fit, k_pob)}
    if args.layer == "LSTM":
        contenders["hand"] = hand(args.workload, x, y)
    for fit, pob in contenders.values():  # compile outside the timed rounds
        fit()
        pob()

    sps = {name: [] for name in contenders}
    for r in range(rounds):
        for name in list(contenders)[::1 if r % 2 == 0 else -1]:  # A B C, then C B A
            t = time.perf_counter()
            contenders[name][0]()
            sps[name].append(samples / (time.perf_counter() - t))
    pob_ms = {name: [] for name in contenders}
    for _ in range(10 * rounds):
        for name, (_, pob) in contenders.items():
            t = time.perf_counter()
            pob()
            pob_ms[name].append((time.perf_counter() - t) * 1e3)

    what = f"{args.layer} " if args.workload == "lstm" else ""
    print(f"{args.workload} ({what}jkeras steps_per_execution={args.spe}), {samples} samples, "
          f"{rounds} interleaved rounds")
    print("contender | train samples/s (median) | all rounds | predict_on_batch ms (median)")
    for name in contenders:
        print(f"{name} | {np.median(sps[name]):,.0f} | {[round(v) for v in sps[name]]} | "
              f"{np.median(pob_ms[name]):.3f}")
    ours = np.asarray(sps["jkeras"])
    for name in contenders:
        if name != "jkeras":
            paired = np.median(ours / np.asarray(sps[name]))  # load drifts slower than a round
            print(f"jkeras/{name} train {np.median(ours) / np.median(sps[name]):.2f}x of medians, "
                  f"{paired:.2f}x median of per-round ratios; predict_on_batch "
                  f"{np.median(pob_ms['jkeras']) / np.median(pob_ms[name]):.2f}x time")


if __name__ == "__main__":
    main()

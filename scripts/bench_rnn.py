"""Recurrent-layer speed in one process: jkeras vs Keras 3 (JAX) vs hand-written JAX, interleaved.

The 2-core machine is shared, so processes measured minutes apart see different loads. Here the
contenders train the same model (`bench.py`'s `lstm` workload: a recurrent layer of 64 units over
50x32 sequences, Dense(10, softmax), batch 64, Adam 1e-3, shuffled) from the same weights, one
epoch each in turn (A B C, C B A, ...), and both the medians and the median of the per-round
ratios are printed (the latter cancels load that drifts slower than a round); then
`predict_on_batch` latency.

    python scripts/bench_rnn.py [--layer LSTM|GRU|SimpleRNN] [--rounds 8] [--samples 2048] [--quick]

The hand-written contender (LSTM only) is `bench_workloads.py`'s jitted per-batch step.
"""
import argparse
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

import bench_workloads as bw  # noqa: E402

BATCH, UNITS = 64, 64
SHAPE = bw.WORKLOADS["lstm"][0]


def keras_api(K, layer, x, y):
    """`(train one epoch, predict_on_batch)` of a compiled Sequential model of library `K`."""
    model = K.Sequential([K.Input(SHAPE), getattr(K.layers, layer)(UNITS),
                          K.layers.Dense(bw.NUM_CLASSES, activation="softmax")])
    model.compile(optimizer=K.optimizers.Adam(learning_rate=1e-3),
                  loss="sparse_categorical_crossentropy")
    return model, (lambda: model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=True, verbose=0),
                   lambda: np.asarray(model.predict_on_batch(x[:BATCH])))


def hand(x, y):
    """`(train one epoch, predict_on_batch)` of the hand-written jax + optax LSTM loop."""
    params, apply = bw.hand_model("lstm", SHAPE, jax.random.key(0))
    tx = optax.adam(1e-3)
    state = [params, tx.init(params)]
    rng = np.random.default_rng(0)

    def loss_fn(p, xb, yb):
        return optax.softmax_cross_entropy_with_integer_labels(apply(p, xb), yb).mean()

    @jax.jit
    def step(p, opt_state, xb, yb):
        loss, grads = jax.value_and_grad(loss_fn)(p, xb, yb)
        updates, opt_state = tx.update(grads, opt_state, p)
        return optax.apply_updates(p, updates), opt_state, loss

    def epoch():
        perm = rng.permutation(len(x))
        xs, ys = x[perm], y[perm]
        for i in range(0, len(xs), BATCH):
            state[0], state[1], loss = step(state[0], state[1], xs[i:i + BATCH], ys[i:i + BATCH])
        float(loss)

    fwd = jax.jit(lambda p, xb: jax.nn.softmax(apply(p, xb)))
    return epoch, lambda: np.asarray(fwd(state[0], x[:BATCH]))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--layer", default="LSTM", choices=("LSTM", "GRU", "SimpleRNN"))
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--samples", type=int, default=2048)
    p.add_argument("--quick", action="store_true", help="3 rounds of 1024 samples")
    args = p.parse_args(argv)
    if args.quick:
        args.rounds, args.samples = 3, 1024

    import keras
    import jkeras
    x, y = bw.make_data("lstm", args.samples)
    theirs, (k_fit, k_pob) = keras_api(keras, args.layer, x, y)
    ours, (j_fit, j_pob) = keras_api(jkeras, args.layer, x, y)
    ours.set_weights(theirs.get_weights())
    contenders = {"jkeras": (j_fit, j_pob), "keras3": (k_fit, k_pob)}
    if args.layer == "LSTM":
        contenders["hand"] = hand(x, y)
    for fit, pob in contenders.values():  # compile outside the timed rounds
        fit()
        pob()

    sps = {name: [] for name in contenders}
    for r in range(args.rounds):
        for name in list(contenders)[::1 if r % 2 == 0 else -1]:  # A B C, then C B A
            t = time.perf_counter()
            contenders[name][0]()
            sps[name].append(args.samples / (time.perf_counter() - t))
    pob_ms = {name: [] for name in contenders}
    for _ in range(10 * args.rounds):
        for name, (_, pob) in contenders.items():
            t = time.perf_counter()
            pob()
            pob_ms[name].append((time.perf_counter() - t) * 1e3)

    print(f"{args.layer}({UNITS}) over {SHAPE}, batch {BATCH}, {args.samples} samples, "
          f"{args.rounds} interleaved rounds")
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

"""One benchmark run: one contender on one workload, in this process. `scripts/bench.py` drives it.

    python scripts/bench_workloads.py --contender jkeras --workload tiny --samples 4096 --epochs 3

Prints one line `RESULT {json}` with:
  train_sps    steady-state training samples/s: median over the epochs after the first of one `fit`
               (for `resnet50`, inference samples/s of `predict` instead)
  train_cpu_sps the same per second of the process's CPU time (all its threads): on a shared,
               oversubscribed machine a process's wall-clock share grows with its thread count,
               so this is the fairer measure of the work a library does per sample
  first_step_s build the model + compile() + a first fit of `spe` steps, from a cold start
               (imports excluded; the process has never compiled this model before)
  first_epoch_s with --first-epoch, instead of the above: build + compile() + one whole epoch
               of `fit` from a cold start, what the first run of a training script waits for
  predict1_ms  median latency of `predict` on one sample (numpy in, numpy out)
  pob_ms       median latency of `predict_on_batch` on one batch of `batch` samples
  peak_rss_mb  the process's peak resident set size (ru_maxrss) at the end
  final_loss   mean training loss of the last epoch (a sanity check that all three train)

Contenders:
  jkeras     jkeras `Sequential`, `fit(x, y, shuffle=True)` in its default configuration
             (`--spe N` passes `steps_per_execution=N`)
  keras3     Keras 3 `Sequential` with KERAS_BACKEND=jax, the same calls
  tfkeras    tf.keras 2 (`import tf_keras`, TensorFlow), the same calls; run this file with
             the interpreter that has it (`bench.py --tf-python`)
  hand       a hand-written jax + optax loop: one jitted step with params and optimizer state
             donated, called once per batch; each epoch's order drawn on the host with numpy
             and the epoch's arrays gathered once, batches sliced from them on the host;
             the epoch's loss summed on the device and read once per epoch.

Everything is the same across contenders: the model (glorot-uniform kernels, zero biases,
orthogonal recurrent kernel, unit forget bias), the synthetic data (numpy seed 0), Adam with
learning rate 1e-3, sparse categorical cross-entropy on 10 classes, shuffling every epoch.
"""
import argparse
import json
import os
import resource
import sys
import time

import numpy as np

NUM_CLASSES = 10

# name: input shape, batch size
WORKLOADS = {
    "tiny": ((32,), 32),
    "mlp": ((784,), 128),
    "cnn": ((28, 28, 1), 128),
    "lstm": ((50, 32), 64),
    "resnet50": ((224, 224, 3), 32),
    "resblocks": ((32, 32, 3), 32),
}


def make_data(workload, n, image_size=None):
    shape, _ = WORKLOADS[workload]
    if workload == "resnet50" and image_size:
        shape = (image_size, image_size, 3)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n,) + shape, dtype=np.float32)
    y = rng.integers(0, NUM_CLASSES, size=n).astype(np.int32)
    return x, y


def steady_sps(epoch_ends, samples):
    """Median samples/s over the epochs after the first (robust to one noisy epoch)."""
    return float(np.median([samples / d for d in np.diff(epoch_ends)]))


def median_ms(fn, repeats, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1e3)


# ---------------------------------------------------------------- Keras-API contenders
def keras_layers(K, workload, shape, keras3):
    """The workload's layers for a Keras-API module `K` (jkeras or keras)."""
    L = K.layers
    first = {} if keras3 else {"input_shape": shape}
    head = [K.Input(shape=shape)] if keras3 else []
    if workload == "tiny":
        body = [L.Dense(64, activation="relu", **first), L.Dense(NUM_CLASSES, activation="softmax")]
    elif workload == "mlp":
        body = [L.Dense(512, activation="relu", **first), L.Dense(512, activation="relu"),
                L.Dense(NUM_CLASSES, activation="softmax")]
    elif workload == "cnn":
        body = [L.Conv2D(32, 3, activation="relu", **first), L.MaxPooling2D(2),
                L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
                L.Dense(128, activation="relu"), L.Dense(NUM_CLASSES, activation="softmax")]
    elif workload == "lstm":
        body = [L.LSTM(64, **first), L.Dense(NUM_CLASSES, activation="softmax")]
    else:
        raise ValueError(workload)
    return head + body


def resblocks_model(K, shape):
    """A small ResNet-like net: padded 7x7/2 stem, BatchNorm, overlapping 3x3/2 max-pool, three
    bottleneck blocks with strided 1x1 and 'same' 3x3 convolutions, projection shortcuts, Add."""
    L = K.layers
    inp = K.Input(shape=shape)
    x = L.Activation("relu")(L.BatchNormalization(epsilon=1.001e-5)(
        L.Conv2D(16, 7, strides=2)(L.ZeroPadding2D(3)(inp))))
    x = L.MaxPooling2D(3, strides=2)(L.ZeroPadding2D(1)(x))
    for filters, stride in ((16, 1), (32, 2), (64, 2)):
        shortcut = L.BatchNormalization(epsilon=1.001e-5)(L.Conv2D(4 * filters, 1, strides=stride)(x))
        h = x
        for size, width, step in ((1, filters, stride), (3, filters, 1), (1, 4 * filters, 1)):
            h = L.BatchNormalization(epsilon=1.001e-5)(L.Conv2D(width, size, strides=step, padding="same")(h))
            if width == filters:
                h = L.Activation("relu")(h)
        x = L.Activation("relu")(L.Add()([h, shortcut]))
    out = L.Dense(NUM_CLASSES, activation="softmax")(L.GlobalAveragePooling2D()(x))
    return K.Model(inp, out)


def build_model(K, workload, shape, keras3):
    if workload == "resblocks":
        return resblocks_model(K, shape)
    return K.Sequential(keras_layers(K, workload, shape, keras3))


class _Skip(Exception):
    pass


def run_keras_api(args, K, keras3):
    x, y = make_data(args.workload, args.samples, args.image_size)
    shape, batch = WORKLOADS[args.workload]
    if args.batch_size:
        batch = args.batch_size
    spe = args.spe if not keras3 else 0

    if args.workload == "resnet50":
        return run_keras_resnet(args, K, keras3, x, batch)
    if not keras3 and args.workload == "lstm" and not hasattr(K.layers, "LSTM"):
        raise _Skip("jkeras.layers.LSTM does not exist yet")

    class EpochTimer(K.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.ends, self.cpu_ends, self.losses = [], [], []

        def on_epoch_end(self, epoch, logs=None):
            self.ends.append(time.perf_counter())
            self.cpu_ends.append(time.process_time())
            self.losses.append(float((logs or {}).get("loss", float("nan"))))

    K.utils.set_random_seed(0)
    spe_kwargs = {"steps_per_execution": spe} if spe else {}   # 0: the library's default

    if args.first_epoch:
        t0 = time.perf_counter()
        model = build_model(K, args.workload, shape, keras3)
        model.compile(optimizer=K.optimizers.Adam(learning_rate=1e-3),
                      loss="sparse_categorical_crossentropy", **spe_kwargs)
        hist = model.fit(x, y, batch_size=batch, epochs=1, shuffle=True, verbose=0)
        return dict(first_epoch_s=time.perf_counter() - t0, final_loss=float(hist.history["loss"][-1]))

    # cold start: build, compile, one fit of `spe` steps (one dispatch for jkeras) on the
    # same arrays as the timed fit, so that nothing recompiles there
    t0 = time.perf_counter()
    model = build_model(K, args.workload, shape, keras3)
    model.compile(optimizer=K.optimizers.Adam(learning_rate=1e-3),
                  loss="sparse_categorical_crossentropy", **spe_kwargs)
    model.fit(x, y, batch_size=batch, epochs=1, steps_per_epoch=max(spe, 1), shuffle=True, verbose=0)
    first_step_s = time.perf_counter() - t0

    timer = EpochTimer()
    model.fit(x, y, batch_size=batch, epochs=args.epochs, shuffle=True, verbose=0,
              callbacks=[timer])
    ends = timer.ends
    train_sps = steady_sps(ends, args.samples)
    train_cpu_sps = steady_sps(timer.cpu_ends, args.samples)

    x1, xb = x[:1], x[:batch]
    predict1_ms = median_ms(lambda: model.predict(x1, verbose=0), args.repeats)
    pob_ms = median_ms(lambda: np.asarray(model.predict_on_batch(xb)), args.repeats)
    return dict(train_sps=train_sps, train_cpu_sps=train_cpu_sps, first_step_s=first_step_s,
                predict1_ms=predict1_ms, pob_ms=pob_ms, final_loss=timer.losses[-1], epoch_s=np.diff(ends).tolist())


def run_keras_resnet(args, K, keras3, x, batch):
    if not keras3:
        try:
            resnet50 = K.applications.ResNet50
        except (AttributeError, ImportError) as e:
            raise _Skip(f"jkeras.applications has no ResNet50 ({type(e).__name__})")
    else:
        resnet50 = K.applications.ResNet50
    t0 = time.perf_counter()
    model = resnet50(weights=None, input_shape=x.shape[1:])
    out = model.predict_on_batch(x[:batch])
    np.asarray(out)
    first_step_s = time.perf_counter() - t0
    model.predict(x, batch_size=batch, verbose=0)         # warm the full-batch path
    t = time.perf_counter()
    model.predict(x, batch_size=batch, verbose=0)
    sps = len(x) / (time.perf_counter() - t)
    x1, xb = x[:1], x[:batch]
    predict1_ms = median_ms(lambda: model.predict(x1, verbose=0), min(args.repeats, 10), warmup=2)
    pob_ms = median_ms(lambda: np.asarray(model.predict_on_batch(xb)), min(args.repeats, 3), warmup=1)
    return dict(train_sps=sps, first_step_s=first_step_s, predict1_ms=predict1_ms, pob_ms=pob_ms,
                final_loss=float("nan"))


# ---------------------------------------------------------------- hand-written jax + optax
def hand_model(workload, shape, key):
    """`(params, apply)` for the workload; `apply(params, x)` gives logits."""
    import jax
    import jax.numpy as jnp

    glorot = jax.nn.initializers.glorot_uniform()
    keys = (jax.random.fold_in(key, i) for i in range(1 << 20))

    def dense(n_in, n_out):
        return {"w": glorot(next(keys), (n_in, n_out), jnp.float32), "b": jnp.zeros((n_out,))}

    def conv(k, c_in, c_out):
        return {"w": glorot(next(keys), (k, k, c_in, c_out), jnp.float32), "b": jnp.zeros((c_out,))}

    def conv_apply(p, x, stride=1, padding="VALID"):
        y = jax.lax.conv_general_dilated(x, p["w"], (stride, stride), padding,
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return y + p["b"]

    def maxpool(x, size=2, stride=2, padding="VALID"):
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, size, size, 1),
                                     (1, stride, stride, 1), padding)

    if workload in ("tiny", "mlp"):
        sizes = [shape[0]] + ([64] if workload == "tiny" else [512, 512]) + [NUM_CLASSES]
        params = [dense(a, b) for a, b in zip(sizes[:-1], sizes[1:])]

        def apply(params, x):
            for p in params[:-1]:
                x = jax.nn.relu(x @ p["w"] + p["b"])
            return x @ params[-1]["w"] + params[-1]["b"]
        return params, apply

    if workload == "cnn":
        params = {"c1": conv(3, 1, 32), "c2": conv(3, 32, 64), "d1": dense(5 * 5 * 64, 128),
                  "d2": dense(128, NUM_CLASSES)}

        def apply(p, x):
            x = maxpool(jax.nn.relu(conv_apply(p["c1"], x)))
            x = maxpool(jax.nn.relu(conv_apply(p["c2"], x)))
            x = x.reshape(x.shape[0], -1)
            x = jax.nn.relu(x @ p["d1"]["w"] + p["d1"]["b"])
            return x @ p["d2"]["w"] + p["d2"]["b"]
        return params, apply

    if workload == "lstm":
        units, feat = 64, shape[1]
        orth = jax.nn.initializers.orthogonal()
        bias = jnp.zeros((4 * units,)).at[units:2 * units].set(1.0)   # unit forget bias
        params = {"k": glorot(next(keys), (feat, 4 * units), jnp.float32),
                  "r": orth(next(keys), (units, 4 * units), jnp.float32), "b": bias,
                  "d": dense(units, NUM_CLASSES)}

        def apply(p, x):
            zx = jnp.einsum("btf,fg->tbg", x, p["k"]) + p["b"]    # input projection, once

            def cell(carry, z):
                h, c = carry
                z = z + h @ p["r"]
                i, f, g, o = jnp.split(z, 4, axis=-1)               # Keras gate order i, f, c, o
                c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
                h = jax.nn.sigmoid(o) * jnp.tanh(c)
                return (h, c), None
            zeros = jnp.zeros((x.shape[0], units), x.dtype)
            (h, _), _ = jax.lax.scan(cell, (zeros, zeros), zx)
            return h @ p["d"]["w"] + p["d"]["b"]
        return params, apply

    if workload == "resnet50":
        return hand_resnet50(shape, key, conv, conv_apply, maxpool, dense)
    if workload == "resblocks":
        raise _Skip("no hand-written resblocks (BatchNorm's training statistics)")
    raise ValueError(workload)


def hand_resnet50(shape, key, conv, conv_apply, maxpool, dense):
    """Keras's ResNet50 (v1: stride on the first 1x1 conv, convs with biases), inference BN."""
    import jax
    import jax.numpy as jnp

    def bn(c):
        return {"g": jnp.ones((c,)), "b": jnp.zeros((c,)), "m": jnp.zeros((c,)), "v": jnp.ones((c,))}

    def bn_apply(p, x):
        return (x - p["m"]) * jax.lax.rsqrt(p["v"] + 1.001e-5) * p["g"] + p["b"]

    params = {"stem": (conv(7, shape[-1], 64), bn(64)), "stages": []}
    c_in = 64
    for filters, blocks in zip((64, 128, 256, 512), (3, 4, 6, 3)):
        stage = []
        for b in range(blocks):
            blk = {"c1": (conv(1, c_in, filters), bn(filters)),
                   "c2": (conv(3, filters, filters), bn(filters)),
                   "c3": (conv(1, filters, 4 * filters), bn(4 * filters))}
            if b == 0:
                blk["sc"] = (conv(1, c_in, 4 * filters), bn(4 * filters))
            stage.append(blk)
            c_in = 4 * filters
        params["stages"].append(stage)
    params["fc"] = dense(2048, 1000)

    def cbn(p, x, stride=1, padding="VALID"):
        return bn_apply(p[1], conv_apply(p[0], x, stride, padding))

    def apply(params, x):
        x = jnp.pad(x, ((0, 0), (3, 3), (3, 3), (0, 0)))
        x = jax.nn.relu(cbn(params["stem"], x, 2))
        x = maxpool(jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))), 3, 2)
        for s, stage in enumerate(params["stages"]):
            for b, blk in enumerate(stage):
                stride = 2 if (b == 0 and s > 0) else 1
                h = jax.nn.relu(cbn(blk["c1"], x, stride))
                h = jax.nn.relu(cbn(blk["c2"], h, 1, "SAME"))
                h = cbn(blk["c3"], h)
                sc = cbn(blk["sc"], x, stride) if "sc" in blk else x
                x = jax.nn.relu(h + sc)
        x = jnp.mean(x, axis=(1, 2))
        return jax.nn.softmax(x @ params["fc"]["w"] + params["fc"]["b"])
    return params, apply


def run_hand(args):
    import jax
    import jax.numpy as jnp
    import optax

    x, y = make_data(args.workload, args.samples, args.image_size)
    shape, batch = WORKLOADS[args.workload]
    if args.batch_size:
        batch = args.batch_size
    shape = x.shape[1:]
    n = len(x)

    if args.workload == "resnet50":
        t0 = time.perf_counter()
        params, apply = hand_model(args.workload, shape, jax.random.key(0))
        fwd = jax.jit(apply)
        np.asarray(fwd(params, x[:batch]))
        first_step_s = time.perf_counter() - t0

        def predict_all():
            return np.concatenate([np.asarray(fwd(params, x[i:i + batch]))
                                   for i in range(0, n, batch)])
        predict_all()
        t = time.perf_counter()
        predict_all()
        sps = n / (time.perf_counter() - t)
        x1, xb = x[:1], x[:batch]
        return dict(train_sps=sps, first_step_s=first_step_s,
                    predict1_ms=median_ms(lambda: np.asarray(fwd(params, x1)), min(args.repeats, 10), 2),
                    pob_ms=median_ms(lambda: np.asarray(fwd(params, xb)), min(args.repeats, 3), 1),
                    final_loss=float("nan"))

    tx = optax.adam(1e-3)

    def loss_fn(params, xb, yb):
        logits = apply(params, xb)
        return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

    def step(params, opt_state, loss_sum, xb, yb):
        loss, grads = jax.value_and_grad(loss_fn)(params, xb, yb)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss_sum + loss

    step = jax.jit(step, donate_argnums=(0, 1, 2))
    rng = np.random.default_rng(0)

    def epoch(params, opt_state, xs, ys):
        perm = rng.permutation(len(xs))
        xs, ys = xs[perm], ys[perm]
        loss_sum = jnp.zeros((), jnp.float32)
        steps = 0
        for i in range(0, len(xs), batch):
            params, opt_state, loss_sum = step(params, opt_state, loss_sum, xs[i:i + batch],
                                               ys[i:i + batch])
            steps += 1
        return params, opt_state, float(loss_sum) / steps

    t0 = time.perf_counter()
    params, apply = hand_model(args.workload, shape, jax.random.key(0))
    opt_state = tx.init(params)
    if args.first_epoch:
        params, opt_state, loss = epoch(params, opt_state, x, y)
        return dict(first_epoch_s=time.perf_counter() - t0, final_loss=loss)
    params, opt_state, _ = epoch(params, opt_state, x[:batch], y[:batch])
    first_step_s = time.perf_counter() - t0

    ends, cpu_ends, losses = [], [], []
    for _ in range(args.epochs):
        params, opt_state, loss = epoch(params, opt_state, x, y)
        ends.append(time.perf_counter())
        cpu_ends.append(time.process_time())
        losses.append(loss)
    train_sps = steady_sps(ends, n)
    train_cpu_sps = steady_sps(cpu_ends, n)

    fwd = jax.jit(lambda p, x: jax.nn.softmax(apply(p, x)))
    x1, xb = x[:1], x[:batch]
    predict1_ms = median_ms(lambda: np.asarray(fwd(params, x1)), args.repeats)
    pob_ms = median_ms(lambda: np.asarray(fwd(params, xb)), args.repeats)
    return dict(train_sps=train_sps, train_cpu_sps=train_cpu_sps, first_step_s=first_step_s,
                predict1_ms=predict1_ms, pob_ms=pob_ms, final_loss=losses[-1], epoch_s=np.diff(ends).tolist())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--contender", choices=("jkeras", "keras3", "tfkeras", "hand"), required=True)
    p.add_argument("--workload", choices=sorted(WORKLOADS), required=True)
    p.add_argument("--samples", type=int, required=True)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--spe", type=int, default=0,
                   help="jkeras steps_per_execution (0: not passed, jkeras's default)")
    p.add_argument("--first-epoch", action="store_true",
                   help="time only build + compile + one cold epoch (first_epoch_s)")
    p.add_argument("--repeats", type=int, default=50, help="timed predict calls")
    p.add_argument("--batch-size", type=int, default=0, help="override the workload's batch")
    p.add_argument("--image-size", type=int, default=0, help="resnet50 input side (default 224)")
    args = p.parse_args(argv)
    if args.epochs < 2:
        p.error("--epochs must be at least 2 (the first epoch is not timed)")

    result = {"contender": args.contender, "workload": args.workload, "spe": args.spe}
    try:
        if args.contender == "hand":
            result.update(run_hand(args))
        elif args.contender == "keras3":
            os.environ["KERAS_BACKEND"] = "jax"
            import keras
            if keras.backend.backend() != "jax":
                raise RuntimeError(f"Keras backend is {keras.backend.backend()}, expected jax")
            result.update(run_keras_api(args, keras, keras3=True))
        elif args.contender == "tfkeras":
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
            try:
                import tf_keras
            except ImportError as e:
                raise _Skip(f"tf_keras is not importable by {sys.executable} ({e})")
            result.update(run_keras_api(args, tf_keras, keras3=False))
        else:
            import jkeras
            import jkeras.applications  # noqa: F401  (lazy families; ResNet50 may be missing)
            import jkeras.callbacks  # noqa: F401
            import jkeras.utils  # noqa: F401
            result.update(run_keras_api(args, jkeras, keras3=False))
    except _Skip as e:
        result["skipped"] = str(e)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    if args.contender == "tfkeras":
        import tensorflow as tf
        result["device"] = "gpu" if tf.config.list_physical_devices("GPU") else "cpu"
    else:
        import jax
        result["device"] = str(jax.devices()[0].platform)
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.exit(main())

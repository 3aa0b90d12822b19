"""CTC as Keras 2 has it: `ctc_batch_cost`, `ctc_decode` (greedy, beam search) and
`ctc_label_dense_to_sparse`. The blank is the last class; `y_pred` holds probabilities,
taken as `log(y_pred + epsilon)` (and, for the loss, renormalised as TF's ctc_loss does)."""
import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend.config import epsilon
from jkeras.backend.symbolic import op

_NEG_INF = -1e30  # a finite -inf: keeps logaddexp's gradients free of NaN


def _lengths(x):
    x = jnp.asarray(x).astype(jnp.int32)
    return x.reshape(x.shape[0])


def _ctc_nll(logp, labels, input_length, label_length, blank):
    """`-log p(labels | logp)` per sample by the CTC forward algorithm; `logp` is `(batch, time, classes)`."""
    batch, steps, _ = logp.shape
    max_labels = labels.shape[1]
    width = 2 * max_labels + 1
    ext = jnp.full((batch, width), blank, jnp.int32).at[:, 1::2].set(jnp.clip(labels, 0, blank))
    skip_ok = jnp.concatenate([jnp.zeros((batch, 2), bool), (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])],
                              axis=1)
    emit = jnp.take_along_axis(logp, jnp.broadcast_to(ext[:, None, :], (batch, steps, width)), axis=2)
    alpha0 = jnp.full((batch, width), _NEG_INF).at[:, 0].set(emit[:, 0, 0])
    alpha0 = alpha0.at[:, 1].set(jnp.where(label_length > 0, emit[:, 0, 1], _NEG_INF))

    def step(alpha, xs):
        emit_t, t = xs
        shift1 = jnp.concatenate([jnp.full((batch, 1), _NEG_INF), alpha[:, :-1]], axis=1)
        shift2 = jnp.concatenate([jnp.full((batch, 2), _NEG_INF), alpha[:, :-2]], axis=1)
        shift2 = jnp.where(skip_ok, shift2, _NEG_INF)
        new = jnp.logaddexp(jnp.logaddexp(alpha, shift1), shift2) + emit_t
        return jnp.where((t < input_length)[:, None], new, alpha), None

    alpha, _ = jax.lax.scan(step, alpha0, (jnp.swapaxes(emit, 0, 1)[1:], jnp.arange(1, steps)))
    last = jnp.take_along_axis(alpha, (2 * label_length)[:, None], axis=1)[:, 0]
    before = jnp.take_along_axis(alpha, jnp.maximum(2 * label_length - 1, 0)[:, None], axis=1)[:, 0]
    before = jnp.where(label_length > 0, before, _NEG_INF)
    return -jnp.logaddexp(last, before)


@op
def ctc_batch_cost(y_true, y_pred, input_length, label_length):
    """CTC loss per sample, `(samples, 1)`.

    Args:
        y_true: `(samples, max_string_length)` labels (entries past `label_length` ignored).
        y_pred: `(samples, time_steps, num_categories)` softmax output; the blank is the last class.
        input_length: `(samples, 1)` time steps used of each `y_pred` row.
        label_length: `(samples, 1)` labels used of each `y_true` row.
    """
    y_pred = jnp.asarray(y_pred)
    logp = jax.nn.log_softmax(jnp.log(y_pred + jnp.asarray(epsilon(), y_pred.dtype)), axis=-1)
    loss = _ctc_nll(logp, jnp.asarray(y_true).astype(jnp.int32), _lengths(input_length), _lengths(label_length),
                    y_pred.shape[-1] - 1)
    return loss[:, None]


def _compact(tokens, keep):
    """Each row's kept tokens moved to its front, the rest -1."""
    batch, steps = tokens.shape
    position = jnp.where(keep, jnp.cumsum(keep, axis=1) - 1, steps)
    out = jnp.full((batch, steps + 1), -1, tokens.dtype)
    out = out.at[jnp.arange(batch)[:, None], position].set(jnp.where(keep, tokens, -1))
    return out[:, :steps]


def _greedy(logp, lengths):
    steps = logp.shape[1]
    blank = logp.shape[2] - 1
    best = jnp.argmax(logp, axis=2).astype(jnp.int32)
    valid = jnp.arange(steps)[None, :] < lengths[:, None]
    previous = jnp.concatenate([jnp.full((best.shape[0], 1), -1, jnp.int32), best[:, :-1]], axis=1)
    keep = valid & (best != blank) & (best != previous)
    score = -jnp.sum(jnp.where(valid, jnp.max(logp, axis=2), 0.0), axis=1, keepdims=True)
    return [_compact(best, keep)], score


def _beam_one(logp, length, beam_width, top_paths, blank):
    """Prefix beam search of one sequence (numpy): the `top_paths` best label sequences and
    their log probabilities, repeated labels of a path merged (TF v1's `merge_repeated`)."""
    beams = {(): (0.0, -np.inf)}  # prefix -> (log p ending in blank, log p ending in a label)
    for t in range(length):
        row = logp[t]
        grown = {}

        def add(prefix, blank_p, label_p):
            b, n = grown.get(prefix, (-np.inf, -np.inf))
            grown[prefix] = (np.logaddexp(b, blank_p), np.logaddexp(n, label_p))
        for prefix, (pb, pn) in beams.items():
            total = np.logaddexp(pb, pn)
            add(prefix, total + row[blank], -np.inf)
            if prefix:
                add(prefix, -np.inf, pn + row[prefix[-1]])
            for c in range(blank):
                from_prob = pb if prefix and prefix[-1] == c else total
                add(prefix + (c,), -np.inf, from_prob + row[c])
        ranked = sorted(grown.items(), key=lambda item: -np.logaddexp(*item[1]))
        beams = dict(ranked[:beam_width])
    ranked = sorted(beams.items(), key=lambda item: -np.logaddexp(*item[1]))[:top_paths]
    paths = [[c for i, c in enumerate(p) if i == 0 or c != p[i - 1]] for p, _ in ranked]
    scores = [float(np.logaddexp(*probs)) for _, probs in ranked]
    while len(paths) < top_paths:
        paths.append([])
        scores.append(-np.inf)
    return paths, scores


def _beam(logp, lengths, beam_width, top_paths):
    batch, steps, classes = logp.shape

    def host(logp, lengths):
        logp = np.asarray(logp, np.float64)
        decoded = np.full((top_paths, batch, steps), -1, np.int32)
        scores = np.zeros((batch, top_paths), np.float32)
        for b in range(batch):
            paths, found = _beam_one(logp[b], int(lengths[b]), beam_width, top_paths, classes - 1)
            for k, path in enumerate(paths):
                decoded[k, b, :len(path)] = path
            scores[b] = found
        return decoded, scores

    shapes = (jax.ShapeDtypeStruct((top_paths, batch, steps), jnp.int32),
              jax.ShapeDtypeStruct((batch, top_paths), jnp.float32))
    decoded, scores = jax.pure_callback(host, shapes, jax.nn.log_softmax(logp, axis=-1), lengths)
    return [decoded[k] for k in range(top_paths)], scores


@op
def ctc_decode(y_pred, input_length, greedy=True, beam_width=100, top_paths=1):
    """Decode a softmax output: `(list of (samples, time_steps) label arrays, -1 where empty;
    log probabilities)`. Greedy gives one path and the negated sum of each step's best log
    probability, `(samples, 1)`; beam search the `top_paths` best, `(samples, top_paths)`."""
    y_pred = jnp.asarray(y_pred)
    logp = jnp.log(y_pred + jnp.asarray(epsilon(), y_pred.dtype))
    lengths = _lengths(input_length)
    if greedy:
        return _greedy(logp, lengths)
    if top_paths > beam_width:
        raise ValueError(f"top_paths ({top_paths}) must be at most beam_width ({beam_width}).")
    return _beam(logp, lengths, beam_width, top_paths)


def ctc_label_dense_to_sparse(labels, label_lengths):
    """The first `label_lengths[i]` labels of each row as a `jax.experimental.sparse.BCOO`
    (a value, not traceable: its number of entries depends on the lengths)."""
    from jax.experimental import sparse
    labels = np.asarray(labels)
    lengths = np.asarray(label_lengths).reshape(-1)
    rows, cols = np.nonzero(np.arange(labels.shape[1])[None, :] < lengths[:, None])
    indices = np.stack([rows, cols], axis=1).astype(np.int32)
    return sparse.BCOO((jnp.asarray(labels[rows, cols]), jnp.asarray(indices)), shape=labels.shape)

"""`K.rnn` (a step function over time, as a `lax.scan` or unrolled) and `map_fn`/`foldl`/`foldr`."""
import jax
import jax.numpy as jnp

from jkeras.backend.symbolic import op, read


def _expand_like(mask_t, x):
    """A `(batch,)` bool mask broadcast against `x` of shape `(batch, ...)`."""
    return mask_t.reshape(mask_t.shape + (1,) * (x.ndim - mask_t.ndim))


@op
def rnn(step_function, inputs, initial_states, go_backwards=False, mask=None, constants=None, unroll=False,
        input_length=None, time_major=False, zero_output_for_mask=False, return_all_outputs=True):
    """Iterate `step_function(input_t, states + constants) -> (output_t, new_states)` over time.

    Returns `(last_output, outputs, new_states)`; `outputs` is `(batch, time, ...)` (time
    first if `time_major`), or only the last step when `return_all_outputs=False`. Where
    `mask` (batch, time) is False a step keeps the previous output and states.
    """
    inputs, initial_states, constants, mask = read((inputs, list(initial_states), list(constants or []), mask))
    flat = jax.tree.leaves(inputs)
    if any(jnp.ndim(t) < 3 for t in flat):
        raise ValueError(f"K.rnn needs inputs of rank >= 3 (batch, time, ...); received shapes "
                         f"{[jnp.shape(t) for t in flat]}.")
    if not time_major:
        inputs = jax.tree.map(lambda t: jnp.swapaxes(t, 0, 1), inputs)
    steps = jax.tree.leaves(inputs)[0].shape[0]
    if mask is not None:
        mask = jnp.asarray(mask).astype(bool)
        mask = mask.reshape(mask.shape[:2]) if mask.ndim > 2 else mask
        if not time_major:
            mask = jnp.swapaxes(mask, 0, 1)
    if go_backwards:
        inputs = jax.tree.map(lambda t: jnp.flip(t, 0), inputs)
        mask = None if mask is None else jnp.flip(mask, 0)

    def step(prev_output, states, input_t, mask_t):
        output, new_states = step_function(input_t, list(states) + list(constants))
        new_states = list(read(new_states)) if isinstance(new_states, (list, tuple)) else [read(new_states)]
        if mask_t is not None:
            output = jnp.where(_expand_like(mask_t, output), output, prev_output)
            new_states = [jnp.where(_expand_like(mask_t, s), s, p) for s, p in zip(new_states, states)]
        return output, new_states

    first = jax.tree.map(lambda t: t[0], inputs)
    out_spec = jax.eval_shape(lambda x, s: step_function(x, list(s) + list(constants))[0], first, initial_states)
    zero_output = jnp.zeros(out_spec.shape, out_spec.dtype)
    states = list(initial_states)
    if unroll:
        outputs, output = [], zero_output
        for t in range(steps):
            output, states = step(output, states, jax.tree.map(lambda x, t=t: x[t], inputs),
                                  None if mask is None else mask[t])
            outputs.append(output)
        outputs = jnp.stack(outputs)
    else:
        def body(carry, xs):
            input_t, mask_t = xs
            output, new_states = step(carry[0], carry[1], input_t, mask_t)
            return (output, new_states), output
        (output, states), outputs = jax.lax.scan(body, (zero_output, states), (inputs, mask))
    last_output = output
    if mask is not None and zero_output_for_mask:
        last_output = jnp.where(_expand_like(mask[-1], last_output), last_output, 0)
        outputs = jnp.where(mask.reshape(mask.shape + (1,) * (outputs.ndim - 2)), outputs, 0)
    if not return_all_outputs:
        outputs = outputs[-1:]
    if not time_major:
        outputs = jnp.swapaxes(outputs, 0, 1)
    return last_output, outputs, states


@op
def map_fn(fn, elems, name=None, dtype=None):
    """`fn` over the first axis of `elems`, stacked."""
    return jax.lax.map(fn, read(elems))


@op
def foldl(fn, elems, initializer=None, name=None):
    """`fn(acc, x)` over `elems` from the first; without `initializer`, `elems[0]` starts."""
    elems = jnp.asarray(read(elems))
    if initializer is None:
        initializer, elems = elems[0], elems[1:]
    acc, _ = jax.lax.scan(lambda a, x: (fn(a, x), None), read(initializer), elems)
    return acc


@op
def foldr(fn, elems, initializer=None, name=None):
    """`fn(acc, x)` over `elems` from the last."""
    return foldl(fn, jnp.flip(jnp.asarray(read(elems)), 0), initializer, name)

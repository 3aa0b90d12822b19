"""oneDNN convolutions of training passes: values, gradients, second order and vmap against
lax's convolution, for every padding, stride, dilation and rank the layers use; which passes
use it, and the config switch that turns it off."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jkeras
from jkeras.backend import config
from jkeras.layers import onednn_conv

pytestmark = pytest.mark.skipif(not onednn_conv.applies(2, 1, "channels_last", "float32"),
                                reason="XLA:CPU without oneDNN (not an x86-64 Linux jaxlib 0.10 on the CPU)")

CASES = [
    ((2, 9, 3), (3, 3, 4), (1,), "same", (1,)),
    ((2, 11, 3), (5, 3, 2), (2,), "valid", (1,)),
    ((2, 8, 7, 4), (3, 3, 4, 5), (1, 1), "same", (1, 1)),
    ((2, 8, 7, 4), (3, 3, 4, 5), (2, 2), "same", (1, 1)),
    ((2, 9, 9, 1), (3, 3, 1, 6), (1, 1), "valid", (1, 1)),
    ((2, 10, 9, 3), (3, 2, 3, 4), (1, 1), "same", (2, 2)),
    ((2, 11, 11, 3), (7, 7, 3, 4), (2, 2), "valid", (1, 1)),
    ((2, 5, 6, 4, 3), (3, 3, 2, 3, 2), (1, 2, 1), "same", (1, 1, 1)),
]


def _lax(x, kernel, strides, padding, dilation):
    spec = {3: "NWC", 4: "NHWC", 5: "NDHWC"}[x.ndim]
    return jax.lax.conv_general_dilated(x, kernel, strides, padding.upper(), rhs_dilation=dilation,
                                        dimension_numbers=(spec, spec[1:-1] + "IO", spec))


def _data(shape, kernel_shape):
    rng = np.random.default_rng(0)
    return (jnp.asarray(rng.normal(size=shape), jnp.float32),
            jnp.asarray(rng.normal(size=kernel_shape) * 0.3, jnp.float32))


@pytest.mark.parametrize("shape, kernel_shape, strides, padding, dilation", CASES)
def test_values_gradients_and_second_order(shape, kernel_shape, strides, padding, dilation):
    x, kernel = _data(shape, kernel_shape)
    args = (strides, padding, dilation)
    np.testing.assert_allclose(jax.jit(onednn_conv.conv, static_argnums=(2, 3, 4))(x, kernel, *args),
                               _lax(x, kernel, *args), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(onednn_conv.conv(x, kernel, *args), _lax(x, kernel, *args), rtol=1e-5, atol=1e-5)
    loss = lambda conv: lambda x, k: jnp.sum(jnp.tanh(conv(x, k, *args)))  # noqa: E731
    for got, want in zip(jax.jit(jax.grad(loss(onednn_conv.conv), (0, 1)))(x, kernel),
                         jax.grad(loss(_lax), (0, 1))(x, kernel)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    hvp = lambda conv: jax.jvp(jax.grad(loss(conv), (0, 1)), (x, kernel), (x, kernel))[1]  # noqa: E731
    for got, want in zip(jax.jit(lambda: hvp(onednn_conv.conv))(), hvp(_lax)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)


def test_vmap_over_the_input_the_kernel_or_both():
    x, kernel = _data((2, 8, 7, 4), (3, 3, 4, 5))
    xs, kernels = jnp.stack([x, 2 * x]), jnp.stack([kernel, -kernel])
    args = ((1, 1), "same", (1, 1))
    for axes, operands in (((0, None), (xs, kernel)), ((None, 0), (x, kernels)), ((0, 0), (xs, kernels))):
        got = jax.jit(jax.vmap(lambda a, b: onednn_conv.conv(a, b, *args), axes))(*operands)
        np.testing.assert_allclose(got, jax.vmap(lambda a, b: _lax(a, b, *args), axes)(*operands),
                                   rtol=1e-5, atol=1e-5)


def test_same_bits_every_call():
    x, kernel = _data((8, 16, 16, 8), (3, 3, 8, 16))
    step = jax.jit(jax.grad(lambda x, k: jnp.sum(jnp.tanh(onednn_conv.conv(x, k, (1, 1), "same", (1, 1)))), (0, 1)))
    first = [np.asarray(g) for g in step(x, kernel)]
    for _ in range(3):
        for a, b in zip(first, step(x, kernel)):
            np.testing.assert_array_equal(a, b)


def _conv_model():
    jkeras.utils.set_random_seed(0)
    model = jkeras.Sequential([jkeras.layers.Conv2D(6, 3, activation="relu", input_shape=(9, 9, 2)),
                               jkeras.layers.Flatten(), jkeras.layers.Dense(3)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def _lowered(model, training):
    x = jnp.ones((4, 9, 9, 2))
    params, state = model._own_tree(True), model._own_tree(False)
    return jax.jit(lambda p, s, x: model._run(p, s, x, training=training)[0]).lower(params, state, x).as_text()


def test_training_passes_only_and_the_switch():
    model = _conv_model()
    assert "__onednn$convolution" in _lowered(model, True)
    assert "__onednn$convolution" not in _lowered(model, False)  # inference keeps XLA's fused convolution
    config.set_onednn_convolutions(False)
    try:
        assert "__onednn$convolution" not in _lowered(model, True)
    finally:
        config.set_onednn_convolutions(True)
    with pytest.raises(TypeError, match="True or False"):
        config.set_onednn_convolutions("no")
    assert config.onednn_convolutions() is True


def test_fit_matches_xla_convolutions():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(32, 9, 9, 2)).astype("float32"), rng.normal(size=(32, 3)).astype("float32")
    weights = []
    for onednn in (True, False):
        config.set_onednn_convolutions(onednn)
        try:
            model = _conv_model()
            model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
            weights.append(model.get_weights())
        finally:
            config.set_onednn_convolutions(True)
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_pointwise_kernel_gradient_on_onednn():
    """1x1 convolutions' kernel gradients: a oneDNN product over all rows, against einsum's."""
    rng = np.random.default_rng(2)
    x = jnp.asarray(rng.normal(size=(4, 7, 6, 5)), jnp.float32)
    kernel = jnp.asarray(rng.normal(size=(5, 3)), jnp.float32)
    ref = lambda x, k: jnp.einsum("...i,io->...o", x, k)  # noqa: E731
    loss = lambda f: lambda x, k: jnp.sum(jnp.sin(f(x, k)))  # noqa: E731
    grad = jax.jit(jax.grad(loss(onednn_conv.pointwise), 1))
    assert "__onednn$matmul" in grad.lower(x, kernel).as_text()
    np.testing.assert_allclose(onednn_conv.pointwise(x, kernel), ref(x, kernel), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(grad(x, kernel), jax.grad(loss(ref), 1)(x, kernel), rtol=1e-4, atol=1e-4)
    second = lambda f: jax.grad(lambda x, k: jnp.sum(jax.grad(loss(f), 1)(x, k) ** 2), (0, 1))(x, kernel)  # noqa: E731
    for got, want in zip(jax.jit(lambda: second(onednn_conv.pointwise))(), second(ref)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)
    xs, kernels = jnp.stack([x, 2 * x]), jnp.stack([kernel, -kernel])
    for axes, operands in (((0, None), (xs, kernel)), ((None, 0), (x, kernels)), ((0, 0), (xs, kernels))):
        got = jax.jit(jax.vmap(jax.grad(loss(onednn_conv.pointwise), 1), axes))(*operands)
        np.testing.assert_allclose(got, jax.vmap(jax.grad(loss(ref), 1), axes)(*operands), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("layer", [jkeras.layers.Conv2D(4, 1, strides=2), jkeras.layers.SeparableConv2D(4, 3)])
def test_1x1_kernel_gradients_of_layers_run_on_onednn(layer):
    jkeras.utils.set_random_seed(0)
    model = jkeras.Sequential([jkeras.Input((6, 6, 3)), layer, jkeras.layers.Flatten(), jkeras.layers.Dense(2)])
    assert "__onednn$matmul" in jax.jit(jax.grad(lambda p, s, x: jnp.sum(model._run(p, s, x, training=True)[0]))).lower(
        model._own_tree(True), model._own_tree(False), jnp.ones((2, 6, 6, 3))).as_text()


def _biased_cases():
    rng = np.random.default_rng(3)
    conv_args = ((1, 1), "same", (1, 1))
    x, kernel = _data((2, 8, 7, 4), (3, 3, 4, 5))
    bias = jnp.asarray(rng.normal(size=(5,)), jnp.float32)
    conv = (lambda x, k, b: onednn_conv.conv(x, k, *conv_args, bias=b),
            lambda x, k, b: _lax(x, k, *conv_args) + b, (x, kernel, bias), "__onednn$convolution")
    x = jnp.asarray(rng.normal(size=(4, 7, 6, 5)), jnp.float32)
    kernel, bias = (jnp.asarray(rng.normal(size=shape), jnp.float32) for shape in ((5, 3), (3,)))
    rows = (lambda x, k, b: onednn_conv.pointwise(x, k, b),
            lambda x, k, b: jnp.einsum("...i,io->...o", x, k) + b, (x, kernel, bias), "__onednn$matmul")
    return {"conv": conv, "pointwise": rows}


@pytest.mark.parametrize("case", ["conv", "pointwise"])
def test_bias_added_in_the_onednn_call(case):
    """conv + bias as one oneDNN call (a BIAS post-op): values, every gradient, second order and
    vmap over each operand, against lax + bias."""
    fused, ref, operands, target = _biased_cases()[case]
    loss = lambda f: lambda *a: jnp.sum(jnp.sin(f(*a)))  # noqa: E731
    forward = jax.jit(fused).lower(*operands).as_text()
    assert target in forward and "BIAS" in forward and forward.count(target) == 1
    np.testing.assert_allclose(jax.jit(fused)(*operands), ref(*operands), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fused(*operands), ref(*operands), rtol=1e-5, atol=1e-5)
    for got, want in zip(jax.jit(jax.grad(loss(fused), (0, 1, 2)))(*operands), jax.grad(loss(ref), (0, 1, 2))(*operands)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    hvp = lambda f: jax.jvp(jax.grad(loss(f), (0, 1, 2)), operands, operands)[1]  # noqa: E731
    for got, want in zip(jax.jit(lambda: hvp(fused))(), hvp(ref)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)
    stacked = [jnp.stack([a, -2 * a]) for a in operands]
    for axes in ((0, None, None), (None, 0, None), (None, None, 0), (0, 0, 0)):
        args = [s if a == 0 else o for s, o, a in zip(stacked, operands, axes)]
        for got, want in zip(jax.jit(jax.vmap(jax.grad(loss(fused), (0, 1, 2)), axes))(*args),
                             jax.vmap(jax.grad(loss(ref), (0, 1, 2)), axes)(*args)):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kernel_size", [3, 1])
def test_layers_fuse_their_bias_in_training_passes(kernel_size):
    jkeras.utils.set_random_seed(0)
    model = jkeras.Sequential([jkeras.Input((6, 6, 3)), jkeras.layers.Conv2D(4, kernel_size, activation="tanh"),
                               jkeras.layers.Conv2D(4, kernel_size, use_bias=False), jkeras.layers.Flatten()])
    training, inference = (_lowered_at(model, t, (2, 6, 6, 3)) for t in (True, False))
    assert training.count("BIAS") == 1 and "BIAS" not in inference
    x = np.random.default_rng(4).normal(size=(2, 6, 6, 3)).astype("float32")
    np.testing.assert_allclose(model(x, training=True), model(x), rtol=1e-5, atol=1e-5)


def _lowered_at(model, training, shape):
    params, state = model._own_tree(True), model._own_tree(False)
    return jax.jit(lambda p, s, x: model._run(p, s, x, training=training)[0]).lower(
        params, state, jnp.ones(shape)).as_text()


def test_the_step_cost_model_counts_the_biased_convolution():
    """`jaxpr_cost` decides how many steps a dispatch runs from whether a step convolves."""
    from jkeras.models import jaxpr_cost
    fused, _, operands, _ = _biased_cases()["conv"]
    assert jaxpr_cost.has_convolution(jax.make_jaxpr(fused)(*operands).jaxpr)

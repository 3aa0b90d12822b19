"""Fixes found by running Keras 2.3.1's example scripts (scripts/run_keras2_examples.py) on jkeras:
graph-building code that Keras 2 runs on symbolic tensors, checked against numpy."""
import numpy as np
import pytest

import jkeras
from jkeras import backend as K
from jkeras.losses import binary_crossentropy, mse


def test_shape_of_a_tensor_with_unknown_dims_is_known_at_run_time():
    # deep_dream.py: `scaling = K.prod(K.cast(K.shape(x), 'float32'))` on a layer output of shape
    # (None, None, None, C); Keras 2 gives tf.shape(x), the sizes of the array fed at run time.
    x = jkeras.layers.Input((None, 3))
    scaling = K.prod(K.cast(K.shape(x), "float32"))
    f = K.function([x], [scaling])
    assert f([np.ones((2, 5, 3), "float32")])[0] == 2 * 5 * 3
    assert f([np.ones((1, 7, 3), "float32")])[0] == 1 * 7 * 3
    assert K.shape(jkeras.layers.Input(batch_shape=(2, 3))) == (2, 3)


def test_loss_functions_on_symbolic_tensors_are_recorded():
    # variational_autoencoder.py: `K.mean(binary_crossentropy(inputs, outputs) + kl)` for add_loss.
    a = jkeras.layers.Input((4,))
    b = jkeras.layers.Dense(4, activation="sigmoid")(a)
    loss = K.mean(binary_crossentropy(a, b) + mse(a, b))
    x = np.random.default_rng(0).random((8, 4)).astype("float32")
    value, p = K.function([a], [loss, b])([x])
    clipped = np.clip(p, 1e-7, 1 - 1e-7)
    bce = -np.mean(x * np.log(clipped) + (1 - x) * np.log(1 - clipped), axis=-1)
    np.testing.assert_allclose(value, np.mean(bce + np.mean((x - p) ** 2, axis=-1)), rtol=1e-5)
    assert mse(x, p).shape == (8,)


def test_gradients_of_a_symbolic_loss_with_respect_to_the_input():
    # conv_filter_visualization.py / deep_dream.py: `grads = K.gradients(loss, input_img)[0]`,
    # normalized on the graph, then `K.function([input_img], [loss, grads])`.
    inp = jkeras.layers.Input((5,))
    dense = jkeras.layers.Dense(3, activation="tanh")
    loss = K.mean(K.square(dense(inp)[:, 1]))
    grads = K.gradients(loss, inp)[0]
    normalized = grads / (K.sqrt(K.mean(K.square(grads))) + 1e-5)
    x = np.random.default_rng(0).random((2, 5)).astype("float32")
    value, g, n = K.function([inp], [loss, grads, normalized])([x])
    w, b = (np.asarray(a, "float64") for a in dense.get_weights())
    h = np.tanh(x @ w + b)
    # d mean_i(h[i, 1]^2) / dx = 2 h[:, 1] (1 - h[:, 1]^2) w[:, 1] / batch
    expected = (2 * h[:, 1] * (1 - h[:, 1] ** 2) / 2)[:, None] * w[:, 1][None, :]
    np.testing.assert_allclose(value, np.mean(h[:, 1] ** 2), rtol=1e-5)
    np.testing.assert_allclose(g, expected, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(n, expected / (np.sqrt(np.mean(expected ** 2)) + 1e-5), rtol=1e-4)


def test_gradients_with_respect_to_an_inner_tensor_and_a_placeholder_beside_variables():
    # mnist_swwae.py: `K.gradients(K.sum(y_postpool), y_prepool)`, the max-pooling switches;
    # neural_style_transfer.py: the loss of `K.concatenate([K.variable(a), K.placeholder(...)])`.
    image = K.placeholder((1, 4, 4, 1))
    base = K.variable(np.zeros((1, 4, 4, 1), "float32"))
    both = K.concatenate([base, image], axis=0)
    pre = jkeras.layers.Activation("linear")(both)
    post = jkeras.layers.MaxPooling2D(2)(pre)
    where = K.gradients(K.sum(post), pre)[0]
    on_image, unused = K.gradients(K.sum(post[1]), [image, K.placeholder((1, 4, 4, 1))])
    assert unused is None  # as tf.gradients: the loss does not depend on that placeholder
    x = np.random.default_rng(1).permutation(16).reshape(1, 4, 4, 1).astype("float32")
    w, g = K.function([image], [where, on_image])([x])
    blocks = x[0, :, :, 0].reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(2, 2, 4)
    switches = (blocks == blocks.max(-1, keepdims=True)).astype("float32")
    expected = switches.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(4, 4)
    np.testing.assert_array_equal(w[1, :, :, 0], expected)
    np.testing.assert_array_equal(g[0, :, :, 0], expected)
    assert w[0].sum() == 4  # the zeros image: ties, one switch per pooling window (as TF's max)


def test_compile_without_loss_trains_on_add_loss_of_inner_tensors():
    # variational_autoencoder.py: the loss reads the encoder's inner tensors (`z_mean`), then
    # `vae.add_loss(vae_loss)`, `vae.compile(optimizer='adam')` and `vae.fit(x, validation_data=(x, None))`.
    inputs = jkeras.layers.Input((4,))
    z_mean = jkeras.layers.Dense(2)(inputs)
    encoder = jkeras.Model(inputs, z_mean)
    latent = jkeras.layers.Input((2,))
    decoder = jkeras.Model(latent, jkeras.layers.Dense(4)(latent))
    outputs = decoder(encoder(inputs))
    vae = jkeras.Model(inputs, outputs)
    vae.add_loss(K.mean(mse(inputs, outputs) + 0.5 * K.sum(K.square(z_mean), axis=-1)))
    vae.compile(optimizer=jkeras.optimizers.SGD(0.0))
    assert len(vae.losses) == 1
    x = np.random.default_rng(2).random((6, 4)).astype("float32")
    (w1, b1), (w2, b2) = encoder.get_weights()[:2], decoder.get_weights()[:2]
    z = x @ w1 + b1
    expected = np.mean(np.mean((x - (z @ w2 + b2)) ** 2, axis=-1) + 0.5 * np.sum(z ** 2, axis=-1))
    np.testing.assert_allclose(vae.train_on_batch(x), expected, rtol=1e-5)
    history = vae.fit(x, epochs=1, batch_size=6, validation_data=(x, None), verbose=0).history
    np.testing.assert_allclose(history["loss"][0], expected, rtol=1e-5)


def test_compile_without_loss_or_add_loss_still_raises():
    inp = jkeras.layers.Input((2,))
    model = jkeras.Model(inp, jkeras.layers.Dense(1)(inp))
    with pytest.raises(ValueError, match="needs a `loss`"):
        model.compile("sgd")


def test_a_model_called_on_a_tensor_of_higher_rank_runs_its_layers_on_it():
    # mnist_acgan.py: the generator Sequential (Dense(input_dim=latent_size) first) is called on
    # `multiply([latent, Embedding(...)(cls)])`, of shape (None, 1, latent_size). Keras 2's
    # Network has no input spec of its own: the Dense applies to the last axis, Reshape takes it.
    gen = jkeras.Sequential([jkeras.layers.Dense(6, input_dim=4), jkeras.layers.Reshape((2, 3))])
    latent = jkeras.layers.Input((4,))
    cls = jkeras.layers.Input((1,), dtype="int32")
    embedding = jkeras.layers.Embedding(3, 4)
    out = gen(jkeras.layers.multiply([latent, embedding(cls)]))
    assert out.shape == (None, 2, 3)
    model = jkeras.Model([latent, cls], out)
    z = np.random.default_rng(3).random((2, 4)).astype("float32")
    c = np.array([[2], [0]], "int32")
    w, b = gen.layers[0].get_weights()
    h = z[:, None, :] * embedding.get_weights()[0][c]
    np.testing.assert_allclose(model.predict([z, c], verbose=0), (h @ w + b).reshape(2, 2, 3), rtol=1e-5)
    with pytest.raises(ValueError, match="expects shape"):  # data for predict is still checked
        gen.predict(z[:, None, :], verbose=0)


def test_a_scalar_loss_in_a_padded_last_batch_counts_the_real_rows_only():
    # mnist_siamese.py: `contrastive_loss` returns `K.mean(...)`, one number per batch. Keras 2
    # evaluates the shorter last batch as it is and weights each batch by its size.
    def contrastive_loss(y_true, y_pred):
        return K.mean(y_true * K.square(y_pred) + (1 - y_true) * K.square(K.maximum(1 - y_pred, 0)))

    inp = jkeras.layers.Input((3,))
    model = jkeras.Model(inp, jkeras.layers.Dense(1)(inp))
    model.compile("sgd", loss=contrastive_loss)
    rng = np.random.default_rng(4)
    x, y = rng.random((5, 3)).astype("float32"), rng.integers(0, 2, (5, 1)).astype("float32")
    w, b = model.get_weights()
    p = x @ w + b
    rows = y * p ** 2 + (1 - y) * np.maximum(1 - p, 0) ** 2
    expected = (4 * rows[:4].mean() + 1 * rows[4:].mean()) / 5
    np.testing.assert_allclose(model.evaluate(x, y, batch_size=4, verbose=0), expected, rtol=1e-5)


def test_input_fed_by_a_tensor_starts_a_new_input():
    # neural_doodle.py: `VGG19(input_tensor=K.concatenate([K.variable(style), K.placeholder(...)]))`
    # and `Input(tensor=masks, shape=(None, None, None))` of variables; Keras 2 starts a new
    # InputLayer on each, so the model's layers match layer for layer, and the loss's
    # gradient reaches the placeholder through the feed.
    import jax
    target = K.placeholder((1, 4, 4, 1))
    style = np.random.default_rng(5).random((1, 4, 4, 1)).astype("float32")
    image_input = jkeras.layers.Input(tensor=K.concatenate([K.variable(style), target], axis=0))
    conv = jkeras.layers.Conv2D(2, 3, padding="same", use_bias=False, name="block1_conv1")
    image_model = jkeras.Model(image_input, conv(image_input))
    masks = K.concatenate([K.variable(np.ones((1, 4, 4, 1), "float32")), K.variable(np.zeros((1, 4, 4, 1), "float32"))], axis=0)
    mask_input = jkeras.layers.Input(tensor=masks, shape=(None, None, None), name="mask_input")
    pooled = jkeras.layers.AveragePooling2D(3, strides=1, padding="same", name="mask_block1_conv1")(mask_input)
    mask_model = jkeras.Model(mask_input, pooled)
    assert ["mask_" + layer.name for layer in image_model.layers[1:]] == [layer.name for layer in mask_model.layers[1:]]
    assert image_model.input_shape == (2, 4, 4, 1) and mask_model.output_shape == (2, 4, 4, 1)
    loss = K.sum(K.square(image_model.output[1]) * mask_model.output[0])
    grads = K.gradients(loss, target)[0]
    x = np.random.default_rng(6).random((1, 4, 4, 1)).astype("float32")
    value, g = K.function([target], [loss, grads])([x])
    kernel = conv.get_weights()[0]

    def reference(t):  # the conv as XLA computes it, the mask of ones pooled to ones
        y = jax.lax.conv_general_dilated(t, kernel, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return (y ** 2).sum()
    np.testing.assert_allclose(value, reference(x), rtol=1e-5)
    np.testing.assert_allclose(g, jax.grad(reference)(x), rtol=1e-4, atol=1e-6)
    both = np.concatenate([style, x])
    np.testing.assert_allclose(image_model.predict(both, verbose=0)[1], np.asarray(
        jax.lax.conv_general_dilated(x, kernel, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")))[0],
        rtol=1e-5, atol=1e-6)


def test_a_model_trains_through_a_symbolic_gradient():
    # mnist_swwae.py's idea (max-pooling switches from a gradient) in a model that is fitted:
    # the step differentiates the gradient node again, as TF differentiated tf.gradients.
    import jax
    import jax.numpy as jnp
    inp = jkeras.layers.Input((3,))
    dense = jkeras.layers.Dense(2)
    model = jkeras.Model(inp, K.gradients(K.sum(K.square(dense(inp))), inp)[0])
    model.compile(jkeras.optimizers.SGD(0.1), "mse")
    rng = np.random.default_rng(7)
    x, y = rng.random((4, 3)).astype("float32"), rng.random((4, 3)).astype("float32")
    w, b = (jnp.asarray(a) for a in dense.get_weights())

    def loss(w, b):  # d sum((x w + b)^2) / dx = 2 (x w + b) w^T
        return jnp.mean((y - 2 * (x @ w + b) @ w.T) ** 2)
    np.testing.assert_allclose(model.train_on_batch(x, y), loss(w, b), rtol=1e-5)
    gw, gb = jax.grad(loss, argnums=(0, 1))(w, b)
    np.testing.assert_allclose(dense.get_weights()[0], w - 0.1 * gw, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(dense.get_weights()[1], b - 0.1 * gb, rtol=1e-5, atol=1e-7)

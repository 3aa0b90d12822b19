"""The backend: config, names, keys, learning phase, and Keras 2's `K` functions on jax.numpy.

Imported as `from jkeras import backend as K`. Every `K` function traces inside a compiled
step; on symbolic tensors it records a layer call, as tf.keras 2 records a TF op.
"""
from jkeras.backend.compile_cache import enable_default_cache
from jkeras.backend.config import (backend, epsilon, floatx, image_data_format, image_dim_ordering,
                                   jkeras_home, set_epsilon, set_floatx, set_image_data_format,
                                   set_image_dim_ordering, standardize_data_format)
from jkeras.backend.ctc import ctc_batch_cost, ctc_decode, ctc_label_dense_to_sparse
from jkeras.backend.function import (function, learning_phase, learning_phase_scope,
                                     set_learning_phase)
from jkeras.backend.gradients import gradients
from jkeras.backend.math_ops import (abs, all, any, argmax, argmin, batch_dot, cast, clip, cos,
                                     cumprod, cumsum, dot, equal, exp, greater, greater_equal,
                                     in_test_phase, in_top_k, in_train_phase, l2_normalize, less,
                                     less_equal, log, logsumexp, max, maximum, mean, min, minimum,
                                     not_equal, pow, prod, round, sign, sin, sqrt, square, std,
                                     stop_gradient, sum, switch, transpose, var)
from jkeras.backend.naming import reset_names, unique_name
from jkeras.backend.nn_ops import (batch_normalization, bias_add, binary_crossentropy,
                                   binary_focal_crossentropy, categorical_crossentropy,
                                   categorical_focal_crossentropy, conv1d, conv2d, conv2d_transpose,
                                   conv3d, conv3d_transpose, depthwise_conv2d, elu, hard_sigmoid,
                                   local_conv1d, local_conv2d, normalize_batch_in_training, pool2d,
                                   pool3d, relu, separable_conv1d, separable_conv2d, sigmoid,
                                   softmax, softplus, softsign, sparse_categorical_crossentropy, tanh)
from jkeras.backend.random import set_random_seed
from jkeras.backend.random_ops import (dropout, random_bernoulli, random_binomial, random_normal,
                                       random_uniform, truncated_normal)
from jkeras.backend.rnn_ops import foldl, foldr, map_fn, rnn
from jkeras.backend.session import (clear_session, control_dependencies, get_session, get_uid,
                                    identity, is_sparse, manual_variable_initialization, name_scope,
                                    print_tensor, reset_uids, set_session, to_dense)
from jkeras.backend.shape_ops import (arange, batch_flatten, cast_to_floatx, concatenate, dtype,
                                      expand_dims, flatten, gather, get_variable_shape, int_shape,
                                      is_keras_tensor, is_placeholder, is_tensor, ndim, one_hot,
                                      permute_dimensions, repeat, repeat_elements, reshape,
                                      resize_images, resize_volumes, reverse, shape, size, slice,
                                      spatial_2d_padding, spatial_3d_padding, squeeze, stack,
                                      temporal_padding, tile)
from jkeras.backend.variables import (Variable, batch_get_value, batch_set_value, constant,
                                      count_params, eval, eye, get_value, is_variable,
                                      moving_average_update, ones, ones_like, placeholder,
                                      random_normal_variable, random_uniform_variable, set_value,
                                      update, update_add, update_sub, variable, zeros, zeros_like)

enable_default_cache()

normalize_data_format = standardize_data_format  # Keras 2.3's name


def symbolic(func):
    """Keras 2.3's graph-mode decorator: every jkeras call is traced already, so `func` as it is."""
    return func


def eager(func):
    """Keras 2.3's eager-mode decorator: `func` as it is."""
    return func

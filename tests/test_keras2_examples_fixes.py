"""Fixes found by running Keras 2.3.1's example scripts (scripts/run_keras2_examples.py) on jkeras:
graph-building code that Keras 2 runs on symbolic tensors, checked against numpy."""
import numpy as np

import jkeras
from jkeras import backend as K


def test_shape_of_a_tensor_with_unknown_dims_is_known_at_run_time():
    # deep_dream.py: `scaling = K.prod(K.cast(K.shape(x), 'float32'))` on a layer output of shape
    # (None, None, None, C); Keras 2 gives tf.shape(x), the sizes of the array fed at run time.
    x = jkeras.layers.Input((None, 3))
    scaling = K.prod(K.cast(K.shape(x), "float32"))
    f = K.function([x], [scaling])
    assert f([np.ones((2, 5, 3), "float32")])[0] == 2 * 5 * 3
    assert f([np.ones((1, 7, 3), "float32")])[0] == 1 * 7 * 3
    assert K.shape(jkeras.layers.Input(batch_shape=(2, 3))) == (2, 3)

"""The functional graph walk (`jkeras.models.graph.map_graph`) on graphs deeper than Python's
recursion limit: a walk that recursed once per layer stopped at ~1000 layers."""
import sys

import numpy as np
import pytest

import jkeras
from jkeras import layers


@pytest.mark.slow  # ~5 s: 1000+ symbolic layer calls
def test_chain_deeper_than_the_recursion_limit_builds_and_runs():
    depth = sys.getrecursionlimit() + 50
    inp = layers.Input((2,))
    x = inp
    for _ in range(depth):
        x = layers.Activation("relu")(x)
    model = jkeras.Model(inp, x)
    assert len(model.layers) == depth + 1
    assert model.layers[1].name == "activation" and model.layers[-1].name == f"activation_{depth - 1}"
    np.testing.assert_array_equal(model.predict(np.array([[1.0, -2.0]]), verbose=0), [[1.0, 0.0]])

"""Weight paths in the params tree name every weight: `layers.paths` and the layer's `PathIndex`.

The Keras orders are checked against the recursion Keras 2's `Layer.weights` is defined by
(own trainable, own non-trainable, then each nested layer's, repeats dropped), and the `.h5`
names against `saving.hdf5.weight_names`, the names written into files."""
import copy

import jax
import numpy as np
import pytest

import jkeras
from jkeras import layers as L
from jkeras.layers import paths
from jkeras.saving.hdf5 import weight_names


def _nested():
    """A functional model holding a Sequential, a frozen functional model, an LSTM, a
    Bidirectional GRU and a BatchNormalization."""
    inner_in = L.Input((4, 3))
    inner = jkeras.Model(inner_in, L.LSTM(5, return_sequences=True, name="lstm")(inner_in), name="inner")
    inner.trainable = False
    stack = jkeras.Sequential([L.Input((4, 5)), L.Dense(3, name="d_seq")], name="stack")
    inp = L.Input((4, 3))
    x = inner(inp)
    x = stack(x)
    x = L.Bidirectional(L.GRU(2), name="bidi")(x)
    x = L.BatchNormalization(name="bn")(x)
    return jkeras.Model(inp, L.Dense(1, name="head")(x), name="outer")


def _shared():
    """The FAQ's frozen/trainable pair: one Dense in two models."""
    dense = L.Dense(2, name="shared")
    inp = L.Input((3,))
    a = jkeras.Model(inp, dense(inp), name="a")
    b_in = L.Input((3,))
    b = jkeras.Model(b_in, L.Dense(1, name="top")(dense(b_in)), name="b")
    return dense, a, b


def _keras_weights(layer):
    """Keras 2's `Layer.weights`: own trainable, own non-trainable, nested, repeats dropped."""
    own = [v for v in layer._variables.values() if v._trainable] + \
        [v for v in layer._variables.values() if not v._trainable]
    out = []
    for w in own + [w for sub in layer._layers for w in _keras_weights(sub)]:
        if all(w is not o for o in out):
            out.append(w)
    return out


def _keras_trainable(layer):
    if not layer.trainable:
        return []
    return [v for v in layer._variables.values() if v._trainable] + \
        [w for sub in layer._layers for w in _keras_trainable(sub)]


def _tree_paths(tree, prefix=()):
    for k, v in tree.items():
        if isinstance(v, dict):
            yield from _tree_paths(v, prefix + (k,))
        else:
            yield prefix + (k,)


def test_paths_of_nested_models_and_cells():
    model = _nested()
    params, state = model._own_trees()
    got = set(paths.weight_paths(params))
    assert ("inner", "lstm", "lstm_cell", "kernel") in got
    assert ("bidi", "forward_gru", "gru_cell", "recurrent_kernel") in got
    assert ("stack", "d_seq", "bias") in got
    assert set(paths.weight_paths(state)) == {("bn", "moving_mean"), ("bn", "moving_variance")}
    assert paths.path_str(("inner", "lstm", "lstm_cell", "kernel")) == "inner/lstm/lstm_cell/kernel"
    assert paths.path_str(("a", "b"), sep=".") == "a.b"
    index = model._path_index()
    for path in paths.weight_paths(params):
        assert index.variable(path).value is paths.get_path(params, path)
        assert index.path(index.variable(path)) == path
    assert index.layer(("inner", "lstm")) is model.get_layer("inner").get_layer("lstm")
    assert index.layer(()) is model
    assert index.is_graph_model(("inner",)) and index.is_graph_model(("stack",))
    assert not index.is_graph_model(("bidi",))
    assert index.graph_prefixes() == {("inner",), ("stack",)}
    assert ("inner",) in index.frozen_prefixes()
    assert [p for p, _ in index.layer_paths()][0] == ()


def test_ordered_is_keras_order():
    model = _nested()
    index = model._path_index()
    for layer in [model] + model.layers:
        index = layer._path_index()
        assert index.ordered("weights") == _keras_weights(layer)
        assert index.ordered("trainable") == _keras_trainable(layer)
    assert model.weights == _keras_weights(model)
    assert model.trainable_weights == _keras_trainable(model)
    frozen = model.get_layer("inner")
    assert frozen.non_trainable_weights == [w for w in _keras_weights(frozen) if w._trainable]
    # the BatchNormalization moving statistics: own non-trainable after the nested ones
    names = [w.path for w in model.non_trainable_weights]
    assert names[-2:] == ["bn/moving_mean", "bn/moving_variance"]
    with pytest.raises(ValueError):
        index.ordered("frozen")


def test_a_nested_layers_own_order_is_kept():
    """SpectralNormalization lists the wrapped layer's weights before its own `vector_u`."""
    inp = L.Input((3,))
    model = jkeras.Model(inp, L.SpectralNormalization(L.Dense(2, name="d"), name="sn")(inp))
    assert [w.name for w in model.weights] == ["kernel", "bias", "vector_u"]
    assert [w.name for w in model.non_trainable_weights] == ["vector_u"]


def test_stateful_carries_are_not_weights():
    lstm = L.LSTM(2, stateful=True, name="lstm")
    lstm(np.zeros((3, 4, 2), np.float32))
    assert lstm._state_variables()
    carried = {id(v) for v in lstm._state_variables()}
    assert all(id(w) not in carried for w in lstm.weights + lstm.non_trainable_weights)
    inp = L.Input(batch_shape=(3, 4, 2))
    model = jkeras.Model(inp, L.LSTM(2, stateful=True, name="l2")(inp))
    assert [w.name for w in model.weights] == ["kernel", "recurrent_kernel", "bias"]


def test_shared_layer_is_per_root_and_first_path_wins():
    dense, a, b = _shared()
    assert a._path_index().path(dense.kernel) == ("shared", "kernel")
    assert b._path_index().path(dense.kernel) == ("shared", "kernel")
    assert [w.path for w in b.weights] == ["shared/kernel", "shared/bias", "top/kernel", "top/bias"]
    outer_in = L.Input((3,))
    twice = jkeras.Model(outer_in, b(a(outer_in) @ np.ones((2, 3), np.float32)), name="twice")
    index = twice._path_index()
    assert index.variable(("a", "shared", "kernel")) is index.variable(("b", "shared", "kernel"))
    assert index.path(dense.kernel) == ("a", "shared", "kernel")
    assert twice.weights == _keras_weights(twice)
    with pytest.raises(KeyError):
        a._path_index().path(b.get_layer("top").kernel)


@pytest.mark.parametrize("build", [_nested, lambda: _shared()[2]])
def test_h5_names_are_the_files_weight_names(build):
    model = build()
    index = model._path_index()
    names = [paths.h5_name(index.path(w), index.graph_prefixes()) for w in model.weights]
    assert names == weight_names(model)
    for layer in model.layers:  # a layer's group in the file: its own name first
        sub = layer._path_index()
        prefix = () if hasattr(layer, "_nodes") else (layer.name,)
        graphs = frozenset(prefix + p for p in sub.graph_prefixes())
        assert [paths.h5_name(prefix + sub.path(w), graphs) for w in layer.weights] == weight_names(layer)


def test_split_and_merge_trees():
    model = _nested()
    params = model._own_trees()[0]
    mask = jkeras.models.compile_utils.trainable_mask(model)
    trainable, frozen = paths.split(params, mask)
    kept = [p for p in _tree_paths(params) if paths.get_path(mask, p) is True]
    assert list(_tree_paths(trainable)) == kept
    assert list(_tree_paths(frozen)) == [p for p in _tree_paths(params) if p not in kept]
    assert all(p[0] == "inner" for p in _tree_paths(frozen))  # the frozen model's weights only
    merged = paths.merge(trainable, frozen)
    assert jax.tree.structure(merged) == jax.tree.structure(params)
    assert all(a is b for a, b in zip(jax.tree.leaves(merged), jax.tree.leaves(params)))
    # the mask as Keras reads `trainable`: every layer on the path trains
    for p in _tree_paths(params):
        layers = [model] + [model._path_index().layer(p[:i]) for i in range(1, len(p))]
        assert paths.get_path(mask, p) is all(layer.trainable for layer in layers)
    assert paths.trainable_mask({"d": {"k": 1}}, frozenset({()})) == {"d": {"k": False}}


def test_by_layer_finds_nested_layers_by_name():
    model = _nested()
    params = model._own_trees()[0]

    def keras_by_layer(layers, tree):  # every layer's entry by name, nested models' layers included
        flat = {}
        for layer in layers:
            if isinstance(tree.get(layer.name), dict):
                flat[layer.name] = tree[layer.name]
                flat.update(keras_by_layer(layer._layers, tree[layer.name]))
        return flat

    got = paths.by_layer(params, model._path_index())
    expected = keras_by_layer(model._layers, params)
    assert list(got) == list(expected) and all(got[k] is expected[k] for k in got)
    assert got["lstm_cell"] is params["inner"]["lstm"]["lstm_cell"]


def test_regularizers_and_constraints_by_path():
    inp = L.Input((3,))
    inner = jkeras.Model(inp, L.Dense(2, kernel_regularizer="l2", bias_constraint="non_neg", name="d")(inp),
                         name="inner")
    outer_in = L.Input((3,))
    model = jkeras.Model(outer_in, inner(outer_in))
    index = model._path_index()
    dense = inner.get_layer("d")
    assert index.regularizer(("inner", "d", "kernel")) is dense._regularizers["kernel"]
    assert index.regularizer(("inner", "d", "bias")) is None
    assert index.constraint(("inner", "d", "bias")) is dense._constraints["bias"]
    assert index.constraint(("inner", "d", "kernel")) is None


def test_get_set_has_path():
    tree = {"a": {"b": 1, "c": 2}, "d": 3}
    assert paths.has_path(tree, ("a", "b")) and paths.has_path(tree, ("a",))
    assert not paths.has_path(tree, ("a", "x")) and not paths.has_path(tree, ("d", "x"))
    new = paths.set_path(tree, ("a", "c"), 5)
    assert new == {"a": {"b": 1, "c": 5}, "d": 3} and tree["a"]["c"] == 2
    assert paths.get_path(new, ("a", "c")) == 5
    assert paths.weight_paths(tree) == [("a", "b"), ("a", "c"), ("d",)]
    assert paths.weight_paths({"a": [1, {"b": 2}]}) == [("a",), ("a", "b")]


def test_index_is_built_once_per_change():
    model = _nested()
    index = model._path_index()
    model.weights, model.trainable_weights
    assert model._path_index() is index
    model.get_layer("head").trainable = False
    assert model._path_index() is not index
    assert all(w is not model.get_layer("head").kernel for w in model.trainable_weights)


def test_a_copied_layer_finds_its_own_weights():
    model = _nested()
    model._path_index().path(model.weights[0])
    twin = copy.deepcopy(model)
    assert twin._path_index().path(twin.weights[0]) == model._path_index().path(model.weights[0])
    assert twin.weights[0] is not model.weights[0]


def test_compiled_ops_carry_the_layer_names():
    """Each layer's ops run under `jax.named_scope(layer.name)`: HLO and profiles name the layer."""
    inp = L.Input((4,))
    model = jkeras.Model(inp, L.Dense(2, name="head")(L.Dense(3, name="hidden")(inp)))
    params, state = model._own_trees()
    jaxpr = jax.make_jaxpr(lambda p, s, x: model.apply(p, s, x)[0])(params, state, np.zeros((2, 4), np.float32))
    stacks = [str(e.source_info.name_stack) for e in jaxpr.eqns]
    assert "hidden" in stacks and "head" in stacks

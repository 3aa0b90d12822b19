"""The functional graph: order the nodes between inputs and outputs, then run them.

The ordering follows Keras (keras/src/ops/function.py `map_graph`): nodes by
decreasing depth from the outputs, layers by depth with ties broken by the
depth-first traversal order, so `model.layers` and `.h5` `layer_names` match.
"""
import collections

import jax

from jkeras.backend.keras_tensor import KerasTensor
from jkeras.backend.random import split_by_name
from jkeras.layers.base import Layer, TraceStack, add_loss, losses_wanted, real_rows
from jkeras.layers.core import InputLayer

# `with output_masks() as masks:` around a traced model call leaves in `masks` the outermost
# functional model's output masks, one per output (None where an output has none), for the loss
_output_masks = TraceStack()
output_masks = _output_masks.gather


def record_output_masks(masks):
    """Called by a functional model when its call ends; the outermost call ends last and wins."""
    if _output_masks.stack:
        _output_masks.stack[-1][:] = masks


def _is_kt(x):
    return isinstance(x, KerasTensor)


def flatten_tensors(structure):
    return [t for t in jax.tree.leaves(structure, is_leaf=_is_kt) if _is_kt(t)]


_DONE = object()  # end of a node's parents in `map_graph`'s walk


def map_graph(inputs, outputs):
    """`(nodes, layers)`: the nodes to run in order, and the layers in Keras's order."""
    flat_inputs = flatten_tensors(inputs)
    input_ids = {id(t) for t in flat_inputs}
    finished, in_progress, ordered, layer_index = set(), set(), [], {}

    def parents_of(node):
        """A node's inbound tensors; none for a model input (an `Input(tensor=t)` feed lies outside)."""
        return [] if id(node.outputs) in input_ids else node.parent_tensors

    def node_of(tensor):
        layer, node_index, _ = tensor._keras_history
        return layer, layer._inbound_nodes[node_index]

    def visit(out):
        """Depth-first from `out`, parents before children; iterative, so a graph of any
        depth is walked (a recursive walk stops at Python's recursion limit, ~1000 layers)."""
        stack = [(out, None)]
        while stack:
            tensor, parents = stack[-1]
            layer, node = node_of(tensor)
            if parents is None:  # first arrival at this tensor
                if id(node) in finished:
                    stack.pop()
                    continue
                if not isinstance(layer, InputLayer) and id(tensor) in input_ids:
                    raise ValueError(f"Model inputs must come from `Input`; {tensor} is the output "
                                     f"of layer '{layer.name}'.")
                if id(node) in in_progress:
                    raise ValueError(f"Tensor {tensor} from layer '{layer.name}' is part of a cycle.")
                layer_index.setdefault(id(layer), (len(layer_index), layer))
                in_progress.add(id(node))
                parents = iter(parents_of(node))
                stack[-1] = (tensor, parents)
            parent = next(parents, _DONE)
            if parent is not _DONE:
                stack.append((parent, None))
                continue
            stack.pop()
            finished.add(id(node))
            in_progress.discard(id(node))
            ordered.append(node)

    for out in flatten_tensors(outputs):
        if out._keras_history is None:
            raise ValueError(f"Model outputs must be tensors made by layers; received {out}.")
        visit(out)

    node_depth, layer_depth = {}, {}
    for node in reversed(ordered):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = depth
        node_depth[id(node)] = depth
        for parent in parents_of(node):
            p_layer, p_index, _ = parent._keras_history
            p_node = p_layer._inbound_nodes[p_index]
            node_depth[id(p_node)] = max(depth + 1, node_depth.get(id(p_node), 0))
    for t in flat_inputs:
        layer = t._keras_history[0]
        if id(layer) not in layer_depth:
            layer_depth[id(layer)] = 0
            layer_index[id(layer)] = (-1, layer)
            ordered.insert(0, layer._inbound_nodes[0])
            node_depth[id(layer._inbound_nodes[0])] = 0

    by_depth = collections.defaultdict(list)
    for lid, depth in layer_depth.items():
        by_depth[depth].append(layer_index[lid])
    layers = [layer for d in sorted(by_depth, reverse=True) for _, layer in sorted(by_depth[d], key=lambda p: p[0])]
    nodes = sorted(ordered, key=lambda n: -node_depth[id(n)])

    known = {id(t) for t in flat_inputs}
    for node in nodes:
        for parent in parents_of(node):
            if id(parent) not in known:
                raise ValueError(f"Graph disconnected: cannot reach tensor {parent} (input of layer "
                                 f"'{node.layer.name}') from the model's inputs.")
        known.update(id(t) for t in flatten_tensors(node.outputs))
    names = [layer.name for layer in layers]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"Layer names must be unique within a model; {dupes} appear more than once.")
    return [n for n in nodes if id(n.outputs) not in input_ids and (n.parent_tensors or n.inputs)], layers


class GraphOp(Layer):
    """A layer whose call needs the graph it sits in, not only its inputs (a symbolic
    `K.gradients` reruns part of it): `run_graph` calls `run_on_graph` in place of `apply`."""

    def run_on_graph(self, node, values, masks, params, state, training, key):
        """The outputs of `node`, from the values and masks computed so far in this run and
        the whole graph's `params`/`state`."""
        raise NotImplementedError


def nodes_between(inputs, output):
    """The nodes on the paths from `inputs` (any tensors of a graph, inner ones too) to
    `output`, parents first: the part of the graph that changes when `inputs` change."""
    cut = {id(t) for t in inputs}
    order, seen, stack = [], set(), [(output, False)]
    while stack:  # iterative post-order walk, parents before children, stopping at `inputs`
        tensor, expanded = stack.pop()
        if id(tensor) in cut or tensor._keras_history is None:
            continue
        node = tensor.node
        if expanded:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((tensor, True))
            stack.extend((parent, False) for parent in reversed(node.parent_tensors))
    depends, between = set(cut), []
    for node in order:
        if any(id(p) in depends for p in node.parent_tensors):
            between.append(node)
            depends.update(id(t) for t in flatten_tensors(node.outputs))
    return between


def run_graph(nodes, input_tensors, input_values, params, state, training, key, known=None):
    """Evaluate `nodes` on concrete (or traced) values; returns `(values, masks, state)`.

    `known`: `(values, masks)` already computed by an enclosing run, which `nodes` may read."""
    values, masks = (dict(known[0]), dict(known[1])) if known else ({}, {})
    values.update((id(t), v) for t, v in zip(input_tensors, input_values))
    new_state = dict(state)
    seen_calls = collections.Counter()
    for node in nodes:
        layer = node.layer
        if isinstance(layer, GraphOp):
            out = layer.run_on_graph(node, values, masks, params, new_state, training, key)
            values.update(zip(map(id, flatten_tensors(node.outputs)), jax.tree.leaves(out)))
            continue
        lookup = lambda t: values[id(t)] if _is_kt(t) else t  # noqa: E731
        args = jax.tree.map(lookup, node.inputs, is_leaf=_is_kt)
        kwargs = jax.tree.map(lookup, node.kwargs, is_leaf=_is_kt)
        forced = kwargs.pop("training", None)  # `layer(x, training=True)` pins the mode
        if kwargs.get("mask", 0) is None:
            kwargs.pop("mask")
        in_mask = jax.tree.map(lambda t: masks.get(id(t)), node.inputs, is_leaf=_is_kt)
        has_mask = any(m is not None for m in jax.tree.leaves(in_mask))
        if has_mask and layer._takes("mask") and "mask" not in kwargs:
            kwargs["mask"] = in_mask
        layer_key = split_by_name(key, layer.name)
        if seen_calls[id(layer)] and layer_key is not None:
            layer_key = jax.random.fold_in(layer_key, seen_calls[id(layer)])
        seen_calls[id(layer)] += 1
        layer_params = params.get(layer.name, {})
        if node.device is not None:  # device placement: this call's inputs and weights move there
            args, kwargs, layer_params = jax.device_put((args, kwargs, layer_params), node.device)
        out, s = layer._run(layer_params, new_state.get(layer.name, {}), args,
                            training=training if forced is None else bool(forced), key=layer_key,
                            **kwargs)
        if s:
            new_state[layer.name] = s
        if layer.activity_regularizer is not None and losses_wanted():  # train and test steps, as Keras
            for o in jax.tree.leaves(out):  # divided by the batch size, as Keras 3 does
                o, rows = real_rows(o)
                add_loss(layer.activity_regularizer(o) / rows)
        flat_out = flatten_tensors(node.outputs)
        flat_vals = jax.tree.leaves(out)
        for t, v in zip(flat_out, flat_vals):
            values[id(t)] = v
        if has_mask or layer._makes_mask():
            out_masks = layer.compute_mask(args, in_mask)
            out_masks = out_masks if isinstance(out_masks, (list, tuple)) else [out_masks] * len(flat_out)
            for t, m in zip(flat_out, out_masks):
                masks[id(t)] = m
    return values, masks, new_state

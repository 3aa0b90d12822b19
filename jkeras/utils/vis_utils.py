"""`plot_model`: the layer graph as Graphviz DOT, drawn with pydot when it is installed."""
import logging
import os


def model_to_dot_text(model, show_shapes=False, show_layer_names=True, rankdir="TB"):
    """The DOT text of `model`'s layer graph: one box per layer, one edge per connection."""
    layers = model.layers
    ids = {id(layer): f"n{i}" for i, layer in enumerate(layers)}
    lines = [f'digraph "{model.name}" {{', f"  rankdir={rankdir};", "  node [shape=record];"]
    own_nodes = {id(n) for n in getattr(model, "_nodes", [])}
    for layer in layers:
        label = f"{layer.name}: {type(layer).__name__}" if show_layer_names else type(layer).__name__
        if show_shapes and layer._inbound_nodes:
            outputs = layer._inbound_nodes[0].outputs
            shapes = [t.shape for t in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]
            label += f"|output: {shapes[0] if len(shapes) == 1 else shapes}"
        label = label.replace('"', "'").replace("{", "(").replace("}", ")")
        lines.append(f'  {ids[id(layer)]} [label="{label}"];')
    for layer in layers:
        for node in layer._inbound_nodes:
            if own_nodes and id(node) not in own_nodes:
                continue
            for parent in node.parent_tensors:
                source = parent._keras_history[0]
                if id(source) in ids:
                    lines.append(f"  {ids[id(source)]} -> {ids[id(layer)]};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def plot_model(model, to_file="model.png", show_shapes=False, show_layer_names=True, rankdir="TB",
               **kwargs):
    """Draw `model` to `to_file` with pydot/graphviz; without them, write the DOT text instead.

    Returns the path written. pydot is an optional extra (`pip install pydot` and Graphviz's
    `dot` program); the core does not need it.
    """
    dot = model_to_dot_text(model, show_shapes, show_layer_names, rankdir)
    try:
        import pydot
        graph = pydot.graph_from_dot_data(dot)[0]
        extension = os.path.splitext(to_file)[1].lstrip(".") or "png"
        graph.write(to_file, format=extension)
        return to_file
    except (ImportError, OSError, FileNotFoundError) as error:
        path = os.path.splitext(to_file)[0] + ".dot"
        with open(path, "w") as f:
            f.write(dot)
        logging.getLogger("jkeras").warning(
            "plot_model: pydot/graphviz unavailable (%s); wrote the DOT text to %s instead.", error, path)
        return path


def model_to_dot(model, show_shapes=False, show_layer_names=True, rankdir="TB", expand_nested=False,
                 dpi=96, subgraph=False, **kwargs):
    """`model`'s layer graph as a `pydot.Dot`, as Keras returns it (needs the optional pydot).

    Without pydot, `model_to_dot_text` gives the same graph as DOT text.
    """
    try:
        import pydot
    except ImportError as error:
        raise ImportError("model_to_dot returns a pydot graph and needs pydot (`pip install pydot`, "
                          "and Graphviz to draw it). Without it, "
                          "jkeras.utils.vis_utils.model_to_dot_text(model) gives the DOT text.") from error
    dot = pydot.graph_from_dot_data(model_to_dot_text(model, show_shapes, show_layer_names, rankdir))[0]
    dot.set("dpi", dpi)
    return dot

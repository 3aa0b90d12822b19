"""`model.summary()`: Keras 2's table of layers, output shapes and parameter counts."""
import numpy as np


def _count(weights):
    return int(sum(np.prod(w.shape) for w in weights))


def _shape_text(layer, model):
    nodes = [n for n in layer._inbound_nodes if _in_model(n, model)] or layer._inbound_nodes
    if not nodes:
        return "multiple" if not layer.built else "?"
    outs = nodes[0].outputs
    shapes = [t.shape for t in (outs if isinstance(outs, (list, tuple)) else [outs])]
    return str(shapes[0] if len(shapes) == 1 else shapes)


def _in_model(node, model):
    return any(node is n for n in getattr(model, "_nodes", []))


def print_summary(model, line_length=None, positions=None, print_fn=None):
    """Print the layers in `model.layers` order with output shapes and parameter counts."""
    print_fn = print_fn or print
    functional = getattr(model, "is_graph_model", False) and type(model).__name__ != "Sequential"
    line_length = line_length or (98 if functional else 65)
    positions = positions or ([0.33, 0.55, 0.67, 1.0] if functional else [0.45, 0.85, 1.0])
    positions = [int(line_length * p) if p <= 1 else int(p) for p in positions]
    headers = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if functional else [])

    def row(fields):
        line = ""
        for text, end in zip(fields, positions):
            line = (line + str(text))[:end - 1].ljust(end)
        print_fn(line.rstrip())

    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    row(headers)
    print_fn("=" * line_length)
    layers = model.layers
    for i, layer in enumerate(layers):
        fields = [f"{layer.name} ({type(layer).__name__})", _shape_text(layer, model),
                  _count(layer.weights) if layer.built else 0]
        if functional:
            parents = []
            for node in layer._inbound_nodes:
                if _in_model(node, model):
                    parents += [f"{t._keras_history[0].name}[0][0]" for t in node.parent_tensors]
            fields.append(", ".join(parents))
        row(fields)
        print_fn(("=" if i == len(layers) - 1 else "_") * line_length)
    trainable = _count(model.trainable_weights)
    total = _count(model.weights)
    print_fn(f"Total params: {total:,}")
    print_fn(f"Trainable params: {trainable:,}")
    print_fn(f"Non-trainable params: {total - trainable:,}")
    print_fn("_" * line_length)

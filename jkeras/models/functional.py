"""Functional models: `Model(inputs, outputs)` over a graph of layer calls."""
import jax

from jkeras.backend.keras_tensor import KerasTensor
from jkeras.layers.base import Layer, add_loss, losses_wanted, note_edit, row_mean
from jkeras.layers.core import InputLayer
from jkeras.legacy import interfaces
from jkeras.models import model as model_module
from jkeras.models.functional_config import functional_config, functional_from_config
from jkeras.models.graph import flatten_tensors, map_graph, nodes_between, record_output_masks, run_graph
from jkeras.models.model import Model
from jkeras.models.trainer import Trainer
from jkeras.saving.serialization import register_model_classes


class Functional(Model):
    """A model defined by its input and output tensors."""

    _convert_input_args = False  # as Keras: each layer casts its own inputs to its policy
    is_graph_model = True  # its architecture is a graph of layer calls, written as a config
    _config_node_offset = 1  # a nested one's calls count from 1 in a config (models/functional_config.py)
    _added_losses = ()  # tensors of the graph given to `add_loss`
    _loss_nodes = ()  # the nodes that compute them, beyond the outputs' nodes

    @interfaces.legacy_model_constructor_support
    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        Layer.__init__(self, trainable=trainable, name=name, **kwargs)
        Trainer.__init__(self)
        self._init_graph(inputs, outputs)

    def _init_graph(self, inputs, outputs):
        note_edit()
        for what, given in (("inputs", inputs), ("outputs", outputs)):
            leaves = jax.tree.leaves(given, is_leaf=lambda t: isinstance(t, KerasTensor))
            bad = [t for t in leaves if not isinstance(t, KerasTensor)]
            if bad or not leaves:
                raise ValueError(f"Model `{what}` must be symbolic tensors (from `Input` and layer "
                                 f"calls); received {what}={given!r}.")
        if isinstance(inputs, tuple):
            inputs = list(inputs)
        if isinstance(outputs, tuple):
            outputs = list(outputs)
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self._nodes, layers = map_graph(inputs, outputs)
        given = {id(t) for t in flatten_tensors(inputs)}
        for layer in layers:
            if isinstance(layer, InputLayer) and not layer._fed and id(layer.output_tensor) not in given:
                raise ValueError(f"Graph disconnected: the outputs depend on Input "
                                 f"'{layer.name}', which is not among the model's `inputs`.")
        object.__setattr__(self, "_layers", layers)
        self._input_tensors = flatten_tensors(inputs)
        self._output_tensors = flatten_tensors(outputs)
        self.built = True

    # ---- graph accessors ----
    @property
    def inputs(self):
        return list(self._input_tensors)

    @property
    def outputs(self):
        return list(self._output_tensors)

    @property
    def input(self):
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    @property
    def input_names(self):
        return [t._keras_history[0].name for t in self._input_tensors]

    @property
    def output_names(self):
        return [t._keras_history[0].name for t in self._output_tensors]

    @property
    def input_shape(self):
        shapes = [t.shape for t in self._input_tensors]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self._output_tensors]
        return shapes[0] if len(shapes) == 1 else shapes

    # ---- the pure core ----
    def init(self, key, input_shape):
        return self._own_tree(True), self._own_tree(False)

    def apply(self, params, state, inputs, *, training=False, key=None, mask=None):
        values = self._input_list(inputs)
        computed, masks, new_state = run_graph(self._nodes, self._input_tensors, values, params, state,
                                               training, key)
        outputs = jax.tree.map(lambda t: computed[id(t)], self._outputs_struct,
                               is_leaf=lambda t: isinstance(t, KerasTensor))
        record_output_masks([masks.get(id(t)) for t in self._output_tensors])
        if self._added_losses and losses_wanted():  # train and test steps, as Keras 2's total loss
            self._add_graph_losses(computed, masks, params, state, training, key)
        return outputs, new_state

    def add_loss(self, losses, inputs=None, **kwargs):
        """Keras 2's `model.add_loss(tensor)` (the VAE examples): a tensor of the model's graph,
        computed from its inputs, joins the loss of every train and test step, as its mean (Keras 2
        took `K.mean` of the total); other values are added as a layer's."""
        values = list(losses) if isinstance(losses, (list, tuple)) else [losses]
        tensors = [v for v in values if isinstance(v, KerasTensor)]
        if tensors:
            added = list(self._added_losses) + tensors
            self._loss_nodes = self._nodes_computing(added)
            self._added_losses = added
        rest = [v for v in values if not isinstance(v, KerasTensor)]
        if rest:
            super().add_loss(rest, inputs, **kwargs)

    def _nodes_computing(self, tensors):
        """The nodes that compute `tensors` from the model's inputs, beyond the outputs' nodes;
        a `ValueError` if one needs a tensor the model's inputs do not give."""
        known = {id(t) for t in self._input_tensors}
        for node in self._nodes:
            known.update(id(t) for t in flatten_tensors(node.outputs))
        nodes = []
        for tensor in tensors:
            for node in nodes_between(self._input_tensors, tensor):
                if all(id(t) in known for t in flatten_tensors(node.outputs)):
                    continue
                missing = [t for t in node.parent_tensors if id(t) not in known]
                if missing:
                    raise ValueError(f"add_loss: the loss {tensor} of model '{self.name}' needs {missing[0]} "
                                     f"(input of layer '{node.layer.name}'), which the model's inputs "
                                     f"{self.input_names} do not give.")
                nodes.append(node)
                known.update(id(t) for t in flatten_tensors(node.outputs))
            if id(tensor) not in known:
                raise ValueError(f"add_loss: the loss {tensor} of model '{self.name}' is not computed from "
                                 f"the model's inputs {self.input_names}.")
        return nodes

    @property
    def losses(self):
        """Keras 2's `model.losses`: every layer's weight penalties, then the tensors given to `add_loss`."""
        return super().losses + [loss for layer in self.layers for loss in layer.losses] + list(self._added_losses)

    def _add_graph_losses(self, computed, masks, params, state, training, key):
        """`add_loss` the mean of each tensor given to `add_loss`, from this run's values. A loss
        may read layers of nested models (the VAE's encoder), whose weights sit under the nested
        model's name: they are looked up by layer name."""
        params, state = _by_layer(self._layers, params), _by_layer(self._layers, state)
        values = run_graph(self._loss_nodes, [], [], params, state, training, key, known=(computed, masks))[0]
        for tensor in self._added_losses:
            add_loss(row_mean(values[id(tensor)]))

    def flatten_inputs(self, inputs):
        """Input values in `self.inputs` order, from a single array, a list or a dict by name,
        each of its `Input`'s shape but the batch dim, as Keras 2 checks the data of fit and predict."""
        values = self._input_list(inputs)
        for t, v in zip(self._input_tensors, values):
            shape = getattr(v, "shape", None)
            # the batch dim is not checked here: data holds many batches; a layer that needs a
            # fixed batch size (a stateful RNN) checks each batch
            if shape is None or len(shape) != len(t.shape) or any(
                    d is not None and d != s for d, s in zip(t.shape[1:], shape[1:])):
                raise ValueError(f"Input '{t._keras_history[0].name}' of model '{self.name}' expects "
                                 f"shape {t.shape}; received {None if shape is None else tuple(shape)}.")
        return values

    def _input_list(self, inputs):
        """Input values in `self.inputs` order, their shapes unchecked: calling a model on tensors
        runs its layers on them, and each layer checks what it gets, as in Keras 2 (whose
        `Network` has no input spec of its own), so a generator of `(None, 100)` runs on a
        `(None, 1, 100)` tensor as mnist_acgan.py calls it."""
        n = len(self._input_tensors)
        if isinstance(inputs, dict):
            missing = [name for name in self.input_names if name not in inputs]
            if missing:
                raise ValueError(f"Model '{self.name}' expects inputs named {self.input_names}; "
                                 f"missing {missing} (received keys {sorted(inputs)}).")
            values = [inputs[name] for name in self.input_names]
        elif isinstance(inputs, (list, tuple)):
            values = list(inputs)
        else:
            values = [inputs]
        if len(values) != n:
            raise ValueError(f"Model '{self.name}' expects {n} input(s) {self.input_names}; "
                             f"received {len(values)}.")
        return values

    def get_config(self):
        """Keras 2's Functional config: layers with their inbound nodes, input/output refs."""
        return functional_config(self)

    @property
    def fixed_batch_size(self):
        """The batch size the inputs fix (`Input(batch_shape=...)`, `batch_size=`), else None."""
        sizes = {t.shape[0] for t in self._input_tensors if t.shape and t.shape[0] is not None}
        return sizes.pop() if len(sizes) == 1 else None


def _by_layer(layers, tree):
    """`tree` (params or state: a layer's entry under its name, nested layers' inside their
    parent's) as one flat dict by layer name, nested layers included."""
    flat = {}
    for layer in layers:
        if isinstance(tree.get(layer.name), dict):
            flat[layer.name] = tree[layer.name]
            flat.update(_by_layer(layer._layers, tree[layer.name]))
    return flat


model_module.register_functional(Functional, functional_from_config)
register_model_classes({"Functional": Functional, "Model": Functional})

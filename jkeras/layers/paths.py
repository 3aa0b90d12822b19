"""The parameter tree is the naming: a weight's path in the params/state tree names it everywhere.

A path is a tuple of dict keys, `("lstm", "lstm_cell", "kernel")`: the layer names from the
root down, then the weight's name. Every other spelling derives from it: `path_str` gives
"lstm/lstm_cell/kernel" (TensorBoard tags, layout regexes, optimizer slot names), `h5_name` the
tf.keras `.h5` name "lstm/lstm_cell/kernel:0". `PathIndex` binds paths to a root layer's
`Variable`s and layers, built in one walk and cached until a weight or the structure changes.

Trees are plain nested dicts; the helpers here keep their keys in insertion order, as the
layers built them (jax's own tree functions sort the keys; the Keras orders of `weights` and
`.h5` files are not sorted, so they come from `PathIndex.ordered`).
"""
import jax


def weight_paths(tree):
    """The path of every leaf of `tree`, in jax's (sorted-key) leaf order (see `key_path`)."""
    flat, _ = jax.tree_util.tree_flatten_with_path(tree)
    return [key_path(path) for path, _ in flat]


def key_path(jax_path):
    """A jax key path as a weight path: its dict keys, in order. Other entries (an optimizer
    state's tuple and attribute nodes) are left out, so a slot of a weight ends as the weight."""
    return tuple(k.key for k in jax_path if isinstance(k, jax.tree_util.DictKey))


def path_str(path, sep="/"):
    """`path` as one string, `("dense", "kernel")` -> "dense/kernel"."""
    return sep.join(str(p) for p in path)


def h5_name(path, graph_prefixes=frozenset()):
    """The tf.keras `.h5` weight name of `path`: "dense/kernel:0". A layer directly inside a
    nested graph model (a prefix in `graph_prefixes`) adds no name of its own: tf.keras names
    such weights by the nested model ("encoder/kernel:0" for ("encoder", "dense", "kernel"))."""
    last = len(path) - 1
    kept = [p for i, p in enumerate(path) if i == last or tuple(path[:i]) not in graph_prefixes]
    return path_str(kept) + ":0"


def has_path(tree, path):
    """Whether `tree` holds an entry at `path` (a leaf or a subtree)."""
    for p in path:
        if not isinstance(tree, dict) or p not in tree:
            return False
        tree = tree[p]
    return True


def get_path(tree, path):
    """The entry of `tree` at `path`."""
    for p in path:
        tree = tree[p]
    return tree


def set_path(tree, path, value):
    """A copy of `tree` with `value` at `path` (copied dicts along the path, the rest shared)."""
    if len(path) == 1:
        return {**tree, path[0]: value}
    return {**tree, path[0]: set_path(tree[path[0]], path[1:], value)}


def map_with_path(fn, tree, prefix=()):
    """`tree` with each leaf `x` at path `p` replaced by `fn(p, x)`, dict order kept."""
    return {k: map_with_path(fn, v, prefix + (k,)) if isinstance(v, dict) else fn(prefix + (k,), v)
            for k, v in tree.items()}


def split(tree, mask):
    """`(selected, rest)`: the subtrees of `tree` where `mask` (a tree of bools, possibly
    missing entries, which count as False) is True, and the others; `merge` undoes it.
    Empty subtrees are left out of both."""
    selected, rest = {}, {}
    for k, v in tree.items():
        m = mask.get(k, False)
        if isinstance(v, dict):
            a, b = split(v, m if isinstance(m, dict) else {})
            if a:
                selected[k] = a
            if b:
                rest[k] = b
        elif m is True:
            selected[k] = v
        else:
            rest[k] = v
    return selected, rest


def merge(a, b):
    """One tree holding the entries of `a` and of `b` (`b`'s where both hold a leaf)."""
    out = dict(a)
    for k, v in b.items():
        out[k] = merge(out[k], v) if k in out and isinstance(v, dict) else v
    return out


def trainable_mask(tree, frozen_prefixes):
    """A tree like `tree` with True where a weight trains: no layer on its path (the root's
    prefix `()` included) is among `frozen_prefixes`."""
    def trains(path, _):
        return not any(path[:i] in frozen_prefixes for i in range(len(path)))
    return map_with_path(trains, tree)


def by_layer(tree, index):
    """`tree` (a root's params or state) as one flat dict `{layer name: its subtree}` over every
    nested layer that holds entries, in walk order (a later layer of a name replaces an earlier):
    how a graph's nodes find the weights of layers inside nested models by name."""
    flat = {}
    for prefix, layer in index.layer_paths():
        if prefix and has_path(tree, prefix) and isinstance(get_path(tree, prefix), dict):
            flat[prefix[-1]] = get_path(tree, prefix)
    return flat


_KINDS = {"weights": "weights", "trainable": "trainable_weights",
          "non_trainable": "non_trainable_weights"}


class PathIndex:
    """The paths of a root layer's weights and nested layers, from one walk of the layer tree.

    A layer met at several paths (one layer used twice inside the root) is listed at each; a
    weight's `path` is the first in Keras order (own weights, trainable first, then each nested
    layer's), the one `weights` keeps when it drops repeats.
    """

    def __init__(self, root):
        self.root = root
        self._base = next(c for c in type(root).__mro__ if "_own_tree" in vars(c))
        self._walked = None  # (layers by prefix, Variables by path, first path by id), on first use
        self._orders = {}    # kind -> list, on first use

    def __getstate__(self):
        """A copy (`copy.deepcopy` of its layer, a pickle) walks again: the maps key by `id`."""
        return {**self.__dict__, "_walked": None}

    def _maps(self):
        if self._walked is None:  # filled, then published: a thread reading it sees it whole
            walked = ({}, {}, {}, {})
            self._walk(self.root, (), *walked)
            self._walked = walked
        return self._walked

    def _walk(self, layer, prefix, layers, variables, first, every):
        layers[prefix] = layer
        own = layer._variables
        for kind in (True, False):
            for name, v in own.items():
                if bool(v._trainable) is kind:
                    path = prefix + (name,)
                    v = variables.setdefault(path, v)
                    first.setdefault(id(v), path)
                    every.setdefault(id(v), []).append(path)
        for sub in layer._layers:
            if prefix + (sub.name,) not in layers:  # a second layer of one name is not in the tree
                self._walk(sub, prefix + (sub.name,), layers, variables, first, every)

    def path(self, variable):
        """The path of `variable` (its first, where it sits at several); KeyError if not the root's."""
        try:
            return self._maps()[2][id(variable)]
        except KeyError:
            raise KeyError(f"{variable!r} is not a weight of layer '{self.root.name}'.") from None

    def tied_paths(self):
        """The paths of each weight met at several paths (a layer shared by a nested model and
        its parent), the first path first: one weight, whose copies in a tree must stay equal."""
        return [tuple(group) for group in self._maps()[3].values() if len(group) > 1]

    def variable(self, path):
        """The `Variable` at `path`."""
        return self._maps()[1][tuple(path)]

    def has_variable(self, path):
        return tuple(path) in self._maps()[1]

    def layer(self, prefix):
        """The layer at `prefix` (`()` is the root)."""
        return self._maps()[0][tuple(prefix)]

    def has_layer(self, prefix):
        return tuple(prefix) in self._maps()[0]

    def owner(self, path):
        """The layer whose weight (or whose nested entry) sits at `path`: the deepest layer on it."""
        layers, prefix = self._maps()[0], ()
        for name in path[:-1]:
            if prefix + (name,) not in layers:
                break
            prefix += (name,)
        return layers[prefix]

    def layer_paths(self):
        """`(prefix, layer)` for every layer under the root (the root first, at `()`), in walk order."""
        return list(self._maps()[0].items())

    def is_graph_model(self, prefix):
        """Whether the layer at `prefix` is a graph (functional or Sequential) model."""
        return getattr(self.layer(prefix), "is_graph_model", False)

    def graph_prefixes(self):
        """The prefixes of the nested graph models (the root left out), for `h5_name`."""
        return frozenset(p for p, layer in self._maps()[0].items() if p and getattr(layer, "is_graph_model", False))

    def frozen_prefixes(self):
        """The prefixes of the layers set `trainable = False` (the root's is `()`)."""
        return frozenset(p for p, layer in self._maps()[0].items() if not layer.trainable)

    def regularizer(self, path):
        """The regularizer of the weight at `path`, or None."""
        return self.layer(path[:-1])._regularizers.get(path[-1])

    def constraint(self, path):
        """The constraint of the weight at `path`, or None."""
        return self.layer(path[:-1])._constraints.get(path[-1])

    def ordered(self, kind):
        """The root's weights in Keras order, `kind` one of "weights", "trainable",
        "non_trainable": what `Layer.weights`, `trainable_weights`, `non_trainable_weights`
        give for the root (a nested layer that overrides one of those contributes its own list).
        Each list is made once per index."""
        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {sorted(_KINDS)}; received {kind!r}.")
        if kind not in self._orders:
            self._orders[kind] = _unique(getattr(self, "_" + kind)(self.root))
        return list(self._orders[kind])

    def _nested(self, layer, kind, own_list):
        """The lists of `kind` of `layer`'s nested layers, concatenated: each through its own
        property where its class overrides it, else `own_list(sub)` (the base formula)."""
        prop, out = _KINDS[kind], []
        for sub in layer._layers:
            overridden = getattr(type(sub), prop) is not getattr(self._base, prop)
            out.extend(getattr(sub, prop) if overridden else own_list(sub))
        return out

    def _weights(self, layer):
        return _unique(self._weight_run(layer))  # repeats dropped once, at the root, as at every level

    def _weight_run(self, layer):
        """Own weights (trainable kind first), then each nested layer's, repeats kept."""
        own = layer._variables.values()
        return [v for v in own if v._trainable] + [v for v in own if not v._trainable] + \
            self._nested(layer, "weights", self._weight_run)

    def _trainable(self, layer):
        if not layer.trainable:
            return []
        return [v for v in layer._variables.values() if v._trainable] + \
            self._nested(layer, "trainable", self._trainable)

    def _non_trainable(self, layer):
        own = list(layer._variables.values())
        if not layer.trainable:
            nested = [w for sub in layer._layers for w in self._weights_of(sub)]
            return [v for v in own if v._trainable] + [w for w in nested if w._trainable] + \
                [v for v in own if not v._trainable] + [w for w in nested if not w._trainable]
        return [v for v in own if not v._trainable] + self._nested(layer, "non_trainable", self._non_trainable)

    def _weights_of(self, layer):
        """`layer.weights`: its own property where its class overrides it, else the base formula."""
        if getattr(type(layer), "weights") is not getattr(self._base, "weights"):
            return layer.weights
        return self._weights(layer)


def _unique(weights):
    """`weights` with repeats (one weight reached through two layers) dropped, first kept."""
    seen, out = set(), []
    for w in weights:
        if id(w) not in seen:
            seen.add(id(w))
            out.append(w)
    return out


def tie(tree, groups, combine):
    """`tree` with the leaves at each group of paths (`PathIndex.tied_paths`) all set to
    `combine(leaves)`: `sum` ties gradients (a shared weight's gradient is the sum over its
    uses), `lambda leaves: leaves[0]` copies the first path's value. Paths the tree lacks are
    skipped; the tree itself is returned when nothing is tied."""
    for group in groups:
        present = [p for p in group if has_path(tree, p)]
        if len(present) > 1:
            value = combine([get_path(tree, p) for p in present])
            for p in present:
                tree = set_path(tree, p, value)
    return tree


def index_of(layer):
    """`layer`'s `PathIndex` (its weights and nested layers by path), built once per change of
    a weight or of the layer structure: the accessor the trainer, saving and callbacks use."""
    return layer._path_index()

"""Where each array of an `.h5` file's `optimizer_weights` goes, for every Keras that wrote one.

Three layouts exist:

- tf.keras 2.11+, Keras 3 and jkeras: `iteration` (Keras 3 adds `learning_rate`),
  then the slots in the optimizer's groups (`Optimizer.slot_layouts`: Adam's `m`, `v`
  per weight, then its `vhat`s; RMSprop's `velocity`s, then `momentum`s, ...), weights in
  layer order (`Adam/m/dense/kernel:0`); Keras 3 puts Nadam's `u_product` last.
- tf.keras 2.0-2.10 (`OptimizerV2`): `<Opt>/iter:0`, then each slot for every weight,
  named `<Opt>/<weight>/<slot>:0`; mapped by those names.
- Keras 2.0-2.3 (multi-backend): the optimizer's `weights` list, positional: the
  scalars (`iterations`; Nadam's `m_schedule` from 2.3), then each slot for every
  trainable weight. Keras 2.0.0-2.0.5 sorted the trainable weights by variable name
  first; from 2.0.6 they are in layer order. RMSprop, Adagrad and Adadelta saved no
  `iterations` before 2.3; Adam saves its `vhats` from 2.1.3 (one-element dummies
  without `amsgrad`).

`plan` returns, for each array, `("iterations",)`, `("skip",)`, `("scalar", slot)` or
`(slot, weight index)`, or raises `Unmapped` saying why; the caller checks shapes.
"""
import re

from jkeras.layers.paths import path_str

# Keras 2's slot lists (in its `weights` order) as jkeras's slot names.
_KERAS2_GROUPS = {"SGD": ("momentum",), "RMSprop": ("velocity",), "Adagrad": ("accumulator",),
                  "Adadelta": ("accumulated_grad", "accumulated_delta_var"),
                  "Adam": ("momentum", "velocity", "velocity_hat"), "Adamax": ("momentum", "norm"),
                  "Nadam": ("momentum", "velocity")}
_KERAS2_SCALARS = {"Nadam": ("iterations", "u_product")}

# tf.keras OptimizerV2's slot names as jkeras's, per optimizer.
_V2_SLOTS = {"m": "momentum", "v": "velocity", "vhat": "velocity_hat", "rms": "velocity",
             "momentum": "momentum", "mg": "average_gradient", "accumulator": "accumulator",
             "accum_grad": "accumulated_grad", "accum_var": "accumulated_delta_var",
             "linear": "linear"}
_V2_BY_CLASS = {"Adamax": {"v": "norm"}}
_V2_SCALARS = {"momentum_cache": "u_product"}


class Unmapped(ValueError):
    """The file's optimizer state does not map onto this model's optimizer."""


def layout(names):
    """"current", "optimizer_v2" or "keras2", from the arrays' names."""
    if names and names[0].split("/")[-1] in ("iteration", "iteration:0"):
        return "current"
    if names and names[0].endswith("/iter:0"):
        return "optimizer_v2"
    return "keras2"


def plan(names, opt_class, slot_names, scalar_names, weight_names, version, layouts):
    """The destination of each array (see the module docstring).

    `slot_names` are the optimizer's per-weight slots, `scalar_names` its one-number ones
    (Nadam's `u_product`); `weight_names` are the trainable weights' names as the file's
    `model_weights` lists them, in the model's trainable-weights (layer) order; `layouts` the
    `[(slot, weight index)]` orders the current layout may have (`Optimizer.slot_layouts`).
    """
    kind = layout(names)
    if kind == "current":
        return _current(names, layouts, scalar_names)
    if kind == "optimizer_v2":
        return _optimizer_v2(names, opt_class, slot_names, scalar_names, weight_names)
    return _keras2(names, opt_class, slot_names, scalar_names, weight_names, version)


def _current(names, layouts, scalar_names):
    out = [("iterations",)]
    rest = names[1:]
    if rest and rest[0].split(":")[0].endswith("learning_rate"):
        out.append(("skip",))
        rest = rest[1:]
    for layout in layouts:
        if len(rest) == len(layout):
            return out + list(layout)
        if len(rest) == len(layout) + len(scalar_names):  # Keras 3 lists Nadam's product last
            return out + list(layout) + [("scalar", name) for name in scalar_names]
    raise Unmapped(f"the file holds {len(rest)} slot arrays; this optimizer has "
                   f"{' or '.join(str(len(layout)) for layout in layouts)}")


def _optimizer_v2(names, opt_class, slot_names, scalar_names, weight_names):
    index = {w.rsplit(":", 1)[0]: i for i, w in enumerate(weight_names)}
    rename = {**_V2_SLOTS, **_V2_BY_CLASS.get(opt_class, {})}
    out = [("iterations",)]
    for name in names[1:]:
        base = name.rsplit(":", 1)[0]
        var, _, short = base.rpartition("/")
        slot = rename.get(short)
        target = next((index[v] for v in _suffixes(var) if v in index), None)
        if target is not None and slot in slot_names:
            out.append((slot, target))
        elif target is None and _V2_SCALARS.get(short) in scalar_names:
            out.append(("scalar", _V2_SCALARS[short]))
        elif target is None and slot is None:
            out.append(("skip",))  # a hyperparameter variable
        elif target is None:
            raise Unmapped(f"optimizer array '{name}' names a weight the model lacks")
        else:
            out.append(("skip",))  # a slot this optimizer's settings do not use
    return out


def _suffixes(path):
    """`training/Adam/dense/kernel` -> itself, `Adam/dense/kernel`, `dense/kernel`, ..."""
    parts = path.split("/")
    return [path_str(parts[i:]) for i in range(len(parts))]


def _keras2(names, opt_class, slot_names, scalar_names, weight_names, version):
    groups = _KERAS2_GROUPS.get(opt_class)
    if groups is None:
        raise Unmapped(f"Keras 2 had no {opt_class} whose saved state jkeras knows")
    n, total = len(weight_names), len(names)
    if opt_class == "Adam" and total < len(groups) * n + 1:
        groups = groups[:2]  # before 2.1.3 Adam saved no `vhats`
    scalars = total - len(groups) * n
    known = _KERAS2_SCALARS.get(opt_class, ("iterations",))
    if n == 0 or not 0 <= scalars <= len(known):
        raise Unmapped(f"the file holds {total} arrays; Keras 2's {opt_class} for {n} weights "
                       f"holds {len(groups) * n} slot arrays and up to {len(known)} scalars")
    order = list(range(n))
    if _name_sorted(version):
        order.sort(key=lambda i: weight_names[i])
    out = [("iterations",) if name == "iterations" else
           ("scalar", name) if name in scalar_names else ("skip",) for name in known[:scalars]]
    for slot in groups:
        out += [(slot, i) if slot in slot_names else ("skip",) for i in order]
    return out


def _name_sorted(version):
    """Keras 2.0.0-2.0.5 sorted the trainable weights by variable name for the optimizer."""
    match = re.match(r"^2\.0\.(\d+)", version or "")
    return bool(match) and int(match.group(1)) <= 5

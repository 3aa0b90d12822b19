"""A device-placed model's steps as compiled programs, one per device segment.

One XLA program runs on one set of devices, and SPMD sharding runs every operation on every
device of its mesh, so a step whose layers sit on different devices cannot be one `jax.jit`.
`compile_placed` traces the step once (the graph's `device_put`s mark the placements), gives
each operation the device its operands live on, cuts the trace into segments that run on
one device each (forward, backward and optimizer update of a layer's weights together where
the data flow allows), and jits every segment on its device; values cross devices between
segments. A step then costs a handful of dispatches instead of one per operation.
"""
import math

import jax
import jax.numpy as jnp
from jax.extend import core as jcore


def compile_placed(fn, home):
    """`fn` compiled segment by segment (see the module docstring); traced again, as by
    `jax.jit`, for each new signature of argument shapes, dtypes and devices. Values that no
    placement decides (unplaced layers, the loss, the metrics) run on `home`. The callable's
    `plans` maps each signature to its `_Plan`, whose `segments` say what runs where."""
    plans = {}

    def call(*args):
        leaves, treedef = jax.tree.flatten(args)
        signature = (treedef, tuple((jax.typeof(x), _device_of(x, home)) for x in leaves))
        if signature not in plans:
            plans[signature] = _Plan(fn, args, leaves, home)
        return plans[signature](leaves)
    call.plans = plans
    return call


def place(tree, devices):
    """`tree` with the entry of each dict keyed by a placed layer's name (the model's params,
    state and optimizer slots are such dicts) on that layer's device, from `devices`
    (layer name -> device); everything else as it was."""
    def put(node):
        return {k: jax.device_put(v, devices[k]) if k in devices else place(v, devices) for k, v in node.items()}
    return jax.tree.map(lambda n: put(n) if isinstance(n, dict) else n, tree,
                        is_leaf=lambda n: isinstance(n, dict) and not devices.keys().isdisjoint(n))


def _device_of(x, home):
    """The one device a committed array sits on; `home` for anything else (numpy, Python
    numbers, uncommitted arrays), which a program takes wherever it runs."""
    if isinstance(x, jax.Array) and x.committed and len(x.devices()) == 1:
        return next(iter(x.devices()))
    return home


def _size(var):
    """Elements of a var's value: how much an operand weighs in choosing where an operation runs."""
    return math.prod(getattr(var.aval, "shape", ()))


class _Plan:
    """The segments of one trace of `fn`, and how to run them on concrete arguments."""

    def __init__(self, fn, args, leaves, home):
        closed, out_shape = jax.make_jaxpr(fn, return_shape=True)(*args)
        self.out_tree = jax.tree.structure(out_shape)
        jaxpr, self.consts = closed.jaxpr, closed.consts
        self.home, self.invars, self.constvars = home, jaxpr.invars, jaxpr.constvars
        self.where = {}  # var -> (device, strong): where its value is made or put
        for var, x in zip(jaxpr.invars, leaves):
            self.where[var] = (_device_of(x, home), True)
        for var, c in zip(jaxpr.constvars, closed.consts):
            self.where[var] = (_device_of(c, home), isinstance(c, jax.Array) and c.committed)
        self.alias = {}  # output of a device_put -> the var holding its value
        self.moves = {}  # output of a device_put -> that device_put, of this output alone
        self.free = {}  # var that depends on no argument -> the equation making it
        devices = self._assign(jaxpr.eqns)
        self.outvars = jaxpr.outvars
        self.segments = self._schedule(jaxpr.eqns, devices)
        self.literals = {}
        self.routes, self.out_keys, self.final = self._routes()

    def _assign(self, eqns):
        """Each equation's device (None for a free one, computed where it is used): a
        `device_put` moves its operand; any other equation runs where its largest operands
        are, operands placed by the model (strong) before cotangents a transposed
        `device_put` left wherever they were (weak)."""
        devices = []
        for eqn in eqns:
            operands = [v for v in eqn.invars if isinstance(v, jcore.Var) and v not in self.free]
            if not operands:
                self.free.update((o, eqn) for o in eqn.outvars if not isinstance(o, jcore.DropVar))
                devices.append(None)
                continue
            if eqn.primitive.name == "device_put" and len(operands) == len(eqn.invars):
                for k, (v, out, target) in enumerate(zip(eqn.invars, eqn.outvars, eqn.params["devices"])):
                    self.alias[out] = self.alias.get(v, v)
                    self.moves[out] = eqn.replace(invars=[self.alias[out]], outvars=[out], params={
                        name: (values[k],) for name, values in eqn.params.items()})
                    moved_to = (target, True) if isinstance(target, jax.Device) else (self.where[v][0], False)
                    self.where[out] = moved_to
                devices.append("alias")
                continue
            strong = [v for v in operands if self.where[v][1]] or operands
            weight = {}
            for v in strong:
                weight[self.where[v][0]] = weight.get(self.where[v][0], 0) + _size(v) + 1
            device = max(weight, key=weight.get)  # the first-seen of the heaviest, on a tie
            is_strong = any(self.where[v][1] for v in operands)
            self.where.update((o, (device, is_strong)) for o in eqn.outvars if not isinstance(o, jcore.DropVar))
            devices.append(device)
        return devices

    def _schedule(self, eqns, devices):
        """Segments: repeatedly, every equation of one device whose operands are ready, in
        trace order, for the device of the earliest ready equation; then the jitted programs."""
        ready = set(self.invars) | set(self.constvars)
        pending = self._live(eqns, devices)
        is_ready = lambda v: (not isinstance(v, jcore.Var) or v in self.free  # noqa: E731
                              or self.alias.get(v, v) in ready)
        order = []
        while pending:
            first = next(i for i in pending if all(map(is_ready, eqns[i].invars)))
            device, taken = devices[first], []
            for i in pending:
                if devices[i] == device and all(map(is_ready, eqns[i].invars)):
                    taken.append(i)
                    ready.update(eqns[i].outvars)
            taken_set = set(taken)
            pending = [i for i in pending if i not in taken_set]
            order.append((device, [eqns[i] for i in taken]))
        wanted_free = [v for v in self.outvars if isinstance(v, jcore.Var) and v in self.free]
        if wanted_free:
            order.append((self.home, []))
        used_later = self._uses_after(order)
        segments = []
        for k, (device, seg_eqns) in enumerate(order):
            outs = [o for e in seg_eqns for o in e.outvars if o in used_later[k]]
            segments.append(self._segment(device, seg_eqns, outs + (wanted_free if k == len(order) - 1 else [])))
        return segments

    def _live(self, eqns, devices):
        """The placed equations the outputs depend on (or with effects), in trace order: a
        trace is not pruned, and a dead equation would cost a dispatch or a transfer."""
        live, kept = {self.alias.get(v, v) for v in self.outvars if isinstance(v, jcore.Var)}, []
        for i in range(len(eqns) - 1, -1, -1):
            eqn = eqns[i]
            if devices[i] not in (None, "alias") and (eqn.effects or not live.isdisjoint(eqn.outvars)):
                kept.append(i)
                live.update(self.alias.get(v, v) for v in eqn.invars if isinstance(v, jcore.Var))
        return kept[::-1]

    def _uses_after(self, order):
        """For each segment, the vars that later segments or the outputs read (through aliases)."""
        later = {self.alias.get(v, v) for v in self.outvars if isinstance(v, jcore.Var)}
        result = [None] * len(order)
        for k in range(len(order) - 1, -1, -1):
            result[k] = set(later)
            for e in order[k][1]:
                later.update(self.alias.get(v, v) for v in e.invars if isinstance(v, jcore.Var))
        return result

    def _segment(self, device, seg_eqns, outs):
        """`(device, jitted program, input vars, output vars)`: the equations, with the free
        ones they read recomputed inside, as one jaxpr run by `jax.jit` on `device`."""
        made, body, inputs = set(), [], []

        def need(v):
            if not isinstance(v, jcore.Var) or v in made:
                return
            if v in self.free:
                add(self.free[v])
            elif self.alias.get(v, v) in made:  # moved within the program: a no-op on one device
                add(self.moves[v])
            elif v not in inputs:
                inputs.append(v)

        def add(eqn):
            for v in eqn.invars:
                need(v)
            body.append(eqn)
            made.update(eqn.outvars)

        for eqn in seg_eqns:
            if not set(eqn.outvars) <= made:
                add(eqn)
        for v in outs:
            need(v)
        effects = frozenset().union(*(e.effects for e in body))
        program = jcore.ClosedJaxpr(jcore.Jaxpr([], inputs, outs, body, effects), [])
        sharding = jax.sharding.SingleDeviceSharding(device)
        return device, jax.jit(jcore.jaxpr_as_fun(program), out_shardings=sharding), inputs, outs

    def _routes(self):
        """For each segment `(device, program, moved, keys, outs)`: the vars made elsewhere to
        move to its device first (one `device_put` for all), and the keys its inputs have in
        the values of a run (a var, or `(var, device)` for a moved copy); then the keys of
        the outputs, and the moves they need."""
        done, routes = set(), []

        def key(v, device, moved):
            root = self.alias.get(v, v)
            if self.where[root][0] == device:
                return root
            if (root, device) not in done:
                done.add((root, device))
                moved.append(root)
            return root, device

        for device, program, inputs, outs in self.segments:
            moved = []
            keys = [key(v, device, moved) for v in inputs]
            routes.append((device, program, moved, keys, outs))
        out_keys, final = [], {}
        for i, v in enumerate(self.outvars):
            if isinstance(v, jcore.Literal):
                self.literals[("literal", i)] = jax.device_put(jnp.asarray(v.val), self.home)
                out_keys.append(("literal", i))
            elif v in self.free:
                out_keys.append(v)
            else:
                out_keys.append(key(v, self.where[v][0], final.setdefault(self.where[v][0], [])))
        return routes, out_keys, final

    def __call__(self, leaves):
        """Run the segments on the argument leaves; the outputs as `fn` returns them."""
        env = dict(zip(self.invars, leaves))
        env.update(zip(self.constvars, self.consts))
        env.update(self.literals)
        for device, program, moved, keys, outs in self.routes:
            if moved:
                env.update(zip([(v, device) for v in moved], jax.device_put([env[v] for v in moved], device)))
            env.update(zip(outs, program(*[env[k] for k in keys])))
        for device, moved in self.final.items():
            env.update(zip([(v, device) for v in moved], jax.device_put([env[v] for v in moved], device)))
        return jax.tree.unflatten(self.out_tree, [env[k] for k in self.out_keys])

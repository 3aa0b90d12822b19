"""Dtype policies: the dtype a layer computes in and the dtype its weights are stored in.

    set_global_policy("mixed_bfloat16")   # compute in bfloat16, keep weights in float32
    Dense(10, dtype="float32")            # one layer overrides the global policy

Configs carry a policy as its name ("float32", "mixed_float16"): tf.keras 2.4+
and Keras 3 both read that, while Keras 2's `{"class_name": "Policy"}` dict is
misread by Keras 3. Both dict forms (Keras 2's and Keras 3's) are read here.
"""
import jax.numpy as jnp

from jkeras.backend import config

POLICY_NAMES = ("float32", "float16", "bfloat16", "float64", "mixed_float16", "mixed_bfloat16")
_MIXED = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}
_global = None


def _dtype_name(dtype):
    """The canonical name of a dtype-like (`"float32"`, `np.float16`, `jnp.bfloat16`), or ValueError."""
    try:
        found = jnp.dtype(dtype)
    except (TypeError, ValueError):
        found = None
    if found is not None and (found.kind in "biuc" or jnp.issubdtype(found, jnp.floating)):
        return found.name
    raise ValueError(f"Cannot convert {dtype!r} to a dtype policy. Valid policies are "
                     f"{', '.join(repr(n) for n in POLICY_NAMES)}, or the name of a non-float "
                     "dtype such as 'int32'.")


class Policy:
    """A dtype policy (Keras's `Policy`/`DTypePolicy`): `compute_dtype` and `variable_dtype` from a name."""

    def __init__(self, name):
        if not isinstance(name, str):
            raise TypeError(f"A policy name must be a string; received {name!r}.")
        if name in _MIXED:
            self._compute_dtype, self._variable_dtype = _MIXED[name], "float32"
        else:
            name = self._compute_dtype = self._variable_dtype = _dtype_name(name)
        self._name = name

    @property
    def name(self):
        return self._name

    @property
    def compute_dtype(self):
        return self._compute_dtype

    @property
    def variable_dtype(self):
        return self._variable_dtype

    def get_config(self):
        return {"name": self._name}

    @classmethod
    def from_config(cls, config_):
        return cls(**config_)

    def __eq__(self, other):
        return isinstance(other, Policy) and other.name == self.name

    def __hash__(self):
        return hash(self._name)

    def __repr__(self):
        return f'<Policy "{self._name}">'


DTypePolicy = Policy


def global_policy():
    """The policy of layers created without `dtype`: the one set, else floatx's."""
    return _global if _global is not None else Policy(config.floatx())


def set_global_policy(policy):
    """Set the policy of layers created from now on without `dtype`; None restores floatx's."""
    global _global
    if policy is not None:
        policy = get(policy)
        if not jnp.issubdtype(policy.compute_dtype, jnp.floating):
            raise ValueError("set_global_policy can only set a floating-point policy such as "
                             f"'float32' or 'mixed_float16'; received {policy.name!r}.")
    _global = policy


def get(identifier):
    """A `Policy` from a layer's `dtype` argument: None (the global policy), a policy, a name,
    a dtype, or a Keras 2 `Policy` / Keras 3 `DTypePolicy` config dict."""
    if identifier is None:
        return global_policy()
    if isinstance(identifier, Policy):
        return identifier
    if isinstance(identifier, dict):
        name = identifier.get("config", {}).get("name") if isinstance(identifier.get("config"), dict) else None
        if not isinstance(name, str):
            raise ValueError(f"A dtype policy config needs {{'config': {{'name': ...}}}}; received "
                             f"{identifier!r}.")
        return Policy(name)
    if isinstance(identifier, str):
        return Policy(identifier)
    return Policy(_dtype_name(identifier))


def serialize(policy):
    """A policy as configs carry it: its name."""
    return policy.name


# Keras 3's names for the same functions.
dtype_policy = global_policy
set_dtype_policy = set_global_policy

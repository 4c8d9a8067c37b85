"""Evaluate model variables at chosen values: `compile_fn` on a Deterministic alone draws its random
variables afresh on every call, whatever `inputs` it is given, so tests must replace them first."""

import pymc as pm


def values_at(model: pm.Model, outs, point: dict):
    """`outs` (one variable or a list) at the value variables in `point` (a dict by value name)."""
    many = isinstance(outs, list | tuple)
    replaced = model.replace_rvs_by_values(list(outs) if many else [outs])
    fn = model.compile_fn(replaced, inputs=model.value_vars, on_unused_input="ignore")
    values = fn(point)
    return values if many else values[0]

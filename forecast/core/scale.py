"""The scale availability effects are reported on, shared by the simulator's truth and the model."""

from __future__ import annotations


def within_sd(a):
    """The sd of availability's within-force variation over the panel (the part the model identifies),
    the unit of `availability_effect_per_sd`; works on numpy arrays and tensors alike."""
    return (a - a.mean(axis=-1, keepdims=True)).std()

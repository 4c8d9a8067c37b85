"""Model assembly: named components chosen by the spec, assembled into a PyMC model."""

from forecast.model.build import build_model
from forecast.model.data import ModelData, prepare_data

__all__ = ["ModelData", "build_model", "prepare_data"]

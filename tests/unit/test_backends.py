"""Every sampler backend the spec offers fits the same model and returns the same named posterior."""

import importlib.util

import pytest

from forecast.fit import fit, sampler_settings
from forecast.spec import load_spec

BACKENDS = [
    "pymc",
    pytest.param(
        "numpyro",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("numpyro") is None,
            reason="the optional JAX backend is not installed (pip install 'forecast-dhi[jax]')",
        ),
    ),
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_fits_the_model_with_named_dims(small_panel, tiny_fit, backend):
    spec = load_spec("default")
    settings = sampler_settings(spec, backend=backend, draws=40, tune=40, chains=2, seed=3)
    tree = fit(small_panel, spec, settings, progress=False)
    post = tree["posterior"]
    reference = tiny_fit["posterior"]  # the nutpie fit of the same spec and panel
    assert set(reference.data_vars) <= set(post.data_vars)
    for name in ("force_effect", "availability_beta", "trend", "availability_effect_per_sd"):
        assert post[name].dims == reference[name].dims, name
    assert dict(post.sizes)["chain"] == 2 and dict(post.sizes)["draw"] == 40
    assert '"backend": "' + backend + '"' in tree.attrs["sampler"]
    # a crude agreement check: the robbery effect (well identified) agrees with nutpie's
    beta = post["availability_beta"].sel(outcome="robbery")
    ref = reference["availability_beta"].sel(outcome="robbery")
    assert abs(float(beta.mean()) - float(ref.mean())) < 4 * float(ref.std()) + 0.05


def test_chains_run_one_at_a_time_give_the_same_draws(small_panel, tiny_fit):
    """A backtest on 2 cores runs each fit's chains on one core (README "Evaluation"): the draws
    must be those of the same fit with its chains in parallel."""
    spec = load_spec("default")
    settings = sampler_settings(spec, draws=60, tune=60, chains=2)  # as tiny_fit, chains parallel
    serial = fit(small_panel, spec, settings, progress=False, cores=1)
    for name in ("force_effect", "availability_beta", "trend"):
        assert (serial["posterior"][name].values == tiny_fit["posterior"][name].values).all(), name

import pytest

from forecast.core.errors import SpecError
from forecast.fit import sampler_settings
from forecast.spec import load_spec, parse_spec


def test_shipped_specs_load():
    default = load_spec("default")
    assert default.name == "default"
    assert default.likelihood.family == "negative_binomial"
    assert default.sampler.backend == "nutpie"
    minimal = load_spec("minimal")
    assert minimal.trend.kind == "none" and not minimal.seasonality.enabled
    assert default.model_hash() != minimal.model_hash()


def test_to_toml_round_trips():
    spec = load_spec("default")
    assert parse_spec(spec.to_toml()) == spec


def test_sampler_settings_do_not_change_the_model_hash():
    a = parse_spec("[sampler]\ndraws = 10")
    b = parse_spec("[sampler]\ndraws = 20")
    assert a.model_hash() == b.model_hash()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[trend]\nsigmaa = 0.1", "my.toml: unknown key 'trend.sigmaa'"),
        ("colour = 'red'", "my.toml: unknown key 'colour'"),
        (
            "[trend]\nsigma = -1",
            "my.toml: bad value -1 for 'trend.sigma': Input should be greater than 0",
        ),
        (
            "[trend]\nkind = 'spline'",
            "my.toml: bad value 'spline' for 'trend.kind': Input should be 'random_walk' or 'none'",
        ),
        (
            "[availability]\nlag = 12",
            "my.toml: bad value 12 for 'availability.lag': Input should be less than or equal to 8",
        ),
        (
            "[availability]\neffect_sigma = -0.5",
            "my.toml: bad value -0.5 for 'availability.effect_sigma': Input should be greater than 0",
        ),
        ("[outcomes]\nnames = ['burglary']", "names must be distinct values from"),
        (
            "[intercept]\nrate_per_100k = {homicide = 0.3}",
            "intercept.rate_per_100k has no prior rate for ['robbery', 'knife']",
        ),
        ("schema_version = 2", "schema_version 2 is not supported"),
        ("[trend\n", "my.toml: not valid TOML"),
        (
            "[availability]\nregional = false\nregional_shift = true",
            "regional_shift = true needs regional = true (it shifts by that path)",
        ),
    ],
)
def test_bad_specs_fail_naming_the_key(text, message):
    with pytest.raises(SpecError) as err:
        parse_spec(text, where="my.toml")
    assert message in str(err.value)


def test_unknown_spec_name_lists_shipped_specs():
    with pytest.raises(
        SpecError,
        match=r"no such spec file; shipped specs are \['default', 'latent', 'latent_cocaine', "
        r"'latent_crack_heroin', 'minimal', 'no_link', 'realdata', 'realdata_index'\]",
    ):
        load_spec("fancy")


def test_cli_overrides_beat_the_spec():
    spec = load_spec("default")
    s = sampler_settings(spec, draws=50, chains=None)
    assert s.draws == 50 and s.chains == spec.sampler.chains
    with pytest.raises(SpecError, match="sampler settings: bad value 'stan' for 'backend'"):
        sampler_settings(spec, backend="stan")


def test_numpyro_backend_without_jax_says_how_to_install(monkeypatch, small_panel):
    import importlib.util

    from forecast.core.errors import ForecastError
    from forecast.fit import fit

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "numpyro" else real(n, *a)
    )
    spec = load_spec("default")
    with pytest.raises(
        ForecastError, match=r"needs JAX and NumPyro: pip install 'forecast-dhi\[jax\]'"
    ):
        fit(small_panel, spec, sampler_settings(spec, backend="numpyro"))

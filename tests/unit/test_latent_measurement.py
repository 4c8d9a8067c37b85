"""The latent measurement model's structure: windows counted once, force levels over the forces each
indicator sees, A centred over each indicator's quarters, AR(1) paths by innovation sd on their
identified subspace (with the right density there), the national component's place in the link, and
enforcement terms."""

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import pytest
from scipy import stats

from forecast.core.errors import SpecError
from forecast.model import build_model, prepare_data
from forecast.model.availability import (
    ar1_logp,
    force_information,
    group_basis,
    regional_weights,
    subspace_correction,
)
from forecast.model.components import seen_basis
from forecast.model.prior_draws import drawable_paths
from forecast.model.windows import centring_weights, non_overlapping
from forecast.simulate import simulate_panel
from forecast.simulate_shapes import mixed_frequency
from forecast.spec import ObservationSpec, load_spec, parse_spec
from tests.model_values import values_at

FORCES = ["Kent", "Essex", "Surrey", "Greater Manchester", "Merseyside", "Gwent", "South Wales"]
WELSH = ["Gwent", "South Wales"]


@pytest.fixture(scope="module")
def sim():
    return simulate_panel(n_periods=28, start="2013Q2", forces=FORCES, seed=3)


@pytest.fixture(scope="module")
def panel(sim):
    return sim["panel"].to_dataset()


def _latent(shift: bool, regional_shift: bool = False):
    """The latent spec with A's paths sampled plainly or shifted by 92A's enforcement term, and
    force paths plainly or shifted by their regional path (the shipped spec: both)."""
    text = load_spec("latent").to_toml()
    for key, on in (("enforcement_shift", shift), ("regional_shift", regional_shift)):
        text = text.replace(f"{key} = true", f"{key} = {str(on).lower()}")
    return parse_spec(text)


def _quarters_per_force(f_idx, t_idx):
    """{force index: list of every quarter index its cells cover, with repeats}."""
    out: dict[int, list[int]] = {}
    for f, quarters in zip(f_idx, t_idx, strict=True):
        out.setdefault(int(f), []).extend(quarters.tolist())
    return out


def test_non_overlapping_keeps_the_latest_window_and_each_earlier_one_apart():
    rows = np.array([0, 0, 0, 0, 1, 1])
    ends = np.array([11, 15, 19, 23, 12, 13])
    # 12-quarter windows every 4 quarters: 23 kept, 19 and 15 overlap it, 11 ends before 12
    assert non_overlapping(rows, ends, 12).tolist() == [True, False, False, True, False, True]
    assert non_overlapping(rows, ends, 1).all()


def test_overlapping_windows_count_each_quarter_once(panel):
    spec = load_spec("latent")
    data = prepare_data(mixed_frequency(panel, rolling_forces=3), spec)
    deaths = next(i for i in data.indicators if i.name == "drug_deaths_3y")
    assert deaths.cells.window == 12 and deaths.dropped > 0
    for quarters in _quarters_per_force(deaths.cells.f_idx, deaths.cells.t_idx).values():
        assert len(quarters) == len(set(quarters))  # no quarter twice
    assert any("drug_deaths_3y: " in n and "overlapping windows left out" in n for n in data.notes)
    rolling_obs = ObservationSpec(variable="robbery_rolling_year", outcome="robbery")
    spec = spec.model_copy(update={"observations": (*spec.observations, rolling_obs)})
    data = prepare_data(mixed_frequency(panel, rolling_forces=3), spec)
    rolling = next(w for w in data.windowed if w.name == "robbery_rolling_year")
    per_force = _quarters_per_force(rolling.cells.f_idx, rolling.cells.t_idx)
    assert sorted(per_force) == [0, 1, 2]
    for quarters in per_force.values():
        assert len(quarters) == len(set(quarters))
        assert len(quarters) >= len(data.periods) - 8  # rolling years every quarter: one in four


def test_simulator_publishes_english_only_series_and_enforcement_like_the_real_data(panel):
    welsh = [FORCES.index(f) for f in WELSH]
    for name in ("seizures_class_a_fy", "drug_deaths_3y"):
        x = panel[name].values
        assert np.isnan(x[welsh]).all() and np.isfinite(x[[0, 1]]).any(), name
    officers = panel["police_officers_fy"]
    assert officers.attrs["window_quarters"] == 4
    seen = officers.values[:, np.isfinite(officers.values).any(axis=0)]
    per_100k = np.log(seen / panel["population"].values[:, : seen.shape[1]].mean())
    within = per_100k - per_100k.mean(axis=1, keepdims=True)
    assert within.std() > 0.05  # effort moves within forces, not just between them


def test_indicator_force_levels_sum_to_zero_over_the_forces_it_observes(panel):
    model, data = build_model(panel, load_spec("latent"))
    seizures = next(i for i in data.indicators if i.name == "seizures_class_a_fy")
    assert seizures.seen.tolist() == [f not in WELSH for f in FORCES]
    raw_name = "force_level_raw__seizures_class_a_fy"
    raw = model[raw_name]
    size = len(model.coords[f"force_level_basis__{seizures.name}"])
    assert size == len(FORCES) - len(WELSH) - 1  # no prior-only coordinate
    value = np.random.default_rng(1).normal(size=size)
    g = model["force_level__seizures_class_a_fy"].eval({raw: value})
    assert np.allclose(g[[FORCES.index(f) for f in WELSH]], 0.0)
    assert abs(g.sum()) < 1e-12
    # orthonormal columns: the levels carry all of the raw coordinates' variation, none lost
    assert np.isclose(np.linalg.norm(g), np.linalg.norm(value))


def test_each_indicator_sees_availability_centred_over_its_own_quarters(panel):
    data = prepare_data(panel, load_spec("latent"))
    deaths = next(i for i in data.indicators if i.name == "drug_deaths_3y")
    w = deaths.centre
    assert np.allclose(w.sum(axis=1), deaths.seen.astype(float))
    covered = np.zeros_like(w, bool)
    for f, quarters in zip(deaths.cells.f_idx, deaths.cells.t_idx, strict=True):
        covered[f, quarters] = True
    assert ((w > 0) == covered).all()
    # a force-level shift of A leaves the centred series unchanged
    a = np.random.default_rng(2).normal(size=w.shape)
    shift = a + np.random.default_rng(3).normal(size=(w.shape[0], 1))
    centred = [x - (x * w).sum(axis=1, keepdims=True) for x in (a, shift)]
    seen = deaths.seen
    assert np.allclose(centred[0][seen], centred[1][seen])
    assert np.allclose((centred[0] * w).sum(axis=1), 0.0)
    assert centring_weights(np.array([[0, 1]]), np.array([[0.0, 1.0]]), 3).tolist() == [
        [0.0, 0.0, 0.0],
        [0.5, 0.5, 0.0],
    ]


def test_ar1_components_are_centred_paths_by_innovation_sd_on_their_identified_subspace(panel):
    model, data = build_model(panel, load_spec("latent"))
    free = {v.name for v in model.free_RVs}
    assert {"availability_sigma", "availability_rho", "availability_force_coord"} <= free
    assert "availability_sd" not in free  # the marginal sd is derived, not sampled
    n_t, n_regions = len(data.panel_periods), len(data.regions)
    point = model.initial_point(random_seed=5)
    assert point["availability_force_coord"].shape == (len(FORCES) - n_regions, n_t - 1)
    assert point["availability_regional_coord"].shape == (n_regions - 1, n_t - 1)
    a = values_at(
        model,
        model["availability"],
        {k: np.random.default_rng(6).normal(size=v.shape) for k, v in point.items()},
    )
    assert np.allclose(a.mean(axis=1), 0.0)  # every force's path sums to zero over the quarters


@pytest.mark.parametrize("n_rows, groups", [(1, [0]), (3, [0, 0, 0]), (5, [0, 0, 1, 1, 1])])
def test_the_constrained_ar1_density_is_the_exact_conditional_gaussian(n_rows, groups):
    """ar1_logp + subspace_correction at x = B z equals the density of z under the AR(1) conditioned
    on the subspace, up to one constant for every (sigma, rho)."""
    n_t = 6
    group_of = np.array(groups)
    rows = np.ones((1, 1)) if n_rows == 1 else group_basis(group_of)
    basis = np.kron(rows, seen_basis(np.ones(n_t, bool)))  # vec(x) = basis @ vec(z), row-major
    z = np.random.default_rng(7).normal(size=basis.shape[1])
    x = (basis @ z).reshape(n_rows, n_t)
    n_groups = 0 if n_rows == 1 else len(np.unique(group_of))
    gaps, bare = [], []
    for sigma, rho in [(0.3, 0.2), (1.1, 0.8), (0.7, -0.4), (2.0, 0.95)]:
        lag = np.abs(np.subtract.outer(np.arange(n_t), np.arange(n_t)))
        cov_t = sigma**2 / (1 - rho**2) * rho**lag
        precision = np.kron(np.eye(n_rows), np.linalg.inv(cov_t))
        exact = stats.multivariate_normal(cov=np.linalg.inv(basis.T @ precision @ basis)).logpdf(z)
        full = float(ar1_logp(x, sigma, rho).eval())
        ours = full + float(subspace_correction(sigma, rho, n_t, n_rows, n_groups).eval())
        gaps.append(ours - exact)
        bare.append(full - exact)
    assert np.ptp(gaps) < 1e-6, gaps
    assert np.ptp(bare) > 0.1, bare  # without the correction the prior of sigma and rho bends


def test_the_national_component_enters_the_link_only_when_asked(panel):
    spec = load_spec("latent")
    assert spec.availability.national_in_link is False
    model, _ = build_model(panel, spec)
    point = model.initial_point(random_seed=8)
    point = {k: np.random.default_rng(9).normal(size=v.shape) for k, v in point.items()}
    outs = [model["availability"], model["availability_link"], model["availability_national"]]
    a, link, national = values_at(model, outs, point)
    assert np.allclose(link, a - national[None, :]) and np.abs(national).max() > 0
    text = spec.to_toml().replace("national_in_link = false", "national_in_link = true")
    model, _ = build_model(panel, parse_spec(text))
    assert "availability_link" not in model.named_vars


def test_enforcement_enters_the_indicators_it_names_as_within_force_movement(panel):
    model, data = build_model(panel, _latent(shift=False))
    e = data.enforcement["police_officers_fy"]
    assert e.shape == (len(FORCES), len(data.panel_periods))
    assert np.allclose(e.mean(axis=1), 0.0) and e.std() == pytest.approx(1.0)
    # a financial-year level spreads over its four quarters (Apr-Mar: calendar Q2..Q1)
    fy_end = [t for t, p in enumerate(data.panel_periods) if p.quarter == 1 and t >= 3][1]
    assert np.ptp(e[0, fy_end - 3 : fy_end + 1]) < np.ptp(e[0]) / 5  # only population moves
    assert model.named_vars_to_dims["enforcement_effect"] == ("enforcement",)
    assert list(model.coords["enforcement"]) == ["police_officers_fy"]  # no arrests simulated
    # the coefficient moves the enforcement-led indicators' rates, not the deaths'
    point = model.initial_point(random_seed=10)
    logps = model.compile_fn(
        [model.logp(vars=[model[f"obs__{n}"]]) for n in ("trafficking", "drug_deaths_3y")],
        inputs=model.value_vars,
        on_unused_input="ignore",
    )
    before = logps(point)
    point["enforcement_effect"] = point["enforcement_effect"] + 0.5
    after = logps(point)
    assert after[0] != pytest.approx(before[0]) and after[1] == pytest.approx(before[1])
    with pytest.raises(SpecError) as err:
        parse_spec(
            '[availability]\nkind = "latent"\n[[availability.indicators]]\nvariable = "a"\n'
            '[[availability.enforcement]]\nvariable = "e"\nindicators = ["b"]\n'
        )
    assert str(err.value) == (
        "<spec>: bad value for 'availability': enforcement, activity_factor or idiosyncratic "
        "name indicators not in the spec: ['b']"
    )


def test_measurement_table_lists_loadings_and_enforcement_with_intervals():
    import xarray as xr

    from forecast.posterior import measurement_table

    rng = np.random.default_rng(12)
    post = xr.Dataset(
        {
            "loading__trafficking": (("chain", "draw"), np.ones((2, 500))),
            "loading__seizures_crack": (("chain", "draw"), rng.normal(1.5, 0.2, (2, 500))),
            "enforcement_effect": (
                ("chain", "draw", "enforcement"),
                rng.normal([0.3, -0.1], 0.05, (2, 500, 2)),
            ),
            "availability_beta": (("chain", "draw"), rng.normal(size=(2, 500))),
            "own__possession_rho": (("chain", "draw"), rng.beta(9, 1, (2, 500))),
            "own__possession_sigma": (("chain", "draw"), np.abs(rng.normal(0.1, 0.01, (2, 500)))),
        },
        coords={"enforcement": ["police_officers_fy", "drug_arrests_fy"]},
    )
    table = measurement_table(xr.DataTree.from_dict({"/posterior": post}))
    assert list(table.columns) == ["term", "name", "mean", "sd", "q5", "q95"]
    assert table[["term", "name"]].values.tolist() == [
        ["loading", "trafficking"],
        ["loading", "seizures_crack"],
        ["enforcement", "police_officers_fy"],
        ["enforcement", "drug_arrests_fy"],
        ["own_persistence", "possession"],
        ["own_sd", "possession"],
    ]
    crack = table.iloc[1]
    assert crack["q5"] < 1.5 < crack["q95"] and crack["sd"] == pytest.approx(0.2, rel=0.1)
    assert table.iloc[2]["mean"] == pytest.approx(0.3, abs=0.01)


def test_scale_non_centred_force_paths_have_the_same_prior_as_centred_ones():
    """Paths = sigma x unit-innovation paths: the density of x matches the centred one once the
    Jacobian of the scaling (m log sigma over the m free coordinates) is counted."""
    n_t, group_of = 7, np.array([0, 0, 1, 1, 1])
    rows = group_basis(group_of)
    basis = np.kron(rows, seen_basis(np.ones(n_t, bool)))
    m = basis.shape[1]
    x = (basis @ np.random.default_rng(13).normal(size=m)).reshape(len(group_of), n_t)
    for sigma, rho in [(0.2, 0.5), (1.7, 0.9)]:
        centred = ar1_logp(x, sigma, rho) + subspace_correction(sigma, rho, n_t, 5, 2)
        unit = ar1_logp(x / sigma, 1.0, rho) + subspace_correction(1.0, rho, n_t, 5, 2)
        assert float(centred.eval()) == pytest.approx(float(unit.eval()) - m * np.log(sigma))
    text = (
        load_spec("latent")
        .to_toml()
        .replace('parameterisation = "centred"', 'parameterisation = "non_centred"')
    )
    spec = parse_spec(text)
    assert spec.availability.parameterisation == "non_centred"


def test_yearly_force_paths_are_linear_between_knots_and_forecast_per_quarter(panel):
    """force_step = 4: the force component moves only between yearly knots (straight lines between),
    still sums to zero over the quarters, and forecasts continue it with the quarterly persistence
    rho^(1/4) and the innovation sd that keeps its marginal sd."""
    from forecast.model.availability import knot_interpolation

    w = knot_interpolation(10, 4)
    assert w.shape == (10, 4) and np.allclose(w.sum(axis=0), 0.0)
    knots = np.random.default_rng(14).normal(size=4)
    path = w @ knots
    bends = np.diff(path, 2)  # index i: the bend at quarter i + 1
    assert np.allclose(bends[[0, 1, 2, 4, 5, 6]], 0.0)  # straight within each year
    assert np.abs(bends[[3, 7]]).min() > 1e-3  # bends at the knots (quarters 4 and 8)

    text = load_spec("latent").to_toml().replace("force_step = 1", "force_step = 4")
    text = text.replace("regional_shift = true", "regional_shift = false")  # no regional paths
    spec = parse_spec(text.replace("regional = true", "regional = false"))  # A = national + force
    assert spec.availability.force_step == 4
    model, data = build_model(panel, spec)
    n_t = len(data.panel_periods)
    n_k = -(-(n_t - 1) // 4) + 1
    point = model.initial_point(random_seed=5)
    assert point["availability_force_coord"].shape == (len(FORCES) - 1, n_k - 1)
    values = {k: np.random.default_rng(6).normal(size=v.shape) for k, v in point.items()}
    force = model["availability"] - model["availability_national"][None, :]
    names = ["availability_quarterly_rho", "availability_quarterly_sigma"]
    names += ["availability_rho", "availability_sigma"]
    a, rho_q, sigma_q, rho, sigma = values_at(model, [force] + [model[n] for n in names], values)
    assert np.allclose(a.mean(axis=1), 0.0)
    assert np.allclose(np.diff(a[:, :4], 2, axis=1), 0.0)  # the first year is a straight line
    assert rho_q[-1] == pytest.approx(rho[-1] ** 0.25) and rho_q[0] == pytest.approx(rho[0])
    assert sigma_q[-1] / np.sqrt(1 - rho_q[-1] ** 2) == pytest.approx(
        sigma[-1] / np.sqrt(1 - rho[-1] ** 2)
    )


def test_an_activity_factor_is_shared_by_the_enforcement_led_indicators_only(panel):
    spec = load_spec("latent")
    data = spec.model_dump()
    data["availability"] |= {"activity_factor": ["trafficking", "possession_excl_cannabis"]}
    data["availability"]["force_step"] = 4
    spec = type(spec).model_validate(data)
    model, data = build_model(panel, spec)
    names = set(model.named_vars)
    assert {"activity", "activity_rho", "activity_sigma"} <= names
    assert "activity_loading__possession_excl_cannabis" in names  # trafficking's is fixed at 1
    assert not any(n.startswith("activity_loading__") and "seizures" in n for n in names)
    point = model.initial_point(random_seed=5)
    p = values_at(
        model,
        model["activity"],
        {k: np.random.default_rng(7).normal(size=v.shape) for k, v in point.items()},
    )
    assert p.shape == (len(FORCES), len(data.panel_periods)) and np.abs(p).max() > 0.05
    np.testing.assert_allclose(p.sum(axis=1), 0.0, atol=1e-9)  # over the quarters
    for g in np.unique(data.region_of):  # and over each region's forces
        np.testing.assert_allclose(p[data.region_of == g].sum(axis=0), 0.0, atol=1e-9)
    with pytest.raises(
        SpecError,
        match=r"activity_factor or idiosyncratic name indicators not in the spec: \['x'\]",
    ):
        parse_spec(
            '[availability]\nkind = "latent"\nactivity_factor = ["x"]\n'
            '[[availability.indicators]]\nvariable = "a"\n'
        )


def test_an_idiosyncratic_indicator_has_its_own_force_paths_that_only_it_sees(panel):
    spec = load_spec("latent")
    data = spec.model_dump()
    data["availability"] |= {"idiosyncratic": ["possession_excl_cannabis"], "force_step": 4}
    model, _ = build_model(panel, type(spec).model_validate(data))
    own = "own__possession_excl_cannabis"
    names = set(model.named_vars)
    assert {f"{own}_rho", f"{own}_sigma", f"{own}_force_coord"} <= names
    assert not any(n.startswith("own__") and "trafficking" in n for n in names)
    point = model.initial_point(random_seed=5)
    moved = dict(point)
    moved[f"{own}_force_coord"] = np.random.default_rng(8).normal(
        size=point[f"{own}_force_coord"].shape
    )
    for obs, changes in [("obs__possession_excl_cannabis", True), ("obs__trafficking", False)]:
        logp = model.compile_logp(vars=[model[obs]])
        assert (logp(moved) != pytest.approx(logp(point))) is changes, obs


def test_enforcement_shift_samples_a_as_the_first_indicator_sees_it_in_the_same_model(panel):
    """With `enforcement_shift`, A's coordinates are those of A + b E (the first indicator's view):
    trafficking's likelihood no longer moves with b at fixed coordinates, and the density is the
    plain model's at the coordinates that give the same A (a shift: unit Jacobian)."""
    shifted = _latent(shift=True)
    assert shifted.availability.enforcement_shift and not shifted.availability.regional_shift
    m1, data = build_model(panel, shifted)
    m0, _ = build_model(panel, _latent(shift=False))
    rng = np.random.default_rng(4)
    p1 = {k: v + 0.3 * rng.normal(size=v.shape) for k, v in m1.initial_point().items()}
    b = float(p1["enforcement_effect"][0])
    s = b * data.enforcement["police_officers_fy"]  # trafficking's loading is +1
    onehot = (data.region_of[None, :] == np.arange(len(data.regions))[:, None]).astype(float)
    by_region = onehot @ s / onehot.sum(axis=1, keepdims=True)
    time_basis = seen_basis(np.ones(s.shape[1], bool))
    rows = {
        "national": (np.ones((1, 1)), by_region.mean(axis=0, keepdims=True)),
        "regional": (seen_basis(np.ones(len(data.regions), bool)), by_region),
        "force": (group_basis(data.region_of), s),
    }
    p0 = dict(p1)
    for name, (basis, part) in rows.items():
        p0[f"availability_{name}_coord"] = (
            p1[f"availability_{name}_coord"] - basis.T @ part @ time_basis
        )
    a0, a1 = values_at(m0, m0["availability"], p0), values_at(m1, m1["availability"], p1)
    assert np.abs(a0 - a1).max() < 1e-9 and np.abs(a1).max() > 0.1
    assert float(m0.compile_logp()(p0)) == pytest.approx(float(m1.compile_logp()(p1)), abs=1e-6)
    first = m1.compile_fn(
        m1.logp(vars=[m1["obs__trafficking"]]), inputs=m1.value_vars, on_unused_input="ignore"
    )
    moved = dict(p1, enforcement_effect=p1["enforcement_effect"] + 0.5)
    assert float(first(moved)) == pytest.approx(float(first(p1)), abs=1e-6)
    plain = m0.compile_fn(
        m0.logp(vars=[m0["obs__trafficking"]]), inputs=m0.value_vars, on_unused_input="ignore"
    )
    assert float(
        plain(dict(p0, enforcement_effect=p0["enforcement_effect"] + 0.5))
    ) != pytest.approx(float(plain(p0)))


def test_regional_weights_follow_the_information_and_sum_to_zero_in_each_region():
    """h: 0 where a region's forces are equally informed, near +-1 for a rich force beside a thin
    one (the rich one's path is sampled as force + regional, where its data pin A)."""
    region_of = np.array([0, 0, 1, 1, 1, 2])
    h = regional_weights(np.array([99.0, 1.0, 5.0, 5.0, 5.0, 3.0]), region_of)
    np.testing.assert_allclose(h[:2], [0.98, -0.98], atol=1e-5)  # (99 - 1) / (99 + 1)
    np.testing.assert_allclose(h[2:], 0.0, atol=1e-9)
    uneven = regional_weights(np.array([1.0, 1.0, 9.0, 1.0, 1.0, 1.0]), region_of)
    assert uneven[2] > 0.5 and uneven[3] < 0 and uneven[4] < 0
    np.testing.assert_allclose(np.bincount(region_of, uneven), 0.0, atol=1e-9)


def test_regional_shift_samples_force_paths_with_their_region_in_the_same_model(panel):
    """With `regional_shift` (the shipped latent spec), force coordinates are those of force +
    h x (the regional path as the data see it, with its enforcement part): at the coordinates giving
    the same A, A and the whole density equal the unshifted model's (a shift: unit Jacobian)."""
    shifted = _latent(shift=True, regional_shift=True)
    assert load_spec("latent") == shifted
    m1, data = build_model(panel, shifted)
    m0, _ = build_model(panel, _latent(shift=True))
    rng = np.random.default_rng(6)
    p1 = {k: v + 0.3 * rng.normal(size=v.shape) for k, v in m1.initial_point().items()}
    s = float(p1["enforcement_effect"][0]) * data.enforcement["police_officers_fy"]
    onehot = (data.region_of[None, :] == np.arange(len(data.regions))[:, None]).astype(float)
    s_reg = onehot @ s / onehot.sum(axis=1, keepdims=True)
    time_basis = seen_basis(np.ones(s.shape[1], bool))
    r_basis = seen_basis(np.ones(len(data.regions), bool))
    z_r = p1["availability_regional_coord"] - r_basis.T @ s_reg @ time_basis
    seen = (r_basis @ z_r @ time_basis.T + s_reg)[data.region_of]
    h = regional_weights(force_information(data), data.region_of)
    assert np.abs(h).max() > 0.05
    p0 = dict(p1)
    p0["availability_force_coord"] = (
        p1["availability_force_coord"]
        - group_basis(data.region_of).T @ (h[:, None] * seen) @ time_basis
    )
    assert np.abs(p0["availability_force_coord"] - p1["availability_force_coord"]).max() > 0.01
    a0, a1 = values_at(m0, m0["availability"], p0), values_at(m1, m1["availability"], p1)
    assert np.abs(a0 - a1).max() < 1e-9 and np.abs(a1).max() > 0.1
    assert float(m0.compile_logp()(p0)) == pytest.approx(float(m1.compile_logp()(p1)), abs=1e-6)


def _ar1_prior_terms(model, names):
    """A compiled sum of the AR(1) prior terms of `names`' paths (their coordinate variables, plus
    their Potentials in a fit's model), as a function of the model's value variables."""
    terms = model.logp(vars=[model[f"availability_{n}_coord"] for n in names], sum=False)
    pots = [p for p in model.potentials if p.name in {f"availability_{n}_ar1" for n in names}]
    total = pt.sum([t.sum() for t in terms + model.replace_rvs_by_values(pots)])
    return lambda point: values_at(model, total, point)


def test_prior_draws_take_ar1_path_priors_as_distributions_with_the_fits_density(panel):
    """For prior predictive checks the AR(1) path priors are distributions (a fit's are Potentials,
    which prior sampling ignores): their density moves with rho, sigma and the coordinates exactly
    as the fit's does, and drawn national paths have the conditioned AR(1)'s expected size."""
    with drawable_paths():
        draw_model, _ = build_model(panel, load_spec("latent"))
    fit_model, _ = build_model(panel, _latent(shift=False))  # its coordinates: the paths' own
    assert not [p for p in draw_model.potentials if p.name.endswith("_ar1")]
    assert [p for p in fit_model.potentials if p.name == "availability_force_ar1"]
    names = ["national", "regional", "force"]
    f_fit, f_draw = _ar1_prior_terms(fit_model, names), _ar1_prior_terms(draw_model, names)
    rng = np.random.default_rng(9)
    p, q = (
        {k: v + s * rng.normal(size=v.shape) for k, v in fit_model.initial_point(1).items()}
        for s in (0.3, 0.6)
    )
    assert abs(float(f_fit(p)) - float(f_fit(q))) > 1.0
    assert float(f_draw(p)) - float(f_draw(q)) == pytest.approx(
        float(f_fit(p)) - float(f_fit(q)), abs=1e-6
    )
    with draw_model:
        prior = pm.sample_prior_predictive(
            draws=400,
            random_seed=3,
            var_names=["availability_rho", "availability_sigma", "availability_national_coord"],
        )["prior"]
    rho = prior["availability_rho"].values.reshape(400, -1)[:, 0]
    sigma = prior["availability_sigma"].values.reshape(400, -1)[:, 0]
    coord = prior["availability_national_coord"].values.reshape(400, -1)
    n_t = coord.shape[1] + 1
    tb = seen_basis(np.ones(n_t, bool))
    ratios = []
    for r, s, c in zip(rho, sigma, coord, strict=True):
        cov = s**2 / (1 - r**2) * r ** np.abs(np.subtract.outer(np.arange(n_t), np.arange(n_t)))
        expected = np.trace(np.linalg.inv(tb.T @ np.linalg.inv(cov) @ tb))  # E ||path||^2
        ratios.append(np.sum((tb @ c) ** 2) / expected)
    assert np.mean(ratios) == pytest.approx(1.0, abs=0.12)

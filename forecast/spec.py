"""Model specifications: TOML files in ``models/`` parsed into frozen, validated objects.

Unknown keys and bad values raise :class:`SpecError` naming the file and the key, before any
compilation or sampling. A CLI flag beats the spec's ``[sampler]``, which beats the defaults here."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from forecast.core import dims
from forecast.core.errors import SpecError, format_validation_error
from forecast.core.resources import shipped_dir
from forecast.core.tomltext import parse_toml, to_toml

SCHEMA_VERSION = 1
_Param = Literal["centred", "non_centred"]
_WalkParam = Literal["centred", "non_centred", "level"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _choice(p: str | dict[str, str], outcome: str, default: str) -> str:
    return p.get(outcome, default) if isinstance(p, dict) else p


class OutcomesSpec(_Strict):
    """Which outcomes the model covers."""

    names: tuple[str, ...] = dims.OUTCOMES

    @model_validator(mode="after")
    def _known(self) -> OutcomesSpec:
        unknown = [n for n in self.names if n not in dims.OUTCOMES]
        if unknown or not self.names or len(set(self.names)) != len(self.names):
            raise ValueError(
                f"names must be distinct values from {list(dims.OUTCOMES)}; got {list(self.names)}"
            )
        return self


class InterceptSpec(_Strict):
    """Prior on each outcome's baseline rate, stated per 100,000 population per quarter."""

    rate_per_100k: dict[str, float] = Field(
        default_factory=lambda: {"homicide": 0.3, "robbery": 30.0, "knife": 15.0}
    )
    log_sd: float = Field(1.0, gt=0)

    @model_validator(mode="after")
    def _positive(self) -> InterceptSpec:
        bad = {k: v for k, v in self.rate_per_100k.items() if not v > 0}
        if bad:
            raise ValueError(f"rates must be > 0; got {bad}")
        return self


class ForceEffectsSpec(_Strict):
    """Force x outcome effects, sum-to-zero over forces so they do not trade off with the intercept."""

    enabled: bool = True
    sigma: float = Field(0.5, gt=0, description="HalfNormal scale of each outcome's force sd")
    # one for all outcomes or per outcome: centred where counts pin forces down, else non-centred
    parameterisation: _Param | dict[str, _Param] = "centred"
    correlated: bool = False  # LKJ-correlated across outcomes (non-centred)
    # outcomes with persistent force deviations (AR(1) on knots; forecast.model.dynamics, README)
    dynamics: list[str] = []
    dynamics_step: int = Field(4, ge=1, le=8, description="quarters between knots")
    dynamics_sigma: float = Field(0.1, gt=0, description="HalfNormal scale of the step sd")

    def centred_for(self, outcome: str) -> bool:
        """Whether `outcome`'s force effects are centred."""
        return _choice(self.parameterisation, outcome, "centred") == "centred"


class SeasonalitySpec(_Strict):
    """Sum-to-zero quarter-of-year effects per outcome; `flat` outcomes (known only from annual sums)
    get none."""

    enabled: bool = True
    sigma: float = Field(0.2, gt=0)
    flat: list[str] = []
    with_trend: bool = Field(False, description="centred trend steps carry the season's change")


class TrendSpec(_Strict):
    """National random-walk trend per outcome (mean 0 over the quarters), optional regional walks."""

    kind: Literal["random_walk", "none"] = "random_walk"
    sigma: float = Field(0.05, gt=0, description="scale of the quarterly step sd's prior")
    # "half_normal": HalfNormal(sigma); "gamma": Gamma(2, 2 / sigma), mean sigma, mode sigma / 2 and
    # zero-avoiding, so the sampler is not drawn into the funnel at sd = 0 (a national trend moves)
    sigma_prior: Literal["half_normal", "gamma"] = "half_normal"
    # one choice for every outcome, or per outcome: centred (steps, or "level": each quarter's level
    # as the variable) where counts pin the trend down (robbery), non-centred where not (homicide)
    parameterisation: _WalkParam | dict[str, _WalkParam] = "non_centred"
    # regional deviations from the national trend: random walks per region and outcome, zero-sum over
    # regions, step sd Gamma(2, 2 / regional_sigma): drifts one region has (post-2020 robbery), kept
    # slow so regional availability is still identified by its quarter-to-quarter movement.
    regional: bool = False
    regional_sigma: float = Field(0.02, gt=0, description="prior mean of the regional step sd")
    # outcomes with national quarter noise (iid, shared by all forces): swings are not trend steps
    noise: list[str] = []
    noise_sigma: float = Field(0.1, gt=0, description="HalfNormal scale of the noise sd")

    @model_validator(mode="after")
    def _regional_needs_walk(self) -> TrendSpec:
        if self.regional and self.kind == "none":
            raise ValueError('regional = true needs kind = "random_walk" (regions deviate from it)')
        return self

    def centred_for(self, outcome: str) -> bool:
        """Whether `outcome`'s trend steps are centred (as steps or as levels)."""
        return _choice(self.parameterisation, outcome, "non_centred") in ("centred", "level")

    def level_for(self, outcome: str) -> bool:
        """Whether `outcome`'s trend takes its levels as the variables."""
        return _choice(self.parameterisation, outcome, "non_centred") == "level"


class IndicatorSpec(_Strict):
    """One indicator of latent availability: a panel variable, its family and the sign of its loading.

    Counts (negative binomial, population offset, force-specific levels that absorb each force's
    enforcement intensity) or log-normal values (prices). Geography and window come from the variable's
    dims and attributes: force, region (`gor`) or national; quarter, rolling-year, financial-year or
    pooled sums (`window_quarters`).
    """

    variable: str
    family: Literal["negative_binomial", "lognormal"] = "negative_binomial"
    sign: Literal[1, -1] = 1
    loading_sigma: float = Field(1.0, gt=0, description="HalfNormal scale of |loading|")
    window: int | None = Field(None, ge=1, le=20, description="override the variable's window")
    optional: bool = False  # skip (with a note) when the panel lacks the variable


class EnforcementSpec(_Strict):
    """A (force, period) measure of enforcement effort (police officers, drug arrests) whose
    within-force movement enters the log rate of the count indicators it names with one coefficient
    (shared by them), so a force that raises its policing effort does not read as more supply."""

    variable: str
    log: bool = True
    per_100k: bool = True  # divide by population first
    sum_over_window: bool = True  # a windowed value is a sum (arrests); false: a level (officers)
    indicators: tuple[str, ...] = ()  # the count indicators it acts on; empty: all of them
    effect_sigma: float = Field(0.5, gt=0, description="Normal prior sd of its coefficient")
    optional: bool = False  # skip when the panel lacks the variable


class AvailabilitySpec(_Strict):
    """Availability and its effect on each outcome's log rate.

    `kind = "index"` uses an observed index variable; `kind = "none"` drops the availability link (the
    comparison model of backtests: same outcome model and quarters); `kind = "latent"` estimates A from
    indicators and enforcement series: national + regional + force AR(1) components by persistence
    and innovation sd (see :mod:`forecast.model.availability`). The effect is a distributed lag over
    quarters `lag`..`max_lag`: a total effect per outcome times lag weights (Dirichlet, shared across
    outcomes), optionally varying by force.
    """

    kind: Literal["index", "latent", "none"] = "index"
    variable: str = dims.AVAILABILITY_INDEX
    lag: int = Field(1, ge=0, le=8)
    max_lag: int | None = Field(None, ge=0, le=8)
    lag_concentration: float = Field(2.0, gt=0, description="Dirichlet shrinkage of lag weights")
    effect_sigma: float = Field(0.5, gt=0)
    force_varying: bool = False
    force_sigma: float = Field(0.05, gt=0, description="HalfNormal scale of effects' force sd")
    regional: bool = True
    parameterisation: _Param = "centred"  # force AR(1) paths: the variable, or non-centred in scale
    force_step: int = Field(1, ge=1, le=8)  # quarters between the force paths' knots (README)
    national_in_link: bool = False  # A's national component in the link (false: the trend takes it)
    enforcement: tuple[EnforcementSpec, ...] = ()
    enforcement_shift: bool = False  # sample A + the first indicator's enforcement term (README)
    regional_shift: bool = False  # sample force paths + their regional path as the data see it
    # indicators sharing a latent policing-activity factor (force AR(1) paths like A's), so their
    # common within-force movement need not pass for availability (forecast.model.availability)
    activity_factor: tuple[str, ...] = ()
    # indicators with their own persistent force deviations (AR(1) paths like A's, one set each), so
    # a series' idiosyncratic policing history (stop and search for 92D) need not pass for availability
    idiosyncratic: tuple[str, ...] = ()
    # "unit_sd": A's within-force sd is 1 exactly (components' variances are Dirichlet shares);
    # "first_loading": the first indicator's loading is its sign x 1 and component sds are free
    scale: Literal["unit_sd", "first_loading"] = "first_loading"
    indicators: tuple[IndicatorSpec, ...] = ()

    @model_validator(mode="after")
    def _lags_and_indicators(self) -> AvailabilitySpec:
        if self.max_lag is not None and self.max_lag < self.lag:
            raise ValueError(f"max_lag ({self.max_lag}) must be >= lag ({self.lag})")
        if self.kind == "latent" and not self.indicators:
            raise ValueError('kind = "latent" needs at least one [[availability.indicators]] table')
        if self.regional_shift and not self.regional:
            raise ValueError("regional_shift = true needs regional = true (it shifts by that path)")
        names = [i.variable for i in self.indicators]
        if len(set(names)) != len(names):
            raise ValueError(f"indicators repeat a variable: {names}")
        stray = {x for e in self.enforcement for x in e.indicators}
        stray |= set(self.activity_factor) | set(self.idiosyncratic)
        if bad := sorted(stray - set(names)):
            raise ValueError(
                f"enforcement, activity_factor or idiosyncratic name indicators not in the spec: {bad}"
            )
        return self

    @property
    def lags(self) -> list[int]:
        """The quarters of lag the effect spreads over."""
        return list(range(self.lag, (self.max_lag if self.max_lag is not None else self.lag) + 1))


class CovariateSpec(_Strict):
    """A (force, period) covariate with an effect per outcome: standardised, held in forecasts."""

    variable: str
    effect_sigma: float = Field(0.5, gt=0)
    log: bool = False  # take logs first (for positive, skewed covariates)


class ObservationSpec(_Strict):
    """An outcome observed through another panel variable: a rolling-year, financial-year or pooled
    sum (window from the variable's `window_quarters` attribute unless given here), or with
    `proxy = true` a quarterly force series whose rate is the outcome's times a force ratio, a season
    and a slowly drifting national ratio (:mod:`forecast.model.proxies`)."""

    variable: str
    outcome: str
    window: int | None = Field(None, ge=1, le=20)
    optional: bool = False  # skip (with a note) when the panel lacks the variable
    proxy: bool = False
    drift_sigma: float = Field(0.02, gt=0, description="proxy: prior mean of the ratio's step sd")
    by_region: bool = Field(False, description="proxy: sum the force series over each region")

    @model_validator(mode="after")
    def _by_region_is_a_proxy(self) -> ObservationSpec:
        if self.by_region and not self.proxy:
            raise ValueError(f"{self.variable}: by_region applies to a proxy (set proxy = true)")
        return self


class BreaksSpec(_Strict):
    """Recording breaks from a register (force, series, start, end, kind, reason, source).

    Force-specific rows of kind `recording` or `undercount` get a step effect on the log rate over
    [start, end]; rows of kind `missing` mask those cells; all-force rows of kind `shock` with an end
    (COVID-19 lockdowns) get a national effect per quarter and outcome (and regional deviations
    from it when `shock_regional_sigma` > 0), so a temporary fall does not inflate the trend's step
    sd; other all-force rows are left to the national trend. The register is the panel's own
    (`data/breaks.csv` or the simulator's breaks) unless `file` names another."""

    enabled: bool = True
    file: str | None = Field(None, description="a register CSV; default: the panel's own register")
    sigma: float = Field(0.3, gt=0, description="Normal prior sd of a step on the log rate")
    shock_sigma: float = Field(0.5, gt=0, description="Normal prior sd of a shock quarter's effect")
    shock_exit_sigma: float = Field(0.0, ge=0, description="sd of a level shift after a shock")
    shock_regional_sigma: float = Field(0.0, ge=0, description="HalfNormal scale, regional shocks")
    # outcomes shocks apply to (None: all the register names). A shock holds the trend, so the quarter
    # after it sets the level: right for robbery's deep fall, not homicide's small dip
    shock_outcomes: list[str] | None = None


class LikelihoodSpec(_Strict):
    """Count likelihood with a log(population / 100,000) offset."""

    family: Literal["negative_binomial", "poisson"] = "negative_binomial"
    overdispersion_sigma: float = Field(1.0, gt=0, description="HalfNormal scale of 1/sqrt(phi)")
    # per force and outcome: log phi partially pooled around the outcome's (sd prior HalfNormal(0.5))
    force_varying: bool = False


class SamplerSpec(_Strict):
    """Sampler settings; CLI flags override them."""

    backend: Literal["nutpie", "pymc", "numpyro"] = "nutpie"
    draws: int = Field(1000, ge=1)
    tune: int = Field(600, ge=0)
    chains: int = Field(4, ge=1)
    target_accept: float = Field(0.9, gt=0, lt=1)
    seed: int = 1
    # nutpie's mass matrix: "low_rank" adds leading posterior correlations (latent factors); nutpie only
    adaptation: Literal["diag", "low_rank"] = "diag"


class GatesSpec(_Strict):
    """Thresholds a fit must meet before it is published (`forecast publish`)."""

    max_rhat: float = Field(1.01, gt=1.0)
    min_ess_key: float = Field(400.0, ge=0, description="bulk ESS of the availability effects")
    min_ess: float = Field(200.0, ge=0, description="bulk ESS of every other parameter")
    max_divergences: int = Field(0, ge=0)
    min_bfmi: float = Field(0.3, ge=0)
    min_ppc_coverage_90: float = Field(0.80, ge=0, le=1)
    ppc_min_p: float = Field(0.01, ge=0, lt=0.5, description="Bayesian p-values inside [p, 1 - p]")
    min_history_coverage_90: float = Field(0.0, ge=0, le=1)  # national quarters in fitted 90% band
    recent_quarters: int = Field(4, ge=1, description="window of the data gate (latest quarters)")
    max_recent_data_flags: int = Field(0, ge=0, description="halvings or doublings in them")


ADDED_LATER = [  # (section, key) added after fits were saved
    *(("force_effects", k) for k in ("dynamics", "dynamics_step", "dynamics_sigma")),
    ("breaks", "shock_exit_sigma"), ("breaks", "shock_outcomes"), ("breaks", "shock_regional_sigma"),
    ("likelihood", "force_varying"), ("trend", "noise"), ("trend", "noise_sigma"),
    ("seasonality", "flat"), ("seasonality", "with_trend"), *(("availability", k) for k in (
        "activity_factor", "idiosyncratic", "enforcement_shift", "regional_shift"))]  # fmt: skip
OBSERVATION_ADDED_LATER = ("proxy", "drift_sigma", "by_region")


class ModelSpec(_Strict):
    """A whole model specification (one TOML file)."""

    schema_version: int = SCHEMA_VERSION
    name: str = "unnamed"
    description: str = ""
    outcomes: OutcomesSpec = OutcomesSpec()
    intercept: InterceptSpec = InterceptSpec()
    force_effects: ForceEffectsSpec = ForceEffectsSpec()
    seasonality: SeasonalitySpec = SeasonalitySpec()
    trend: TrendSpec = TrendSpec()
    availability: AvailabilitySpec = AvailabilitySpec()
    observations: tuple[ObservationSpec, ...] = ()
    covariates: tuple[CovariateSpec, ...] = ()
    breaks: BreaksSpec = BreaksSpec()
    likelihood: LikelihoodSpec = LikelihoodSpec()
    sampler: SamplerSpec = SamplerSpec()
    gates: GatesSpec = GatesSpec()

    @model_validator(mode="after")
    def _consistent(self) -> ModelSpec:
        if self.schema_version != SCHEMA_VERSION:
            raise ValueError(
                f"schema_version {self.schema_version} is not supported (use {SCHEMA_VERSION})"
            )
        if missing := [k for k in self.outcomes.names if k not in self.intercept.rate_per_100k]:
            raise ValueError(f"intercept.rate_per_100k has no prior rate for {missing}")
        names = self.outcomes.names
        listed = [o.outcome for o in self.observations] + self.seasonality.flat + self.trend.noise
        listed += self.force_effects.dynamics + (self.breaks.shock_outcomes or [])
        if stray := [k for k in listed if k not in names]:
            raise ValueError(
                f"observations, seasonality.flat, trend.noise, force_effects.dynamics or "
                f"breaks.shock_outcomes name {stray}, not in outcomes.names"
            )
        if self.force_effects.dynamics and not self.force_effects.enabled:
            raise ValueError("force_effects.dynamics needs force_effects.enabled = true")
        return self

    def model_hash(self) -> str:
        """Hash of the model part (sampler settings excluded): fits record it, loaders check it."""
        body = self.model_dump(mode="json", exclude={"sampler", "description", "gates"})
        defaults = ModelSpec.model_construct().model_dump(mode="json")
        for section, key in ADDED_LATER:  # at their defaults they leave saved fits' hashes be
            if body[section][key] == defaults[section][key]:
                body[section].pop(key)
        for obs in body["observations"]:
            for key in OBSERVATION_ADDED_LATER:
                if obs[key] == ObservationSpec.model_fields[key].default:
                    obs.pop(key)
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]

    def to_toml(self) -> str:
        """The spec as TOML text (for provenance and for users to copy)."""
        return to_toml(self.model_dump(mode="json"))


def parse_spec(text: str, where: str = "<spec>") -> ModelSpec:
    """Parse TOML text into a validated ModelSpec."""
    data = parse_toml(text, where, SpecError)
    try:
        return ModelSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(format_validation_error(exc, where)) from exc


def resolve_spec_path(spec: str | Path) -> Path:
    """A spec path, or the name of a shipped spec ('default' -> models/default.toml)."""
    path = Path(spec)
    if path.suffix != ".toml" and not path.exists():
        path = shipped_dir("models") / f"{spec}.toml"
    if not path.exists():
        shipped = sorted(p.stem for p in shipped_dir("models").glob("*.toml"))
        raise SpecError(f"{spec}: no such spec file; shipped specs are {shipped}")
    return path


def load_spec(spec: str | Path = "default") -> ModelSpec:
    """Load a spec by path or shipped name."""
    path = resolve_spec_path(spec)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not UTF-8 text (byte {exc.start}): save it as UTF-8") from None
    return parse_spec(text, where=str(path))

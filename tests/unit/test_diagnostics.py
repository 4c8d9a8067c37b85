"""The convergence gates: one definition shared by `forecast fit`, backtests and publication."""

from __future__ import annotations

import math

import pytest

from forecast.diagnostics import DiagnosticsSummary, Gates, convergence_checks, gate_failures
from forecast.spec import GatesSpec


def _summary(**change) -> DiagnosticsSummary:
    base = dict(
        chains=4, draws=1000, divergences=0, max_rhat=1.004, min_ess_bulk=900.0,
        min_ess_tail=800.0, min_ess_bulk_key=1500.0, min_bfmi=0.8, worst_variable="rho",
    )  # fmt: skip
    return DiagnosticsSummary(**(base | change))


def test_a_converged_fit_passes_every_check_and_fails_none():
    checks = convergence_checks(_summary(), GatesSpec(min_ess=400))
    assert list(checks["check"]) == [
        "max R-hat", "divergences", "min bulk ESS", "min tail ESS", "min E-BFMI",
        "availability-effect bulk ESS",
    ]  # fmt: skip
    assert checks["passed"].all()
    assert gate_failures(_summary(), Gates()) == []


def test_each_broken_gate_is_named_with_its_value_and_threshold():
    bad = _summary(
        max_rhat=1.05, divergences=3, min_ess_bulk=114.0, min_ess_tail=150.0,
        min_ess_bulk_key=300.0, min_bfmi=0.2, worst_variable="availability_sigma",
    )  # fmt: skip
    assert gate_failures(bad, Gates(min_ess=400)) == [
        "max R-hat 1.050 > 1.01",
        "3 divergent transitions (allowed 0)",
        "min bulk ESS 114 < 400 (availability_sigma)",
        "min tail ESS 150 < 400",
        "E-BFMI 0.20 < 0.3",
        "bulk ESS of availability_beta 300 < 400",
    ]


def test_tail_ess_alone_fails_a_fit_and_nan_bfmi_does_not():
    checks = convergence_checks(_summary(min_ess_tail=399.0), GatesSpec(min_ess=400))
    assert list(checks.loc[~checks["passed"], "check"]) == ["min tail ESS"]
    one_draw = convergence_checks(_summary(min_bfmi=math.nan), GatesSpec())
    assert one_draw["passed"].all()
    no_link = convergence_checks(_summary(min_ess_bulk_key=math.nan), GatesSpec())
    assert "availability-effect bulk ESS" not in set(no_link["check"])
    assert not convergence_checks(_summary(max_rhat=math.nan), GatesSpec())["passed"].all()


def test_chains_at_different_log_densities_are_named_as_separate_modes():
    import numpy as np
    import xarray as xr

    from forecast.diagnostics import summarise_diagnostics

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 500)) + np.array([[0.0], [3.0]])  # chain 1 in another mode
    logp = rng.normal(0, 30, size=(2, 500)) + np.array([[-32370.0], [-32465.0]])
    tree = xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset({"x": (("chain", "draw"), x)}),
            "sample_stats": xr.Dataset(
                {
                    "logp": (("chain", "draw"), logp),
                    "diverging": (("chain", "draw"), np.zeros((2, 500), bool)),
                }
            ),
        }
    )
    s = summarise_diagnostics(tree)
    assert s.chain_logp == pytest.approx((-32370.0, -32465.0), abs=5)
    assert s.logp_rhat > 1.5
    (message,) = gate_failures(s, Gates(min_ess=1, min_ess_key=1))[:1]
    assert message.startswith(f"max R-hat {s.max_rhat:.3f} > 1.01 (chains in separate modes: ")
    assert "mean log density per chain -32,3" in message
    slow = _summary(max_rhat=1.05, chain_logp=(-10.0, -10.5), logp_rhat=1.02)
    assert gate_failures(slow, Gates()) == ["max R-hat 1.050 > 1.01"]  # slow mixing: no note

"""The convergence gates: one definition shared by `forecast fit`, backtests and publication."""

from __future__ import annotations

import math

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

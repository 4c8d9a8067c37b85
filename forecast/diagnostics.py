"""Convergence diagnostics (R-hat, bulk/tail ESS, divergences, E-BFMI) and the gates later stages use."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from forecast.core.errors import DiagnosticsError
from forecast.rank_diagnostics import rank_diagnostics
from forecast.spec import GatesSpec

KEY_PARAMETER = "availability_beta"
LOGP_STATS = ("logp", "lp")  # the log density in nutpie's and PyMC's sample_stats
MODES_RHAT = 1.1


@dataclass(frozen=True)
class Gates:
    """Thresholds a fit must meet (defaults: the foundation issue's acceptance bar)."""

    max_rhat: float = 1.01
    min_ess_key: float = 400.0  # availability effects
    min_ess: float = 200.0  # every other parameter
    max_divergences: int = 0
    min_bfmi: float = 0.3


def diagnostics_table(tree: xr.DataTree) -> pd.DataFrame:
    """One row per posterior variable: its size and worst bulk ESS, tail ESS (5% and 95%
    quantiles, as Stan) and rank-normalised R-hat (:mod:`forecast.rank_diagnostics`)."""
    post = tree["posterior"]
    rows = []
    for v in post.data_vars:
        da = post[v]
        other = [d for d in da.dims if d not in ("chain", "draw")]
        shape = (-1, post.sizes["chain"], post.sizes["draw"])
        x = da.transpose(*other, "chain", "draw").values.reshape(shape).astype(float)
        # elements held constant by design (a trend step in a shock quarter): R-hat NaN, skipped
        bulk, tail, rhat = rank_diagnostics(x)
        rows.append(
            {
                "variable": v,
                "size": int(x.shape[0]),
                "ess_bulk": _worst(bulk, np.nanmin),
                "ess_tail": _worst(tail, np.nanmin),
                "r_hat": _worst(rhat, np.nanmax),
            }
        )
    return pd.DataFrame(rows).sort_values("ess_bulk").reset_index(drop=True)


def _worst(values: np.ndarray, reduce) -> float:
    """min/max ignoring NaN; NaN when all are NaN (e.g. R-hat of a single chain)."""
    finite = values[np.isfinite(values)]
    return float(reduce(finite)) if finite.size else float("nan")


@dataclass(frozen=True)
class DiagnosticsSummary:
    """Worst-case figures over the whole posterior."""

    chains: int
    draws: int
    divergences: int
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    min_ess_bulk_key: float
    min_bfmi: float
    worst_variable: str
    # each chain's mean log density: chains that settle at clearly different ones sit in separate
    # modes (a bimodal posterior), which more draws will not fix
    chain_logp: tuple[float, ...] = ()
    logp_rhat: float = float("nan")

    def as_dict(self) -> dict:
        return asdict(self)


def summarise_diagnostics(
    tree: xr.DataTree, table: pd.DataFrame | None = None
) -> DiagnosticsSummary:
    """Reduce the table and the sampler statistics to the figures the gates check."""
    table = diagnostics_table(tree) if table is None else table
    stats = tree["sample_stats"]
    div = int(stats["diverging"].values.sum()) if "diverging" in stats else 0
    try:
        bfmi = float(np.min(az.bfmi(tree)["energy"].values))
    except (KeyError, ValueError):
        bfmi = float("nan")
    key = table[table["variable"] == KEY_PARAMETER]
    post = tree["posterior"]
    logp = next((stats[n] for n in LOGP_STATS if n in stats), None)
    chain_logp, logp_rhat = (), float("nan")
    if logp is not None:
        values = logp.transpose("chain", "draw").values.astype(float)
        chain_logp = tuple(float(x) for x in values.mean(axis=1))
        logp_rhat = float(rank_diagnostics(values[None])[2][0])
    return DiagnosticsSummary(
        chains=int(post.sizes["chain"]),
        draws=int(post.sizes["draw"]),
        divergences=div,
        max_rhat=float(table["r_hat"].max()),
        min_ess_bulk=float(table["ess_bulk"].min()),
        min_ess_tail=float(table["ess_tail"].min()),
        min_ess_bulk_key=float(key["ess_bulk"].min()) if len(key) else float("nan"),
        min_bfmi=bfmi,
        worst_variable=str(table.iloc[0]["variable"]),
        chain_logp=chain_logp,
        logp_rhat=logp_rhat,
    )


def convergence_checks(
    summary: DiagnosticsSummary, gates: Gates | GatesSpec = Gates()
) -> pd.DataFrame:
    """One row per convergence gate (check, value, threshold, passed, detail) against `gates` (a
    :class:`Gates` or a spec's `[gates]`): the one definition publication, backtests and `forecast
    fit` share. A NaN E-BFMI (one draw) is not a failure; a NaN R-hat or ESS is."""
    s, g = summary, gates
    rows = [
        ("max R-hat", s.max_rhat, f"<= {g.max_rhat}", s.max_rhat <= g.max_rhat, ""),
        ("divergences", s.divergences, f"<= {g.max_divergences}", s.divergences <= g.max_divergences, ""),
        ("min bulk ESS", s.min_ess_bulk, f">= {g.min_ess:g}", s.min_ess_bulk >= g.min_ess, s.worst_variable),
        ("min tail ESS", s.min_ess_tail, f">= {g.min_ess:g}", s.min_ess_tail >= g.min_ess, ""),
        ("min E-BFMI", s.min_bfmi, f">= {g.min_bfmi}", not s.min_bfmi < g.min_bfmi, ""),
    ]  # fmt: skip
    if s.min_ess_bulk_key == s.min_ess_bulk_key:  # NaN when there is no availability link
        ok = s.min_ess_bulk_key >= g.min_ess_key
        rows.append(
            ("availability-effect bulk ESS", s.min_ess_bulk_key, f">= {g.min_ess_key:g}", ok, "")
        )
    table = pd.DataFrame(rows, columns=["check", "value", "threshold", "passed", "detail"])
    return table.astype({"passed": bool})


def gate_failures(summary: DiagnosticsSummary, gates: Gates | GatesSpec = Gates()) -> list[str]:
    """Human-readable list of the gates a fit fails (empty when it passes)."""
    checks = convergence_checks(summary, gates)
    out = []
    for r in checks[~checks["passed"]].itertuples(index=False):
        bound = r.threshold.replace("<=", ">").replace(">=", "<")  # the threshold it broke
        if r.check == "divergences":
            out.append(f"{r.value:.0f} divergent transitions (allowed {gates.max_divergences})")
        elif r.check == "max R-hat":
            out.append(f"max R-hat {r.value:.3f} {bound}" + _modes(summary))
        elif r.check == "min E-BFMI":
            out.append(f"E-BFMI {r.value:.2f} {bound}")
        else:  # ESS
            name = f"bulk ESS of {KEY_PARAMETER}" if r.check.startswith("avail") else r.check
            out.append(f"{name} {r.value:.0f} {bound}" + (f" ({r.detail})" if r.detail else ""))
    return out


def _modes(summary: DiagnosticsSummary) -> str:
    """A note when the chains settle at different log densities (R-hat of the log density above
    MODES_RHAT): separate modes rather than slow mixing; empty otherwise."""
    if not summary.logp_rhat > MODES_RHAT:
        return ""
    means = ", ".join(f"{x:,.0f}" for x in summary.chain_logp)
    return (
        f" (chains in separate modes: mean log density per chain {means}, R-hat of the log density"
        f" {summary.logp_rhat:.2f})"
    )


def require_gates(tree: xr.DataTree, gates: Gates = Gates()) -> DiagnosticsSummary:
    """Raise DiagnosticsError listing every failed gate; return the summary when all pass."""
    summary = summarise_diagnostics(tree)
    failures = gate_failures(summary, gates)
    if failures:
        raise DiagnosticsError(
            "fit fails its convergence gates: "
            + "; ".join(failures)
            + " (run more draws, e.g. --draws 1000, or inspect `forecast summary`)"
        )
    return summary

"""The publication's gates: the checks of the spec's `[gates]` table (convergence, posterior
predictive checks, recent data) that a fit must pass before it is published."""

from __future__ import annotations

import pandas as pd
import xarray as xr

from forecast.checks import history_coverage, posterior_predictive_table
from forecast.core import dims
from forecast.diagnostics import convergence_checks, diagnostics_table, summarise_diagnostics
from forecast.ingest.validate import check_panel
from forecast.spec import GatesSpec, ModelSpec


def check_gates(
    tree: xr.DataTree, panel: xr.Dataset, spec: ModelSpec, pred: xr.Dataset
) -> tuple[pd.DataFrame, dict]:
    """Every gate of the spec: one row per check (gate, value, threshold, passed, detail). `pred`
    is a prediction whose history (horizon 0) replicates the data for the predictive checks."""
    g: GatesSpec = spec.gates
    s = summarise_diagnostics(tree, diagnostics_table(tree))
    rows = list(convergence_checks(s, g).itertuples(index=False, name=None))
    ppc = posterior_predictive_table(pred)
    for r in ppc.itertuples(index=False):
        rows.append(
            (f"PPC 90% coverage: {r.outcome}", r.coverage_90, f">= {g.min_ppc_coverage_90}",
             r.coverage_90 >= g.min_ppc_coverage_90, f"{r.cells} cells")
        )  # fmt: skip
        for key in ("p_total", "p_spread"):
            p = getattr(r, key)
            ok = g.ppc_min_p <= p <= 1 - g.ppc_min_p
            rows.append(
                (f"PPC {key}: {r.outcome}", p, f"in [{g.ppc_min_p}, {1 - g.ppc_min_p}]", ok, "")
            )
    history = history_coverage(pred)
    for r in history[history["quarters"] > 0].itertuples(index=False):
        rows.append(
            (f"history 90% coverage, {r.area}: {r.outcome}", r.coverage,
             f">= {g.min_history_coverage_90}", r.coverage >= g.min_history_coverage_90,
             f"{r.covered} of {r.quarters} quarters" + (f"; outside: {r.missed}" if r.missed else ""))
        )  # fmt: skip
    flags = check_panel(panel)
    series = set(spec.outcomes.names) | {o.variable for o in spec.observations}
    recent = [str(p) for p in panel.indexes[dims.PERIOD][-g.recent_quarters :]]
    # the gate: a recorded count at half or double its neighbours (the milder flags, large counts
    # off by a quarter, stay in the report as findings)
    bad = flags[
        (flags["check"] == "implausible jump")
        & flags["series"].isin(series)
        & flags["period"].isin(recent)
        & ((flags["ratio"] <= 0.5) | (flags["ratio"] >= 2.0))
    ]
    detail = "; ".join(f"{r.series} {r.force} {r.period}" for r in bad.head(5).itertuples())
    rows.append(
        (f"data: halvings or doublings in the last {g.recent_quarters} quarters", len(bad),
         f"<= {g.max_recent_data_flags}", len(bad) <= g.max_recent_data_flags, detail)
    )  # fmt: skip
    table = pd.DataFrame(rows, columns=["check", "value", "threshold", "passed", "detail"])
    return table, {"diagnostics": s, "ppc": ppc, "flags": flags, "history": history}

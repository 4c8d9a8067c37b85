"""Fan charts from the tidy summary table (50/80/95% bands, observed points, forecast shaded)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from forecast.core.io import write_atomic

BANDS = (("q2.5", "q97.5", 0.18, "95%"), ("q10", "q90", 0.3, "80%"), ("q25", "q75", 0.45, "50%"))


def fan_chart(
    table: pd.DataFrame,
    area: str,
    path: Path,
    quantity: str = "rate_per_100k",
    overwrite: bool = False,
    windows: pd.DataFrame | None = None,
    notes: dict[str, str] | None = None,
) -> Path:
    """One panel per outcome for `area`: median, 50/80/95% bands, observed values, forecast shaded;
    an outcome published only as window sums (`windows`, from :func:`forecast.core.areas.window_rates`)
    shows each window's quarterly average as a bar across its quarters. `notes` (outcome -> text)
    go under each panel's title (say, how many observed quarters the fitted 90% band covers)."""
    rows = table[(table["area"] == area) & (table["quantity"] == quantity)]
    if rows.empty:
        raise ValueError(f"no rows for area {area!r} and quantity {quantity!r}")
    outcomes = list(pd.unique(rows["outcome"]))
    fig, axes = plt.subplots(len(outcomes), 1, figsize=(9, 2.6 * len(outcomes)), sharex=True)
    axes = [axes] if len(outcomes) == 1 else list(axes)
    for ax, outcome in zip(axes, outcomes, strict=True):
        r = rows[rows["outcome"] == outcome]
        x = pd.PeriodIndex(r["period"], freq="Q").to_timestamp(how="end")
        _bands(ax, x, r, "tab:blue")
        ax.plot(x, r["observed"], "o", ms=2.5, color="black", label="observed")
        if windows is not None and quantity == "rate_per_100k":
            _window_bars(ax, windows[(windows["area"] == area) & (windows["outcome"] == outcome)])
        note = (notes or {}).get(outcome)
        ax.set_title(f"{area}: {outcome}" + (f"\n{note}" if note else ""), loc="left", fontsize=10)
        ax.set_ylabel(str(r["unit"].iloc[0]).replace(" population", "\npopulation"), fontsize=8)
    axes[0].legend(ncol=5, fontsize=7, loc="upper left")
    fig.tight_layout()
    return _save(fig, path, overwrite)


def _window_bars(ax, w: pd.DataFrame) -> None:
    """Observed window sums as their quarterly average, one bar from the window's first quarter to its
    last (quarters are plotted at their ends)."""
    if w.empty:
        return
    start = pd.PeriodIndex(w["start"], freq="Q").to_timestamp(how="end")
    end = pd.PeriodIndex(w["end"], freq="Q").to_timestamp(how="end")
    ax.hlines(w["rate_per_100k"], start, end, color="black", lw=2,
              label="observed financial-year total / 4")  # fmt: skip
    ax.legend(handles=ax.get_legend_handles_labels()[0][-1:], fontsize=7, loc="upper left")


def coverage_plot(observed: dict[str, pd.DataFrame], path: Path, overwrite: bool = False) -> Path:
    """Small multiples of force x quarter coverage: dark = observed, light = missing, one per series."""
    import numpy as np

    names = list(observed)
    ncol = 3
    nrow = int(np.ceil(len(names) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 4.6 * nrow), squeeze=False)
    for ax, name in zip(axes.ravel(), names, strict=False):
        grid = observed[name]
        ax.imshow(
            grid.to_numpy(dtype=float),
            aspect="auto",
            cmap="Blues",
            vmin=-0.3,
            vmax=1.0,
            interpolation="nearest",
        )
        ax.set_title(name, fontsize=9, loc="left")
        ticks = list(range(0, grid.shape[1], 8))
        ax.set_xticks(ticks, [str(grid.columns[i]) for i in ticks], fontsize=6)
        ax.set_yticks(range(grid.shape[0]), list(grid.index), fontsize=4)
    for ax in axes.ravel()[len(names) :]:
        ax.axis("off")
    fig.tight_layout()
    return _save(fig, path, overwrite)


_WATERMARK = {"text": ""}


@contextmanager
def watermark(text: str) -> Iterator[None]:
    """Stamp every figure saved inside the block with `text` (e.g. a failed-checks warning)."""
    before = _WATERMARK["text"]
    _WATERMARK["text"] = text
    try:
        yield
    finally:
        _WATERMARK["text"] = before


def _save(fig, path: Path, overwrite: bool) -> Path:
    """Write `fig` atomically in the format of `path`'s suffix (png, svg, pdf) and close it."""
    if _WATERMARK["text"]:
        fig.text(
            0.5, 0.5, _WATERMARK["text"], ha="center", va="center", rotation=20, fontsize=13,
            color="red", alpha=0.45, wrap=True,
        )  # fmt: skip
    suffix = Path(path).suffix.lstrip(".") or "png"
    write_atomic(Path(path), lambda tmp: fig.savefig(tmp, format=suffix, dpi=110), overwrite)
    plt.close(fig)
    return Path(path)


def _shade_forecast(ax, x, rows: pd.DataFrame, alpha: float) -> None:
    """Grey span over the forecast quarters (from half a quarter before the first)."""
    fc = rows["is_forecast"].to_numpy()
    if fc.any():
        start = x[fc].min().floor("D").to_pydatetime() - timedelta(days=45)
        ax.axvspan(start, x[fc].max().floor("D").to_pydatetime(), color="grey", alpha=alpha)


def _bands(ax, x, rows: pd.DataFrame, color: str) -> None:
    for lo, hi, alpha, label in BANDS:
        ax.fill_between(x, rows[lo], rows[hi], color=color, alpha=alpha, lw=0, label=label)
    ax.plot(x, rows["median"], color=color, lw=1.2, label="median")
    _shade_forecast(ax, x, rows, alpha=0.1)


def dhi_chart(table: pd.DataFrame, area: str, path: Path, overwrite: bool = False) -> Path:
    """The harm index of `area` (history and forecast, 50/80/95% bands) over the availability that
    drives it (reported beside the index, not in it)."""
    rows = table[table["area"] == area]
    index = rows[rows["quantity"] == "dhi"]
    if index.empty:
        raise ValueError(f"no index rows for area {area!r}")
    avail = rows[rows["quantity"] == "availability"]
    n = 2 if len(avail) else 1
    fig, axes = plt.subplots(n, 1, figsize=(9, 3.2 + 1.8 * (n - 1)), sharex=True, squeeze=False)
    ax = axes[0, 0]
    x = pd.PeriodIndex(index["period"], freq="Q").to_timestamp(how="end")
    _bands(ax, x, index, "tab:red")
    attr = rows[rows["quantity"] == "attributable_index"]
    if len(attr):  # the part the model links to availability, in the same index points
        xt = pd.PeriodIndex(attr["period"], freq="Q").to_timestamp(how="end")
        ax.fill_between(xt, attr["q10"], attr["q90"], color="tab:blue", alpha=0.25, lw=0)
        ax.plot(xt, attr["median"], color="tab:blue", lw=1.2, label="attributable to availability")
    ax.axhline(100, color="black", lw=0.6, ls=":")
    ax.set_title(
        f"Drug-related harm at fixed fractions and unit costs (DHI), {area} "
        f"({index['unit'].iloc[0]})",
        loc="left",
        fontsize=10,
    )
    ax.legend(ncol=4, fontsize=7, loc="upper left")
    if n == 2:
        ax2 = axes[1, 0]
        xa = pd.PeriodIndex(avail["period"], freq="Q").to_timestamp(how="end")
        _bands(ax2, xa, avail, "tab:purple")
        ax2.set_title(
            "Class A availability (driver, not part of the index)", loc="left", fontsize=9
        )
        ax2.set_ylabel("sd units", fontsize=8)
    fig.tight_layout()
    return _save(fig, path, overwrite)


def decomposition_chart(decomp: pd.DataFrame, path: Path, overwrite: bool = False) -> Path:
    """Bars of the change in the national index by outcome and by region, with 90%-ish (q10-q90 is
    80%, q2.5-q97.5 95%) intervals as error bars; the total is drawn first."""
    parts = [("outcome", "by outcome"), ("region", "by region")]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1, 2]})
    total = decomp[decomp["by"] == "total"].iloc[0]
    for ax, (by, title) in zip(axes, parts, strict=True):
        rows = pd.concat([decomp[decomp["by"] == "total"], decomp[decomp["by"] == by]])
        labels = ["total", *rows["component"].iloc[1:].astype(str)]
        y = range(len(rows))
        colors = ["black"] + ["tab:red" if m > 0 else "tab:blue" for m in rows["mean"].iloc[1:]]
        err = [rows["mean"] - rows["q10"], rows["q90"] - rows["mean"]]
        ax.barh(list(y), rows["mean"], color=colors, alpha=0.75, xerr=err, capsize=2)
        ax.set_yticks(list(y), labels, fontsize=8)
        ax.invert_yaxis()
        ax.axvline(0, color="black", lw=0.6)
        ax.set_title(f"{title}", loc="left", fontsize=10)
        ax.set_xlabel("index points (mean, 80% interval)", fontsize=8)
    fig.suptitle(
        f"Change in the Drugs Harm Index, {total['from']} to {total['to']}", x=0.01, ha="left"
    )
    fig.tight_layout()
    return _save(fig, path, overwrite)


def scenario_chart(table: pd.DataFrame, area: str, path: Path, overwrite: bool = False) -> Path:
    """Scenario minus baseline (percent of expected offences) for `area`, per outcome and quarter."""
    rows = table[(table["area"] == area) & (table["quantity"] == "percent")]
    if rows.empty:
        raise ValueError(f"no scenario rows for area {area!r}")
    outcomes = list(pd.unique(rows["outcome"]))
    fig, axes = plt.subplots(1, len(outcomes), figsize=(3.6 * len(outcomes), 3.2), sharey=True)
    axes = [axes] if len(outcomes) == 1 else list(axes)
    for ax, outcome in zip(axes, outcomes, strict=True):
        r = rows[rows["outcome"] == outcome]
        x = range(len(r))
        ax.bar(list(x), r["mean"], color="tab:orange", alpha=0.8)
        ax.errorbar(
            list(x),
            r["mean"],
            yerr=[r["mean"] - r["q5"], r["q95"] - r["mean"]],
            fmt="none",
            color="black",
            capsize=2,
            lw=0.8,
        )
        ax.set_xticks(list(x), list(r["period"]), rotation=90, fontsize=7)
        ax.axhline(0, color="black", lw=0.6)
        ax.set_title(outcome, loc="left", fontsize=10)
    axes[0].set_ylabel("% change in expected offences\n(mean, 90% interval)", fontsize=8)
    fig.suptitle(f"Scenario '{rows['scenario'].iloc[0]}' minus baseline: {area}", x=0.01, ha="left")
    fig.tight_layout()
    return _save(fig, path, overwrite)


def dhi_grid(
    table: pd.DataFrame,
    level: str,
    path: Path,
    overwrite: bool = False,
    quantity: str = "dhi",
) -> Path:
    """Small multiples (median, 80% and 95% bands) of the harm index (each area on its own base =
    100) or, with `quantity="availability"`, of estimated availability, for every area of `level`
    ("force" or "region")."""
    rows = table[(table["quantity"] == quantity) & (table["area_level"] == level)]
    color = "tab:red" if quantity == "dhi" else "tab:purple"
    areas = list(pd.unique(rows["area"]))
    if not areas:
        raise ValueError(f"no index rows at level {level!r}")
    ncol = 7 if len(areas) > 12 else 4
    nrow = -(-len(areas) // ncol)
    fig, axes = plt.subplots(
        nrow, ncol, figsize=(2.2 * ncol, 1.7 * nrow), sharex=True, squeeze=False
    )
    for ax, area in zip(axes.ravel(), areas, strict=False):
        r = rows[rows["area"] == area]
        x = pd.PeriodIndex(r["period"], freq="Q").to_timestamp(how="end")
        ax.fill_between(x, r["q2.5"], r["q97.5"], color=color, alpha=0.18, lw=0)
        ax.fill_between(x, r["q10"], r["q90"], color=color, alpha=0.3, lw=0)
        ax.plot(x, r["median"], color=color, lw=0.9)
        ax.axhline(100 if quantity == "dhi" else 0, color="black", lw=0.5, ls=":")
        _shade_forecast(ax, x, r, alpha=0.15)
        ax.set_title(area, fontsize=7, loc="left")
        ax.tick_params(labelsize=6)
    for ax in axes.ravel()[len(areas) :]:
        ax.axis("off")
    base = rows["base"].iloc[0] if "base" in rows else ""
    title = (
        f"Drugs Harm Index by {level} ({base} = 100)"
        if quantity == "dhi"
        else f"Class A availability by {level} (population-weighted; the index's driver)"
    )
    fig.suptitle(f"{title}, median with 80/95% bands", fontsize=9)
    fig.tight_layout()
    return _save(fig, path, overwrite)


def backtest_chart(summary: pd.DataFrame, path: Path, overwrite: bool = False) -> Path:
    """Mean CRPS by horizon per model (one panel per outcome), from a (model, outcome, horizon)
    summary."""
    outcomes = list(pd.unique(summary["outcome"]))
    fig, axes = plt.subplots(1, len(outcomes), figsize=(3.8 * len(outcomes), 3.2), squeeze=False)
    for ax, outcome in zip(axes[0], outcomes, strict=True):
        part = summary[summary["outcome"] == outcome]
        for model, rows in part.groupby("model"):
            ax.plot(rows["horizon"], rows["crps"], "o-", ms=3, label=model)
        ax.set_title(outcome, loc="left", fontsize=10)
        ax.set_xlabel("horizon (quarters)", fontsize=8)
    axes[0, 0].set_ylabel("mean CRPS (offences; lower is better)", fontsize=8)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path, overwrite)


def pit_histograms(scores: pd.DataFrame, path: Path, overwrite: bool = False) -> Path:
    """Randomised PIT histograms per model (flat = calibrated; U = too narrow; hump = too wide)."""
    models = list(pd.unique(scores["model"]))
    fig, axes = plt.subplots(1, len(models), figsize=(3.0 * len(models), 2.8), squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        pit = scores.loc[scores["model"] == model, "pit"].to_numpy()
        ax.hist(pit, bins=10, range=(0, 1), color="tab:blue", alpha=0.75, density=True)
        ax.axhline(1.0, color="black", lw=0.7, ls=":")
        ax.set_title(model, loc="left", fontsize=9)
        ax.set_xlabel("PIT", fontsize=8)
    fig.tight_layout()
    return _save(fig, path, overwrite)

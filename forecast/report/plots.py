"""Fan charts from the tidy summary table (50/80/95% bands, observed points, forecast shaded)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from forecast.io import write_atomic

BANDS = (("q2.5", "q97.5", 0.18, "95%"), ("q10", "q90", 0.3, "80%"), ("q25", "q75", 0.45, "50%"))


def fan_chart(
    table: pd.DataFrame,
    area: str,
    path: Path,
    quantity: str = "rate_per_100k",
    overwrite: bool = False,
) -> Path:
    """One panel per outcome for `area`: median, 50/80/95% bands, observed values, forecast shaded."""
    rows = table[(table["area"] == area) & (table["quantity"] == quantity)]
    if rows.empty:
        raise ValueError(f"no rows for area {area!r} and quantity {quantity!r}")
    outcomes = list(pd.unique(rows["outcome"]))
    fig, axes = plt.subplots(len(outcomes), 1, figsize=(9, 2.6 * len(outcomes)), sharex=True)
    axes = [axes] if len(outcomes) == 1 else list(axes)
    for ax, outcome in zip(axes, outcomes, strict=True):
        r = rows[rows["outcome"] == outcome]
        x = pd.PeriodIndex(r["period"], freq="Q").to_timestamp(how="end")
        for lo, hi, alpha, label in BANDS:
            ax.fill_between(x, r[lo], r[hi], color="tab:blue", alpha=alpha, lw=0, label=label)
        ax.plot(x, r["median"], color="tab:blue", lw=1.2, label="median")
        ax.plot(x, r["observed"], "o", ms=2.5, color="black", label="observed")
        fc = r["is_forecast"].to_numpy()
        if fc.any():
            ax.axvspan(x[fc].min() - pd.Timedelta(days=45), x[fc].max(), color="grey", alpha=0.1)
        ax.set_title(f"{area}: {outcome}", loc="left", fontsize=10)
        ax.set_ylabel(str(r["unit"].iloc[0]).replace(" population", "\npopulation"), fontsize=8)
    axes[0].legend(ncol=5, fontsize=7, loc="upper left")
    fig.tight_layout()
    suffix = Path(path).suffix.lstrip(".") or "png"
    write_atomic(Path(path), lambda tmp: fig.savefig(tmp, format=suffix, dpi=110), overwrite)
    plt.close(fig)
    return Path(path)


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
    suffix = Path(path).suffix.lstrip(".") or "png"
    write_atomic(Path(path), lambda tmp: fig.savefig(tmp, format=suffix, dpi=110), overwrite)
    plt.close(fig)
    return Path(path)

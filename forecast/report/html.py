"""The publication report: one self-contained HTML file (figures inlined as base64 PNG, CSS inline,
no scripts or network), readable in any browser offline."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

from forecast.core import dims

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1b1b1b; }
header { background: #12355b; color: white; padding: 18px 32px; }
header h1 { margin: 0 0 4px 0; font-size: 22px; }
header p { margin: 0; opacity: 0.85; }
nav { background: #eef2f6; padding: 8px 32px; font-size: 14px; position: sticky; top: 0; }
nav a { margin-right: 16px; color: #12355b; }
main { padding: 8px 32px 40px 32px; max-width: 1250px; }
section { border-bottom: 1px solid #dde3ea; padding-bottom: 14px; }
h2 { color: #12355b; margin-top: 26px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0 14px 0; }
th, td { border: 1px solid #cfd7e0; padding: 3px 8px; text-align: right; }
th { background: #eef2f6; }
td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; border: 1px solid #dde3ea; margin: 6px 0; }
.warning { background: #b00020; color: white; padding: 12px 32px; font-weight: bold; font-size: 16px; }
.pass { color: #1b6e2a; font-weight: bold; } .fail { color: #b00020; font-weight: bold; }
.headline { display: flex; flex-wrap: wrap; gap: 14px; }
.card { border: 1px solid #cfd7e0; border-radius: 6px; padding: 10px 16px; min-width: 200px; }
.card .big { font-size: 26px; font-weight: bold; color: #12355b; }
.small { font-size: 12px; color: #555; }
details summary { cursor: pointer; color: #12355b; margin: 6px 0; }
"""


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table(frame: pd.DataFrame, digits: int = 3) -> str:
    if frame is None or frame.empty:
        return '<p class="small">(none)</p>'
    return frame.to_html(
        index=False, float_format=lambda x: f"{x:,.{digits}f}", border=0, escape=True
    )


def _card(title: str, value: str, note: str) -> str:
    return (
        f'<div class="card"><div class="small">{html.escape(title)}</div>'
        f'<div class="big">{html.escape(value)}</div><div class="small">{html.escape(note)}</div></div>'
    )


def _availability_by_force(figures: dict[str, Path]) -> str:
    if "availability_forces" not in figures:
        return ""
    img = _img(figures["availability_forces"], "availability by force")
    return f"<details><summary>Availability by force</summary>{img}</details>"


def _measurement(measurement: pd.DataFrame) -> str:
    """How availability is measured: loadings, enforcement terms and indicators' own deviations."""
    if measurement.empty:
        return ""
    return (
        '<h3>How availability is measured</h3><p class="small">Loadings: the change in each '
        "indicator's log rate per unit of latent availability (the first indicator's is 1 by "
        "convention; signs fixed by meaning). Enforcement: the change in an indicator's log rate per "
        "sd of within-force enforcement effort (officers, drug arrests per 100,000), so that a force "
        "policing harder does not read as more supply. Own persistence and sd: the force "
        "deviations an indicator has of its own (92D follows stop and search), which availability "
        "does not carry; 90% intervals.</p>" + _table(measurement, 3)
    )


def _availability_method(spec) -> str:
    """One paragraph on what 'availability' is in this model."""
    if spec.availability.kind == "latent":
        national = (
            "its national component enters the link"
            if spec.availability.national_in_link
            else "the national trend takes national movement, so the effect is identified from "
            "regional and force deviations of availability"
        )
        return (
            "Availability is latent: national, regional and force AR(1) paths measured by the drug-"
            "market indicators listed under <i>How availability is measured</i>, each with its own "
            "force levels and, for enforcement-led indicators, terms for changes in enforcement effort "
            f"(police officers and drug arrests per 100,000); {national}. Effects are associations "
            "under the model's assumptions, not causal estimates."
        )
    if spec.availability.kind == "index":
        return (
            "Availability is the observed index of drug-offence rates, which measures policing effort "
            "as much as supply: read its effect as an association with enforcement activity."
        )
    return ""


def render_report(
    *,
    title: str,
    warning: str,
    table: pd.DataFrame,
    dhi: pd.DataFrame,
    decomposition: pd.DataFrame,
    sensitivity: pd.DataFrame,
    effects: pd.DataFrame,
    measurement: pd.DataFrame,
    checks: pd.DataFrame,
    flags: pd.DataFrame,
    coverage: pd.DataFrame,
    scores: pd.DataFrame | None,
    figures: dict[str, Path],
    spec,
    weights: pd.DataFrame,
    fractions: pd.DataFrame,
    panel,
    base: str,
    attributable: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
) -> str:
    """The whole report as one HTML string."""
    nat = table[(table["area_level"] == "national") & (table["quantity"] == "count")]
    d = dhi[(dhi["area_level"] == "national") & (dhi["quantity"] == "dhi")]
    warn = f'<div class="warning">{html.escape(warning)}</div>' if warning else ""
    sections = [
        _headline(nat, d, base),
        _forecasts(nat, table, figures, _windowed_note(spec, panel)),
        _harm(d, figures, base, decomposition, sensitivity, weights, attributable, events),
        _availability(effects, figures, measurement),
        _data(coverage, flags),
        f'<section id="diagnostics"><h2>Diagnostics and checks</h2>{_table(checks, 3)}</section>',
        f'<section id="backtest"><h2>Backtest scores</h2>{_backtest(scores)}</section>',
        _methods(spec, weights, fractions, panel),
    ]
    return (
        _top(title, warn, spec, panel, checks) + "\n".join(sections) + "\n</main></body></html>\n"
    )


def _top(title: str, warn: str, spec, panel, checks: pd.DataFrame) -> str:
    """The document head, the warning banner, the title bar with the check status, the navigation."""
    passed = bool(checks["passed"].all())
    status = (
        '<span class="pass">all checks passed</span>'
        if passed
        else '<span class="fail">checks failed</span>'
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{CSS}</style></head>
<body>
{warn}
<header><h1>{html.escape(title)}</h1>
<p>Model <b>{html.escape(spec.name)}</b> · data vintage {html.escape(str(panel.attrs.get("vintage", "")))} ·
{panel.sizes[dims.FORCE]} forces × {panel.sizes[dims.PERIOD]} quarters · {status}</p></header>
<nav><a href="#headline">Headline</a><a href="#forecasts">Forecasts</a><a href="#dhi">Harm index</a>
<a href="#availability">Availability</a><a href="#data">Data</a><a href="#diagnostics">Diagnostics</a>
<a href="#backtest">Backtest</a><a href="#methods">Methods and sources</a></nav>
<main>
{warn}
"""


def _headline(nat: pd.DataFrame, d: pd.DataFrame, base: str) -> str:
    """Cards: next quarter's national forecast per outcome, the index now and at the horizon."""
    nat1 = nat[nat["horizon"] == 1]
    top = nat["area"].iloc[0]
    cards = [
        _card(
            f"{r['outcome']}, {r['period']} ({top})",
            f"{r['median']:,.0f}",
            f"80%: {r['q10']:,.0f} to {r['q90']:,.0f}; 95%: {r['q2.5']:,.0f} to {r['q97.5']:,.0f}",
        )
        for r in nat1.to_dict("records")
    ]
    last_obs, last = d[~d["is_forecast"]].iloc[-1], d.iloc[-1]
    cards.append(
        _card(
            f"Drugs Harm Index, {last_obs['period']} ({base} = 100)",
            f"{last_obs['median']:.1f}",
            f"95%: {last_obs['q2.5']:.1f} to {last_obs['q97.5']:.1f}",
        )
    )
    cards.append(
        _card(
            f"Drugs Harm Index forecast, {last['period']}",
            f"{last['median']:.1f}",
            f"80%: {last['q10']:.1f} to {last['q90']:.1f}; 95%: {last['q2.5']:.1f} to {last['q97.5']:.1f}",
        )
    )
    return f"""<section id="headline"><h2>Headline figures</h2><div class="headline">{"".join(cards)}</div>
<p class="small">Medians of the posterior predictive distribution with central intervals. Regions and
England and Wales are sums of force draws, so every level agrees.</p></section>"""


def _windowed_note(spec, panel) -> str:
    """What is annual: outcomes the data give only as window sums, said in words under the charts."""
    notes = []
    for o in spec.observations:
        if o.variable not in panel or o.proxy:
            continue
        da = panel[o.variable]
        seen = int((da.notnull().sum(dims.PERIOD) > 0).sum()) if dims.FORCE in da.dims else 0
        kind = html.escape(str(da.attrs.get("aggregation", "window sum")))
        notes.append(
            f"<p><b>{html.escape(o.outcome)}</b> is published only as {kind}s ({seen} of "
            f"{panel.sizes[dims.FORCE]} forces; the last ends in {_last(da, panel)}, and after it "
            f"{_after(spec, panel, o.outcome)}). Its quarterly history is the model's split of each "
            "published total into quarters (inside the modelled quarters the draws add up exactly to "
            "each total); the black bars on the charts are each total divided by its quarters. Where "
            "a member force has no total (an area with Welsh forces for knife) no bar is drawn."
            f"{_flat(spec, o.outcome)}</p>"
        )
    return "".join(notes)


def _last(da, panel) -> str:
    have = da.notnull().any([d for d in da.dims if d != dims.PERIOD]).values
    return str(panel.indexes[dims.PERIOD][have][-1]) if have.any() else "none"


def _after(spec, panel, outcome: str) -> str:
    """What the band rests on after an outcome's sums end: its proxies, or the model alone."""
    proxies = [o.variable for o in spec.observations if o.proxy and o.outcome == outcome]
    proxies = [f"{html.escape(v)} (to {_last(panel[v], panel)})" for v in proxies if v in panel]
    if not proxies:
        return "the band rests on the model alone"
    return (
        f"the band rests on the quarterly proxy {', '.join(proxies)}, whose ratio to "
        f"{html.escape(outcome)} may drift (README, Quarterly proxies)"
    )


def _flat(spec, outcome: str) -> str:
    if outcome not in spec.seasonality.flat:
        return ""
    return (
        f" No data show {html.escape(outcome)}'s quarter-of-year pattern, so the model gives it "
        "none: each year's total is split in proportion to population and trend."
    )


def _forecasts(
    nat: pd.DataFrame, table: pd.DataFrame, figures: dict[str, Path], note: str = ""
) -> str:
    """Fan charts (England and Wales, each region, each force folded), the national table and what
    is observed only annually."""
    regions = [a for a in figures if a in set(table.loc[table["area_level"] == "region", "area"])]
    forces = [a for a in figures if a in set(table.loc[table["area_level"] == "force", "area"])]
    fan_regions = "".join(_img(figures[a], f"fan chart {a}") for a in regions)
    fan_forces = "".join(
        f"<details><summary>{html.escape(a)}</summary>{_img(figures[a], f'fan chart {a}')}</details>"
        for a in forces
    )
    forecast_rows = nat[nat["horizon"] > 0][
        ["period", "outcome", "median", "q10", "q90", "q2.5", "q97.5"]
    ]
    return f"""<section id="forecasts"><h2>Forecasts</h2>
{_img(figures["national"], "fan chart, England and Wales")}
{note}
{_table(forecast_rows, 0)}
<h3>Regions</h3>{fan_regions}
<h3>Forces</h3><p class="small">Select a force to open its fan chart.</p>{fan_forces}</section>"""


def _harm(
    d: pd.DataFrame,
    figures: dict[str, Path],
    base: str,
    decomposition: pd.DataFrame,
    sensitivity: pd.DataFrame,
    weights: pd.DataFrame,
    attributable: pd.DataFrame | None,
    events: pd.DataFrame | None,
) -> str:
    """The Drugs Harm Index: chart and table, notes, what changed, sensitivity, regions and forces."""
    dhi_rows = d.tail(8)[["period", "is_forecast", "median", "q10", "q90", "q2.5", "q97.5"]]
    return f"""<section id="dhi"><h2>Drugs Harm Index</h2>
<p>Drug-related harm at fixed attributable fractions and fixed unit costs: count × drug-attributable
fraction × unit weight, summed, {html.escape(base)} = 100; fractions are uncertain (Beta priors) and
their uncertainty is in the intervals. This index moves with any change in violence, whatever its
cause. Availability is shown beside it as its driver, never summed into it.</p>
{_img(figures["dhi"], "Drugs Harm Index")}
{_table(dhi_rows, 1)}
{_harm_notes(weights, base, attributable, events)}
<h3>What changed</h3>{_img(figures["dhi_decomposition"], "decomposition")}
{_table(decomposition[decomposition["by"] != "force"], 2)}
<h3>Sensitivity to the attributable fractions</h3>{_table(sensitivity, 3)}
<h3>By region and force</h3>{_img(figures["dhi_regions"], "index by region")}
{_img(figures["dhi_forces"], "index by force")}</section>"""


def _availability(effects: pd.DataFrame, figures: dict[str, Path], measurement) -> str:
    """The availability effects, availability by region and force, and how it is measured."""
    effects_note = (
        "Effects are on the log rate per standard deviation of availability's within-force variation "
        "(exp(effect) is the rate ratio); 90% intervals."
    )
    return f"""<section id="availability"><h2>Class A availability and its estimated effect</h2>
<p class="small">{effects_note}</p>{_table(effects, 3)}
{_img(figures["availability_regions"], "availability by region")}
{_availability_by_force(figures)}{_measurement(measurement)}</section>"""


def _data(coverage: pd.DataFrame, flags: pd.DataFrame) -> str:
    """Data coverage, the known breaks in range and the implausible jumps flagged."""
    breaks = flags[flags["check"].str.startswith("known break")]
    jumps = flags[flags["check"] == "implausible jump"]
    return f"""<section id="data"><h2>Data coverage and breaks</h2>{_table(coverage, 0)}
<h3>Known breaks in range</h3>{_table(breaks, 0)}
<h3>Implausible jumps flagged ({len(jumps)})</h3>
<details><summary>Show the flagged values</summary>{_table(jumps, 0)}</details></section>"""


def _backtest(scores: pd.DataFrame | None) -> str:
    """The attached backtest's scores, or how to attach one."""
    return (
        _table(scores)
        if scores is not None
        else '<p class="small">No backtest attached (run <code>forecast backtest</code> and pass '
        "<code>--backtest DIR</code>).</p>"
    )


def _methods(spec, weights: pd.DataFrame, fractions: pd.DataFrame, panel) -> str:
    """The model in a paragraph, the harm weights, the attributable fractions and the sources."""
    sources = panel.attrs.get("sources", "")
    weight_rows = weights.reset_index()[["outcome", "weight", "unit", "price_year", "source"]]
    fraction_rows = fractions.reset_index()[["outcome", "a", "b", "source"]]
    return f"""<section id="methods"><h2>Methods and sources</h2>
<p>Negative binomial counts per force, quarter and outcome with a log-population offset, partially
pooled force effects (sum to zero), quarter-of-year seasonality, a national random-walk trend per
outcome, recording-break steps from the break register, and the lagged effect of Class A availability.
{_availability_method(spec)}
Forecasts carry every component forward (trend, availability dynamics, seasonality, population).
The full specification is in the bundle's <code>manifest.json</code>; the posterior is
<code>posterior.nc</code> (opens with <code>arviz.from_netcdf</code>).</p>
<h3>Harm weights</h3>{_table(weight_rows, 0)}
<h3>Attributable fractions (Beta priors)</h3>{_table(fraction_rows, 1)}
<h3>Data sources</h3><p class="small">{html.escape(str(sources))}</p></section>"""


def _harm_notes(
    weights: pd.DataFrame, base: str, attributable: pd.DataFrame | None, events: pd.DataFrame | None
) -> str:
    """Units and price year of the weights, the availability-attributable harm and the exceptional
    events left out of both indices."""
    year = str(weights["price_year"].iloc[0])
    unit = str(weights["unit"].iloc[0])
    parts = [
        f'<p class="small">Weights: {html.escape(unit)}, {html.escape(year or "no")} prices. The '
        "index does not depend on the price year (it cancels); harm in pounds does: to uprate to "
        "another year multiply by the ratio of HM Treasury GDP deflators (that year / "
        f"{html.escape(year)}), one edition of the unit costs throughout.</p>"
    ]
    if attributable is not None:
        rows = attributable[attributable["by"].isin(["total", "outcome", "region"])]
        ref = html.escape(str(attributable["reference"].iloc[0]))
        parts.append(
            "<h3>Harm the model attributes to the change in availability</h3>"
            f"<p>Harm under the fitted availability minus harm with each force's availability held "
            f"at the reference ({ref}), with the same draws; summed over the quarters below, 50% "
            "and 90% intervals. This is an association under the model's assumptions (no "
            "confounding beyond the trend, seasonality and breaks; the fitted lags), not a causal "
            "estimate.</p>" + _table(rows, 3)
        )
    if events is not None and len(events):
        parts.append(
            '<h3>Exceptional events left out</h3><p class="small">Multiple-victim incidents '
            "recorded at once (ONS reports homicide trends without them): taken out of the "
            "likelihood and of both indices.</p>" + _table(events, 0)
        )
    return "".join(parts)

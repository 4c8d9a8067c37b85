"""The exceptional-events register: out of the likelihood's counts and the indices, back by option,
one event touches only its own force and quarter, and bad rows fail with file, row and column."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from forecast.core.errors import DataError
from forecast.fit import fit_panel, fit_spec
from forecast.ingest.events import (
    EVENT_COLUMNS,
    PANEL_ATTR,
    applied_events,
    panel_register,
    read_register,
)
from forecast.model.data import prepare_data
from forecast.outputs.harm import harm_draws, load_fractions, load_weights
from forecast.predict import EXCLUDED, predict

OUTCOMES = ["homicide", "robbery", "knife"]
KENT = {"force": "Kent", "quarter": "2014Q3", "outcome": "homicide", "victims": "6"}
ESSEX = {"force": "Essex", "quarter": "2015Q1", "outcome": "robbery", "victims": "40"}


def _row(event: dict) -> dict:
    return {**event, "description": "test incident", "source": "ONS, test note"}


def _with_register(tree, events: list[dict]):
    out = tree.copy()
    panel = out["panel"].to_dataset()
    panel.attrs[PANEL_ATTR] = json.dumps([_row(e) for e in events])
    out["panel"] = panel
    return out


def _harm(tree, with_events=False):
    w, f = load_weights("home_office", OUTCOMES), load_fractions(None, OUTCOMES)
    return harm_draws(predict(tree, horizon=2, seed=3), w, f, seed=5, with_events=with_events)


def test_events_leave_the_likelihood_counts_and_removing_one_changes_only_its_cell(tiny_fit):
    panel, spec = fit_panel(tiny_fit), fit_spec(tiny_fit)
    both = _with_register(tiny_fit, [KENT, ESSEX])
    kent_only = _with_register(tiny_fit, [KENT])
    data = prepare_data(fit_panel(both), spec)
    plain = prepare_data(panel, spec)
    diff = plain.count - data.count
    f, t = data.forces.index("Kent"), list(map(str, data.periods)).index("2014Q3")
    g, u = data.forces.index("Essex"), list(map(str, data.periods)).index("2015Q1")
    assert diff[f, t, 0] == 6 and diff[g, u, 1] == 40 and np.nansum(diff) == 46
    np.testing.assert_array_equal(data.excluded, diff)
    assert "exceptional events: 46 victims in 2 cells taken out of the likelihood" in data.notes
    h_both, h_kent = _harm(both)["harm"], _harm(kent_only)["harm"]
    changed = (h_both != h_kent).any(("chain", "draw"))
    assert changed.sum() == 1 and bool(
        changed.sel(force="Essex", period="2015Q1", outcome="robbery")
    )
    # with --with-events the victims are back, at their cell's fraction and weight
    back = _harm(both, with_events=True)
    added = back["harm"] - _harm(both)["harm"]
    expected = 40 * back["fraction"].sel(outcome="robbery") * back["weight"].sel(outcome="robbery")
    np.testing.assert_allclose(
        added.sel(force="Essex", period="2015Q1", outcome="robbery"), expected
    )
    assert back.attrs["events"] == "included" and _harm(both).attrs["events"] == "excluded"


def test_simulated_panels_carry_no_register_and_predictions_no_excluded_cells(tiny_fit):
    assert panel_register(fit_panel(tiny_fit)).empty
    assert EXCLUDED not in predict(tiny_fit, horizon=1, seed=1)


def test_an_event_larger_than_its_recorded_count_is_refused(tiny_fit):
    tree = _with_register(tiny_fit, [{**KENT, "victims": "96"}])
    with pytest.raises(DataError, match=r"Kent 2014Q3 homicide: 96 victims but only 10 recorded"):
        prepare_data(fit_panel(tree), fit_spec(tiny_fit))


def test_applied_events_lists_what_falls_in_the_panel(tiny_fit):
    table = applied_events(fit_panel(_with_register(tiny_fit, [KENT, {**KENT, "force": "Durham"}])))
    assert list(table.columns[:6]) == [
        "force",
        "quarter",
        "outcome",
        "victims",
        "recorded",
        "in_panel",
    ]
    assert table["in_panel"].tolist() == [True, False]
    assert table["recorded"].iloc[0] == 10


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"quarter": "2016 Q9"}, r"row 2, column 'quarter': '2016 Q9' is not like 2016Q2"),
        ({"outcome": "arson"}, r"row 2, column 'outcome': 'arson'"),
        ({"victims": "-3"}, r"row 2, column 'victims': '-3' is not a positive count"),
        ({"source": " "}, r"row 2, column 'source': empty"),
        ({"force": "Kentt"}, r"row 2, column 'force'.*Kent"),
    ],
)
def test_bad_register_rows_fail_with_file_row_and_column(tmp_path, change, message):
    path = tmp_path / "events.csv"
    pd.DataFrame([{**_row(KENT), **change}], columns=list(EVENT_COLUMNS)).to_csv(path, index=False)
    with pytest.raises(DataError, match=message):
        read_register(path)


def test_the_shipped_register_cites_ons_for_every_event():
    table = read_register()
    assert len(table) >= 5 and (table["outcome"] == "homicide").all()
    assert table["source"].str.contains("ONS, Homicide in England and Wales").all()
    assert table["source"].str.contains("https://www.ons.gov.uk/").all()
    hillsborough = table[table["force"] == "South Yorkshire"].iloc[0]
    assert (hillsborough["quarter"], hillsborough["victims"]) == ("2016Q2", 96)
    lorry = table[table["force"] == "Essex"].iloc[0]
    assert (lorry["quarter"], lorry["victims"]) == ("2019Q4", 39)

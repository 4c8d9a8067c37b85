import pandas as pd
import pytest

from forecast.core.errors import DataError
from forecast.core.periods import financial_label, parse_quarter, quarter_range


@pytest.mark.parametrize("text", ["2024Q3", "2024-Q3", "2024 q3"])
def test_parse_quarter_accepts_common_forms(text):
    assert parse_quarter(text) == pd.Period("2024Q3", freq="Q")


def test_parse_quarter_rejects_other_text_with_a_hint():
    with pytest.raises(
        DataError, match=r"f\.csv: '2024-07' is not a calendar quarter: write it like 2024Q3"
    ):
        parse_quarter("2024-07", "f.csv")


@pytest.mark.parametrize(
    ("period", "label"),
    [
        ("2012Q2", "2012/13 Q1"),
        ("2012Q4", "2012/13 Q3"),
        ("2013Q1", "2012/13 Q4"),
        ("2023Q2", "2023/24 Q1"),
    ],
)
def test_financial_labels(period, label):
    assert financial_label(pd.Period(period, freq="Q")) == label


def test_quarter_range_is_consecutive():
    r = quarter_range("2019Q4", 3)
    assert [str(p) for p in r] == ["2019Q4", "2020Q1", "2020Q2"]

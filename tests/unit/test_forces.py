import pytest

from forecast.core.errors import DataError
from forecast.core.forces import force_register, normalise_force


def test_register_has_43_territorial_forces_with_codes_and_regions():
    reg = force_register()
    assert len(reg) == 43
    assert reg["force_code"].is_unique
    assert (reg["force_code"].str.match(r"^(E23|W15)\d{6}$")).all()
    assert set(reg.loc[reg["country"] == "Wales", "force"]) == {
        "North Wales",
        "Gwent",
        "South Wales",
        "Dyfed-Powys",
    }
    assert reg["region"].nunique() == 10  # 9 English regions + Wales
    # reference populations of realistic size: E&W about 59-60 million in mid-2020
    assert 59e6 < reg["population_mid2020"].sum() < 61e6
    assert reg.at["London, City of", "population_mid2020"] < 20_000


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("Devon & Cornwall", "Devon and Cornwall"),
        ("Metropolitan Police Service", "Metropolitan Police"),
        ("Dyfed Powys", "Dyfed-Powys"),
        ("London, City of", "London, City of"),
        ("City of London", "London, City of"),
        ("AVON & SOMERSET CONSTABULARY", "Avon and Somerset"),
        ("Kent Police", "Kent"),
        ("greater manchester", "Greater Manchester"),
        ("E23000032", "Kent"),
        ("Chesire", "Cheshire"),
    ],
)
def test_publishers_spellings_normalise(spelling, canonical):
    assert normalise_force(spelling) == canonical


def test_unknown_force_error_suggests_the_nearest_name():
    with pytest.raises(
        DataError,
        match=r"data\.csv, row 7: unknown police force 'Lancshire': did you mean 'Lancashire'\?",
    ):
        normalise_force("Lancshire", where="data.csv, row 7")


def test_unknown_force_without_close_match_points_to_register():
    with pytest.raises(DataError, match=r"see data/forces\.csv"):
        normalise_force("Atlantis")

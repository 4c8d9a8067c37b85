"""Names of dimensions, coordinates and outcomes, in one place so no bare string is repeated."""

FORCE = "force"
REGION = "region"
GOR = "gor"  # dim of region-level series (the force dim has a `region` coordinate)
PERIOD = "period"
OUTCOME = "outcome"
QUARTER = "quarter_of_year"
CHAIN = "chain"
DRAW = "draw"
HORIZON = "horizon"
AREA = "area"
AREA_LEVEL = "area_level"
FORCE_CODE = "force_code"

OUTCOMES: tuple[str, ...] = ("homicide", "robbery", "knife")

# Panel variable names (see forecast.ingest.panel for their meaning and units).
COUNT = "count"
POPULATION = "population"
AVAILABILITY_INDEX = "availability_index"

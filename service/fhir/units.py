"""UCUM unit → canonical unit of a concept (``summary.CANONICAL_UNITS``), by an explicit table.

Why a table and not a UCUM library: the service needs ~25 units whose factors are exact definitions
(avoirdupois pound, international inch) or analyte-specific molar conversions (25-OH D nmol/L ÷ 2.496,
creatinine umol/L ÷ 88.4) that a generic UCUM library cannot do without a molar mass. ``ucumvert``
(pint + lark) was evaluated: 0.7 s start-up, ~0.3 ms per parse, no molar conversions, reads the wild
``g/cm-2`` as g·cm² and ``{T-score}`` as an annotation. A unit not in the table drops the value; it is
never guessed.
"""

from __future__ import annotations

from service.fhir.summary import Concept

UCUM = "http://unitsofmeasure.org"

# unit families: UCUM code → factor to the family's canonical unit
_MASS = {"kg": 1.0, "g": 0.001, "[lb_av]": 0.45359237, "[oz_av]": 0.028349523125}
_LENGTH = {"cm": 1.0, "m": 100.0, "mm": 0.1, "[in_i]": 2.54}
_VOLUME = {"L": 1.0, "l": 1.0, "mL": 0.001, "ml": 0.001}
_PERCENT = {"%": 1.0}
_BMI = {"kg/m2": 1.0}
_PRESSURE = {"cm[H2O]": 1.0}
_VITD = {"ng/mL": 1.0, "ug/L": 1.0, "nmol/L": 1 / 2.496}  # 25-OH D: 1 ng/mL = 2.496 nmol/L
_CREATININE = {"mg/dL": 1.0, "umol/L": 1 / 88.4}  # creatinine: 1 mg/dL = 88.4 umol/L
_MG_L = {"mg/L": 1.0}
_MG_DL = {"mg/dL": 1.0}
_BMD = {"g/cm2": 1.0}
_SCORE = {"SD": 1.0}

FAMILIES: dict[Concept, dict[str, float]] = {
    Concept.WEIGHT: _MASS,
    Concept.USUAL_WEIGHT: _MASS,
    Concept.HEIGHT: _LENGTH,
    Concept.BMI: _BMI,
    Concept.BMI_PERCENTILE: _PERCENT,
    Concept.WEIGHT_FOR_LENGTH_PERCENTILE: _PERCENT,
    Concept.FVC: _VOLUME,
    Concept.FVC_PREDICTED: _VOLUME,
    Concept.FVC_PCT_PREDICTED: _PERCENT,
    Concept.VC: _VOLUME,
    Concept.VC_PREDICTED: _VOLUME,
    Concept.VC_PCT_PREDICTED: _PERCENT,
    Concept.MIP: _PRESSURE,
    Concept.SNIP: _PRESSURE,
    Concept.VITAMIN_D_25OH: _VITD,
    Concept.CREATININE: _CREATININE,
    Concept.CYSTATIN_C: _MG_L,
    Concept.CALCIUM: _MG_DL,
    Concept.BMD: _BMD,
    Concept.T_SCORE: _SCORE,
    Concept.Z_SCORE: _SCORE,
}

# Other valid UCUM spellings of a unit in the families (UCUM has both "l" and "L" for the litre, and
# an annotation such as {T-score} is a unity): read without comment.
_UCUM_SPELLINGS = {
    "ml": "mL",
    "ng/ml": "ng/mL",
    "nmol/l": "nmol/L",
    "mg/dl": "mg/dL",
    "umol/l": "umol/L",
    "ug/l": "ug/L",
    "mg/l": "mg/L",
    "{T-score}": "SD",
    "{Z-score}": "SD",
    "{SD}": "SD",
    "{s.d.}": "SD",
    "1": "SD",
    "{score}": "SD",
}
# Spellings that are NOT UCUM but appear in real feeds, each
# meaning exactly one UCUM unit. Only these are accepted, byte for byte (never a case-insensitive or
# fuzzy guess), and every use is recorded (``Measurement.unit_alias``, ``IntakeStats.unit_aliases``).
# "g/cm-2" is wrong UCUM (it would be g·cm²) but only ever means g/cm² on a BMD value.
UNIT_ALIASES: dict[str, str] = {
    "lb": "[lb_av]",
    "lbs": "[lb_av]",
    "Lb": "[lb_av]",
    "Lbs": "[lb_av]",
    "LB": "[lb_av]",
    "LBS": "[lb_av]",
    "oz": "[oz_av]",
    "kgs": "kg",
    "Kg": "kg",
    "KG": "kg",
    "Kgs": "kg",
    "KGS": "kg",
    "in": "[in_i]",
    "inch": "[in_i]",
    "inches": "[in_i]",
    "ML": "mL",
    "NG/ML": "ng/mL",
    "NMOL/L": "nmol/L",
    "g/cm^2": "g/cm2",
    "g/cm²": "g/cm2",
    "g/cm-2": "g/cm2",
    "g/(cm2)": "g/cm2",
    "kg/m^2": "kg/m2",
    "kg/m²": "kg/m2",
    "µmol/L": "umol/L",
    "μmol/L": "umol/L",
    "µg/L": "ug/L",
    "μg/L": "ug/L",
    "cmH2O": "cm[H2O]",
    "cm H2O": "cm[H2O]",
}
# Scores are dimensionless: no unit at all is still a valid score.
_UNITLESS_OK = {Concept.T_SCORE, Concept.Z_SCORE}


def normalise(unit: str | None) -> str | None:
    """A unit string as the table's UCUM code (spellings and aliases resolved); None when empty."""
    return resolve(unit)[0]


def resolve(unit: str | None) -> tuple[str | None, str | None]:
    """(UCUM code of the table, the non-UCUM alias that was used or None); (None, None) when empty."""
    if unit is None:
        return None, None
    u = unit.strip()
    if not u:
        return None, None
    if u in UNIT_ALIASES:
        return UNIT_ALIASES[u], u
    return _UCUM_SPELLINGS.get(u, u), None


def unit_of(quantity: dict) -> str | None:
    """The unit of a FHIR Quantity: the UCUM ``code`` when present, else the human ``unit``."""
    return quantity_unit(quantity)[0]


def quantity_unit(quantity: dict) -> tuple[str | None, str | None]:
    """(unit, alias used) of a FHIR Quantity: the UCUM ``code`` when present, else the human ``unit``."""
    code = quantity.get("code")
    system = quantity.get("system")
    if isinstance(code, str) and code.strip() and system in (None, UCUM):
        return resolve(code)
    unit = quantity.get("unit")
    return resolve(unit) if isinstance(unit, str) else (None, None)


def to_canonical(concept: Concept, value: float, unit: str | None) -> tuple[float | None, str | None]:
    """(value in canonical unit, None) or (None, reason). ``unit`` should come from ``unit_of``."""
    family = FAMILIES.get(concept)
    if family is None:
        return None, "concept has no unit table"
    if unit is None:
        if concept in _UNITLESS_OK:
            return value, None
        return None, "missing unit"
    factor = family.get(unit)
    if factor is None:
        return None, f"unknown unit '{unit[:20]}'"
    return value * factor, None

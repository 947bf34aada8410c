"""Every unit conversion (UCUM codes; an unknown unit is dropped, never guessed), through units.py and
through a whole Observation."""

from __future__ import annotations

import pytest

from service.fhir.summary import CANONICAL_UNITS, Concept
from service.fhir.units import to_canonical, unit_of
from tests.fhir.helpers import obs, qty, reasons, run

CASES = [
    # (LOINC, value, UCUM code, concept, expected canonical value)
    ("29463-7", 70, "kg", Concept.WEIGHT, 70.0),
    ("29463-7", 154.3, "[lb_av]", Concept.WEIGHT, 154.3 * 0.45359237),
    ("29463-7", 112, "[oz_av]", Concept.WEIGHT, 112 * 0.028349523125),
    ("29463-7", 3250, "g", Concept.WEIGHT, 3.25),
    ("8302-2", 150, "cm", Concept.HEIGHT, 150.0),
    ("8302-2", 60, "[in_i]", Concept.HEIGHT, 152.4),
    ("8302-2", 1.52, "m", Concept.HEIGHT, 152.0),
    ("19870-5", 2.1, "L", Concept.FVC, 2.1),
    ("19870-5", 2100, "mL", Concept.FVC, 2.1),
    ("19867-1", 950, "mL", Concept.VC, 0.95),
    ("62292-8", 18, "ng/mL", Concept.VITAMIN_D_25OH, 18.0),
    ("62292-8", 49.92, "nmol/L", Concept.VITAMIN_D_25OH, 20.0),
    ("14635-7", 24.96, "nmol/L", Concept.VITAMIN_D_25OH, 10.0),
    ("2160-0", 0.3, "mg/dL", Concept.CREATININE, 0.3),
    ("2160-0", 26.52, "umol/L", Concept.CREATININE, 0.3),
    ("2160-0", 26.52, "µmol/L", Concept.CREATININE, 0.3),
    ("33863-2", 0.9, "mg/L", Concept.CYSTATIN_C, 0.9),
    ("24966-4", 0.71, "g/cm2", Concept.BMD, 0.71),
    ("24966-4", 0.71, "g/cm^2", Concept.BMD, 0.71),
    ("24966-4", 0.71, "g/cm²", Concept.BMD, 0.71),
    ("24966-4", 0.71, "g/cm-2", Concept.BMD, 0.71),  # wrong UCUM seen in the FHIR bmd example
    ("38267-1", -2.6, "{T-score}", Concept.T_SCORE, -2.6),
    ("85394-5", -2.1, "{Z-score}", Concept.Z_SCORE, -2.1),
    ("85394-5", -2.1, "{SD}", Concept.Z_SCORE, -2.1),
    ("85394-5", -2.1, "1", Concept.Z_SCORE, -2.1),
    ("85394-5", -2.1, "SD", Concept.Z_SCORE, -2.1),
    ("85394-5", -2.1, None, Concept.Z_SCORE, -2.1),  # scores need no unit
    ("39156-5", 17.2, "kg/m2", Concept.BMI, 17.2),
    ("59576-9", 4, "%", Concept.BMI_PERCENTILE, 4.0),
    ("19872-1", 48, "%", Concept.FVC_PCT_PREDICTED, 48.0),
]


@pytest.mark.parametrize("loinc, value, unit, concept, expected", CASES)
def test_conversion_to_canonical_unit(loinc, value, unit, concept, expected) -> None:
    s = run(obs(loinc, value, unit))
    m = s.latest(concept)
    assert m is not None, s.dropped
    assert m.value == pytest.approx(expected, abs=1e-6)
    assert m.unit == CANONICAL_UNITS[concept]


@pytest.mark.parametrize(
    "loinc, value, unit, reason",
    [
        ("29463-7", 11, "[stone_av]", "unknown unit '[stone_av]'"),
        ("29463-7", 70, None, "missing unit"),
        ("8302-2", 150, "kg", "unknown unit 'kg'"),
        ("62292-8", 20, "mg/dL", "unknown unit 'mg/dL'"),
        ("24966-4", 0.8, None, "missing unit"),
        ("38263-0", 0.8, "g/cm2", "unknown unit 'g/cm2'"),  # "femoral neck BMD" under a T-score code
    ],
)
def test_missing_or_unknown_unit_is_dropped_never_guessed(loinc, value, unit, reason) -> None:
    s = run(obs(loinc, value, unit))
    assert s.measurements == ()
    assert reasons(s) == [reason]


@pytest.mark.parametrize(
    "quantity, expected",
    [
        (qty(1, "[lb_av]", unit="lbs"), "[lb_av]"),  # the UCUM code wins over the human unit
        ({"value": 1, "unit": "kg"}, "kg"),  # no code: a unit text that is a UCUM code
        ({"value": 1, "unit": "lbs"}, "[lb_av]"),  # no code, not UCUM: the alias table
        ({"value": 1, "unit": "stone"}, "stone"),  # no code, not UCUM, no alias: later "unknown unit"
        ({"value": 1, "system": "http://example.org/units", "code": "x", "unit": "kg"}, "kg"),
        ({"value": 1}, None),
    ],
)
def test_unit_of_quantity(quantity, expected) -> None:
    assert unit_of(quantity) == expected


def test_every_concept_has_a_unit_table() -> None:
    for concept in Concept:
        value, reason = to_canonical(concept, 1.0, "definitely-not-a-unit")
        assert value is None and reason and reason.startswith("unknown unit")


@pytest.mark.parametrize(
    "value, unit, concept_code, shown",
    [  # card evidence shows converted values with at most two decimals
        (30, "nmol/L", "14635-7", "12.02 ng/mL"),
        (158.7, "[lb_av]", "29463-7", "71.99 kg"),  # 71.985 kg
        (67.6, "kg", "29463-7", "67.6 kg"),
    ],
)
def test_measurement_display_rounds_converted_values(value, unit, concept_code, shown) -> None:
    from tests.fhir.helpers import obs, run

    (m,) = run(obs(concept_code, value, unit)).measurements
    assert m.display == shown

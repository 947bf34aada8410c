"""What the data layer reports beside the summary (for the explain report and the log): the codes no
value set knows, counted by (system, code, display), and every non-UCUM unit alias it read."""

from __future__ import annotations

import logging

import pytest

from service.fhir.units import UNIT_ALIASES, resolve
from tests.fhir.helpers import LOINC, RXNORM, SNOMED, cc, obs, stats


def test_codes_no_value_set_knows_are_counted() -> None:
    unknown = obs(cc(LOINC, "8867-4", "Heart rate"), 80, "/min", id="hr1")
    unknown2 = obs(cc(LOINC, "8867-4", "Heart rate"), 82, "/min", id="hr2")
    panel = obs(
        {"coding": [{"system": "http://local", "code": "P1", "display": "Local panel"}]},
        None,
        id="p1",
        component=[{"code": cc(LOINC, "8480-6", "Systolic blood pressure"), "valueQuantity": {"value": 120}}],
    )
    known = obs("29463-7", 70, "kg", id="w1")
    med = {
        "resourceType": "MedicationRequest",
        "id": "m1",
        "status": "active",
        "subject": {"reference": "Patient/p1"},
        "authoredOn": "2024-01-01",
        "medicationCodeableConcept": cc(RXNORM, "197361", "amlodipine 5 MG Oral Tablet"),
    }
    cond = {
        "resourceType": "Condition",
        "id": "c1",
        "subject": {"reference": "Patient/p1"},
        "code": cc(SNOMED, "38341003", "Hypertension"),
    }
    summary, st = stats(unknown, unknown2, panel, known, med, cond)
    assert st.unrecognised == {
        (LOINC, "8867-4", "Heart rate"): 2,
        ("http://local", "P1", "Local panel"): 1,
        (LOINC, "8480-6", "Systolic blood pressure"): 1,
        (RXNORM, "197361", "amlodipine 5 MG Oral Tablet"): 1,
        (SNOMED, "38341003", "Hypertension"): 1,
    }
    assert (LOINC, "29463-7", "") not in st.unrecognised  # a known code is never listed
    assert len(summary.measurements) == 1


@pytest.mark.parametrize(
    "quantity, value, alias",
    [
        ({"value": 176, "unit": "lbs"}, 176 * 0.45359237, "lbs"),
        ({"value": 176, "unit": "lb"}, 176 * 0.45359237, "lb"),
        ({"value": 80, "unit": "kgs"}, 80.0, "kgs"),
        ({"value": 80, "unit": "Kg"}, 80.0, "Kg"),
        ({"value": 80, "unit": "KG"}, 80.0, "KG"),
        ({"value": 80, "system": "http://unitsofmeasure.org", "code": "kg", "unit": "Kg"}, 80.0, None),
        ({"value": 80, "unit": "kg"}, 80.0, None),
    ],
)
def test_unit_aliases_are_read_and_recorded(quantity, value, alias, caplog) -> None:
    o = obs("29463-7", id="w1")
    o["valueQuantity"] = quantity
    with caplog.at_level(logging.INFO, logger="nmd_cds.fhir"):
        summary, st = stats(o)
    (m,) = summary.measurements
    assert m.value == pytest.approx(value) and m.unit_alias == alias
    if alias:
        assert st.unit_aliases == (("Observation/w1", alias, UNIT_ALIASES[alias]),)
        assert [r.aliases for r in caplog.records if getattr(r, "event", "") == "unit_alias"] == [
            {f"{alias} -> {UNIT_ALIASES[alias]}": 1}
        ]
    else:
        assert st.unit_aliases == ()


@pytest.mark.parametrize("spelling", ["LBs", "pound(s)", "kilo", "KILOGRAMS", "lbs.", "st"])
def test_anything_outside_the_alias_table_is_dropped(spelling) -> None:
    o = obs("29463-7", id="w1")
    o["valueQuantity"] = {"value": 70, "unit": spelling}
    summary, st = stats(o)
    assert summary.measurements == () and st.unit_aliases == ()
    assert [d.reason for d in summary.dropped] == [f"unknown unit '{spelling}'"]


def test_valid_ucum_spellings_are_not_aliases() -> None:
    assert resolve("ng/ml") == ("ng/mL", None)
    assert resolve("{T-score}") == ("SD", None)
    assert resolve(" lbs ") == ("[lb_av]", "lbs")


def test_a_known_code_on_a_resource_not_used_is_not_unrecognised() -> None:
    report = {  # a DXA report without VFA and without results: not used, but its code is known
        "resourceType": "DiagnosticReport",
        "id": "r1",
        "status": "final",
        "code": cc(LOINC, "38269-7", "DXA Bone density"),
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2024-01-01",
    }
    _, st = stats(report)
    assert st.unrecognised == {} and st.used == 0
    report["result"] = [{"reference": "Observation/t1"}]
    _, st = stats(report, obs("38267-1", -1.2, "{T-score}", id="t1"))
    assert st.used == 2  # the report is used through the result it holds

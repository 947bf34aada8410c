"""Dates and references that cannot be taken at face value (issue item 7): a result dated after today
is dropped ("dated in the future"), a medicationReference the request cannot resolve is matched on
its display or reported ("medication not resolved"), and a dose form makes a glucocorticoid
non-systemic without a route."""

from __future__ import annotations

import pytest

from service.fhir.summary import Concept, DrugClass
from tests.fhir.helpers import LOINC, RXNORM, TODAY, cc, obs, reasons, run


@pytest.mark.parametrize(
    "code, unit, concept",
    [("19872-1", "%", Concept.FVC_PCT_PREDICTED), ("59576-9", "%", Concept.BMI_PERCENTILE)],
)
def test_a_result_dated_after_today_is_never_the_latest(code, unit, concept) -> None:
    real = obs(code, 41, unit, when="2024-05-02", id="real")
    typo = obs(code, 88, unit, when="2042-05-02", id="typo")  # 2024 typed as 2042
    s = run(real, typo)
    latest = s.latest(concept)
    assert latest is not None and latest.source == "Observation/real"
    assert [(d.source, d.reason) for d in s.dropped] == [("Observation/typo", "dated in the future")]


def test_today_itself_is_not_the_future() -> None:
    s = run(obs("29463-7", 70, "kg", when=TODAY.isoformat()))
    assert len(s.measurements) == 1 and reasons(s) == []


def test_a_spine_report_dated_in_the_future_is_not_imaging() -> None:
    report = {
        "resourceType": "DiagnosticReport",
        "id": "xr",
        "status": "final",
        "code": cc(LOINC, "24984-7", "XR Thoracic and Lumbar spine 2 Views"),
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2042-01-01",
    }
    s = run(report)
    assert s.spine_imaging == () and reasons(s) == ["dated in the future"]


def _request(**extra) -> dict:
    return {
        "resourceType": "MedicationRequest",
        "id": "mr1",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "authoredOn": "2023-01-01",
        **extra,
    }


@pytest.mark.parametrize(
    "reference, medication, drug, reason",
    [
        ({"reference": "Medication/m1"}, {"code": cc(RXNORM, "22396", "deflazacort")}, "deflazacort", None),
        (
            {"reference": "https://ehr.example/fhir/Medication/m1"},
            {"code": cc(RXNORM, "8640")},
            "prednisone",
            None,
        ),
        ({"reference": "Medication/m9", "display": "Prednisone 5 MG Oral Tablet"}, None, "prednisone", None),
        ({"reference": "Medication/m9", "display": "Emflaza 18 mg"}, None, "deflazacort", None),
        ({"reference": "Medication/m9"}, None, None, "medication not resolved"),
        ({"reference": "Medication/m9", "display": "tablet"}, None, None, "medication not resolved"),
        ({"reference": "#absent"}, None, None, "medication not resolved"),
        ({"reference": "Medication/m1"}, {"code": cc(RXNORM, "197361", "amlodipine")}, None, None),
    ],
)
def test_medication_references(reference, medication, drug, reason) -> None:
    resources = [_request(medicationReference=reference)]
    if medication is not None:
        resources.append({"resourceType": "Medication", "id": "m1", **medication})
    s = run(*resources)
    assert [c.drug for c in s.medications] == ([drug] if drug else [])
    assert reasons(s) == ([reason] if reason else [])  # "not used" is out of scope, never a drop


@pytest.mark.parametrize(
    "medication, form, systemic",
    [
        (cc(RXNORM, "5492", "hydrocortisone"), None, True),
        (cc(RXNORM, "5492", "hydrocortisone"), {"text": "Cream"}, False),
        (cc(RXNORM, "5492", "hydrocortisone"), {"text": "Ointment"}, False),
        (cc(RXNORM, "8638", "prednisolone"), {"text": "Eye drops, suspension"}, False),
        (cc(RXNORM, "3264", "dexamethasone"), {"text": "Nasal spray"}, False),
        (cc(RXNORM, "6902", "methylprednisolone"), {"text": "Inhaler"}, False),
        (cc(RXNORM, "8640", "prednisone"), {"text": "Tablet"}, True),
        ({"text": "Hydrocortisone 1 % cream"}, None, False),
        ({"text": "Prednisolone 1 % eye drops"}, None, False),
    ],
)
def test_a_dose_form_makes_a_glucocorticoid_non_systemic(medication, form, systemic) -> None:
    med = {"resourceType": "Medication", "id": "m1", "code": medication}
    if form:
        med["form"] = form
    s = run(_request(medicationReference={"reference": "Medication/m1"}), med)
    assert bool(s.courses(DrugClass.GLUCOCORTICOID)) is systemic
    assert reasons(s) == ([] if systemic else ["non-systemic glucocorticoid"])

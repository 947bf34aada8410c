"""Glucocorticoid and bone-therapy exposure (statuses, routes, dosing intervals), one course per drug."""

from __future__ import annotations

import json
from datetime import date

import pytest

from service.fhir.summary import DrugClass
from tests.fhir.helpers import ATC, RXNORM, cc, run, stats

SUBJ = {"reference": "Patient/p1"}


def request(med: dict, status: str = "active", authored: str = "2023-01-01", **extra: object) -> dict:
    return {
        "resourceType": "MedicationRequest",
        "id": f"mr-{status}-{authored}",
        "status": status,
        "intent": "order",
        "subject": SUBJ,
        "medicationCodeableConcept": med,
        "authoredOn": authored,
        **extra,
    }


def statement(med: dict, status: str = "active", start: str = "2022-01-01", end: str | None = None) -> dict:
    period = {"start": start, **({"end": end} if end else {})}
    return {
        "resourceType": "MedicationStatement",
        "id": f"ms-{status}-{start}",
        "status": status,
        "subject": SUBJ,
        "medicationCodeableConcept": med,
        "effectivePeriod": period,
    }


def admin(med: dict, when: str, status: str = "completed") -> dict:
    return {
        "resourceType": "MedicationAdministration",
        "id": f"ma-{when}",
        "status": status,
        "subject": SUBJ,
        "medicationCodeableConcept": med,
        "effectiveDateTime": when,
    }


DEFLAZACORT = cc(RXNORM, "22396", "deflazacort")
PRED_SCD = cc(RXNORM, "312617", "predniSONE 5 MG Oral Tablet")  # product code: matched by text
ZOL = cc(RXNORM, "77655", "zoledronic acid")


@pytest.mark.parametrize(
    "resource, drug, active",
    [  # request and statement statuses
        (request(DEFLAZACORT), "deflazacort", True),
        (request(DEFLAZACORT, status="on-hold"), "deflazacort", True),
        (request(DEFLAZACORT, status="completed"), "deflazacort", False),
        (request(DEFLAZACORT, status="stopped"), "deflazacort", False),
        (request(PRED_SCD), "prednisone", True),
        (request(cc(RXNORM, "2669799", "vamorolone")), "vamorolone", True),
        (request({"text": "Emflaza 18 mg tablet"}), "deflazacort", True),
        (request(cc(ATC, "H02AB13")), "deflazacort", True),
        (request(cc(RXNORM, "999", "methylPREDNISolone 4 MG Oral Tablet")), "methylprednisolone", True),
        (statement(DEFLAZACORT), "deflazacort", True),
        (statement(DEFLAZACORT, status="completed", end="2023-01-01"), "deflazacort", False),
        # intermittent regimen (10 days on / 10 off) is still an active order
        (
            request(
                DEFLAZACORT,
                dosageInstruction=[
                    {
                        "text": "10 days on, 10 days off",
                        "timing": {"repeat": {"boundsPeriod": {"start": "2020-01-01"}}},
                    }
                ],
            ),
            "deflazacort",
            True,
        ),
    ],
)
def test_glucocorticoid_exposure(resource, drug, active) -> None:
    s = run(resource)
    assert [(c.drug, c.drug_class, c.active) for c in s.medications] == [
        (drug, DrugClass.GLUCOCORTICOID, active)
    ]


@pytest.mark.parametrize(
    "resource, reason",
    [  # not systemic exposure
        (
            request(
                cc(RXNORM, "1", "budesonide 0.5 MG/ML Inhalation Suspension"),
            ),
            "medication not used",
        ),
        (request(cc(RXNORM, "2", "hydrocortisone 10 MG/ML Topical Cream")), "non-systemic glucocorticoid"),
        (
            request(DEFLAZACORT, dosageInstruction=[{"route": {"text": "Inhalation"}}]),
            "non-systemic glucocorticoid",
        ),
        (request(DEFLAZACORT, status="entered-in-error"), "status entered-in-error"),
        (request(DEFLAZACORT, status="cancelled"), "status cancelled"),
        (statement(DEFLAZACORT, status="not-taken"), "status not-taken"),
        (request(cc(RXNORM, "197361", "amlodipine 5 MG Oral Tablet")), "medication not used"),
    ],
)
def test_not_glucocorticoid_exposure(resource, reason) -> None:
    s, st = stats(resource)
    assert s.medications == ()
    assert [d.reason for d in s.dropped] + list(st.ignored) == [reason]


def test_start_and_days_on_from_merged_records() -> None:
    s = run(statement(DEFLAZACORT, start="2021-06-01"), request(DEFLAZACORT, authored="2024-01-01"))
    (course,) = s.medications
    assert course.start == date(2021, 6, 1) and course.end is None and course.active
    assert course.days_on(date(2024, 6, 1)) == (date(2024, 6, 1) - date(2021, 6, 1)).days
    assert len(course.sources) == 2


@pytest.mark.parametrize(
    "records, today, active",
    [  # each drug's dosing interval
        ([admin(ZOL, "2023-07-01")], date(2024, 6, 1), True),  # 11 months
        ([admin(ZOL, "2023-06-01")], date(2024, 6, 1), True),  # exactly 12 months
        ([admin(ZOL, "2023-05-31")], date(2024, 6, 1), False),
        ([admin(cc(RXNORM, "11473", "pamidronate"), "2024-02-15")], date(2024, 6, 1), True),
        ([admin(cc(RXNORM, "11473", "pamidronate"), "2024-01-31")], date(2024, 6, 1), False),
        ([admin(cc(RXNORM, "993449", "denosumab"), "2023-11-15")], date(2024, 6, 1), True),
        ([admin(cc(RXNORM, "993449", "denosumab"), "2023-10-31")], date(2024, 6, 1), False),
        (
            [request(cc(RXNORM, "46041", "alendronate"), authored="2024-03-03")],
            date(2024, 6, 1),
            True,
        ),  # 90 days
        ([request(cc(RXNORM, "46041", "alendronate"), authored="2024-03-02")], date(2024, 6, 1), False),
        (
            [statement(cc(RXNORM, "46041", "alendronate"), start="2020-01-01")],
            date(2024, 6, 1),
            True,
        ),  # taking now
        ([request(ZOL, authored="2022-01-01"), admin(ZOL, "2024-01-01")], date(2024, 6, 1), True),
    ],
)
def test_bone_therapy_active_by_interval(records, today, active) -> None:
    s = run(*records, today=today)
    (course,) = s.medications
    assert course.drug_class.is_bone_therapy and course.active is active


def test_intervals_come_from_thresholds(tmp_path) -> None:
    from service.fhir.build import build_summary
    from service.knowledge import load_knowledge

    site = tmp_path / "site.json"
    site.write_text(json.dumps({"thresholds": {"medication.zoledronate_interval_months": 6}}))
    s = build_summary([admin(ZOL, "2023-09-01")], date(2024, 6, 1), load_knowledge(site))
    assert not s.medications[0].active
    assert run(admin(ZOL, "2023-09-01")).medications[0].active


def test_one_course_per_drug_and_medication_references() -> None:
    med = {"resourceType": "Medication", "id": "m1", "code": ZOL}
    contained = {
        "resourceType": "MedicationRequest",
        "id": "r2",
        "status": "completed",
        "intent": "order",
        "subject": SUBJ,
        "authoredOn": "2023-01-01",
        "medicationReference": {"reference": "#z"},
        "contained": [{"resourceType": "Medication", "id": "z", "code": ZOL}],
    }
    referenced = {**admin(ZOL, "2023-10-01"), "medicationReference": {"reference": "Medication/m1"}}
    del referenced["medicationCodeableConcept"]
    unused = {"resourceType": "Medication", "id": "m9", "code": DEFLAZACORT}
    s = run(med, contained, referenced, unused)
    (course,) = s.medications
    assert course.drug == "zoledronic acid" and course.drug_class is DrugClass.BISPHOSPHONATE_IV
    assert course.last_dose == date(2023, 10, 1) and len(course.sources) == 2
    assert s.dropped == ()
    assert stats(med, contained, referenced, unused)[1].ignored == {"medication not referenced": 1}

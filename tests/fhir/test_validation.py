"""Suggested resources are validated with fhir.resources before they reach an EHR; the answer for a
resource is remembered by its content (without the patient), so repeating suggestions cost nothing."""

from __future__ import annotations

import pytest

from service.fhir import validation
from service.fhir.validation import resource_problem


def order(**changes) -> dict:
    res = {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "proposal",
        "code": {"coding": [{"system": "http://loinc.org", "code": "24972-2"}]},
        "subject": {"reference": "Patient/p1"},
    }
    res.update(changes)
    return {k: v for k, v in res.items() if v is not None}


@pytest.mark.parametrize(
    "resource, problem",
    [
        (order(), None),
        (order(subject={"reference": "Patient/another-patient"}), None),
        (order(status=["draft"]), "ServiceRequest.status"),  # a code, not a list
        (order(intent=None), "ServiceRequest.intent"),
        (order(subject={"reference": 42}), "ServiceRequest.subject"),
        (order(subject={"reference": "Patient/p1", "display": 7}), "ServiceRequest.subject"),
        ({"resourceType": "NoSuchThing"}, "unknown resourceType"),
        ({"status": "draft"}, "no resourceType"),
    ],
)
def test_resource_problem(resource: dict, problem: str | None) -> None:
    found = resource_problem(resource)
    assert (found is None) if problem is None else (found is not None and found.startswith(problem)), found


def test_the_same_suggestion_for_another_patient_is_not_validated_again() -> None:
    validation._problem_of.cache_clear()
    assert resource_problem(order(subject={"reference": "Patient/a"})) is None
    assert resource_problem(order(subject={"reference": "Patient/b"})) is None
    info = validation._problem_of.cache_info()
    assert (info.misses, info.hits) == (1, 1)

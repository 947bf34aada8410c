"""build_summary / unbundle: garbage never raises, other patients dropped, patient facts, care plans."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.fhir.build import build_summary, chart_items, summarise, unbundle
from service.fhir.summary import Concept
from tests.fhir.helpers import KNOWLEDGE, TODAY, cc, obs, reasons, run

GARBAGE = [
    None,
    1,
    "x",
    [],
    {},
    {"resourceType": 5},
    {"resourceType": ""},
    {"resourceType": "Observation"},
    {"resourceType": "Observation", "code": "oops", "status": "final"},
    {"resourceType": "Observation", "status": "final", "code": {"coding": "no"}},
    {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "valueQuantity": {"value": "70", "code": "kg"},
        "effectiveDateTime": "not a date",
    },
    {
        "resourceType": "Observation",
        "id": "v",
        "status": "final",
        "effectiveDateTime": "2024-01-01",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "valueQuantity": {"value": 70, "code": "kg"},
        "subject": "Patient/1",
    },  # invalid FHIR shape
    {"resourceType": "Patient", "birthDate": 2001, "gender": ["male"]},
    {"resourceType": "MedicationRequest", "medicationCodeableConcept": {"text": 5}},
    {"resourceType": "Condition", "code": {"coding": [{"system": "http://snomed.info/sct", "code": None}]}},
]


@pytest.mark.parametrize("raw", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_is_dropped_not_raised(raw) -> None:
    s, st = summarise([raw], TODAY, KNOWLEDGE, patient_id="p1")
    assert s.measurements == () and len(s.dropped) + sum(st.ignored.values()) == 1
    assert all(d.reason and len(d.reason) < 60 for d in s.dropped)


def test_invalid_fhir_reason_has_no_values() -> None:
    s = run(GARBAGE[11])
    assert reasons(s) == ["failed FHIR validation: subject"]


def test_non_iterable_input() -> None:
    s = build_summary(None, TODAY, KNOWLEDGE)  # type: ignore[arg-type]
    assert s.dropped == ()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "resourceType",
                    "status",
                    "code",
                    "coding",
                    "system",
                    "valueQuantity",
                    "value",
                    "effectiveDateTime",
                    "component",
                    "subject",
                    "reference",
                    "clinicalStatus",
                    "medicationCodeableConcept",
                    "id",
                    "entry",
                    "resource",
                    "unit",
                    "text",
                    "conclusionCode",
                    "identifier",
                    "meta",
                ]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=25,
)
resource_types = st.sampled_from(
    [
        "Observation",
        "Condition",
        "MedicationRequest",
        "MedicationStatement",
        "MedicationAdministration",
        "DiagnosticReport",
        "Procedure",
        "ServiceRequest",
        "Patient",
        "ImagingStudy",
        "CarePlan",
        "Medication",
        "Bundle",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.builds(
            lambda t, d: {**d, "resourceType": t} if isinstance(d, dict) else d, resource_types, json_values
        ),
        max_size=5,
    )
)
def test_no_input_raises(resources) -> None:
    for r in resources:
        unbundle(r)
    s = build_summary(resources, TODAY, KNOWLEDGE, patient_id="p1")
    assert len(s.dropped) + len(s.measurements) >= 0


PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "identifier": [{"system": "urn:oid:1.2.36.146.595.217.0.1", "value": "12345"}],
}


@pytest.mark.parametrize(
    "subject, kept",
    [
        ({"reference": "Patient/p1"}, True),
        ({"reference": "Patient/p2"}, False),
        ({"reference": "https://ehr.example/fhir/Patient/p1/_history/3"}, True),
        ({"reference": "https://ehr.example.org/fhir/Patient/other"}, False),  # the defect
        ({"reference": "http://other-base/Patient/p1"}, True),  # any base
        ({"reference": "Group/p1"}, False),  # the same id of another type
        ({"reference": "p1"}, False),  # not a reference
        ({"reference": "urn:uuid:p1"}, False),  # a urn that is no fullUrl of the request
        ({"reference": "urn:uuid:0d9e8ca4-3cc0-4bb9-9a3b-1b0c8e0f0001"}, True),  # the Patient's fullUrl
        ({"reference": "urn:uuid:0d9e8ca4-3cc0-4bb9-9a3b-1b0c8e0f0002"}, False),  # another's fullUrl
        ({"identifier": {"system": "urn:oid:1.2.36.146.595.217.0.1", "value": "12345"}}, True),
        ({"identifier": {"system": "urn:oid:1.2.36.146.595.217.0.1", "value": "99999"}}, False),
        ({"identifier": {"system": "urn:oid:9.9", "value": "12345"}}, False),
        (
            {"type": "Group", "identifier": {"system": "urn:oid:1.2.36.146.595.217.0.1", "value": "12345"}},
            False,
        ),
        ({"display": "John Smith"}, False),
        ({"reference": "#pat"}, True),  # contained, with the patient's identifier
        ({"reference": "#other"}, False),  # contained, another identifier
        ({"reference": "#missing"}, False),
        (None, False),  # no subject where one is required
    ],
)
def test_only_the_context_patients_resources_are_read(subject, kept) -> None:
    o = obs("29463-7", 30, "kg")
    o["contained"] = [
        {**PATIENT, "id": "pat"},
        {
            **PATIENT,
            "id": "other",
            "identifier": [{"system": "urn:oid:1.2.36.146.595.217.0.1", "value": "7"}],
        },
    ]
    if subject is None:
        del o["subject"]
    else:
        o["subject"] = subject
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:0d9e8ca4-3cc0-4bb9-9a3b-1b0c8e0f0001", "resource": PATIENT},
            {"fullUrl": "urn:uuid:0d9e8ca4-3cc0-4bb9-9a3b-1b0c8e0f0002", "resource": {**PATIENT, "id": "p2"}},
            {"fullUrl": "urn:uuid:0d9e8ca4-3cc0-4bb9-9a3b-1b0c8e0f0003", "resource": o},
        ],
    }
    s = run(bundle, patient_id="p1")
    assert bool(s.measurements) is kept
    expected = [("Patient/p2", "another patient")]
    if not kept:
        expected.append((f"Observation/{o['id']}", "no subject" if subject is None else "another patient"))
    assert sorted((d.source, d.reason) for d in s.dropped) == sorted(expected)


@pytest.mark.parametrize(
    "patient, sex, birth, deceased",
    [
        ({"gender": "female", "birthDate": "2010-02-03"}, "female", date(2010, 2, 3), False),
        ({"gender": "unknown", "birthDate": "2010"}, None, date(2010, 1, 1), False),
        ({"gender": "male", "deceasedBoolean": True}, "male", None, True),
        ({"gender": "male", "deceasedDateTime": "2024-01-01"}, "male", None, True),
        ({"gender": "male", "deceasedBoolean": False}, "male", None, False),
    ],
)
def test_patient_facts(patient, sex, birth, deceased) -> None:
    s = run({"resourceType": "Patient", "id": "p1", **patient}, patient_id="p1")
    assert (s.sex, s.birth_date, s.deceased, s.patient_id) == (sex, birth, deceased, "p1")


def test_unbundle() -> None:
    o = obs("29463-7", 30, "kg")
    outcome = {"resourceType": "OperationOutcome", "issue": []}
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {"resource": o, "search": {"mode": "match"}},
            {"resource": outcome, "search": {"mode": "outcome"}},
            {"fullUrl": "x"},
            "junk",
            {"resource": "junk"},
        ],
    }
    assert unbundle(bundle) == [o]
    assert unbundle(o) == [o]
    assert unbundle(None) == [] and unbundle([o]) == [] and unbundle({"entry": []}) == []
    assert unbundle({"resourceType": "Bundle", "entry": "x"}) == []


@pytest.mark.parametrize(
    "plan, expected",
    [  # an active weight-management care plan
        ({"status": "active", "title": "Weight management plan (dietitian)"}, True),
        ({"status": "completed", "title": "Weight management plan"}, False),
        ({"status": "active", "category": [cc("x", "y", "Weight management")]}, True),
        ({"status": "active", "title": "Asthma plan"}, False),
    ],
)
def test_weight_management_plan(plan, expected) -> None:
    s = run(
        {
            "resourceType": "CarePlan",
            "id": "cp",
            "intent": "plan",
            "subject": {"reference": "Patient/p1"},
            **plan,
        }
    )
    assert s.weight_management_plan is expected


def test_measurements_sorted_and_latest() -> None:
    s = run(obs("29463-7", 31, "kg", when="2024-03-01"), obs("29463-7", 30, "kg", when="2023-03-01"))
    assert [m.value for m in s.series(Concept.WEIGHT)] == [30, 31] and s.latest(Concept.WEIGHT).value == 31


def test_chart_items_keep_urn_full_urls_one_item_per_resource() -> None:
    """A prefetch Bundle whose references are urn:uuid fullUrls (a collection or transaction-style
    feed): each resource stays one item, and its urn travels with it so the subject resolves."""
    o = {
        **obs("29463-7", 30, "kg"),
        "subject": {"reference": "urn:uuid:aaaaaaaa-0000-4000-8000-000000000001"},
    }
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {"fullUrl": "urn:uuid:aaaaaaaa-0000-4000-8000-000000000001", "resource": PATIENT},
            {"fullUrl": "https://ehr.example/fhir/Observation/x", "resource": o},
            {"resource": {"resourceType": "OperationOutcome"}, "search": {"mode": "outcome"}},
        ],
    }
    items = chart_items(bundle)
    assert len(items) == 2 and items[1] is o and items[0]["resourceType"] == "Bundle"
    s = run(*items, patient_id="p1")
    assert len(s.measurements) == 1
    assert run(*unbundle(bundle), patient_id="p1").measurements == ()  # without the urn: not resolvable

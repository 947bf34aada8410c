"""Review findings on the data layer: fracture merge and confirmation, medication episodes, negated
findings, ICD prefixes, and which spine films are adequate."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from service.fhir import fractures
from service.fhir.summary import ActionKind, Fracture, FractureKind, ImagingKind, Symptom
from tests.fhir.helpers import CPT, ICD10CM, LOINC, RXNORM, SNOMED, TODAY, cc, cond, obs, order_codes, run

SUBJ = {"reference": "Patient/p1"}
VF = cc(SNOMED, "42942008", "Compression fracture of vertebral column")


# --- 1. merged fragility: True only when every source says so ---------------------------------
def _fx(low: bool | None, source: str) -> Fracture:
    return Fracture(FractureKind.VERTEBRAL, date(2023, 3, 1), (source,), "T12", None, low)


@pytest.mark.parametrize(
    "first, second, merged",
    [
        (True, None, None),  # imaging read + traumatic S-code: ask the clinician
        (None, True, None),
        (True, True, True),
        (False, False, False),
        (True, False, None),
        (None, None, None),
    ],
)
def test_merged_low_trauma(first, second, merged) -> None:
    (f,) = fractures.merge([_fx(first, "Observation/a"), _fx(second, "Condition/b")])
    assert f.low_trauma is merged


def test_imaging_vf_with_traumatic_code_keeps_mechanism_open() -> None:
    s = run(
        obs(VF, True, when="2023-03-05", bodySite={"text": "T12"}),
        cond(ICD10CM, "S22.080A", onset="2023-03-01"),
    )
    assert [(f.kind, f.low_trauma, len(f.sources)) for f in s.fractures] == [
        (FractureKind.VERTEBRAL, None, 2)
    ]


# --- 2./3. provisional: unconfirmed Conditions, non-final reports and Observations --------------
@pytest.mark.parametrize(
    "verification, provisional",
    [
        ("unconfirmed", True),
        ("provisional", True),
        ("differential", True),
        ("confirmed", False),
        (None, False),
    ],
)
def test_condition_verification_makes_provisional(verification, provisional) -> None:
    (f,) = run(cond(SNOMED, "42942008", verification=verification)).fractures
    assert f.provisional is provisional


def _report(status: str) -> dict:
    return {
        "resourceType": "DiagnosticReport",
        "id": f"dr-{status}",
        "status": status,
        "code": cc(LOINC, "24984-7"),
        "subject": SUBJ,
        "effectiveDateTime": "2023-04-05",
        "conclusionCode": [VF],
    }


@pytest.mark.parametrize(
    "status, provisional",
    [
        ("final", False),
        ("amended", False),
        ("corrected", False),
        ("appended", False),
        ("partial", True),
        ("preliminary", True),
        ("unknown", True),
        ("registered", True),
    ],
)
def test_report_status_makes_provisional(status, provisional) -> None:
    assert [f.provisional for f in run(_report(status)).fractures] == [provisional]


@pytest.mark.parametrize(
    "status, provisional", [("final", False), ("amended", False), ("corrected", False), ("preliminary", True)]
)
def test_observation_status_makes_provisional(status, provisional) -> None:
    assert [f.provisional for f in run(obs(VF, True, status=status)).fractures] == [provisional]


# --- 4. medication episodes: the current episode's start ----------------------------------------
PRED = cc(RXNORM, "8640", "prednisone")
DEFLAZACORT = cc(RXNORM, "22396", "deflazacort")
ZOL = cc(RXNORM, "77655", "zoledronic acid")
DMAB = cc(RXNORM, "993449", "denosumab")


def _day(days_ago: int) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat()


def _req(
    med: dict, status: str, authored: str, start: str | None = None, end: str | None = None, **timing
) -> dict:
    repeat = dict(timing)
    if start:
        repeat["boundsPeriod"] = {"start": start, **({"end": end} if end else {})}
    return {
        "resourceType": "MedicationRequest",
        "id": f"mr-{authored}-{status}",
        "status": status,
        "intent": "order",
        "subject": SUBJ,
        "medicationCodeableConcept": med,
        "authoredOn": authored,
        **({"dosageInstruction": [{"timing": {"repeat": repeat}}]} if repeat else {}),
    }


def _stmt(med: dict, status: str, start: str, end: str | None = None) -> dict:
    return {
        "resourceType": "MedicationStatement",
        "id": f"ms-{start}",
        "status": status,
        "subject": SUBJ,
        "medicationCodeableConcept": med,
        "effectivePeriod": {"start": start, **({"end": end} if end else {})},
    }


def _admin(med: dict, when: str) -> dict:
    return {
        "resourceType": "MedicationAdministration",
        "id": f"ma-{when}",
        "status": "completed",
        "subject": SUBJ,
        "medicationCodeableConcept": med,
        "effectiveDateTime": when,
    }


# 10 days on / 10 days off for a year, then still on: one continuous episode
_TEN_ON_TEN_OFF = [
    _stmt(DEFLAZACORT, "completed", _day(365 - 20 * i), _day(365 - 20 * i - 9)) for i in range(18)
] + [_stmt(DEFLAZACORT, "active", _day(5))]
# weekend dosing (Saturday and Sunday administrations) for 30 weeks
_WEEKENDS = [_admin(PRED, _day(7 * w + d)) for w in range(30) for d in (0, 1)]


@pytest.mark.parametrize(
    "records, start, active",
    [
        # a 5-day burst in 2021, then a course started 5 days ago: not 1,247 days of exposure
        (
            [
                _req(PRED, "completed", "2021-01-01", "2021-01-01", "2021-01-05"),
                _req(PRED, "active", _day(5), _day(5)),
            ],
            TODAY - timedelta(days=5),
            True,
        ),
        # the burst as a duration ("for 5 days") on a never-closed order
        (
            [
                _req(PRED, "active", "2021-01-01", boundsDuration={"value": 5, "code": "d"}),
                _req(PRED, "active", _day(5)),
            ],
            TODAY - timedelta(days=5),
            True,
        ),
        # a gap of exactly 90 days keeps the episode; 91 days starts a new one
        (
            [_stmt(PRED, "completed", "2023-01-01", "2023-06-30"), _stmt(PRED, "active", "2023-09-28")],
            date(2023, 1, 1),
            True,
        ),
        (
            [_stmt(PRED, "completed", "2023-01-01", "2023-06-30"), _stmt(PRED, "active", "2023-09-29")],
            date(2023, 9, 29),
            True,
        ),
        (_TEN_ON_TEN_OFF, TODAY - timedelta(days=365), True),
        (_WEEKENDS, TODAY - timedelta(days=7 * 29 + 1), False),
        # zoledronate in 2019, restarted 2 months ago: 2 months of therapy, not 65
        ([_admin(ZOL, "2019-01-15"), _admin(ZOL, "2024-04-01")], date(2024, 4, 1), True),
        ([_admin(ZOL, "2022-09-01"), _admin(ZOL, "2023-08-15")], date(2022, 9, 1), True),  # within 12 months
        (
            [_admin(DMAB, "2023-01-10"), _admin(DMAB, "2023-07-10"), _admin(DMAB, "2024-01-10")],
            date(2023, 1, 10),
            True,
        ),
        ([_admin(DMAB, "2020-01-10"), _admin(DMAB, "2023-12-20")], date(2023, 12, 20), True),
        ([_admin(ZOL, "2019-01-15")], date(2019, 1, 15), False),  # stopped: its last episode
        # a statement "taking it now" covers everything after it
        ([_stmt(ZOL, "active", "2018-01-01"), _admin(ZOL, "2024-01-01")], date(2018, 1, 1), True),
    ],
)
def test_course_is_the_current_episode(records, start, active) -> None:
    (course,) = run(*records).medications
    assert (course.start, course.active) == (start, active)
    assert course.days_on(TODAY) == ((course.end or TODAY) - start).days


def test_earlier_episode_sources_are_not_the_current_course() -> None:
    (course,) = run(_admin(ZOL, "2019-01-15"), _admin(ZOL, "2024-04-01")).medications
    assert (course.sources, course.last_dose, course.end) == (
        ("MedicationAdministration/ma-2024-04-01",),
        date(2024, 4, 1),
        date(2024, 4, 1),
    )


# --- 5. negated symptom / mobility Observations --------------------------------------------------
UNABLE_TO_WALK = cc(SNOMED, "282145008", "Unable to walk")
BACK_PAIN = cc(SNOMED, "161891005", "Backache")


def _finding(code: dict, **value: object) -> dict:
    return obs(code, None, **value)


@pytest.mark.parametrize(
    "resource, non_ambulatory",
    [
        (_finding(UNABLE_TO_WALK, valueCodeableConcept={"text": "No"}), False),
        (_finding(UNABLE_TO_WALK, valueCodeableConcept=cc(SNOMED, "373067005", "No")), False),
        (_finding(UNABLE_TO_WALK, valueCodeableConcept=cc(LOINC, "LA32-8", "No")), False),
        (_finding(UNABLE_TO_WALK, valueCodeableConcept=cc(SNOMED, "2667000", "Absent")), False),
        (_finding(UNABLE_TO_WALK, valueBoolean=False), False),
        (_finding(UNABLE_TO_WALK, valueString="no"), False),
        (_finding(UNABLE_TO_WALK, interpretation=[cc("x", "N", "Normal")]), False),
        (_finding(UNABLE_TO_WALK, dataAbsentReason=cc("x", "asked-unknown")), False),
        (_finding(UNABLE_TO_WALK, valueCodeableConcept={"text": "Unknown"}), False),
        (_finding(UNABLE_TO_WALK, valueCodeableConcept=cc(LOINC, "LA33-6", "Yes")), True),
        (_finding(UNABLE_TO_WALK, valueBoolean=True), True),
        (_finding(UNABLE_TO_WALK), True),  # the finding code with no value asserts it, like a Condition
        (_finding(cc("urn:local", "MOB", "Mobility"), valueCodeableConcept=cc(SNOMED, "225612007")), True),
    ],
)
def test_non_ambulatory_observation(resource, non_ambulatory) -> None:
    assert run(resource).non_ambulatory is non_ambulatory


@pytest.mark.parametrize(
    "resource, found",
    [
        (_finding(BACK_PAIN, valueCodeableConcept={"text": "absent"}), False),
        (_finding(BACK_PAIN, valueCodeableConcept={"text": "No"}), False),
        (_finding(BACK_PAIN, valueInteger=0), False),  # pain score 0
        (_finding(BACK_PAIN, valueInteger=6), True),
        (_finding(BACK_PAIN, valueCodeableConcept={"text": "moderate"}), True),
        (_finding(BACK_PAIN, valueCodeableConcept={"text": "present"}), True),
        (_finding(cc("urn:local", "PROB", "Problem"), valueCodeableConcept=BACK_PAIN), True),
    ],
)
def test_back_pain_observation(resource, found) -> None:
    assert [f.symptom for f in run(resource).findings] == ([Symptom.BACK_PAIN] if found else [])


def test_negated_finding_is_used_not_dropped() -> None:
    s = run(_finding(BACK_PAIN, valueCodeableConcept={"text": "No"}))
    assert (s.findings, s.dropped) == ((), ())


# --- 6. ICD prefixes: kyphosis, back pain, arthrodesis, patella ----------------------------------
def _cond(code: str, text: str | None = None, body_site: str | None = None) -> dict:
    c = cond(ICD10CM, code)
    if text:
        c["code"]["text"] = text
    if body_site:
        c["bodySite"] = [{"text": body_site}]
    return c


@pytest.mark.parametrize(
    "resource, symptom",
    [
        (_cond("M40.03"), Symptom.KYPHOSIS),
        (_cond("M40.15"), Symptom.KYPHOSIS),
        (_cond("M40.209"), Symptom.KYPHOSIS),
        (_cond("M40.35"), None),  # flatback
        (_cond("M40.45"), None),  # lordosis
        (_cond("M40.50"), None),
        (_cond("M54.2"), None),  # cervicalgia
        (_cond("M54.81"), None),  # occipital neuralgia
        (_cond("M54.16"), None),  # radiculopathy: not counted as back pain (conservative)
        (_cond("M54.50"), Symptom.BACK_PAIN),
        (_cond("M545"), Symptom.BACK_PAIN),  # undotted
        (_cond("M54.6"), Symptom.BACK_PAIN),
        (_cond("M54.89"), Symptom.BACK_PAIN),
        (_cond("M54.9"), Symptom.BACK_PAIN),
        (_cond("M54.41"), Symptom.BACK_PAIN),
        (_cond("M54.30"), Symptom.BACK_PAIN),
        (_cond("Z98.1"), None),
        (_cond("Z98.1", "Arthrodesis status"), None),  # "rod" inside "arthrodesis" is not a rod
        (_cond("Z98.1", "Arthrodesis status, right knee"), None),
        (_cond("Z98.1", body_site="Lumbar spine"), Symptom.SPINAL_FUSION),
        (_cond("Z98.1", "Arthrodesis status (posterior vertebral fusion T2-L5)"), Symptom.SPINAL_FUSION),
        (_cond("Z98.1", "Arthrodesis status, Harrington rods"), Symptom.SPINAL_FUSION),
    ],
)
def test_symptom_icd(resource, symptom) -> None:
    assert [f.symptom for f in run(resource).findings] == ([symptom] if symptom else [])


@pytest.mark.parametrize(
    "code, kind",
    [
        ("S82.001A", None),  # patella
        ("S82.0", None),
        ("S82.101A", FractureKind.LONG_BONE),
        ("S82.201A", FractureKind.LONG_BONE),
        ("S82.401A", FractureKind.LONG_BONE),
        ("S82.90XA", FractureKind.LONG_BONE),
    ],
)
def test_lower_leg_fracture_codes(code, kind) -> None:
    assert [f.kind for f in run(cond(ICD10CM, code)).fractures] == ([kind] if kind else [])


# --- 7. adequate spine imaging: T4-L4 or VFA; half-spine films only as a pair -------------------
def _dr(code: dict, when: str = "2023-04-05", rid: str = "r", **extra: object) -> dict:
    return {
        "resourceType": "DiagnosticReport",
        "id": f"{rid}-{when}",
        "status": "final",
        "code": code,
        "subject": SUBJ,
        "effectiveDateTime": when,
        **extra,
    }


def _proc(code: dict, when: str) -> dict:
    return {
        "resourceType": "Procedure",
        "id": f"p-{when}",
        "status": "completed",
        "code": code,
        "subject": SUBJ,
        "performedDateTime": when,
    }


XR = ImagingKind.LATERAL_SPINE_XR


@pytest.mark.parametrize(
    "resources, expected",
    [
        ([_dr(cc(LOINC, "30756-1"))], []),  # thoracic lateral alone
        ([_dr(cc(LOINC, "24969-8"))], []),  # lumbar lateral alone
        ([_dr(cc(LOINC, "24970-6"))], []),
        ([_dr(cc(CPT, "72100"))], []),
        ([_dr(cc(CPT, "72110"))], []),
        ([_dr(cc(CPT, "72070"))], []),
        ([_dr(cc(CPT, "72074"))], []),
        ([_dr(cc(LOINC, "24984-7"))], [(XR, "2023-04-05")]),
        ([_dr(cc(LOINC, "24928-4"))], [(XR, "2023-04-05")]),
        ([_dr(cc(CPT, "72080"))], [(XR, "2023-04-05")]),
        ([_dr(cc(CPT, "77086"))], [(ImagingKind.DXA_VFA, "2023-04-05")]),
        ([_dr(cc(LOINC, "30716-5"))], []),  # scoliosis series without a VF read
        ([_dr(cc(LOINC, "30716-5"), conclusion="Genant grade 0 throughout")], [(XR, "2023-04-05")]),
        # thoracic + lumbar lateral within 30 days: one adequate study at the later date
        (
            [_dr(cc(LOINC, "30756-1"), "2023-04-05", "t"), _dr(cc(LOINC, "24969-8"), "2023-05-05", "l")],
            [(XR, "2023-05-05")],
        ),
        ([_dr(cc(LOINC, "30756-1"), "2023-04-05", "t"), _dr(cc(LOINC, "24969-8"), "2023-05-06", "l")], []),
        ([_proc(cc(CPT, "72072"), "2023-04-20"), _dr(cc(CPT, "72100"), "2023-04-05")], [(XR, "2023-04-20")]),
        (
            [
                {
                    "resourceType": "ImagingStudy",
                    "id": "i",
                    "status": "available",
                    "subject": SUBJ,
                    "started": "2023-04-05",
                    "procedureCode": [cc(CPT, "72072"), cc(CPT, "72110")],
                }
            ],
            [(XR, "2023-04-05")],
        ),
    ],
)
def test_adequate_spine_imaging(resources, expected) -> None:
    s = run(*resources)
    assert [(i.kind, i.when.isoformat()) for i in s.spine_imaging] == expected


@pytest.mark.parametrize(
    "system, code, is_order",
    [(LOINC, "30716-5", False), (LOINC, "24984-7", True), (CPT, "77086", True), (LOINC, "30756-1", True)],
)
def test_spine_imaging_order_codes(system, code, is_order) -> None:
    assert ((system, code) in order_codes(ActionKind.SPINE_IMAGING)) is is_order
    req = {
        "resourceType": "ServiceRequest",
        "id": "sr",
        "status": "active",
        "intent": "order",
        "subject": SUBJ,
        "code": cc(system, code),
        "authoredOn": "2024-05-01",
    }
    assert [o.action for o in run(req).orders] == ([ActionKind.SPINE_IMAGING] if is_order else [])

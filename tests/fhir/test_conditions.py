"""Fractures, diagnoses, mobility and findings: codes, verification status, negation, merging of sources."""

from __future__ import annotations

from datetime import date

import pytest

from service.fhir.summary import FractureKind, Nmd, Symptom
from tests.fhir.helpers import ICD10CM, LOINC, SNOMED, cc, cond, obs, reasons, run

ICD = ICD10CM


@pytest.mark.parametrize(
    "system, code, kind, low_trauma, level",
    [  # fracture codes: kind, low trauma, vertebral level
        (SNOMED, "42942008", FractureKind.VERTEBRAL, True, None),
        (SNOMED, "443165006", FractureKind.OTHER, True, None),
        (ICD, "M80.08XA", FractureKind.VERTEBRAL, True, None),
        (ICD, "M8088XA", FractureKind.VERTEBRAL, True, None),  # undotted
        (ICD, "M48.56XA", FractureKind.VERTEBRAL, True, "lumbar"),  # the level from the code
        (ICD, "M48.50XA", FractureKind.VERTEBRAL, True, None),  # site unspecified: level unknown
        (ICD, "S22.000A", FractureKind.VERTEBRAL, None, "thoracic"),  # traumatic code: confirm mechanism
        (ICD, "S32.010A", FractureKind.VERTEBRAL, None, "L1"),
        (ICD, "S72.001A", FractureKind.LONG_BONE, None, "femur"),
        (ICD, "S82.201A", FractureKind.LONG_BONE, None, "tibia/fibula"),
        (ICD, "S42.301A", FractureKind.LONG_BONE, None, "humerus"),
        (ICD, "S52.501A", FractureKind.LONG_BONE, None, "radius/ulna"),
        (ICD, "Z87.310", FractureKind.OTHER, True, None),
    ],
)
def test_fracture_condition_classification(system, code, kind, low_trauma, level) -> None:
    s = run(cond(system, code))
    assert [(f.kind, f.low_trauma, f.level) for f in s.fractures] == [(kind, low_trauma, level)]


def test_fragility_code_text_places_the_fracture() -> None:
    c = cond(SNOMED, "443165006", bodySite=[{"text": "Left femur"}])
    c["code"]["text"] = "Osteoporotic fracture of femur"
    s = run(c)
    assert [(f.kind, f.level) for f in s.fractures] == [(FractureKind.LONG_BONE, "femur")]


@pytest.mark.parametrize(
    "clinical, verification, counted, provisional, reason",
    [  # clinical and verification status
        ("active", "confirmed", True, False, None),
        ("resolved", "confirmed", True, False, None),  # a healed VF is still fracture history
        ("inactive", None, True, False, None),
        (None, None, True, False, None),
        ("active", "provisional", True, True, None),
        ("active", "differential", True, True, None),
        ("active", "refuted", False, False, "verification refuted"),
        ("active", "entered-in-error", False, False, "verification entered-in-error"),
    ],
)
def test_fracture_condition_status(clinical, verification, counted, provisional, reason) -> None:
    s = run(cond(SNOMED, "42942008", clinical=clinical, verification=verification))
    assert len(s.fractures) == (1 if counted else 0)
    if counted:
        assert s.fractures[0].provisional is provisional
    assert reasons(s) == ([reason] if reason else [])


VF = cc(SNOMED, "42942008", "Compression fracture of vertebral column")


@pytest.mark.parametrize(
    "extra, fractures, grade, reason",
    [  # negation; Genant grade
        ({"valueBoolean": True}, 1, None, None),
        ({"valueBoolean": False}, 0, None, None),
        ({"valueCodeableConcept": cc(SNOMED, "52101004", "Present")}, 1, None, None),
        ({"valueCodeableConcept": cc(SNOMED, "2667000", "Absent")}, 0, None, None),
        ({"valueCodeableConcept": {"text": "not present"}}, 0, None, None),
        (
            {
                "valueBoolean": True,
                "interpretation": [
                    cc("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "N")
                ],
            },
            0,
            None,
            None,
        ),
        ({}, 0, None, "fracture finding without value"),  # never trigger on the code alone
        ({"valueInteger": 2}, 1, 2.0, None),
        ({"valueQuantity": {"value": 0.5}}, 0, None, None),  # borderline grade is not a VF
        (
            {"valueBoolean": True, "component": [{"code": {"text": "Genant grade"}, "valueInteger": 3}]},
            1,
            3.0,
            None,
        ),
    ],
)
def test_vertebral_fracture_observation(extra, fractures, grade, reason) -> None:
    s = run(obs(VF, None, **extra))
    assert len(s.fractures) == fractures
    if fractures:
        assert s.fractures[0].genant_grade == grade and s.fractures[0].kind is FractureKind.VERTEBRAL
    assert reasons(s) == ([reason] if reason else [])


def test_per_vertebra_findings_and_preliminary() -> None:
    comps = [
        {"code": {"text": f"{lvl} Genant grade"}, "valueInteger": g}
        for lvl, g in (("T11", 1), ("T12", 2), ("L1", 0))
    ]
    s = run(obs(VF, None, valueBoolean=True, component=comps, status="preliminary"))
    assert sorted((f.level, f.genant_grade, f.provisional) for f in s.fractures) == [
        ("T11", 1.0, True),
        ("T12", 2.0, True),
    ]


def _report(conclusion_code: dict, when: str = "2023-03-10", **extra: object) -> dict:
    return {
        "resourceType": "DiagnosticReport",
        "id": "dr1",
        "status": "final",
        "code": cc(LOINC, "24984-7"),
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": when,
        "conclusionCode": [conclusion_code],
        **extra,
    }


@pytest.mark.parametrize(
    "resources, expected",
    [  # one fracture from several sources: merge and de-duplicate
        # Condition + Observation (T12) + report within 30 days: one fracture, three sources, level kept
        (
            [
                cond(SNOMED, "42942008", onset="2023-03-01"),
                obs(VF, None, valueInteger=2, bodySite={"text": "T12"}, when="2023-03-05"),
                _report(cc(SNOMED, "42942008")),
            ],
            [("T12", 3, date(2023, 3, 1))],
        ),
        # 31+ days apart: two fractures
        (
            [
                cond(SNOMED, "42942008", onset="2023-01-01"),
                _report(cc(SNOMED, "42942008"), when="2023-03-10"),
            ],
            [(None, 1, date(2023, 1, 1)), (None, 1, date(2023, 3, 10))],
        ),
        # same date, different levels: two fractures
        (
            [
                obs(VF, None, valueInteger=1, bodySite={"text": "T8"}),
                obs(VF, None, valueInteger=1, bodySite={"text": "L2"}),
            ],
            [("T8", 1, date(2024, 1, 10)), ("L2", 1, date(2024, 1, 10))],
        ),
    ],
)
def test_fracture_merge(resources, expected) -> None:
    s = run(*resources)
    assert sorted(((f.level, len(f.sources), f.when) for f in s.fractures), key=str) == sorted(
        expected, key=str
    )


def test_merged_fracture_takes_confirmation_but_not_fragility_over_a_traumatic_code() -> None:
    s = run(
        cond(ICD, "S22.000A", onset="2023-03-01", verification="provisional"),
        cond(ICD, "M80.08XA", onset="2023-03-03"),
    )
    assert len(s.fractures) == 1
    f = s.fractures[0]
    # a traumatic S-code in the merge keeps the mechanism open (fragility only when every
    # source says so); a confirmed source makes the merged fracture confirmed.
    assert (f.low_trauma, f.provisional) == (None, False)


@pytest.mark.parametrize(
    "system, code, disorder",
    [  # neuromuscular diagnoses, SNOMED CT and ICD-10-CM
        (SNOMED, "76670001", Nmd.DMD),
        (ICD, "G71.01", Nmd.DMD),
        (ICD, "G71.02", Nmd.MUSCULAR_DYSTROPHY),
        (SNOMED, "5262007", Nmd.SMA),
        (ICD, "G12.1", Nmd.SMA),
        (ICD, "G12.21", Nmd.ALS),
        (ICD, "G12.20", Nmd.ALS),
        (SNOMED, "86044005", Nmd.ALS),
        (ICD, "G80.0", Nmd.CEREBRAL_PALSY),
        ("http://hl7.org/fhir/sid/icd-10", "G71.0", Nmd.MUSCULAR_DYSTROPHY),
    ],
)
def test_nmd_diagnosis(system, code, disorder) -> None:
    s = run(cond(system, code))
    assert [d.disorder for d in s.diagnoses] == [disorder]


@pytest.mark.parametrize(
    "clinical, verification, counted",
    [
        ("active", None, True),
        ("recurrence", None, True),
        ("relapse", None, True),
        (None, None, True),
        ("inactive", None, False),
        ("resolved", None, False),
        ("remission", None, False),
        ("active", "refuted", False),
        ("active", "entered-in-error", False),
        ("active", "provisional", True),
    ],
)
def test_diagnosis_status(clinical, verification, counted) -> None:
    s = run(cond(SNOMED, "76670001", clinical=clinical, verification=verification))
    assert s.in_scope is counted


@pytest.mark.parametrize(
    "codes_, in_scope",
    [  # cerebral palsy alone is out of scope; with a neuromuscular disorder it is not
        ([(SNOMED, "76670001"), (SNOMED, "128188000")], True),
        ([(SNOMED, "128188000")], False),
        ([(SNOMED, "76670001"), (ICD, "G12.9")], True),
    ],
)
def test_multiple_diagnoses(codes_, in_scope) -> None:
    s = run(*[cond(sys, c) for sys, c in codes_])
    assert s.in_scope is in_scope and len(s.diagnoses) == len(codes_)


@pytest.mark.parametrize(
    "resources, since",
    [  # non-ambulatory since
        ([cond(SNOMED, "282145008", onset="2019-05-01")], date(2019, 5, 1)),
        (
            [cond(ICD, "Z99.3", onset="2021-01-01"), cond(SNOMED, "225612007", onset="2020-02-01")],
            date(2020, 2, 1),
        ),
        ([obs(cc(SNOMED, "105503008"), None, when="2022-02-02")], date(2022, 2, 2)),
    ],
)
def test_non_ambulatory(resources, since) -> None:
    s = run(*resources)
    assert s.non_ambulatory and s.non_ambulatory_since == since


def test_resolved_non_ambulatory_does_not_count() -> None:
    assert not run(cond(SNOMED, "282145008", clinical="resolved")).non_ambulatory


@pytest.mark.parametrize(
    "system, code, clinical, symptom",
    [  # scoliosis and symptoms
        (SNOMED, "298382003", "active", Symptom.SCOLIOSIS),
        (ICD, "M41.40", "active", Symptom.SCOLIOSIS),
        (ICD, "M54.5", "active", Symptom.BACK_PAIN),
        (ICD, "M40.209", "active", Symptom.KYPHOSIS),
        (ICD, "R06.01", "active", Symptom.ORTHOPNOEA),
        (ICD, "Z98.1", "resolved", None),  # arthrodesis of any joint: needs spine text (test_review_fixes)
        (ICD, "M54.5", "resolved", None),
    ],
)
def test_findings(system, code, clinical, symptom) -> None:
    s = run(cond(system, code, clinical=clinical))
    assert [f.symptom for f in s.findings] == ([symptom] if symptom else [])


def test_height_loss_by_text() -> None:
    c = cond("urn:local", "HL1")
    c["code"]["text"] = "Documented height loss"
    assert [f.symptom for f in run(c).findings] == [Symptom.HEIGHT_LOSS]


@pytest.mark.parametrize(
    "resources, gastrostomy",
    [  # gastrostomy present
        ([cond(ICD, "Z93.1")], True),
        (
            [
                {
                    "resourceType": "Procedure",
                    "id": "g",
                    "status": "completed",
                    "code": cc(SNOMED, "174163005"),
                    "subject": {"reference": "Patient/p1"},
                    "performedDateTime": "2022-01-01",
                }
            ],
            True,
        ),
        (
            [
                {
                    "resourceType": "Procedure",
                    "id": "g",
                    "status": "in-progress",
                    "code": cc(SNOMED, "174163005"),
                    "subject": {"reference": "Patient/p1"},
                }
            ],
            False,
        ),
        ([cond(ICD, "Z93.1", clinical="resolved")], False),
    ],
)
def test_gastrostomy(resources, gastrostomy) -> None:
    assert run(*resources).gastrostomy is gastrostomy


def test_incomplete_prefetch_is_passed_through() -> None:  # types the prefetch lacks are unknown, not absent
    s = run(obs("29463-7", 30, "kg"), complete=frozenset({"Observation"}))
    assert s.data_complete == frozenset({"Observation"}) and s.fractures == ()


@pytest.mark.parametrize(
    "body_site, kind, level",
    [  # Condition.bodySite is a list in R4: the site must still classify the fracture
        ([{"text": "Femur"}], FractureKind.LONG_BONE, None),
        ([{"text": "T12 vertebra"}], FractureKind.VERTEBRAL, "T12"),
        (
            [{"coding": [{"system": SNOMED, "code": "71341001", "display": "Bone structure of femur"}]}],
            FractureKind.LONG_BONE,
            None,
        ),
    ],
)
def test_condition_body_site_list_classifies_fragility_fracture(body_site, kind, level) -> None:
    s = run(cond(SNOMED, "443165006", bodySite=body_site))
    (f,) = s.fractures
    assert f.kind is kind and f.low_trauma is True
    if level:
        assert f.level == level


def test_vertebral_fracture_observation_is_low_trauma() -> None:
    # A VF read on imaging carries no trauma code: it is a fragility fracture (only S-codes ask to confirm).
    s = run(
        obs(
            cc(SNOMED, "42942008"),
            True,
            None,
            component=[{"code": {"text": "Genant grade"}, "valueInteger": 2}],
        )
    )
    (f,) = s.fractures
    assert f.low_trauma is True and f.genant_grade == 2

"""Procedures, statuses and codes that change interpretation (issue items 3-4): spinal fusion by
Procedure, gastrostomy by CPT / ICD-10-PCS / SNOMED / Z93.1 / device, coded menopausal status, the
fracture mechanism from ICD-10-CM external-cause codes, and the vertebral level from the code."""

from __future__ import annotations

import pytest

from service.fhir.summary import FractureKind, Symptom
from service.rules.core import RuleContext
from service.rules.registry import evaluate
from tests.fhir.helpers import (
    CPT,
    ICD10CM,
    KNOWLEDGE,
    SNOMED,
    TODAY,
    cc,
    cond,
    obs,
    reasons,
    run,
    stats,
    steroid,
)

ICD10PCS = "http://www.cms.gov/Medicare/Coding/ICD10"


def procedure(system: str, code: str, status: str = "completed", when: str = "2021-05-04", **extra) -> dict:
    return {
        "resourceType": "Procedure",
        "id": f"pr-{code}",
        "status": status,
        "code": cc(system, code),
        "subject": {"reference": "Patient/p1"},
        "performedDateTime": when,
        **extra,
    }


FUSION = [(SNOMED, "55705006")] + [
    (CPT, c)
    for c in ("22800", "22802", "22804", "22808", "22810", "22812", "22610", "22612", "22614", "22630")
    + ("22632", "22633", "22634")
]


@pytest.mark.parametrize("system, code", FUSION)
def test_a_spinal_fusion_procedure_is_a_spinal_fusion_finding(system, code) -> None:
    s = run(procedure(system, code))
    assert [(f.symptom, str(f.when)) for f in s.findings] == [(Symptom.SPINAL_FUSION, "2021-05-04")]


@pytest.mark.parametrize(
    "system, code, status, found, reason",
    [
        (CPT, "22612", "in-progress", False, "procedure not completed"),
        (CPT, "22612", "not-done", False, "status not-done"),
        (CPT, "22600", "completed", False, None),  # cervical arthrodesis: outside the ranges
        (CPT, "22840", "completed", False, None),  # instrumentation add-on: not in the knowledge's ranges
    ],
)
def test_what_is_not_a_spinal_fusion(system, code, status, found, reason) -> None:
    s = run(procedure(system, code, status))
    assert bool(s.findings) is found
    assert reasons(s) == ([reason] if reason else [])


@pytest.mark.parametrize(
    "resource",
    [
        procedure(CPT, "43246"),
        procedure(CPT, "43653"),
        procedure(CPT, "49440"),
        procedure(ICD10PCS, "0DH64UZ"),  # insertion of feeding device into stomach, percutaneous
        procedure(ICD10PCS, "0DH68UZ"),
        procedure(SNOMED, "174163005"),
        cond(ICD10CM, "Z93.1"),
        {
            "resourceType": "Device",
            "id": "d1",
            "status": "active",
            "type": {"text": "Gastrostomy tube (G-tube), 14 Fr"},
            "patient": {"reference": "Patient/p1"},
        },
    ],
    ids=["43246", "43653", "49440", "0DH64UZ", "0DH68UZ", "174163005", "Z93.1", "device"],
)
def test_a_gastrostomy_in_place(resource) -> None:
    assert run(resource).gastrostomy is True


def test_a_gastrostomy_device_through_a_device_use_statement() -> None:
    device = {"resourceType": "Device", "id": "d1", "type": {"text": "PEG tube"}}
    use = {
        "resourceType": "DeviceUseStatement",
        "id": "u1",
        "status": "active",
        "subject": {"reference": "Patient/p1"},
        "device": {"reference": "Device/d1"},
    }
    s, st = stats(device, use)
    assert s.gastrostomy is True and st.used == 1
    assert run({**use, "status": "entered-in-error"}, device).gastrostomy is False


@pytest.mark.parametrize(
    "resource, gastrostomy",
    [
        (procedure(CPT, "43246", "in-progress"), False),
        (procedure(ICD10PCS, "0DH70UZ"), False),  # insertion into the small intestine, not the stomach
        (
            {
                "resourceType": "Device",
                "id": "d2",
                "type": {"text": "Wheelchair"},
                "patient": {"reference": "Patient/p1"},
            },
            False,
        ),
        (
            {
                "resourceType": "Device",
                "id": "d3",
                "status": "inactive",
                "type": {"text": "G-tube"},
                "patient": {"reference": "Patient/p1"},
            },
            False,
        ),
    ],
)
def test_what_is_not_a_gastrostomy_in_place(resource, gastrostomy) -> None:
    assert run(resource).gastrostomy is gastrostomy


@pytest.mark.parametrize(
    "resource",
    [
        cond(ICD10CM, "Z78.0"),
        cond(ICD10CM, "N95.1"),
        cond(ICD10CM, "N95.8"),
        cond(ICD10CM, "N95.9"),
        cond(SNOMED, "161712005"),
        cond(ICD10CM, "Z78.0", clinical="resolved"),  # a state, not an illness: "resolved" still counts
        obs(
            {"text": "Menopausal status"},
            None,
            valueCodeableConcept=cc(SNOMED, "161712005", "Postmenopausal state"),
        ),
        obs(cc(SNOMED, "161712005", "Postmenopausal state"), None),
    ],
    ids=["Z78.0", "N95.1", "N95.8", "N95.9", "161712005", "resolved", "obs-answer", "obs-code"],
)
def test_coded_menopausal_status(resource) -> None:
    s = run(resource)
    assert [f.symptom for f in s.findings] == [Symptom.POSTMENOPAUSAL]


def test_menopausal_status_not_coded_is_not_read() -> None:
    s = run(obs({"text": "Menopausal status"}, None, valueString="postmenopausal"))
    assert s.findings == ()


# --- fracture mechanism ----------------------------------------------------------------------
def _fracture(code: str = "S32.010A", **extra) -> dict:
    return cond(ICD10CM, code, id="fx", **{"onset": "2024-02-10", **extra})


def _cause(code: str, **extra) -> dict:
    return cond(ICD10CM, code, id=f"cause-{code}", **{"onset": "2024-02-10", **extra})


@pytest.mark.parametrize(
    "resources, low_trauma, cause",
    [
        ([_fracture()], None, None),  # an S-code alone: the clinician confirms the mechanism
        ([_fracture(), _cause("V43.52XA")], False, "V43.52XA"),  # car driver in a collision: same date
        ([_fracture(), _cause("W11.XXXA")], False, "W11.XXXA"),  # fall from a ladder
        ([_fracture(), _cause("W23.0XXA")], False, "W23.0XXA"),  # caught between objects
        ([_fracture(), _cause("Y04.0XXA")], False, "Y04.0XXA"),  # assault by bodily force
        ([_fracture(), _cause("W01.0XXA")], True, "W01.0XXA"),  # fall on the same level
        ([_fracture(), _cause("W06.XXXA")], True, "W06.XXXA"),  # fall from bed
        ([_fracture(), _cause("W19.XXXA")], True, "W19.XXXA"),  # unspecified fall
        ([_fracture(), _cause("W19.XXXA"), _cause("V43.52XA")], None, None),  # conflicting: confirm
        ([_fracture(), _cause("V43.52XA", onset="2023-01-01")], None, None),  # another day
        (  # the same encounter links across dates
            [
                _fracture(encounter={"reference": "Encounter/e1"}),
                _cause("V43.52XA", onset="2024-02-11", encounter={"reference": "Encounter/e1"}),
            ],
            False,
            "V43.52XA",
        ),
        (  # the cause as a second coding of the fracture itself
            [
                {
                    **_fracture(),
                    "code": {
                        "coding": [*cc(ICD10CM, "S32.010A")["coding"], *cc(ICD10CM, "V43.52XA")["coding"]]
                    },
                }
            ],
            False,
            "V43.52XA",
        ),
        ([_fracture(evidence=[{"code": [cc(ICD10CM, "W19.XXXA")]}])], True, "W19.XXXA"),  # as evidence
        ([_fracture("M80.08XA"), _cause("V43.52XA")], False, "V43.52XA"),  # the cause is explicit
    ],
)
def test_fracture_mechanism_from_external_cause_codes(resources, low_trauma, cause) -> None:
    s, st = stats(*resources)
    (f,) = s.fractures
    assert (f.low_trauma, f.cause) == (low_trauma, cause)
    if cause:  # the external-cause Condition that gave the mechanism is used
        assert st.used == len(resources) and st.ignored["external cause without a fracture"] == 0


def test_an_external_cause_without_a_fracture_is_out_of_scope() -> None:
    s, st = stats(_cause("V43.52XA"))
    assert s.fractures == () and st.ignored["external cause without a fracture"] == 1 and st.used == 0


def test_a_car_crash_vertebral_fracture_is_not_a_fragility_fracture() -> None:
    """The issue's chart: a teenager with DMD on deflazacort, an L1 fracture from a car crash (S32.010A +
    V43.52XA): no bone-therapy card from it; the same fracture after a fall from bed is one."""
    patient = {"resourceType": "Patient", "id": "p1", "gender": "male", "birthDate": "2010-01-01"}

    def fired(cause: str) -> set[str]:
        s = run(
            patient,
            cond(ICD10CM, "G71.01"),
            steroid("2020-01-01"),
            _fracture(),
            _cause(cause),
            patient_id="p1",
        )
        return {r for f in evaluate(RuleContext(s, TODAY, KNOWLEDGE)).findings for r in f.rule_ids}

    assert not {"BT-01", "BT-01b", "BMD-02"} & fired("V43.52XA")
    assert "BT-01" in fired("W06.XXXA")


# --- vertebral level -------------------------------------------------------------------------
LEVELS = [
    ("S22.010A", "T1"),
    ("S22.020A", "T2"),
    ("S22.030A", "T3"),
    ("S22.040A", "T4"),
    ("S22.050A", "T5-T6"),
    ("S22.060A", "T7-T8"),
    ("S22.070A", "T9-T10"),
    ("S22.080A", "T11-T12"),
    ("S22.009A", "thoracic"),
    ("S32.010A", "L1"),
    ("S32.020A", "L2"),
    ("S32.030A", "L3"),
    ("S32.040A", "L4"),
    ("S32.050A", "L5"),
    ("S32.009A", "lumbar"),
    ("M48.54XA", "thoracic"),
    ("M48.55XA", "thoracolumbar"),
    ("M48.56XA", "lumbar"),
    ("M48.57XA", "lumbosacral"),
    ("M48.50XA", None),  # unspecified site: unknown, never assumed lumbar
    ("M80.08XA", None),
]


@pytest.mark.parametrize("code, level", LEVELS)
def test_vertebral_level_from_the_code(code, level) -> None:
    (f,) = run(cond(ICD10CM, code)).fractures
    assert (f.kind, f.level) == (FractureKind.VERTEBRAL, level)


@pytest.mark.parametrize("code, level", [c for c in LEVELS if c[1]][:4] + [("M48.56XA", "lumbar")])
def test_vertebral_level_from_a_coded_report_conclusion(code, level) -> None:
    report = {
        "resourceType": "DiagnosticReport",
        "id": "r1",
        "status": "final",
        "code": cc("http://loinc.org", "24984-7"),
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2024-01-05",
        "conclusionCode": [cc(ICD10CM, code)],
    }
    (f,) = run(report).fractures
    assert f.level == level


def test_an_imaging_read_and_a_coded_range_are_one_fracture_at_the_precise_level() -> None:
    read = obs(cc(SNOMED, "42942008"), None, when="2024-02-12", bodySite={"text": "T6 vertebra"})
    read["component"] = [{"code": {"text": "Genant grade"}, "valueInteger": 2}]
    s = run(read, _fracture("S22.050A"), _cause("W19.XXXA"))
    (f,) = s.fractures
    assert (f.level, f.genant_grade, f.low_trauma, f.cause) == ("T6", 2, True, "W19.XXXA")
    crash = run(read, _fracture("S22.050A"), _cause("V43.52XA"))
    assert [(f.level, f.low_trauma) for f in crash.fractures] == [("T6", False)]  # the code beats the default
    other = run(read, _fracture("S22.080A"))  # T11-T12 is another vertebra
    assert sorted(f.level for f in other.fractures) == ["T11-T12", "T6"]

"""Truth tables for the therapy-monitoring rules MON-01..MON-08: on therapy, escalation, de-escalation,
re-evaluation after a stop."""

from __future__ import annotations

import pytest

from service.fhir.summary import ActionKind, DrugClass, Site, Symptom
from tests.rules.bone_factory import (
    OFF_THERAPY,
    ON_THERAPY,
    ago,
    cards,
    fire,
    gc,
    imaged,
    long_bone,
    order,
    patient,
    symptom,
    t,
    therapy,
    vf,
    vitd,
    z,
)

DXA_OK = z(-1.5, ago(2))  # recent DXA so MON-03 stays quiet


@pytest.mark.parametrize(
    "facts, expected",
    [
        ((therapy(24), vf("T10", 1, ago(2))), {"MON-01": "critical"}),
        ((therapy(11), vf("T10", 1, ago(2))), {}),  # < 12 months of therapy
        ((therapy(24), vf("T10", 1, ago(14))), {}),  # in the first 12 months
        ((therapy(24), vf("T10", 2, ago(30)), vf("T10", 2, ago(2))), {}),  # same vertebra, same grade
        ((therapy(24), vf("T10", 1, ago(30)), vf("T10", 2, ago(2))), {"MON-01": "critical"}),  # grade +1
        ((therapy(24), vf("T10", 0.5, ago(2))), {}),
        ((therapy(24), long_bone(when=ago(2))), {"MON-01": "critical"}),
        ((therapy(24), vf("T10", 2, ago(2), provisional=True)), {"MON-01": "warning"}),
        ((therapy(24), vf("T10", 2, ago(2)), order(ActionKind.BONE_SPECIALIST_REFERRAL, ago(1))), {}),
    ],
)
def test_mon01_new_fracture_on_therapy(facts, expected):
    assert fire(ON_THERAPY, patient(25, "male", *facts, DXA_OK)) == expected


@pytest.mark.parametrize(
    "facts, expected",
    [
        ((therapy(24), z(-1.0, ago(14)), z(-1.5, ago(2))), {"MON-02": "warning"}),
        ((therapy(24), z(-1.0, ago(14)), z(-1.4, ago(2))), {}),
        ((therapy(10), z(-1.0, ago(14)), z(-1.5, ago(2))), {}),
    ],
)
def test_mon02_bmd_falling_on_therapy(facts, expected):
    assert fire(ON_THERAPY, patient(25, "male", *facts)) == expected


@pytest.mark.parametrize(
    "facts, expected",
    [
        ((therapy(24), z(-1.0, ago(17))), {}),
        ((therapy(24), z(-1.0, ago(19))), {"MON-03": "info"}),
        ((therapy(24),), {"MON-03": "info"}),
        ((therapy(24), order(ActionKind.DXA, ago(1))), {}),
    ],
)
def test_mon03_repeat_dxa(facts, expected):
    assert fire(ON_THERAPY, patient(25, "male", *facts)) == expected


@pytest.mark.parametrize(
    "facts, expected",
    [
        (
            (therapy(30, "denosumab", DrugClass.DENOSUMAB, active=False, last_dose=ago(8)),),
            {"MON-04": "warning"},
        ),
        ((therapy(30, "denosumab", DrugClass.DENOSUMAB, active=True, last_dose=ago(5)),), {}),
        (
            (
                therapy(30, "denosumab", DrugClass.DENOSUMAB, active=False, last_dose=ago(8)),
                therapy(6, "alendronate", DrugClass.BISPHOSPHONATE_ORAL),
            ),
            {},
        ),
    ],
)
def test_mon04_denosumab_stopped(facts, expected):
    assert fire(OFF_THERAPY, patient(60, "female", *facts)) == expected


STABLE = (z(-2.0, ago(14)), z(-1.8, ago(2)))


@pytest.mark.parametrize(
    "age, facts, kw, expected",
    [
        (12, (therapy(30), *STABLE), {}, {"MON-05": "info"}),
        (12, (therapy(20), *STABLE), {}, {}),  # < 2 years on therapy
        (12, (therapy(24), *STABLE), {}, {"MON-05": "info"}),  # exactly 2 years
        (12, (therapy(23.9), *STABLE), {}, {}),
        # Refined: stable on maintenance while risk factors persist is reviewed too (maintenance dosing).
        (12, (therapy(30), *STABLE, gc(24)), {}, {"MON-05": "info"}),  # GC continues
        (12, (therapy(30), *STABLE), {"non_ambulatory": True}, {"MON-05": "info"}),
        (12, (therapy(30), *STABLE, long_bone(when=ago(12))), {}, {}),  # fracture within 24 months
        (12, (therapy(30), *STABLE, symptom(Symptom.BACK_PAIN, ago(3))), {}, {}),
        (12, (therapy(30), z(-1.5, ago(14)), z(-2.0, ago(2))), {}, {}),  # Z falling
        (12, (therapy(30), z(-1.8, ago(2))), {}, {}),  # no trend to judge
        (25, (therapy(30), *STABLE), {}, {}),  # adult
    ],
)
def test_mon05_de_escalation(age, facts, kw, expected):
    got = fire(ON_THERAPY, patient(age, "male", *facts, imaged(ago(2)), **kw))
    assert {k: v for k, v in got.items() if k == "MON-05"} == expected


def test_mon05_says_maintenance_or_discontinuation():
    persisting = cards(ON_THERAPY, patient(12, "male", therapy(30), *STABLE, gc(24), imaged(ago(2))))
    resolved = cards(ON_THERAPY, patient(12, "male", therapy(30), *STABLE, imaged(ago(2))))
    assert "maintenance dosing" in next(f for f in persisting if "MON-05" in f.rule_ids).summary
    assert "discontinuation" in next(f for f in resolved if "MON-05" in f.rule_ids).summary


HIP_OK = (t(-1.8, ago(3), Site.TOTAL_HIP), z(-1.0, ago(3)))
ORAL = {"drug": "alendronate", "cls": DrugClass.BISPHOSPHONATE_ORAL, "last_dose": ago(1)}


@pytest.mark.parametrize(
    "facts, expected",
    [
        # oral bisphosphonate: 5 years (boundary 4.9 / 5.0)
        ((therapy(60, **ORAL), *HIP_OK), {"MON-07": "info"}),
        ((therapy(58.8, **ORAL), *HIP_OK), {}),
        # IV zoledronate: 3 years (boundary 2.9 / 3.0)
        ((therapy(36), *HIP_OK), {"MON-07": "info"}),
        ((therapy(34.8), *HIP_OK), {}),
        # hip T must be above -2.5 (boundary -2.4 / -2.5)
        ((therapy(60, **ORAL), t(-2.4, ago(3), Site.FEMORAL_NECK), z(-1.0, ago(3))), {"MON-07": "info"}),
        ((therapy(60, **ORAL), t(-2.5, ago(3), Site.FEMORAL_NECK), z(-1.0, ago(3))), {}),
        (
            (therapy(60, **ORAL), t(-1.8, ago(3), Site.TOTAL_HIP), t(-2.7, ago(3))),
            {},
        ),  # very low BMD elsewhere
        ((therapy(60, **ORAL), z(-1.0, ago(3))), {}),  # no hip T-score
        ((therapy(60, **ORAL), t(-1.8, ago(30), Site.TOTAL_HIP)), {}),  # DXA too old
        ((therapy(60, **ORAL), *HIP_OK, long_bone(when=ago(20))), {}),  # fracture on therapy
        ((therapy(60, **ORAL), *HIP_OK, gc(12)), {}),  # chronic glucocorticoids: high risk
        ((therapy(60, drug="denosumab", cls=DrugClass.DENOSUMAB), *HIP_OK), {}),  # never for denosumab
    ],
)
def test_mon07_adult_drug_holiday_review(facts, expected):
    got = fire(("MON-07",), patient(62, "female", *facts, imaged(ago(2))))
    assert got == expected


def test_mon07_is_never_for_a_child():
    assert fire(("MON-07",), patient(15, "male", therapy(40), *HIP_OK, imaged(ago(2)))) == {}


@pytest.mark.parametrize(
    "facts, kw, expected",
    [
        ((therapy(36, active=False, end=ago(12)), gc(start=ago(6))), {}, {"MON-06": "warning"}),
        (
            (therapy(36, active=False, end=ago(12)),),
            {"non_ambulatory": True, "non_ambulatory_since": ago(3)},
            {"MON-06": "warning"},
        ),
        (
            (therapy(36, active=False, end=ago(12)),),
            {"non_ambulatory": True, "non_ambulatory_since": ago(20)},
            {},
        ),
        ((therapy(36, active=False, end=ago(12)), long_bone(when=ago(2))), {}, {"MON-06": "warning"}),
        ((therapy(36, active=False, end=ago(12)), gc(36)), {}, {}),  # GC ran through the stop
        ((therapy(36, active=False, end=ago(12)),), {}, {}),
    ],
)
def test_mon06_risk_returned(facts, kw, expected):
    assert fire(OFF_THERAPY, patient(14, "male", *facts, **kw)) == expected


TREATED_VF = vf("T12", 2, ago(40))
STOPPED = {"active": False, "end": ago(10), "last_dose": ago(22)}  # zoledronate given after the fracture


@pytest.mark.parametrize(
    "facts, kw, expected",
    [
        # treated fracture, course ended, steroids ongoing: re-evaluate (no "therapy indicated")
        ((TREATED_VF, therapy(36, **STOPPED), gc(60)), {}, {"MON-08": "warning"}),
        ((TREATED_VF, therapy(36, **STOPPED)), {"non_ambulatory": True}, {"MON-08": "warning"}),
        ((TREATED_VF, therapy(36, **STOPPED)), {}, {}),  # risk resolved: nothing to re-evaluate
        ((TREATED_VF, therapy(36), gc(60)), {}, {}),  # still on therapy
        ((vf("T12", 2, ago(2)), therapy(36, **STOPPED), gc(60)), {}, {}),  # a new, untreated fracture: BT-01
    ],
)
def test_mon08_stopped_while_risk_persists(facts, kw, expected):
    assert fire(("MON-08",), patient(14, "male", *facts, **kw)) == expected


@pytest.mark.parametrize(
    "facts, expected",
    [
        ((TREATED_VF, therapy(36, **STOPPED), gc(60)), {"MON-08": "warning"}),  # treated: never "indicated"
        # a new fracture after the stop: BT-01 for it, and MON-06 (risk returned)
        (
            (vf("T12", 2, ago(2)), therapy(36, **STOPPED), gc(60)),
            {"BT-01": "critical", "BMD-02": "critical", "MON-06": "warning"},
        ),
        ((TREATED_VF, gc(60)), {"BT-01": "critical", "BMD-02": "critical"}),  # never treated: BT-01 stays
    ],
)
def test_an_old_treated_fracture_never_yields_therapy_indicated(facts, expected):
    rules = ("BT-01", "BT-01b", "BT-02", "MON-06", "MON-08")
    assert fire(rules, patient(14, "male", *facts, z(-1.0, ago(3)), vitd(35, ago(2)))) == expected

"""Truth tables for the therapy-monitoring rules MON-01..MON-06: on therapy, escalation, de-escalation."""

from __future__ import annotations

import pytest

from service.fhir.summary import ActionKind, DrugClass, Symptom
from tests.rules.bone_factory import (
    OFF_THERAPY,
    ON_THERAPY,
    ago,
    fire,
    gc,
    imaged,
    long_bone,
    order,
    patient,
    symptom,
    therapy,
    vf,
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
        (12, (therapy(30), *STABLE, gc(24)), {}, {}),  # GC continues
        (12, (therapy(30), *STABLE), {"non_ambulatory": True}, {}),
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

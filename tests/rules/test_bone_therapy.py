"""Truth tables for the bone-therapy rules BT-01..BT-07: fracture-focused therapy cards."""

from __future__ import annotations

import pytest

from service.fhir.summary import ActionKind, Concept, Site
from tests.rules.bone_factory import (
    BONE_THERAPY,
    ago,
    cards,
    fire,
    gc,
    lab,
    long_bone,
    order,
    patient,
    run,
    t,
    therapy,
    vf,
    vitd,
    z,
)

CYS = lab(Concept.CYSTATIN_C, 0.8, ago(2))
VD_OK = vitd(32, ago(2))


@pytest.mark.parametrize(
    "facts, kw, expected",
    [
        ((gc(24), vf("T12", 2)), {}, {"BT-01": "critical"}),
        ((gc(24), vf("T12", 1)), {}, {"BT-01": "critical"}),  # Genant 1 counts
        ((gc(24), vf("T12", 0.5)), {}, {}),  # 0.5 is not a fracture
        ((vf("T12", 0),), {}, {}),
        ((vf("T12", 1),), {}, {"BT-01b": "warning"}),  # no risk factor: confirm read
        ((vf("T12", 2),), {}, {"BT-01b": "critical"}),
        ((gc(24), vf("T12", 2, provisional=True)), {}, {"BT-01": "warning"}),
        ((gc(24), vf("T12", 2, low_trauma=None)), {}, {"BT-01": "warning"}),
        ((gc(24), vf("T12", 2, low_trauma=False)), {}, {}),  # traumatic: not fragility
        ((gc(24), vf("T12", 2), therapy(24)), {}, {}),  # on therapy: MON rules instead
        ((gc(24), vf("T12", 2, ago(2)), order(ActionKind.BONE_SPECIALIST_REFERRAL, ago(1))), {}, {}),
        (
            (gc(24), vf("T12", 2, ago(1)), order(ActionKind.BONE_SPECIALIST_REFERRAL, ago(2))),
            {},
            {"BT-01": "critical"},
        ),
        (
            (gc(24), vf("T12", 2)),
            {"data_complete": frozenset({"Condition", "Observation"})},
            {"BT-01": "warning"},
        ),
        ((vf("T12", 2),), {"non_ambulatory": True}, {"BT-01": "critical"}),
        # a risk factor resting only on a preliminary DXA is listed but never makes it critical
        ((vf("T12", 1), z(-2.5, ago(2), Site.TOTAL_HIP)), {}, {"BT-01": "critical"}),
        ((vf("T12", 1), z(-2.5, ago(2), Site.TOTAL_HIP, preliminary=True)), {}, {"BT-01": "warning"}),
        ((vf("T12", 2), z(-2.5, ago(2), Site.TOTAL_HIP, preliminary=True)), {}, {"BT-01": "critical"}),
        (
            (vf("T12", 1), z(-1.0, ago(14), Site.TOTAL_HIP), z(-1.6, ago(2), Site.TOTAL_HIP)),
            {},
            {"BT-01": "critical"},
        ),
        (
            (
                vf("T12", 1),
                z(-1.0, ago(14), Site.TOTAL_HIP),
                z(-1.6, ago(2), Site.TOTAL_HIP, preliminary=True),
            ),
            {},
            {"BT-01": "warning"},
        ),
        (
            (gc(24), vf("T12", 1), z(-2.5, ago(2), Site.TOTAL_HIP, preliminary=True)),
            {},
            {"BT-01": "critical"},
        ),
    ],
)
def test_bt01_vertebral_fracture(facts, kw, expected):
    got = fire(BONE_THERAPY, patient(25, "male", *facts, CYS, VD_OK, **kw))
    assert {k: v for k, v in got.items() if k != "BT-04"} == expected


def test_bt01_preliminary_dxa_is_listed_as_evidence_but_not_counted():
    low = z(-2.5, ago(2), Site.TOTAL_HIP, preliminary=True)
    f = next(iter(cards(BONE_THERAPY, (patient(25, "male", vf("T12", 1), low, CYS, VD_OK)))))
    assert f.indicator.value == "warning" and "low BMD (total hip Z -2.5)" in f.reasoning
    assert "preliminary" in f.reasoning and any(e.source == low.source for e in f.evidence)


def test_bt01_summary_names_fracture_and_unconfirmed_asks_to_confirm():
    f = next(iter(cards(BONE_THERAPY, (patient(12, "male", gc(24), vf("T12", 2, ago(1)), CYS, VD_OK)))))
    assert f.summary.startswith("Vertebral fracture (T12, Genant 2) on ") and "BMD-02" in f.rule_ids
    assert "IV bisphosphonate" in f.reasoning
    g = next(
        iter(cards(BONE_THERAPY, (patient(12, "male", gc(24), vf("T12", 2, provisional=True), CYS, VD_OK))))
    )
    assert "confirm" in g.summary and g.indicator.value == "warning"


@pytest.mark.parametrize(
    "facts, kw, expected",
    [
        ((long_bone(),), {"non_ambulatory": True}, {"BT-02": "warning"}),
        ((long_bone(), z(-2.0, ago(2), Site.TOTAL_HIP)), {"non_ambulatory": True}, {"BT-02": "critical"}),
        (
            (long_bone(), z(-2.0, ago(2), Site.TOTAL_HIP, preliminary=True)),
            {"non_ambulatory": True},
            {"BT-02": "warning"},
        ),
        ((long_bone(), z(-1.9, ago(2), Site.TOTAL_HIP)), {"non_ambulatory": True}, {"BT-02": "warning"}),
        ((long_bone(),), {}, {}),  # no persistent risk factor
        (
            (long_bone(low_trauma=None), z(-2.5, ago(2), Site.TOTAL_HIP)),
            {"non_ambulatory": True},
            {"BT-02": "warning"},
        ),
    ],
)
def test_bt02_long_bone_fracture(facts, kw, expected):
    assert fire(BONE_THERAPY, patient(12, "male", *facts, CYS, VD_OK, **kw)) == expected


def test_bt02_with_vertebral_fracture_is_critical_and_one_card():
    found = [
        f
        for f in run(patient(12, "male", long_bone(), vf("T12", 1), CYS, VD_OK, non_ambulatory=True))
        if f.action is ActionKind.BONE_SPECIALIST_REFERRAL
    ]
    assert len(found) == 1 and {"BT-01", "BT-02"} <= set(found[0].rule_ids)
    assert found[0].indicator.value == "critical"


@pytest.mark.parametrize(
    "age, facts, expected",
    [
        (60, (t(-2.5, ago(2), Site.FEMORAL_NECK),), {"BT-03": "warning"}),
        (60, (t(-2.4, ago(2), Site.FEMORAL_NECK),), {}),
        (45, (t(-2.6, ago(2)), z(-1.0, ago(2))), {}),  # < 50: no WHO T class
        (60, (t(-2.6, ago(2)), long_bone(low_trauma=False)), {"BT-03": "warning"}),  # traumatic doesn't count
        (60, (t(-2.6, ago(26)),), {}),  # stale DXA
    ],
)
def test_bt03_osteoporosis_by_bmd(age, facts, expected):
    assert fire(BONE_THERAPY, patient(age, "male", *facts, CYS, VD_OK)) == expected


@pytest.mark.parametrize(
    "age, facts, expected",
    [
        # ACR 2022: a T-score alone calls for a FRAX assessment (info), not "treatment recommended"
        (45, (gc(12), t(-1.0, ago(2)), z(-0.5, ago(2))), {"BT-04": "info"}),
        (45, (gc(12), t(-0.9, ago(2)), z(-0.5, ago(2))), {}),
        (
            45,
            (gc(12), t(-0.9, ago(2)), z(-0.5, ago(2)), long_bone(when=ago(30), low_trauma=True)),
            {"BT-02": "warning", "BT-04": "warning"},  # a prior fragility fracture on steroids: high risk
        ),
        (35, (gc(12), t(-1.5, ago(2)), z(-0.5, ago(2))), {}),  # < 40 y: BMD path not used
        (45, (t(-1.5, ago(2)), z(-0.5, ago(2))), {}),  # no glucocorticoid
        (15, (gc(12), t(-1.5, ago(2)), z(-0.5, ago(2))), {}),  # child
    ],
)
def test_bt04_glucocorticoid_adult(age, facts, expected):
    assert fire(BONE_THERAPY, patient(age, "male", *facts, CYS, VD_OK)) == expected


@pytest.mark.parametrize(
    "facts, kw, expected",
    [
        ((z(-2.5, ago(2)),), {}, {}),  # BT-05: BMD alone, no card
        # Widened: a persistent risk factor with or without glucocorticoids, plus low or falling BMD.
        ((z(-2.5, ago(2)),), {"non_ambulatory": True}, {"BT-06": "info"}),  # non-ambulatory, no GC, low Z
        ((z(-1.9, ago(2)),), {"non_ambulatory": True}, {}),  # Z not low
        ((z(-2.0, ago(2)),), {"non_ambulatory": True}, {"BT-06": "info"}),  # Z -2.0 exactly
        ((gc(24),), {"non_ambulatory": True}, {}),  # risk factors but BMD neither low nor falling
        ((gc(24),), {}, {}),
        ((gc(24), z(-2.1, ago(2))), {}, {"BT-06": "info"}),
        ((gc(24), z(-1.5, ago(14)), z(-2.0, ago(2))), {}, {"BT-06": "info"}),  # GC + falling BMD
        # falling: a Z fall of 0.5 SD per year or faster (boundary -0.4 / -0.5 over 12 months)
        ((z(-1.0, ago(14)), z(-1.5, ago(2))), {"non_ambulatory": True}, {"BT-06": "info"}),
        ((z(-1.0, ago(14)), z(-1.4, ago(2))), {"non_ambulatory": True}, {}),
        ((z(-1.0, ago(26)), z(-1.6, ago(2))), {"non_ambulatory": True}, {}),  # -0.6 in 2 years: -0.3 a year
        ((gc(24), long_bone()), {"non_ambulatory": True}, {"BT-02": "warning"}),  # fracture: not pre-emptive
    ],
)
def test_bt05_bt06_no_fracture(facts, kw, expected):
    assert fire(BONE_THERAPY, patient(12, "male", *facts, CYS, VD_OK, **kw)) == expected


def test_bt05_low_bmd_child_gets_spine_imaging_not_therapy():
    found = run(patient(12, "male", z(-2.5, ago(2)), z(-2.4, ago(2), Site.TOTAL_BODY)))
    assert not [f for f in found if f.topic.value == "bone-therapy"]
    assert any("SI-06" in f.rule_ids for f in found)


@pytest.mark.parametrize(
    "extra, has_bt07",
    [
        ((vitd(14, ago(2)), CYS), True),  # vitamin D < 20
        ((vitd(20, ago(2)), CYS), False),
        ((vitd(15, ago(2), ">"), CYS), False),  # only a lower bound: not certainly deficient
        ((vitd(25, ago(2), ">="), CYS), False),
        ((vitd(10, ago(2), "<"), CYS), True),  # "<10": below detection counts (VD-04)
        ((VD_OK,), True),  # renal function unknown
        ((VD_OK, lab(Concept.CREATININE, 0.3, ago(2))), True),  # creatinine only
        ((VD_OK, lab(Concept.CYSTATIN_C, 0.8, ago(13))), True),  # cystatin C too old
    ],
)
def test_bt07_before_starting(extra, has_bt07):
    got = fire(BONE_THERAPY, patient(12, "male", gc(24), vf("T12", 2), *extra))
    assert ("BT-07" in got) is has_bt07 and "BT-01" in got


def test_bt07_never_alone():
    assert fire(BONE_THERAPY, patient(12, "male", vitd(10, ago(1)))) == {}

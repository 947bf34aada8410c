"""Truth tables for the spine-imaging rules SI-01..SI-08 at and around their thresholds."""

from __future__ import annotations

import pytest

from service.fhir.summary import ActionKind, DrugClass, Site, Symptom
from tests.rules.bone_factory import (
    SI_FALLING_BMD,
    SI_GLUCOCORTICOID,
    SI_LONG_BONE,
    SI_LOW_BMD,
    SI_ON_THERAPY,
    SI_OTHER_RISK,
    SI_SYMPTOMS,
    ago,
    bmd,
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
    z,
)


@pytest.mark.parametrize(
    "facts, expected",
    [
        ((gc(24),), {"SI-01": "warning"}),  # never imaged
        ((gc(2),), {}),  # < 90 days: not chronic
        ((gc(start=ago(days=90)),), {"SI-01": "warning"}),  # exactly 90 days
        ((gc(start=ago(days=89)),), {}),
        ((gc(36), imaged(ago(40))), {"SI-01": "warning"}),  # imaging before GC start only
        ((gc(36), imaged(ago(11))), {}),
        ((gc(36), imaged(ago(13))), {"SI-02": "info"}),  # > 12 months
        ((gc(36), imaged(ago(24, days=-3))), {"SI-02": "info"}),  # just under 24 months
        ((gc(36), imaged(ago(25))), {"SI-02": "warning"}),  # > 24 months
        ((gc(24, active=False, end=ago(days=30)),), {"SI-01": "warning"}),  # stopped recently: still counts
        ((gc(24, active=False, end=ago(days=200)),), {}),  # stopped long ago
        ((gc(24), order(ActionKind.SPINE_IMAGING, ago(days=30))), {}),  # open order suppresses
        ((gc(24), order(ActionKind.SPINE_IMAGING, ago(days=30), "completed", True)), {}),
        ((gc(24), order(ActionKind.SPINE_IMAGING, ago(days=120))), {"SI-01": "warning"}),  # outside 90 days
        ((gc(24), order(ActionKind.SPINE_IMAGING, ago(days=10), "revoked")), {"SI-01": "warning"}),
    ],
)
def test_si01_si02_glucocorticoid(facts, expected):
    assert fire(SI_GLUCOCORTICOID, patient(12, "male", *facts)) == expected


@pytest.mark.parametrize(
    "facts, kw, expected",
    [
        ((), {"non_ambulatory": True}, {"SI-03": "warning"}),  # never, non-ambulatory
        ((long_bone(when=ago(30)),), {}, {"SI-03": "info"}),  # never, prior fracture
        ((imaged(ago(23)),), {"non_ambulatory": True}, {}),
        ((imaged(ago(25)),), {"non_ambulatory": True}, {"SI-03": "info"}),
        ((imaged(ago(37)),), {"non_ambulatory": True}, {"SI-03": "warning"}),
        ((gc(24), imaged(ago(25))), {"non_ambulatory": True}, {}),  # GC: SI-02 applies instead
        ((), {}, {}),  # no risk factor
        ((z(-2.3, ago(3)),), {}, {"SI-03": "info"}),  # low BMD, ambulant, never
    ],
)
def test_si03_other_risk_factor(facts, kw, expected):
    assert fire(SI_OTHER_RISK, patient(12, "male", *facts, **kw)) == expected


@pytest.mark.parametrize(
    "facts, expected",
    [
        ((z(-1.5, ago(15)), z(-2.0, ago(3))), {"SI-04", "BMD-05"}),  # ΔZ -0.5 exactly
        ((z(-1.5, ago(15)), z(-1.9, ago(3))), set()),  # ΔZ -0.4
        ((z(-1.5, ago(8)), z(-2.2, ago(3))), set()),  # 5 months apart
        ((z(-1.5, ago(40)), z(-2.2, ago(3))), set()),  # 37 months apart
        ((z(-1.5, ago(30)), z(-2.2, ago(27))), set()),  # later DXA not fresh
        ((bmd(0.800, ago(15)), bmd(0.760, ago(3))), {"SI-04", "BMD-05"}),  # LS -5.0 % = LSC
        ((bmd(0.800, ago(15)), bmd(0.761, ago(3))), set()),  # -4.9 %
        (
            (bmd(0.700, ago(15), Site.FEMORAL_NECK), bmd(0.651, ago(3), Site.FEMORAL_NECK)),
            {"SI-04", "BMD-05"},
        ),
        ((bmd(0.700, ago(15), Site.FEMORAL_NECK), bmd(0.652, ago(3), Site.FEMORAL_NECK)), set()),  # -6.9 %
        (
            (
                z(-1.0, ago(15), Site.TOTAL_HIP, laterality="left"),
                z(-2.0, ago(3), Site.TOTAL_HIP, laterality="right"),
            ),
            set(),
        ),  # other side: no trend
        ((z(-1.0, ago(15)), z(-2.0, ago(3), height_adjusted=True)), set()),  # Z vs HAZ: no trend
        ((t(-1.0, ago(15)), t(-2.0, ago(3))), set()),  # 12-year-old: T ignored
        ((z(-1.5, ago(15)), z(-2.0, ago(3)), imaged(ago(2))), {"BMD-05"}),  # imaged after: BMD-05 alone
        ((z(-1.5, ago(15)), z(-2.0, ago(3)), imaged(ago(3))), {"BMD-05"}),  # VFA with the DXA counts
        ((z(-1.5, ago(15)), z(-2.0, ago(3)), therapy(24)), {"SI-04"}),  # on therapy: MON-02 instead
    ],
)
def test_si04_bmd05_falling_bmd(facts, expected):
    assert set(fire(SI_FALLING_BMD, patient(12, "male", *facts))) == expected


def test_si04_merged_card_is_spine_imaging_and_bmd05_alone_is_referral():
    merged = cards(SI_FALLING_BMD, patient(12, "male", z(-1.2, ago(15)), z(-1.8, ago(3))))
    assert [(f.rule_ids, f.topic.value, f.action) for f in merged] == [
        (("SI-04", "BMD-05"), "spine-imaging", ActionKind.SPINE_IMAGING)
    ]
    assert "ΔZ -0.6" in merged[0].summary
    alone = cards(SI_FALLING_BMD, patient(12, "male", z(-1.2, ago(15)), z(-1.8, ago(3)), imaged(ago(1))))
    assert [(f.rule_ids, f.topic.value, f.action) for f in alone] == [
        (("BMD-05",), "bone-therapy", ActionKind.BONE_SPECIALIST_REFERRAL)
    ]


@pytest.mark.parametrize(
    "facts, expected",
    [
        ((symptom(Symptom.BACK_PAIN, ago(days=30)),), {"SI-05": "warning"}),
        ((symptom(Symptom.HEIGHT_LOSS, ago(days=90)),), {"SI-05": "warning"}),  # day 90: still new
        ((symptom(Symptom.KYPHOSIS, ago(days=91)),), {}),
        ((symptom(Symptom.BACK_PAIN, None),), {}),  # undated: not "new"
        ((symptom(Symptom.BACK_PAIN, ago(days=30)), imaged(ago(days=10))), {}),  # imaged since onset
        ((symptom(Symptom.BACK_PAIN, ago(days=30)), imaged(ago(days=40))), {"SI-05": "warning"}),
        (
            (symptom(Symptom.BACK_PAIN, ago(days=30)), order(ActionKind.SPINE_IMAGING, ago(days=40))),
            {"SI-05": "warning"},
        ),  # order predates onset
        ((symptom(Symptom.BACK_PAIN, ago(days=30)), order(ActionKind.SPINE_IMAGING, ago(days=20))), {}),
        ((symptom(Symptom.SCOLIOSIS, ago(days=30)),), {}),
    ],
)
def test_si05_new_symptoms(facts, expected):
    assert fire(SI_SYMPTOMS, patient(12, "male", *facts)) == expected


@pytest.mark.parametrize(
    "age, sex, facts, expected",
    [
        (12, "male", (z(-2.0, ago(3)),), {"SI-06": "warning"}),
        (12, "male", (z(-1.9, ago(3)),), {}),
        (12, "male", (z(-2.5, ago(25)),), {}),  # stale DXA: no threshold card
        (12, "male", (z(-2.5, ago(3)), imaged(ago(11))), {}),
        (12, "male", (z(-2.5, ago(3)), imaged(ago(13))), {"SI-06": "warning"}),
        (12, "male", (t(-3.0, ago(3)), z(-1.0, ago(3))), {}),  # 12-year-old: T ignored
        (12, "male", (t(-3.0, ago(3)),), {}),
        (
            55,
            "male",
            (t(-1.0, ago(3)), t(-2.6, ago(3), Site.FEMORAL_NECK)),
            {"SI-06": "warning"},
        ),  # lowest site
        (55, "male", (t(-2.4, ago(3)), z(-2.2, ago(3))), {}),  # >= 50: T decides
        (56, "female", (t(-2.5, ago(3)),), {"SI-06": "warning"}),  # >= 55: post-menopausal
        (55, "female", (t(-2.5, ago(3)),), {}),  # 54.75 y at scan: unclassified
        (50, "female", (t(-3.0, ago(3)), z(-2.5, ago(3))), {}),  # 45-55, status unknown
        (30, "male", (z(-2.1, ago(3)),), {"SI-06": "warning"}),
        (30, "male", (t(-3.0, ago(3)), z(-1.0, ago(3))), {}),  # < 50: no WHO T classes
        (4, "male", (z(-3.0, ago(1)),), {}),  # under 5: not interpreted
        # children: LS / TBLH Z decide; another site only when neither is valid (SI-06, ISCD)
        (12, "male", (z(-1.0, ago(3)), z(-2.5, ago(3), Site.TOTAL_HIP)), {}),
        (12, "male", (z(-1.0, ago(3)), z(-2.1, ago(3), Site.TOTAL_BODY)), {"SI-06": "warning"}),
        (12, "male", (z(-2.5, ago(3)), z(-1.0, ago(3), Site.TOTAL_HIP)), {"SI-06": "warning"}),
        (
            12,
            "male",
            (z(-1.0, ago(3)), z(-2.5, ago(3), Site.TOTAL_HIP), symptom(Symptom.SCOLIOSIS, ago(30))),
            {"SI-06": "warning"},
        ),  # LS invalid (scoliosis): hip used
        (12, "male", (z(-2.5, ago(3), Site.FEMORAL_NECK),), {"SI-06": "warning"}),  # no LS/TBLH measured
        (
            30,
            "male",
            (z(-1.0, ago(3)), z(-2.2, ago(3), Site.TOTAL_HIP)),
            {"SI-06": "warning"},
        ),  # adult: lowest
    ],
)
def test_si06_low_bmd(age, sex, facts, expected):
    assert fire(SI_LOW_BMD, patient(age, sex, *facts)) == expected


def test_si06_names_the_lowest_valid_site_and_ignores_invalid_lumbar_spine():
    s = patient(55, "male", t(-1.0, ago(3)), t(-2.6, ago(3), Site.FEMORAL_NECK))
    (f,) = cards(SI_LOW_BMD, s)
    assert "femur T -2.6" in f.summary
    rods = patient(
        12, "male", z(-2.5, ago(3)), z(-1.0, ago(3), Site.TOTAL_HIP), symptom(Symptom.SPINAL_FUSION, ago(30))
    )
    assert fire(SI_LOW_BMD, rods) == {}


@pytest.mark.parametrize(
    "facts, expected",
    [
        ((long_bone(when=ago(days=30)),), {"SI-07": "info"}),
        ((long_bone(when=ago(days=91)),), {}),
        ((long_bone(when=ago(days=30)), imaged(ago(6))), {}),
        ((long_bone(when=ago(days=30)), imaged(ago(13))), {"SI-07": "info"}),
        ((long_bone(when=ago(days=30), low_trauma=False),), {}),  # traumatic
        ((long_bone(when=ago(days=30), low_trauma=None),), {"SI-07": "info"}),  # unconfirmed: asks to confirm
    ],
)
def test_si07_long_bone_fracture(facts, expected):
    assert fire(SI_LONG_BONE, patient(12, "male", *facts)) == expected


def test_si07_unconfirmed_mechanism_asks_to_confirm():
    (f,) = cards(SI_LONG_BONE, patient(12, "male", long_bone(when=ago(days=30), low_trauma=None)))
    assert "confirm" in f.summary


@pytest.mark.parametrize(
    "facts, expected",
    [
        ((therapy(24),), {"SI-08": "info"}),
        ((therapy(24), imaged(ago(11))), {}),
        ((therapy(24), imaged(ago(13))), {"SI-08": "info"}),
        ((therapy(24, active=False),), {}),
        ((therapy(24, "denosumab", DrugClass.DENOSUMAB),), {"SI-08": "info"}),
    ],
)
def test_si08_on_therapy(facts, expected):
    assert fire(SI_ON_THERAPY, patient(12, "male", *facts)) == expected

"""Truth tables for the DXA rules BMD-01..BMD-07: score choice (Z or T by age), sites, surveillance."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.fhir.summary import ActionKind, Concept, Site, Symptom
from service.rules.bone.dxa import exams
from service.rules.bone.risk import paediatric_osteoporosis
from tests.rules.bone_factory import (
    BMD_DISCORDANCE,
    BMD_NOT_HEIGHT_ADJUSTED,
    BMD_ONE_SITE,
    BMD_SURVEILLANCE,
    TODAY,
    ago,
    cards,
    ctx,
    fire,
    gc,
    long_bone,
    order,
    patient,
    symptom,
    t,
    therapy,
    vf,
    z,
)


@pytest.mark.parametrize(
    "age, sex, facts, band, chosen",
    [
        (12, "male", (t(-3.0, ago(1)), z(-1.0, ago(1))), "child", [("z_score", -1.0)]),  # T ignored < 20
        (
            12,
            "male",
            (z(-1.0, ago(1)), z(-0.4, ago(1), height_adjusted=True)),
            "child",
            [("z_score", -0.4)],
        ),  # HAZ
        (30, "male", (t(-3.0, ago(1)), z(-1.0, ago(1))), "adult_under_50", [("z_score", -1.0)]),
        (60, "male", (t(-2.0, ago(1)), z(-1.0, ago(1))), "adult_50_plus", [("t_score", -2.0)]),
        (50, "female", (t(-2.0, ago(1)), z(-1.0, ago(1))), "unclassified", []),  # both reported
        (44, "female", (z(-1.0, ago(1)),), "adult_under_50", [("z_score", -1.0)]),
        (56, "female", (t(-2.0, ago(1)),), "adult_50_plus", [("t_score", -2.0)]),
        (4, "male", (z(-3.0, ago(1)),), "under_5", []),
    ],
)
def test_bmd01_score_by_age_band(age, sex, facts, band, chosen):
    (e,) = exams(ctx(patient(age, sex, *facts)))
    assert e.band == band
    assert [(m.concept.value, m.value) for m in e.scores] == chosen


def test_bmd01_lowest_valid_site_decides_and_lumbar_spine_excluded_with_rods():
    s = patient(
        55, "male", t(-1.0, ago(1)), t(-2.6, ago(1), Site.FEMORAL_NECK), t(-1.8, ago(1), Site.TOTAL_HIP)
    )
    assert exams(ctx(s))[0].lowest.value == -2.6
    rods = patient(
        14, "male", z(-3.0, ago(1)), z(-1.2, ago(1), Site.TOTAL_HIP), symptom(Symptom.SPINAL_FUSION, ago(30))
    )
    e = exams(ctx(rods))[0]
    assert e.lowest.value == -1.2 and "spinal fusion" in e.set_aside[0][1]
    lumbar_vf = patient(14, "male", z(-3.0, ago(1)), z(-1.2, ago(1), Site.TOTAL_HIP), vf("L2", 1, ago(2)))
    assert exams(ctx(lumbar_vf))[0].lowest.value == -1.2
    thoracic_vf = patient(14, "male", z(-3.0, ago(1)), z(-1.2, ago(1), Site.TOTAL_HIP), vf("T8", 1, ago(2)))
    assert exams(ctx(thoracic_vf))[0].lowest.value == -3.0


@pytest.mark.parametrize(
    "age, status_when, band, chosen, why",
    [  # coded post-menopausal status decides; without it 45-55 stays unclassified
        (48, None, "unclassified", [], "menopausal status not recorded"),
        (48, ago(24), "adult_50_plus", [("t_score", -2.0)], "post-menopausal (coded status)"),
        (48, "undated", "adult_50_plus", [("t_score", -2.0)], "post-menopausal (coded status)"),
        (48, ago(0), "unclassified", [], "menopausal status not recorded"),  # recorded after the scan
        (41, ago(24), "adult_50_plus", [("t_score", -2.0)], "post-menopausal"),  # early menopause
        (56, None, "adult_50_plus", [("t_score", -2.0)], "T-score used: age 56"),  # from 55: as before
        (17, ago(24), "child", [("z_score", -1.0)], "Z-score used"),  # a child stays a child
    ],
)
def test_bmd01_coded_menopausal_status_decides_t_score_classes(age, status_when, band, chosen, why):
    facts = [t(-2.0, ago(1)), z(-1.0, ago(1))]
    if status_when is not None:
        facts.append(symptom(Symptom.POSTMENOPAUSAL, None if status_when == "undated" else status_when))
    (e,) = exams(ctx(patient(age, "female", *facts)))
    assert (e.band, [(m.concept.value, m.value) for m in e.scores]) == (band, chosen)
    assert why in e.why
    male = exams(ctx(patient(48, "male", *facts, symptom(Symptom.POSTMENOPAUSAL, ago(24)))))[0]
    assert male.band == "adult_under_50"  # a status coded for a man is not read


@pytest.mark.parametrize(
    "level, lumbar_valid",
    [
        ("L2", False),
        ("lumbar", False),  # S32.00 / M48.56: lumbar region
        ("lumbosacral", False),
        ("thoracolumbar", False),  # M48.55: the region reaches the lumbar spine
        ("T11-T12", True),
        ("thoracic", True),
        ("T8", True),
        (None, True),  # an unknown level is unknown, never assumed lumbar
    ],
)
def test_bmd01_only_a_lumbar_fracture_sets_the_lumbar_spine_aside(level, lumbar_valid):
    s = patient(14, "male", z(-3.0, ago(1)), z(-1.2, ago(1), Site.TOTAL_HIP), vf(level, 1, ago(2)))
    (e,) = exams(ctx(s))
    assert (e.lowest.value == -3.0) is lumbar_valid
    if not lumbar_valid:
        assert e.set_aside[0][1] == f"lumbar spine not valid: vertebral fracture ({level})"


def _fx_at_age(age_now: float, age_at: float):
    return long_bone(when=TODAY - timedelta(days=round((age_now - age_at) * 365.25)))


@pytest.mark.parametrize(
    "age, facts, met",
    [
        (12, (vf("T12", 1, ago(2)),), True),  # any VF
        (12, (vf("T12", 0.5, ago(2)),), False),  # Genant 0.5 is not a VF
        (12, (z(-2.1, ago(1)), _fx_at_age(12, 8), _fx_at_age(12, 9)), True),  # 2 by age 10
        (12, (z(-2.1, ago(1)), _fx_at_age(12, 8)), False),
        (18, (z(-2.1, ago(1)), _fx_at_age(18, 12), _fx_at_age(18, 14), _fx_at_age(18, 16)), True),  # 3 by 19
        (18, (z(-2.1, ago(1)), _fx_at_age(18, 12), _fx_at_age(18, 14)), False),
        (12, (z(-1.9, ago(1)), _fx_at_age(12, 8), _fx_at_age(12, 9)), False),  # Z not low enough
        (25, (vf("T12", 2, ago(2)),), False),  # adult: not paediatric
    ],
)
def test_bmd02_paediatric_osteoporosis(age, facts, met):
    c = ctx(patient(age, "male", *facts))
    assert (paediatric_osteoporosis(c) is not None) is met


@pytest.mark.parametrize(
    "age, facts, kw, expected",
    [
        (12, (z(-1.0, ago(6)),), {}, {"BMD-03": "info"}),
        (12, (z(-1.0, ago(6)), z(-1.5, ago(6), Site.TOTAL_BODY)), {}, {}),
        (12, (z(-1.0, ago(30)),), {}, {}),  # outside 24 months
        (12, (z(-1.0, ago(6)), order(ActionKind.DXA, ago(days=10))), {}, {}),  # new DXA ordered after
        (
            12,
            (z(-1.0, ago(2)), order(ActionKind.DXA, ago(2), "completed", True)),
            {},
            {"BMD-03": "info"},
        ),  # the scan itself
        (60, (t(-1.0, ago(6)),), {}, {"BMD-03": "info"}),
    ],
)
def test_bmd03_one_site(age, facts, kw, expected):
    assert fire(BMD_ONE_SITE, patient(age, "male", *facts, **kw)) == expected


def test_bmd03_asks_for_distal_femur_in_non_ambulatory_child():
    (f,) = cards(BMD_ONE_SITE, (patient(12, "male", z(-1.0, ago(6)), non_ambulatory=True)))
    assert "lateral distal femur" in f.summary and f.action is ActionKind.DXA
    sites = [b["text"] for b in f.suggestions[0].resource["bodySite"]]
    assert "lateral distal femur" in sites


@pytest.mark.parametrize(
    "facts, kw, expected",
    [
        ((z(-0.5, ago(2)), z(-2.8, ago(2), Site.FEMORAL_NECK)), {}, {"BMD-04": "info"}),
        ((z(-1.0, ago(2)), z(-2.0, ago(2), Site.FEMORAL_NECK)), {}, {"BMD-04": "info"}),  # spread 1.0
        ((z(-1.0, ago(2)), z(-1.9, ago(2), Site.FEMORAL_NECK)), {}, {}),  # spread 0.9
        ((z(-1.5, ago(2)), z(-2.1, ago(2), Site.TOTAL_HIP)), {"non_ambulatory": True}, {"BMD-04": "info"}),
        ((z(-1.5, ago(2)), z(-2.1, ago(2), Site.TOTAL_HIP)), {}, {}),  # ambulant
        ((z(-1.0, ago(2)), symptom(Symptom.SCOLIOSIS, ago(20))), {}, {"BMD-04": "info"}),  # LS invalid
        ((z(-0.5, ago(30)), z(-2.8, ago(30), Site.FEMORAL_NECK)), {}, {}),  # stale
    ],
)
def test_bmd04_site_discordance(facts, kw, expected):
    assert fire(BMD_DISCORDANCE, patient(12, "male", *facts, **kw)) == expected


def test_bmd04_names_lowest_site_or_asks_for_other_sites():
    (f,) = cards(BMD_DISCORDANCE, (patient(12, "male", z(-0.5, ago(2)), z(-2.8, ago(2), Site.FEMORAL_NECK))))
    assert "femur Z -2.8" in f.summary and f.action is None and f.topic.value == "bmd-sites"
    (g,) = cards(
        BMD_DISCORDANCE, (patient(12, "male", z(-1.0, ago(2)), symptom(Symptom.SPINAL_FUSION, ago(20))))
    )
    assert g.action is ActionKind.DXA and "rods" in g.summary


@pytest.mark.parametrize(
    "age, facts, kw, expected",
    [
        (12, (gc(36), z(-1.0, ago(11))), {}, {}),
        (12, (gc(36), z(-1.0, ago(13))), {}, {"BMD-06": "info"}),
        (12, (gc(36), z(-1.0, ago(25))), {}, {"BMD-06": "warning"}),
        (12, (gc(36),), {}, {"BMD-06": "warning"}),  # never
        (12, (z(-1.0, ago(23)),), {"non_ambulatory": True}, {}),
        (12, (z(-1.0, ago(25)),), {"non_ambulatory": True}, {"BMD-06": "info"}),
        (12, (z(-1.0, ago(30)),), {}, {}),  # no risk factor
        (12, (z(-2.5, ago(30)),), {}, {"BMD-06": "info"}),  # stale low: repeat
        (12, (gc(36), z(-1.0, ago(25)), order(ActionKind.DXA, ago(days=20))), {}, {}),  # ordered
        (4, (gc(36),), {}, {}),  # under 5
    ],
)
def test_bmd06_dxa_surveillance(age, facts, kw, expected):
    assert fire(BMD_SURVEILLANCE, patient(age, "male", *facts, **kw)) == expected


@pytest.mark.parametrize(
    "age, facts, expected",
    [
        (12, (symptom(Symptom.HEIGHT_LOSS, ago(6)), z(-2.4, ago(2))), {"BMD-07": "info"}),
        (
            12,
            (symptom(Symptom.HEIGHT_LOSS, ago(6)), z(-2.4, ago(2)), z(-1.6, ago(2), height_adjusted=True)),
            {},
        ),
        (12, (z(-2.4, ago(2)),), {}),  # normal growth
        (25, (symptom(Symptom.HEIGHT_LOSS, ago(6)), z(-2.4, ago(2))), {}),  # adult
    ],
)
def test_bmd07_not_height_adjusted(age, facts, expected):
    assert fire(BMD_NOT_HEIGHT_ADJUSTED, patient(age, "male", *facts)) == expected


def test_bmd_score_evidence_states_which_score_and_why():
    s = patient(12, "male", t(-3.0, ago(1)), z(-2.2, ago(1)))
    e = exams(ctx(s))[0]
    assert "T-scores are not used under 20 years" in e.why
    assert e.set_aside[0][0].concept is Concept.T_SCORE


def test_on_therapy_dxa_card_is_merged_with_surveillance(monkeypatch):
    from tests.rules.bone_factory import run

    found = [
        f
        for f in run(patient(12, "male", gc(36), therapy(24), z(-1.0, ago(26))))
        if f.action is ActionKind.DXA
    ]
    assert len(found) == 1 and {"BMD-06", "MON-03"} <= set(found[0].rule_ids)
    assert found[0].indicator.value == "warning" and found[0].topic.value == "bmd-surveillance"

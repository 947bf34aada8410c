"""Truth tables for the vitamin D rules VD-01..VD-04: annual 25-OH vitamin D, deficiency, insufficiency."""

from __future__ import annotations

import pytest

from service.fhir.summary import ActionKind
from tests.rules.bone_factory import VITAMIN_D, ago, cards, fire, gc, order, patient, therapy, vf, vitd, z


@pytest.mark.parametrize(
    "facts, kw, expected",
    [
        # VD-01 only in the bone-risk population (glucocorticoids, non-ambulatory, low BMD, fracture, therapy)
        ((), {}, {}),  # ambulant, no steroids, no low BMD: no yearly test
        ((gc(12),), {}, {"VD-01": "info"}),
        ((), {"non_ambulatory": True}, {"VD-01": "info"}),
        ((z(-2.2, ago(2)),), {}, {"VD-01": "info"}),  # low BMD
        ((vf("T12", 2, ago(3)),), {}, {"VD-01": "info"}),  # prior fragility fracture
        ((therapy(12),), {}, {"VD-01": "info"}),  # on bone-targeted therapy
        ((vitd(25, ago(11)), therapy(12)), {}, {}),  # tested within the year
        ((vitd(10, ago(13)), gc(12)), {}, {"VD-01": "info"}),  # stale: repeat, not VD-02
        ((vitd(10, ago(13)),), {}, {}),  # stale, no bone risk: no card
        ((vitd(19.9, ago(2)),), {}, {"VD-02": "warning"}),
        ((vitd(20, ago(2)),), {}, {}),  # ambulant, no GC
        ((vitd(20, ago(2)), gc(12)), {}, {"VD-03": "info"}),
        ((vitd(29.9, ago(2)),), {"non_ambulatory": True}, {"VD-03": "info"}),
        ((vitd(30, ago(2)),), {"non_ambulatory": True}, {}),
        ((vitd(10, ago(2), "<"),), {}, {"VD-02": "warning", "VD-04": "warning"}),  # read at its bound
        ((vitd(15, ago(2), ">"),), {}, {}),  # lower bound only
        ((vitd(16, ago(2), preliminary=True),), {}, {"VD-02": "warning"}),
        ((gc(12), order(ActionKind.VITAMIN_D_TEST, ago(1))), {}, {}),  # test already ordered
        ((gc(12), order(ActionKind.VITAMIN_D_TEST, ago(4))), {}, {"VD-01": "info"}),  # order outside 90 days
        (
            (vitd(12, ago(2)), order(ActionKind.VITAMIN_D_TEST, ago(1))),
            {},
            {},
        ),  # recheck ordered after result
        (
            (vitd(12, ago(2)), order(ActionKind.VITAMIN_D_TEST, ago(2.5))),
            {},
            {"VD-02": "warning"},
        ),  # order before
    ],
)
def test_vitamin_d(facts, kw, expected):
    assert fire(VITAMIN_D, patient(12, "male", *facts, **kw)) == expected


def test_vd02_summary_and_recheck_suggestion():
    (f,) = cards(VITAMIN_D, (patient(12, "male", vitd(16, ago(1)))))
    assert f.summary.startswith("Vitamin D deficiency (16 ng/mL on ")
    res = f.suggestions[0].resource
    assert res["code"]["coding"][0]["code"] == "62292-8" and "occurrenceDateTime" in res

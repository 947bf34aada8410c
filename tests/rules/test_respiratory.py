"""RESP-01…RESP-04 as tables: situation in, (action → indicator, rule ids) out."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.servicerequest import ServiceRequest

from service.fhir.summary import ActionKind, Concept, Nmd, Symptom
from service.rules.core import Finding, Topic
from tests.rules.nutrition_factory import ctx, m, order, patient, respiratory

P, S = ActionKind.PULMONOLOGY_REFERRAL, ActionKind.SPIROMETRY
W, INF = "warning", "info"


def fvc_pct(days: int, value: float, **kw: object):
    return m(Concept.FVC_PCT_PREDICTED, days, value, **kw)


def outcome(findings: list[Finding]) -> dict:
    return {f.action: (f.indicator.value, set(f.rule_ids)) for f in findings}


CASES = {
    # --- ALS: RESP-01 / RESP-02 -------------------------------------------------------------------------
    "ALS FVC 48 %": (dict(extra=[fvc_pct(10, 48.0)]), {P: (W, {"RESP-01"})}),
    "ALS FVC 52 %": (dict(extra=[fvc_pct(10, 52.0)]), {}),
    "ALS FVC 50 % exactly": (dict(extra=[fvc_pct(10, 50.0)]), {}),
    "ALS FVC % computed 1.9 / 4.0 L = 47.5 %": (
        dict(extra=[m(Concept.FVC, 10, 1.9), m(Concept.FVC_PREDICTED, 10, 4.0)]),
        {P: (W, {"RESP-01"})},
    ),
    "ALS litres only are never compared with 50 %": (dict(extra=[m(Concept.FVC, 10, 1.5)]), {}),
    "ALS VC % predicted 45 when no FVC %": (
        dict(extra=[m(Concept.VC_PCT_PREDICTED, 10, 45.0)]),
        {P: (W, {"RESP-01"})},
    ),
    "ALS VC 1,050 mL (1.05 L)": (dict(extra=[m(Concept.VC, 10, 1.05)]), {P: (W, {"RESP-02"})}),
    "ALS VC 1.15 L": (dict(extra=[m(Concept.VC, 10, 1.15)]), {}),
    "ALS FVC 1.05 L": (dict(extra=[m(Concept.FVC, 10, 1.05)]), {P: (W, {"RESP-02"})}),
    "ALS VC '<1.0 L' bound": (dict(extra=[m(Concept.VC, 10, 1.0, comparator="<")]), {P: (W, {"RESP-02"})}),
    "ALS VC '>1.0 L' bound proves nothing": (dict(extra=[m(Concept.VC, 10, 1.0, comparator=">")]), {}),
    "ALS FVC 48 % and VC 1.05 L: one card": (
        dict(extra=[fvc_pct(10, 48.0), m(Concept.VC, 10, 1.05)]),
        {P: (W, {"RESP-01", "RESP-02"})},
    ),
    "ALS MIP 55 cmH2O": (dict(extra=[fvc_pct(10, 70.0), m(Concept.MIP, 10, 55.0)]), {P: (W, {"RESP-01"})}),
    "ALS MIP 65 cmH2O": (dict(extra=[fvc_pct(10, 70.0), m(Concept.MIP, 10, 65.0)]), {}),
    "ALS SNIP 35 cmH2O": (dict(extra=[fvc_pct(10, 70.0), m(Concept.SNIP, 10, 35.0)]), {P: (W, {"RESP-01"})}),
    "ALS orthopnoea": (
        dict(extra=[fvc_pct(10, 70.0)], symptoms=(Symptom.ORTHOPNOEA,)),
        {P: (W, {"RESP-01"})},
    ),
    "ALS orthopnoea 90 days ago (inside 3 months)": (
        dict(extra=[fvc_pct(10, 70.0)], symptoms=(Symptom.ORTHOPNOEA,), symptom_days=90),
        {P: (W, {"RESP-01"})},
    ),
    "ALS orthopnoea 2 years ago: not a current criterion": (
        dict(extra=[fvc_pct(10, 70.0)], symptoms=(Symptom.ORTHOPNOEA,), symptom_days=730),
        {},
    ),
    "ALS orthopnoea 100 days ago: outside 3 months": (
        dict(extra=[fvc_pct(10, 70.0)], symptoms=(Symptom.ORTHOPNOEA,), symptom_days=100),
        {},
    ),
    # MIP is a negative pressure: the criterion is its magnitude (|MIP| < 60), however it is signed
    "ALS MIP -55 cmH2O (signed)": (
        dict(extra=[fvc_pct(10, 70.0), m(Concept.MIP, 10, -55.0)]),
        {P: (W, {"RESP-01"})},
    ),
    "ALS MIP -65 cmH2O (signed) is strong enough": (
        dict(extra=[fvc_pct(10, 70.0), m(Concept.MIP, 10, -65.0)]),
        {},
    ),
    "ALS MIP '>-60' bound: weaker than 60": (
        dict(extra=[fvc_pct(10, 70.0), m(Concept.MIP, 10, -60.0, comparator=">")]),
        {P: (W, {"RESP-01"})},
    ),
    "ALS MIP '<-60' bound: stronger than 60": (
        dict(extra=[fvc_pct(10, 70.0), m(Concept.MIP, 10, -60.0, comparator="<")]),
        {},
    ),
    "ALS SNIP -35 cmH2O (signed)": (
        dict(extra=[fvc_pct(10, 70.0), m(Concept.SNIP, 10, -35.0)]),
        {P: (W, {"RESP-01"})},
    ),
    "ALS SNIP -45 cmH2O (signed)": (dict(extra=[fvc_pct(10, 70.0), m(Concept.SNIP, 10, -45.0)]), {}),
    # --- freshness and RESP-03 --------------------------------------------------------------------------
    "ALS stale FVC 48 % (120 days): spirometry, no NIV card": (
        dict(extra=[fvc_pct(120, 48.0)]),
        {S: (INF, {"RESP-03", "RESP-01"})},
    ),
    "ALS FVC 70 % 120 days ago: spirometry due": (dict(extra=[fvc_pct(120, 70.0)]), {S: (INF, {"RESP-03"})}),
    "ALS no spirometry on record": (dict(), {S: (INF, {"RESP-03"})}),
    "ALS spirometry ordered 10 days ago": (dict(orders=[order(S, 10, "completed")]), {}),
    # One "already actioned" check for every family: an open order counts inside the action's window only.
    "ALS FVC 48 % with an open pulmonology referral 200 days old": (
        dict(extra=[fvc_pct(10, 48.0)], orders=[order(P, 200)]),
        {P: (W, {"RESP-01"})},
    ),
    "ALS FVC 48 % with an open pulmonology referral 30 days old": (
        dict(extra=[fvc_pct(10, 48.0)], orders=[order(P, 30)]),
        {},
    ),
    "ALS FVC 48 % with pulmonology referral done 60 days ago": (
        dict(extra=[fvc_pct(10, 48.0)], orders=[order(P, 60, "completed")]),
        {},
    ),
    "ALS FVC 48 % with pulmonology referral done 120 days ago": (
        dict(extra=[fvc_pct(10, 48.0)], orders=[order(P, 120, "completed")]),
        {P: (W, {"RESP-01"})},
    ),
    # --- DMD / SMA: RESP-04, RESP-03 ------------------------------------------------------------------
    "DMD FVC 48 %": (dict(dx=Nmd.DMD, age=16, extra=[fvc_pct(10, 48.0)]), {P: (INF, {"RESP-04"})}),
    "SMA FVC 52 %": (dict(dx=Nmd.SMA, age=16, extra=[fvc_pct(10, 52.0)]), {}),
    "DMD VC 1.05 L: RESP-02 is ALS only": (dict(dx=Nmd.DMD, age=16, extra=[m(Concept.VC, 10, 1.05)]), {}),
    "DMD FVC 48 % 150 days ago: still fresh (6 months)": (
        dict(dx=Nmd.DMD, age=16, extra=[fvc_pct(150, 48.0)]),
        {P: (INF, {"RESP-04"})},
    ),
    "ambulatory DMD stale FVC 48 %: repeat spirometry": (
        dict(dx=Nmd.DMD, age=16, extra=[fvc_pct(200, 48.0)]),
        {S: (INF, {"RESP-04"})},
    ),
    "non-ambulatory DMD, no spirometry": (
        dict(dx=Nmd.DMD, age=16, non_ambulatory=True),
        {S: (INF, {"RESP-03"})},
    ),
    "ambulatory DMD, no spirometry": (dict(dx=Nmd.DMD, age=16), {}),
    "non-ambulatory SMA, FVC 200 days ago": (
        dict(dx=Nmd.SMA, age=16, non_ambulatory=True, extra=[fvc_pct(200, 80.0)]),
        {S: (INF, {"RESP-03"})},
    ),
    # --- gate --------------------------------------------------------------------------------------------
    "no in-scope diagnosis": (dict(dx=None, extra=[fvc_pct(10, 30.0)]), {}),
    "deceased": (dict(extra=[fvc_pct(10, 30.0)], deceased=True), {}),
}


@pytest.mark.parametrize("situation, expected", list(CASES.values()), ids=list(CASES))
def test_respiratory_table(situation: dict, expected: dict) -> None:
    findings = respiratory(ctx(patient(**situation)))
    assert outcome(findings) == expected
    for f in findings:
        assert f.topic is Topic.RESPIRATORY_REVIEW and len(f.summary) < 140 and f.evidence_key
        for s in f.suggestions:
            assert "subject" not in s.resource and s.action is f.action
            sr = ServiceRequest.model_validate({**s.resource, "subject": {"reference": "Patient/p1"}})
            assert sr.status == "draft"


def test_summary_states_the_numbers() -> None:
    [f] = respiratory(ctx(patient(extra=[m(Concept.VC, 10, 1.05)])))
    assert f.summary.startswith("VC 1.05 L (< 1.1 L): higher risk of hospitalisation")

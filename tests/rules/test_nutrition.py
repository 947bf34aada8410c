"""NUT-01…NUT-09 as tables: situation in, (action → indicator, rule ids) out."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.servicerequest import ServiceRequest

from service.fhir.summary import ActionKind, Concept, Nmd, Symptom
from service.knowledge import load_knowledge
from service.rules.core import Finding, Indicator, Topic
from tests.rules.nutrition_factory import LB, ctx, m, nutrition, order, patient

D, G = ActionKind.DIETITIAN_REFERRAL, ActionKind.GASTROSTOMY
W, C, INF = "warning", "critical", "info"
H170 = (30, 170.0)  # fresh adult height: BMI = kg / 2.89
H140 = (10, 140.0)  # fresh child height: BMI = kg / 1.96


def outcome(findings: list[Finding]) -> dict:
    return {f.action: (f.indicator.value, set(f.rule_ids)) for f in findings}


def check_cards(findings: list[Finding]) -> None:
    """Every finding: right topic, short summary, suggestions that are valid R4 once the subject is added."""
    for f in findings:
        assert f.topic is Topic.NUTRITION_REFERRAL
        assert len(f.summary) < 140 and f.evidence_key
        for s in f.suggestions:
            assert "subject" not in s.resource
            sr = ServiceRequest.model_validate({**s.resource, "subject": {"reference": "Patient/p1"}})
            assert sr.status == "draft" and sr.intent in {"proposal", "order"}


CASES = {
    # --- NUT-01 / NUT-02 / NUT-03: adult weight loss -----------------------------------------------------
    "5.0 % in 4 months": (dict(dx=Nmd.DMD, age=30, weights=[(120, 72.0), (3, 68.4)]), {D: (W, {"NUT-01"})}),
    "4.9 %": (dict(dx=Nmd.DMD, age=30, weights=[(120, 72.0), (3, 68.5)]), {}),
    # Unrounded comparison (an exact 5.0 % still fires, 4.96 % does not) and unit independence: usual
    # 160 lb (= 72.5748 kg) and usual 72.57 kg give the same outcome on both sides of 5 %
    # (→ 68.9 kg: 5.06 % / 5.06 %, fires; → 69.0 kg: 4.93 % / 4.92 %, does not).
    "4.96 % (72.0 to 68.43 kg) is below 5 %": (
        dict(dx=Nmd.DMD, age=30, weights=[(120, 72.0), (3, 68.43)]),
        {},
    ),
    "160 lb to 68.9 kg (5.06 %)": (
        dict(dx=Nmd.DMD, age=30, weights=[(120, 160 * LB), (3, 68.9)]),
        {D: (W, {"NUT-01"})},
    ),
    "72.57 kg to 68.9 kg (5.06 %)": (
        dict(dx=Nmd.DMD, age=30, weights=[(120, 72.57), (3, 68.9)]),
        {D: (W, {"NUT-01"})},
    ),
    "160 lb to 69.0 kg (4.93 %)": (dict(dx=Nmd.DMD, age=30, weights=[(120, 160 * LB), (3, 69.0)]), {}),
    "72.57 kg to 69.0 kg (4.92 %)": (dict(dx=Nmd.DMD, age=30, weights=[(120, 72.57), (3, 69.0)]), {}),
    "158.7 lb (71.985 kg) to 68.4 kg is 4.98 %, not 5": (
        dict(dx=Nmd.DMD, age=30, weights=[(120, 158.7 * LB), (3, 68.4)]),
        {},
    ),
    "158.7 lb to 68.5 kg (4.8 %)": (dict(dx=Nmd.DMD, age=30, weights=[(120, 158.7 * LB), (3, 68.5)]), {}),
    "one weight only": (dict(dx=Nmd.ALS, weights=[(3, 50.0)]), {}),
    "two weights 10 days apart": (dict(dx=Nmd.ALS, weights=[(13, 72.0), (3, 60.0)]), {}),
    "10 % in ALS: critical": (dict(dx=Nmd.ALS, weights=[(120, 72.0), (3, 64.8)]), {D: (C, {"NUT-02"})}),
    "10 % in ALS with gastrostomy: critical": (
        dict(dx=Nmd.ALS, weights=[(120, 72.0), (3, 64.8)], gastrostomy=True),
        {D: (C, {"NUT-02"})},
    ),
    "10 % in DMD: warning": (
        dict(dx=Nmd.DMD, age=30, weights=[(120, 72.0), (3, 64.8)]),
        {D: (W, {"NUT-02"})},
    ),
    "9.9 % in ALS: warning": (dict(dx=Nmd.ALS, weights=[(120, 72.0), (3, 64.9)]), {D: (W, {"NUT-01"})}),
    "9.96 % in ALS (72.0 to 64.83 kg): warning, not critical": (
        dict(dx=Nmd.ALS, weights=[(120, 72.0), (3, 64.83)]),
        {D: (W, {"NUT-01"})},
    ),
    "ALS 12-month look-back: 6 % over 9 months": (
        dict(dx=Nmd.ALS, weights=[(270, 72.0), (3, 67.6)]),
        {D: (W, {"NUT-01"})},
    ),
    "DMD 6-month look-back: 6 % over 9 months is not NUT-01": (
        dict(dx=Nmd.DMD, age=30, weights=[(270, 72.0), (3, 67.6)]),
        {},
    ),
    "slow loss 12.5 % over 10 months: NUT-03 warning": (
        dict(dx=Nmd.SMA, age=30, weights=[(300, 72.0), (3, 63.0)]),
        {D: (W, {"NUT-03"})},
    ),
    "slow loss 23 % over 10 months: NUT-03 critical": (
        dict(dx=Nmd.SMA, age=30, weights=[(300, 72.0), (3, 55.4)]),
        {D: (C, {"NUT-03"})},
    ),
    "documented usual weight wins": (
        dict(
            dx=Nmd.DMD,
            age=30,
            weights=[(60, 68.0), (3, 67.6)],
            extra=[m(Concept.USUAL_WEIGHT, 200, 72.0, usual=True)],
        ),
        {D: (W, {"NUT-01"})},
    ),
    # --- freshness, preliminary, intent, suppression ---------------------------------------------------
    "stale current weight with 10 % loss: info repeat only": (
        dict(dx=Nmd.ALS, weights=[(150, 72.0), (40, 64.8)]),
        {None: (INF, {"NUT-02"})},
    ),
    "stale current weight without loss: nothing": (dict(dx=Nmd.ALS, weights=[(150, 72.0), (40, 72.0)]), {}),
    "weight-management plan: info": (
        dict(dx=Nmd.DMD, age=30, weights=[(120, 72.0), (3, 64.8)], weight_management_plan=True),
        {D: (INF, {"NUT-02"})},
    ),
    # One "already actioned" check for every family: an open order counts only inside the action's window
    # (orders left open go stale), so a 100-day-old open referral no longer silences a new loss.
    "dietitian referral open but outside the window does not suppress": (
        dict(dx=Nmd.ALS, weights=[(120, 72.0), (3, 67.6)], orders=[order(D, 100)]),
        {D: (W, {"NUT-01"})},
    ),
    "dietitian referral open 20 days ago suppresses": (
        dict(dx=Nmd.ALS, weights=[(120, 72.0), (3, 67.6)], orders=[order(D, 20)]),
        {},
    ),
    "dietitian referral done 20 days ago suppresses": (
        dict(dx=Nmd.ALS, weights=[(120, 72.0), (3, 67.6)], orders=[order(D, 20, "completed")]),
        {},
    ),
    "dietitian referral done 40 days ago does not": (
        dict(dx=Nmd.ALS, weights=[(120, 72.0), (3, 67.6)], orders=[order(D, 40, "completed")]),
        {D: (W, {"NUT-01"})},
    ),
    "revoked referral does not suppress": (
        dict(dx=Nmd.ALS, weights=[(120, 72.0), (3, 67.6)], orders=[order(D, 5, "revoked")]),
        {D: (W, {"NUT-01"})},
    ),
    # --- in-scope gate ---------------------------------------------------------------------------------
    "no in-scope diagnosis": (dict(dx=None, weights=[(120, 72.0), (3, 60.0)]), {}),
    "cerebral palsy only": (dict(dx=Nmd.CEREBRAL_PALSY, weights=[(120, 72.0), (3, 60.0)]), {}),
    "deceased": (dict(dx=Nmd.ALS, weights=[(120, 72.0), (3, 60.0)], deceased=True), {}),
    # --- NUT-04 adult BMI (GLIM bands by age) ----------------------------------------------------------
    "BMI 18.4 at 60": (
        dict(dx=Nmd.DMD, age=60, weights=[(3, 18.4 * 2.89)], height=H170),
        {D: (C, {"NUT-04"})},
    ),
    "BMI 19.9 at 60": (
        dict(dx=Nmd.DMD, age=60, weights=[(3, 19.9 * 2.89)], height=H170),
        {D: (W, {"NUT-04"})},
    ),
    "BMI 20.0 at 60": (dict(dx=Nmd.DMD, age=60, weights=[(3, 20.0 * 2.89)], height=H170), {}),
    "BMI 18.4 at 75": (
        dict(dx=Nmd.DMD, age=75, weights=[(3, 18.4 * 2.89)], height=H170),
        {D: (C, {"NUT-04"})},
    ),
    "BMI 19.9 at 75: warning (card column: critical only < 18.5)": (
        dict(dx=Nmd.DMD, age=75, weights=[(3, 19.9 * 2.89)], height=H170),
        {D: (W, {"NUT-04"})},
    ),
    "BMI 18.5 at 75: warning": (
        dict(dx=Nmd.DMD, age=75, weights=[(3, 18.5 * 2.89)], height=H170),
        {D: (W, {"NUT-04"})},
    ),
    "BMI 18.46 at 60 (not rounded to 18.5): critical": (
        dict(dx=Nmd.DMD, age=60, weights=[(3, 18.46 * 2.89)], height=H170),
        {D: (C, {"NUT-04"})},
    ),
    "BMI 18.5 at 60: warning": (
        dict(dx=Nmd.DMD, age=60, weights=[(3, 18.5 * 2.89)], height=H170),
        {D: (W, {"NUT-04"})},
    ),
    "BMI 21.9 at 75": (
        dict(dx=Nmd.DMD, age=75, weights=[(3, 21.9 * 2.89)], height=H170),
        {D: (W, {"NUT-04"})},
    ),
    "BMI 22.0 at 75": (dict(dx=Nmd.DMD, age=75, weights=[(3, 22.0 * 2.89)], height=H170), {}),
    "no height, no BMI rule": (dict(dx=Nmd.DMD, age=60, weights=[(3, 45.0)]), {}),
    "adult height 400 days old: no BMI rule": (
        dict(dx=Nmd.DMD, age=60, weights=[(3, 45.0)], height=(400, 170.0)),
        {},
    ),
    "EHR BMI without height": (
        dict(dx=Nmd.DMD, age=60, weights=[(3, 45.0)], extra=[m(Concept.BMI, 3, 18.0)]),
        {D: (C, {"NUT-04"})},
    ),
    "preliminary EHR BMI never critical": (
        dict(dx=Nmd.DMD, age=60, weights=[(3, 45.0)], extra=[m(Concept.BMI, 3, 18.0, preliminary=True)]),
        {D: (W, {"NUT-04"})},
    ),
    "preliminary height never critical": (
        dict(
            dx=Nmd.DMD,
            age=60,
            weights=[(3, 18.0 * 2.89)],
            extra=[m(Concept.HEIGHT, 30, 170.0, preliminary=True)],
        ),
        {D: (W, {"NUT-04"})},
    ),
    "preliminary weight never critical": (
        dict(dx=Nmd.DMD, age=60, height=H170, extra=[m(Concept.WEIGHT, 3, 18.0 * 2.89, preliminary=True)]),
        {D: (W, {"NUT-04"})},
    ),
    # --- NUT-05 ALS BMI fall ---------------------------------------------------------------------------
    "ALS BMI fall 1.0 (4.3 % loss)": (
        dict(dx=Nmd.ALS, weights=[(120, 70.0), (3, 67.0)], height=H170),
        {D: (W, {"NUT-05"})},
    ),
    "ALS BMI fall 0.9": (dict(dx=Nmd.ALS, weights=[(120, 70.0), (3, 67.5)], height=H170), {}),
    "ALS BMI fall 0.96 (not rounded to 1.0)": (
        dict(dx=Nmd.ALS, weights=[(120, 70.0), (3, 70.0 - 0.96 * 2.89)], height=H170),
        {},
    ),
    "ALS BMI fall exactly 1.0": (
        dict(dx=Nmd.ALS, weights=[(120, 70.0), (3, 70.0 - 2.89)], height=H170),
        {D: (W, {"NUT-05"})},
    ),
    "ALS BMI fall since diagnosis (> 6 months)": (
        dict(dx=Nmd.ALS, weights=[(300, 70.0), (3, 67.0)], height=H170, dx_onset_days=310),
        {D: (W, {"NUT-05"})},
    ),
    "DMD BMI fall is not NUT-05": (
        dict(dx=Nmd.DMD, age=30, weights=[(120, 70.0), (3, 67.0)], height=H170),
        {},
    ),
    # --- NUT-06 / NUT-07 children ----------------------------------------------------------------------
    "boy 10 y BMI 14.0: below 5th percentile (CDC)": (
        dict(dx=Nmd.DMD, age=10, weights=[(0, 14.0 * 1.96)], height=H140),
        {D: (W, {"NUT-06"})},
    ),
    "boy 10 y BMI 14.4: 7th percentile": (
        dict(dx=Nmd.DMD, age=10, weights=[(0, 14.4 * 1.96)], height=H140),
        {},
    ),
    "boy 10 y BMI 12.0: Z < -3": (
        dict(dx=Nmd.DMD, age=10, weights=[(0, 12.0 * 1.96)], height=H140),
        {D: (C, {"NUT-06"})},
    ),
    "child height 100 days old: no BMI-for-age": (
        dict(dx=Nmd.DMD, age=10, weights=[(0, 12.0 * 1.96)], height=(100, 140.0)),
        {},
    ),
    "child without sex: no computed percentile": (
        dict(dx=Nmd.DMD, age=10, sex=None, weights=[(0, 12.0 * 1.96)], height=H140),
        {},
    ),
    "EHR BMI percentile 4 (no height)": (
        dict(dx=Nmd.SMA, age=8, weights=[(3, 20.0)], extra=[m(Concept.BMI_PERCENTILE, 3, 4.0)]),
        {D: (W, {"NUT-06"})},
    ),
    "EHR BMI percentile 4.96 (not rounded to 5.0)": (
        dict(dx=Nmd.SMA, age=8, weights=[(3, 20.0)], extra=[m(Concept.BMI_PERCENTILE, 3, 4.96)]),
        {D: (W, {"NUT-06"})},
    ),
    "preliminary EHR BMI percentile 0.1 never critical": (
        dict(
            dx=Nmd.SMA,
            age=8,
            weights=[(3, 20.0)],
            extra=[m(Concept.BMI_PERCENTILE, 3, 0.1, preliminary=True)],
        ),
        {D: (W, {"NUT-06"})},
    ),
    "EHR BMI percentile 0.1: Z -3.1": (
        dict(dx=Nmd.SMA, age=8, weights=[(3, 20.0)], extra=[m(Concept.BMI_PERCENTILE, 3, 0.1)]),
        {D: (C, {"NUT-06"})},
    ),
    "EHR percentile wins over computed": (
        dict(
            dx=Nmd.DMD,
            age=10,
            weights=[(0, 12.0 * 1.96)],
            height=H140,
            extra=[m(Concept.BMI_PERCENTILE, 0, 20.0)],
        ),
        {},
    ),
    "infant weight-for-length percentile 1 (Z -2.3)": (
        dict(dx=Nmd.SMA, age=1, weights=[(3, 8.0)], extra=[m(Concept.WEIGHT_FOR_LENGTH_PERCENTILE, 3, 1.0)]),
        {D: (W, {"NUT-06"})},
    ),
    "infant weight-for-length percentile 4 (Z -1.75): no 5th-pct rule": (
        dict(dx=Nmd.SMA, age=1, weights=[(3, 8.0)], extra=[m(Concept.WEIGHT_FOR_LENGTH_PERCENTILE, 3, 4.0)]),
        {},
    ),
    "child loss 5 %: info": (
        dict(dx=Nmd.DMD, age=10, weights=[(90, 30.0), (3, 28.5)]),
        {D: (INF, {"NUT-07"})},
    ),
    "child loss 4.9 %": (dict(dx=Nmd.DMD, age=10, weights=[(90, 30.0), (3, 28.53)]), {}),
    "child loss 7.5 %: warning": (
        dict(dx=Nmd.DMD, age=10, weights=[(90, 30.0), (3, 27.75)]),
        {D: (W, {"NUT-07"})},
    ),
    "child loss 10 %: critical": (
        dict(dx=Nmd.DMD, age=10, weights=[(90, 30.0), (3, 27.0)]),
        {D: (C, {"NUT-07"})},
    ),
    "child loss 9.96 % (not rounded to 10): warning": (
        dict(dx=Nmd.DMD, age=10, weights=[(90, 30.0), (3, 27.012)]),
        {D: (W, {"NUT-07"})},
    ),
    "child loss 10 % from a preliminary weight: warning": (
        dict(
            dx=Nmd.DMD, age=10, weights=[(3, 27.0)], extra=[m(Concept.WEIGHT, 90, 30.0, 9, preliminary=True)]
        ),
        {D: (W, {"NUT-07"})},
    ),
    "child stable kg, BMI-for-age Z fell >= 1 (EHR percentiles)": (
        dict(
            dx=Nmd.DMD,
            age=10,
            weights=[(90, 30.0), (3, 30.0)],
            extra=[m(Concept.BMI_PERCENTILE, 90, 50.0), m(Concept.BMI_PERCENTILE, 3, 15.0)],
        ),
        {D: (INF, {"NUT-07"})},
    ),
    # --- NUT-08 over-nutrition -------------------------------------------------------------------------
    "GC-treated DMD boy BMI-for-age 92nd": (
        dict(dx=Nmd.DMD, age=10, steroids=True, weights=[(0, 21.0 * 1.96)], height=H140),
        {D: (INF, {"NUT-08"})},
    ),
    "steroid-naive DMD boy BMI-for-age 92nd": (
        dict(dx=Nmd.DMD, age=10, weights=[(0, 21.0 * 1.96)], height=H140),
        {},
    ),
    "SMA child EHR percentile 40 (> 25th)": (
        dict(dx=Nmd.SMA, age=8, weights=[(3, 25.0)], extra=[m(Concept.BMI_PERCENTILE, 3, 40.0)]),
        {D: (INF, {"NUT-08"})},
    ),
    "SMA child EHR percentile 20": (
        dict(dx=Nmd.SMA, age=8, weights=[(3, 25.0)], extra=[m(Concept.BMI_PERCENTILE, 3, 20.0)]),
        {},
    ),
    "GC-treated adult DMD BMI 31": (
        dict(dx=Nmd.DMD, age=25, steroids=True, weights=[(3, 31.0 * 2.89)], height=H170),
        {D: (INF, {"NUT-08"})},
    ),
    # --- NUT-09 gastrostomy window (ALS) ---------------------------------------------------------------
    "ALS loss + FVC 55 %": (
        dict(weights=[(120, 72.0), (3, 67.6)], extra=[m(Concept.FVC_PCT_PREDICTED, 10, 55.0)]),
        {D: (W, {"NUT-01"}), G: (W, {"NUT-09"})},
    ),
    "ALS loss + FVC 55 % from litres / predicted": (
        dict(
            weights=[(120, 72.0), (3, 67.6)],
            extra=[m(Concept.FVC, 10, 2.2), m(Concept.FVC_PREDICTED, 10, 4.0)],
        ),
        {D: (W, {"NUT-01"}), G: (W, {"NUT-09"})},
    ),
    "ALS loss + FVC 65 % stable": (
        dict(weights=[(120, 72.0), (3, 67.6)], extra=[m(Concept.FVC_PCT_PREDICTED, 10, 65.0)]),
        {D: (W, {"NUT-01"})},
    ),
    "ALS loss + FVC 65 % falling from 72 %": (
        dict(
            weights=[(120, 72.0), (3, 67.6)],
            extra=[m(Concept.FVC_PCT_PREDICTED, 100, 72.0), m(Concept.FVC_PCT_PREDICTED, 10, 65.0)],
        ),
        {D: (W, {"NUT-01"}), G: (W, {"NUT-09"})},
    ),
    "ALS loss + FVC 48 %: window passed": (
        dict(weights=[(120, 72.0), (3, 67.6)], extra=[m(Concept.FVC_PCT_PREDICTED, 10, 48.0)]),
        {D: (W, {"NUT-01"})},
    ),
    "ALS loss + FVC 55 % stale (100 days)": (
        dict(weights=[(120, 72.0), (3, 67.6)], extra=[m(Concept.FVC_PCT_PREDICTED, 100, 55.0)]),
        {D: (W, {"NUT-01"})},
    ),
    "ALS no loss + FVC 55 %": (
        dict(weights=[(120, 72.0), (3, 72.0)], extra=[m(Concept.FVC_PCT_PREDICTED, 10, 55.0)]),
        {},
    ),
    "ALS loss + FVC 55 % + gastrostomy documented": (
        dict(
            weights=[(120, 72.0), (3, 67.6)], extra=[m(Concept.FVC_PCT_PREDICTED, 10, 55.0)], gastrostomy=True
        ),
        {D: (W, {"NUT-01"})},
    ),
    "ALS loss + FVC 55 % + open gastro referral": (
        dict(
            weights=[(120, 72.0), (3, 67.6)],
            extra=[m(Concept.FVC_PCT_PREDICTED, 10, 55.0)],
            orders=[order(G, 60)],
        ),
        {D: (W, {"NUT-01"})},
    ),
    "DMD loss + FVC 55 %: no gastrostomy card": (
        dict(
            dx=Nmd.DMD,
            age=30,
            weights=[(120, 72.0), (3, 67.6)],
            extra=[m(Concept.FVC_PCT_PREDICTED, 10, 55.0)],
        ),
        {D: (W, {"NUT-01"})},
    ),
}


@pytest.mark.parametrize("situation, expected", list(CASES.values()), ids=list(CASES))
def test_nutrition_table(situation: dict, expected: dict) -> None:
    findings = nutrition(ctx(patient(**situation)))
    assert outcome(findings) == expected
    check_cards(findings)


def test_summary_states_the_numbers() -> None:
    [f] = nutrition(ctx(patient(dx=Nmd.DMD, age=30, weights=[(120, 72.0), (3, 67.6)])))
    assert f.summary == "Weight down 6.1 % in 4 months (72.0 → 67.6 kg): nutrition assessment"
    assert f.suggestions[0].action is D and f.action is D


@pytest.mark.parametrize(
    "extra, note",
    [
        (dict(symptoms=(Symptom.OEDEMA,)), "Verify weight: oedema"),
        (dict(gastrostomy=True), "Verify weight: gastrostomy"),
        (
            dict(
                dx=Nmd.DMD, age=30, height=(30, 170.0), extra=[m(Concept.HEIGHT, 5, 170.0, 1, estimated=True)]
            ),
            "Height is estimated",
        ),
    ],
)
def test_caveat_notes(extra: dict, note: str) -> None:
    base = dict(weights=[(120, 72.0), (3, 50.0)])
    findings = nutrition(ctx(patient(**{**base, **extra})))
    dietitian = [f for f in findings if f.action is D]
    assert dietitian and any(n.startswith(note) for n in dietitian[0].notes)


def test_evidence_key_changes_with_evidence() -> None:
    a = nutrition(ctx(patient(weights=[(120, 72.0), (3, 67.6)])))[0]
    b = nutrition(ctx(patient(weights=[(120, 72.0), (3, 66.0)])))[0]
    assert a.evidence_key and a.evidence_key != b.evidence_key


@pytest.mark.parametrize(
    "override, expected",
    [
        (None, Indicator.WARNING),
        (7.0, None),  # institution raises the NUT-01 threshold to 7 %
    ],
)
def test_threshold_override(override: float | None, expected: Indicator | None, tmp_path) -> None:
    site = tmp_path / "site.json"
    overrides = {"nutrition.weight_loss_warning_pct": override} if override else {}
    site.write_text(json.dumps({"thresholds": overrides}))
    summary = patient(dx=Nmd.DMD, age=30, weights=[(120, 72.0), (3, 67.6)])
    findings = nutrition(ctx(summary, load_knowledge(site)))
    assert (findings[0].indicator if findings else None) is expected

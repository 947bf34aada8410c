"""Nutrition rules NUT-01…NUT-09 (clinical-knowledge §2.F): weight loss, BMI, BMI-for-age, gastrostomy.

Every NUT-01…08 signal that fires becomes ONE nutrition-referral finding (dietitian); NUT-09 (ALS
gastrostomy window) is its own finding. Weight and BMI rules act only on fresh data (§1.8): with a
stale current weight they give at most an info "repeat weight" finding (edge case 17).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from service.fhir.summary import ActionKind, Concept, Measurement, Nmd, PatientSummary, Symptom
from service.rules import citations as cite
from service.rules import thresholds_nutrition as T
from service.rules.core import Finding, Indicator, Rule, RuleContext, SuggestedResource, Topic
from service.rules.nutrition_adult import bmi_signals
from service.rules.nutrition_body import over_nutrition_signals
from service.rules.nutrition_child import child_signals
from service.rules.nutrition_common import (
    EPS,
    Signal,
    already_actioned,
    cap_preliminary,
    evidence_of,
    is_fresh,
    merge,
    months,
    pct_predicted_series,
    service_request,
    shown,
    tv,
)

WEIGHT_LOSS_RULES = frozenset({"NUT-01", "NUT-02", "NUT-03", "NUT-05", "NUT-07"})


@dataclass(frozen=True)
class WeightContext:
    """The current weight and what the rules need to know about the patient at its date."""

    current: Measurement
    age: float | None  # years at the weight's date; None without a birth date
    als: bool
    fresh: bool


def _current_weight(ctx: RuleContext) -> WeightContext | None:
    s = ctx.summary
    weights = [m for m in s.series(Concept.WEIGHT) if m.comparator is None and m.when <= ctx.today]
    if not weights:
        return None
    w = weights[-1]
    return WeightContext(w, s.age_at(w.when), s.has(Nmd.ALS), is_fresh(w, ctx.today, tv(ctx, T.WEIGHT_FRESH)))


def _adult_loss(ctx: RuleContext, wc: WeightContext) -> list[Signal]:
    """NUT-01 (≥ 5 %), NUT-02 (≥ 10 %, critical in ALS), NUT-03 (slow loss beyond 6 months)."""
    s, w = ctx.summary, wc.current
    lookback = tv(ctx, T.USUAL_LOOKBACK_ALS if wc.als else T.USUAL_LOOKBACK)
    span_min = int(tv(ctx, T.MIN_SPAN))
    out: list[Signal] = []
    usual = s.usual_weight(w, int(lookback), span_min)
    loss = _loss_pct(usual, w)
    if usual is not None and loss >= tv(ctx, T.LOSS_WARNING) - EPS:
        severe = loss >= tv(ctx, T.LOSS_SEVERE) - EPS
        rid = "NUT-02" if severe else "NUT-01"
        ind = Indicator.CRITICAL if severe and wc.als else Indicator.WARNING
        tail = "nutrition assessment"
        if severe and wc.als:  # EFNS: > 10 % loss is a gastrostomy criterion, unless one is in place
            tail = "dietitian now" if s.gastrostomy else "dietitian now; discuss gastrostomy"
        out.append(_loss_signal(rid, ind, usual, w, loss, tail, wc.als))
    slow = s.usual_weight(w, int(tv(ctx, T.USUAL_LOOKBACK_LONG)), span_min)
    slow_loss = _loss_pct(slow, w)
    if (
        slow is not None
        and not slow.usual
        and slow.concept is Concept.WEIGHT
        and (w.when - slow.when).days > tv(ctx, T.RECENT_WINDOW)
        and slow_loss > tv(ctx, T.SLOW_MODERATE) + EPS
    ):
        ind = Indicator.CRITICAL if slow_loss > tv(ctx, T.SLOW_SEVERE) + EPS else Indicator.WARNING
        out.append(_loss_signal("NUT-03", ind, slow, w, slow_loss, "slow loss, nutrition assessment", wc.als))
    return out


def _loss_pct(usual: Measurement | None, w: Measurement) -> float:
    # Unrounded: rounding first would move the threshold (4.96 % would read "5.0 %" and fire). The
    # comparisons allow EPS so an exact 5.0 % (72.0 → 68.4 kg) still counts; 158.7 lb (71.985 kg) →
    # 68.4 kg is a 4.98 % loss and does not. Display truncates via ``shown``.
    if usual is None or usual.value <= 0:
        return 0.0
    return 100.0 * (usual.value - w.value) / usual.value


def _loss_signal(
    rid: str, ind: Indicator, usual: Measurement, w: Measurement, loss: float, tail: str, als: bool
) -> Signal:
    documented = usual.usual or usual.concept is Concept.USUAL_WEIGHT
    when = "from usual" if documented else f"in {months((w.when - usual.when).days)}"
    summary = f"Weight down {shown(loss)} % {when} ({usual.value:.1f} → {w.value:.1f} kg): {tail}"
    kind = "documented" if documented else "heaviest recent"
    why = f"Current weight is {shown(loss)} % below usual weight ({kind})."
    if als:
        why += (
            " In ALS a 5 % loss from usual weight nearly doubles mortality (HR 1.92);"
            " 10 % at diagnosis HR 1.45."
        )
    return Signal(
        rid,
        ind,
        summary,
        why,
        (
            evidence_of("Usual weight" if documented else "Heaviest recent weight", usual),
            evidence_of("Current weight", w),
        ),
        (cite.GLIM_2019, cite.SEED_ALS_NUTRITION) + ((cite.EFNS_ALS_2012,) if rid == "NUT-02" else ()),
        f"W:{usual.source}={usual.value:.1f};{w.source}={w.value:.1f}",
        preliminary=usual.preliminary or w.preliminary,
    )


def _gastrostomy(ctx: RuleContext, weight_loss: list[Signal]) -> Finding | None:
    """NUT-09: ALS weight loss while FVC is still > 50 % predicted (50–60 % or falling), no gastrostomy."""
    s = ctx.summary
    if not weight_loss or not s.has(Nmd.ALS) or s.gastrostomy:
        return None
    if already_actioned(s, ActionKind.GASTROSTOMY, ctx.today, tv(ctx, T.GASTROSTOMY_RECENT)):
        return None
    fvcs = [
        m
        for m in pct_predicted_series(s, Concept.FVC_PCT_PREDICTED, Concept.FVC, Concept.FVC_PREDICTED)
        if m.comparator is None
    ]
    if not fvcs or not is_fresh(fvcs[-1], ctx.today, tv(ctx, T.FVC_FRESH_ALS)):
        return None
    fvc = fvcs[-1]
    falling = len(fvcs) > 1 and fvcs[-2].value - fvc.value > tv(ctx, T.GASTRO_FVC_FALL)
    if not (fvc.value > tv(ctx, T.GASTRO_FVC_LOW) and (fvc.value <= tv(ctx, T.GASTRO_FVC_HIGH) or falling)):
        return None
    trend = f", down from {fvcs[-2].value:g} %" if falling else ""
    summary = (
        f"ALS weight loss with FVC {fvc.value:g} % predicted{trend}: discuss gastrostomy while FVC > 50 %"
    )
    signal = Signal(
        "NUT-09",
        Indicator.WARNING,
        summary,
        "Weight is falling in ALS and FVC is still above 50 % predicted: gastrostomy is safest before FVC "
        "falls further (AAN: consider PEG to stabilise weight; exact timing not settled).",
        (evidence_of("FVC % predicted", fvc),) + tuple(e for sig in weight_loss for e in sig.evidence),
        (cite.AAN_ALS_2009, cite.EFNS_ALS_2012, cite.SEED_ALS_NUTRITION),
        "|".join(dict.fromkeys([f"FVC:{fvc.source}={fvc.value:.0f}"] + [sig.key for sig in weight_loss])),
        ("FVC 50–60 % window is a recalled figure [R]: institution review required.",),
    )
    req = service_request(ActionKind.GASTROSTOMY, summary)
    return merge(
        [signal],
        Topic.NUTRITION_REFERRAL,
        ActionKind.GASTROSTOMY,
        [SuggestedResource("Refer to gastroenterology to discuss gastrostomy", req, ActionKind.GASTROSTOMY)],
    )


def _weight_notes(s: PatientSummary) -> tuple[str, ...]:
    notes = []
    if any(f.symptom is Symptom.OEDEMA for f in s.findings):
        notes.append("Verify weight: oedema is documented and can mask or mimic weight change.")
    if s.gastrostomy:
        notes.append(
            "Verify weight: gastrostomy in place (fluid shifts, feed timing, scale/wheelchair tare)."
        )
    return tuple(notes)


def _intentional(signals: list[Signal], s: PatientSummary) -> list[Signal]:
    """Edge case 16: with a weight-management plan, weight-loss signals drop to info."""
    if not s.weight_management_plan:
        return signals
    note = "Weight loss may be intentional: a weight-management plan exists (card kept at info)."
    return [
        replace(x, indicator=Indicator.INFO, notes=x.notes + (note,)) if x.rule_id in WEIGHT_LOSS_RULES else x
        for x in signals
    ]


def _signals(ctx: RuleContext, wc: WeightContext | None) -> list[Signal]:
    out: list[Signal] = []
    adult = wc is not None and (wc.age is None or wc.age >= tv(ctx, T.ADULT_AGE))
    if wc is not None and adult:
        out += _adult_loss(ctx, wc)
    out += bmi_signals(ctx, wc) if adult else child_signals(ctx, wc)
    out += over_nutrition_signals(ctx, wc, adult)
    return out


def evaluate_nutrition(ctx: RuleContext) -> list[Finding]:
    """All nutrition findings for the patient: at most one dietitian finding and one gastrostomy finding."""
    s = ctx.summary
    if not s.in_scope or s.deceased:
        return []
    wc = _current_weight(ctx)
    if wc is not None and not wc.fresh:
        return _stale(ctx, wc)
    signals = _intentional(_signals(ctx, wc), s)
    # Edge case 1: preliminary data never fire critical – the current weight, and whatever each signal
    # rests on (an EHR-sent BMI or BMI-for-age percentile, a height, a usual weight: ``Signal.preliminary``).
    signals = [
        replace(
            x,
            indicator=cap_preliminary(x.indicator, *(wc.current,) if wc else (), preliminary=x.preliminary),
        )
        for x in signals
    ]
    findings: list[Finding] = []
    weight_based = [x for x in signals if x.key.startswith(("W:", "B:", "Z:"))]
    if signals and not already_actioned(
        s, ActionKind.DIETITIAN_REFERRAL, ctx.today, tv(ctx, T.DIETITIAN_RECENT)
    ):
        lead = max(signals, key=lambda x: x.indicator.rank)
        req = service_request(ActionKind.DIETITIAN_REFERRAL, lead.summary)
        sugg = SuggestedResource(
            "Refer to dietitian for nutrition assessment", req, ActionKind.DIETITIAN_REFERRAL
        )
        f = merge(
            signals,
            Topic.NUTRITION_REFERRAL,
            ActionKind.DIETITIAN_REFERRAL,
            [sugg],
            _weight_notes(s) if weight_based else (),
        )
        if f is not None:
            findings.append(f)
    gastro = _gastrostomy(ctx, [x for x in signals if x.rule_id in WEIGHT_LOSS_RULES])
    if gastro is not None:
        findings.append(gastro)
    return findings


def _stale(ctx: RuleContext, wc: WeightContext) -> list[Finding]:
    """Edge case 17: an old weight that would meet a threshold → info 'repeat weight', no threshold card."""
    would = _signals(ctx, WeightContext(wc.current, wc.age, wc.als, fresh=True))
    weight_based = [x for x in would if x.key.startswith(("W:", "B:", "Z:"))]
    if not weight_based:
        return []
    days = (ctx.today - wc.current.when).days
    ids = ", ".join(dict.fromkeys(x.rule_id for x in weight_based))
    lead = weight_based[0]
    return [
        Finding(
            rule_ids=tuple(dict.fromkeys(x.rule_id for x in weight_based)),
            topic=Topic.NUTRITION_REFERRAL,
            indicator=Indicator.INFO,
            summary=f"Repeat weight: last one ({wc.current.display}) is {days} days old and would meet {ids}",
            reasoning=f"The latest weight is older than {tv(ctx, T.WEIGHT_FRESH):g} days, so no threshold "
            f"card is given (stale data). On that weight: {lead.summary}.",
            evidence=(evidence_of("Latest weight", wc.current),),
            citations=(cite.GLIM_2019,),
            action=None,
            evidence_key=f"STALE:{wc.current.source}={wc.current.value:.1f}",
        )
    ]


NUTRITION_RULES: tuple[Rule, ...] = (evaluate_nutrition,)

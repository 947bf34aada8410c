"""Adult BMI: NUT-04 low BMI by the GLIM age bands (BMI from a fresh weight and height, or a fresh BMI
the EHR sent), NUT-05 BMI falling in ALS (each point lost raises mortality)."""

from __future__ import annotations

from service.fhir.summary import Concept, Nmd
from service.rules import growth
from service.rules.core import Indicator, Outcome, RuleContext, Signal, Skip, rule
from service.rules.measures import EPS, evidence_of, months, shown
from service.rules.nutrition.body import adult_now, is_adult, weight_context
from service.rules.nutrition.common import finish


@rule("NUT-04")
def low_bmi(ctx: RuleContext) -> Outcome:
    return finish(ctx, "NUT-04", _low_bmi(ctx))


def _low_bmi(ctx: RuleContext) -> Signal | Skip:
    n = ctx.t.nutrition
    if not is_adult(ctx):
        return Skip.na("a child (NUT-06 applies)")
    now = adult_now(ctx)
    if now is None or now.bmi is None:
        return Skip.missing("no BMI: needs a recent weight and height, or a recent BMI")
    wc = weight_context(ctx)
    age = wc.age if wc is not None else ctx.summary.age_at(ctx.today)
    if age is None:
        return Skip.missing("no birth date (the BMI bands depend on age)")
    older = age >= n.bmi_older_age_years
    moderate = n.bmi_moderate_older_kg_m2 if older else n.bmi_moderate_kg_m2
    if now.bmi >= moderate - EPS:
        return Skip.below(f"{now.label} is not below {moderate.text}")
    severe = now.bmi < n.bmi_severe_kg_m2 - EPS
    band = "severe" if severe else "moderate"
    return Signal(
        indicator=Indicator.CRITICAL if severe else Indicator.WARNING,
        summary=f"{now.label} at age {int(age)}: {band} low BMI (GLIM) – nutrition assessment",
        reason=f"BMI is below {(n.bmi_severe_kg_m2 if severe else moderate).text}: {band} "
        "malnutrition by GLIM.",
        evidence=now.evidence,
        key=now.key,
        notes=now.notes,
        preliminary=now.preliminary,
    )


@rule("NUT-05")
def als_bmi_fall(ctx: RuleContext) -> Outcome:
    return finish(ctx, "NUT-05", _als_bmi_fall(ctx))


def _als_bmi_fall(ctx: RuleContext) -> Signal | Skip:
    """BMI fall of at least the threshold since diagnosis or within six months (same height, so the
    weights decide)."""
    n, s = ctx.t.nutrition, ctx.summary
    if not s.has(Nmd.ALS):
        return Skip.na("not ALS")
    wc = weight_context(ctx)
    if wc is None:
        return Skip.missing("no weight on record")
    if not is_adult(ctx):
        return Skip.na("a child")
    now = adult_now(ctx)
    if now is None or now.height is None:
        return Skip.missing("no recent height: BMI cannot be followed")
    w, h = wc.current, now.height
    span_min, window = n.weight_min_span_days, n.recent_loss_window_days
    earlier = [
        m
        for m in s.series(Concept.WEIGHT)
        if m.comparator is None and span_min <= (w.when - m.when).days <= window
    ]
    onsets = [d.onset for d in s.diagnoses if d.disorder is Nmd.ALS and d.onset is not None]
    if onsets:
        at_dx = [
            m
            for m in s.series(Concept.WEIGHT)
            if m.comparator is None
            and abs((m.when - min(onsets)).days) <= n.diagnosis_weight_match_days
            and (w.when - m.when).days >= span_min
        ]
        earlier += at_dx[:1]
    if not earlier:
        return Skip.missing("no earlier weight within six months or at diagnosis")
    ref = max(earlier, key=lambda m: m.value)
    before = growth.bmi_kg_m2(ref.value, h.value)
    fall = before - growth.bmi_kg_m2(w.value, h.value)  # unrounded: 0.96 must not read as 1.0
    if fall < n.als_bmi_fall_kg_m2 - EPS:
        return Skip.below(f"BMI fell {shown(fall)}, less than {n.als_bmi_fall_kg_m2.text}")
    return Signal(
        indicator=Indicator.WARNING,
        summary=f"BMI fell {shown(fall)} points in {months((w.when - ref.when).days)} "
        f"({before:.1f} → {now.bmi:.1f}) – "
        "each point lost raises ALS mortality 9–23 %",
        reason="In ALS each BMI point lost raises mortality (hazard ratio 1.09–1.23).",
        evidence=(evidence_of("Earlier weight", ref), *now.evidence),
        key=f"W:{ref.source}={ref.value:.1f};{w.source}={w.value:.1f}",
        notes=now.notes,
        preliminary=now.preliminary or ref.preliminary,
    )

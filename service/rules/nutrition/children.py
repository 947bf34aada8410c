"""Children: NUT-06 low BMI-for-age (or weight-for-length under 2 years), NUT-07 weight loss or a fall
in BMI-for-age Z (ASPEN/AND paediatric malnutrition indicators)."""

from __future__ import annotations

from service.fhir.summary import Concept, Measurement
from service.rules import growth
from service.rules.core import Evidence, Indicator, Outcome, RuleContext, Signal, Skip, rule
from service.rules.measures import EPS, evidence_of, months, shown
from service.rules.nutrition.body import child_now, height, is_adult, weight_context
from service.rules.nutrition.common import finish


@rule("NUT-06")
def underweight_child(ctx: RuleContext) -> Outcome:
    return finish(ctx, "NUT-06", _underweight(ctx))


def _underweight(ctx: RuleContext) -> Signal | Skip:
    n = ctx.t.nutrition
    if is_adult(ctx):
        return Skip.na("an adult (NUT-04 applies)")
    now = child_now(ctx)
    if now is None or now.z is None:
        return Skip.missing("no BMI-for-age: needs a recent weight and height, or an EHR percentile")
    # The 5th-percentile definition is for BMI-for-age; weight-for-length uses the Z bands only.
    low_pct = (
        now.label.startswith("BMI")
        and now.percentile is not None
        and now.percentile < n.child_bmi_percentile - EPS
    )
    if now.z <= n.child_z_severe_sd + EPS:
        ind = Indicator.CRITICAL
    elif now.z <= n.child_z_moderate_sd + EPS or low_pct:
        ind = Indicator.WARNING
    else:
        return Skip.below(f"{now.label} is not underweight")
    return Signal(
        indicator=ind,
        summary=f"{now.label}: underweight – nutrition assessment",
        reason=f"Below the {n.child_bmi_percentile.number}th BMI-for-age percentile or at a Z-score of "
        f"{n.child_z_moderate_sd.number} or lower ({n.child_z_severe_sd.number}: severe).",
        evidence=now.evidence,
        key=now.key,
        notes=now.notes,
        preliminary=now.preliminary,
    )


@rule("NUT-07")
def child_weight_loss(ctx: RuleContext) -> Outcome:
    return finish(ctx, "NUT-07", _child_loss(ctx))


def _child_loss(ctx: RuleContext) -> Signal | Skip:
    """ASPEN weight-loss bands, or a fall in BMI-for-age Z."""
    n, s = ctx.t.nutrition, ctx.summary
    wc = weight_context(ctx)
    if wc is None:
        return Skip.missing("no weight on record")
    if is_adult(ctx):
        return Skip.na("an adult (NUT-01 applies)")
    if wc.age is None or wc.age < n.child_bmi_min_age_years:
        return Skip.na(f"under {n.child_bmi_min_age_years.text}")
    w = wc.current
    lookback = int(n.usual_weight_lookback_als_days if wc.als else n.usual_weight_lookback_days)
    usual = s.usual_weight(w, lookback, int(n.weight_min_span_days))
    bands = [
        (n.child_loss_severe_pct, Indicator.CRITICAL),
        (n.child_loss_moderate_pct, Indicator.WARNING),
        (n.child_loss_mild_pct, Indicator.INFO),
    ]
    if usual is not None and usual.value > 0:
        loss = 100.0 * (usual.value - w.value) / usual.value  # unrounded against the bands
        ind = next((i for t, i in bands if loss >= t - EPS), None)
        if ind is not None:
            return Signal(
                indicator=ind,
                summary=f"Weight down {shown(loss)} % in {months((w.when - usual.when).days)} "
                f"({usual.number} → {w.display}): paediatric malnutrition indicator",
                reason=f"A child's weight loss of {n.child_loss_mild_pct.text}, "
                f"{n.child_loss_moderate_pct.text} "
                f"or {n.child_loss_severe_pct.text} of usual weight is a mild, moderate or severe "
                "malnutrition "
                "indicator.",
                evidence=(evidence_of("Usual weight", usual), evidence_of("Current weight", w)),
                key=f"W:{usual.source}={usual.value:.1f};{w.source}={w.value:.1f}",
                preliminary=usual.preliminary or w.preliminary,
            )
    now = child_now(ctx)
    if now is None or now.z is None:
        return Skip.below("no weight loss band reached, and no BMI-for-age to follow")
    earlier = _earlier_z(ctx, w, lookback)
    if not earlier:
        return Skip.missing("no earlier BMI-for-age to compare")
    z0, src = max(earlier)
    fall = z0 - now.z
    zb = [
        (n.child_z_fall_severe_sd, Indicator.CRITICAL),
        (n.child_z_fall_moderate_sd, Indicator.WARNING),
        (n.child_z_fall_mild_sd, Indicator.INFO),
    ]
    ind = next((i for t, i in zb if fall >= t - EPS), None)
    if ind is None:
        return Skip.below(f"BMI-for-age Z fell {shown(fall, 2)}, less than {n.child_z_fall_mild_sd.text}")
    return Signal(
        indicator=ind,
        summary=f"BMI-for-age Z fell {shown(fall, 2)} ({z0:.2f} → {now.z:.2f}): paediatric "
        "malnutrition indicator",
        reason="A falling BMI-for-age Z-score is a malnutrition indicator even when the kilograms "
        "stay the same.",
        evidence=(*now.evidence, Evidence("Earlier BMI-for-age Z", f"{z0:.2f}", None, src)),
        key=f"Z:{src}={z0:.2f}|{now.key}",
        notes=now.notes,
        preliminary=now.preliminary,
    )


def _earlier_z(ctx: RuleContext, w: Measurement, lookback: int) -> list[tuple[float, str]]:
    """BMI-for-age Z values in the look-back window, from EHR percentiles or earlier weight + height."""
    s, span = ctx.summary, ctx.t.nutrition.weight_min_span_days
    inside = [
        m
        for m in s.series(Concept.BMI_PERCENTILE) + s.series(Concept.WEIGHT)
        if m.comparator is None and span <= (w.when - m.when).days <= lookback
    ]
    out: list[tuple[float, str]] = []
    for m in inside:
        if m.concept is Concept.BMI_PERCENTILE:
            out.append((growth.z_from_percentile(m.value), m.source))
            continue
        h, age = height(ctx, child=True, near=m), s.age_at(m.when)
        placed = growth.bmi_for_age(growth.bmi_kg_m2(m.value, h.value), age, s.sex) if h and age else None
        if placed is not None:
            out.append((placed.z, m.source))
    return out

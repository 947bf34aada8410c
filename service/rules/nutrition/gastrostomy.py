"""NUT-09, ALS: weight is falling and FVC is still above the safe line — discuss gastrostomy while it is
safest (no card once a gastrostomy is in place)."""

from __future__ import annotations

from service.fhir.summary import Concept, Nmd
from service.rules.core import Indicator, Outcome, RuleContext, Signal, Skip, rule
from service.rules.measures import evidence_of, is_fresh, pct_predicted_series
from service.rules.nutrition.bmi import _als_bmi_fall
from service.rules.nutrition.body import weight_context
from service.rules.nutrition.children import _child_loss
from service.rules.nutrition.weight import adult_loss


def _weight_loss(ctx: RuleContext) -> list[Signal]:
    drafts = [*adult_loss(ctx).values(), _als_bmi_fall(ctx), _child_loss(ctx)]
    return [d for d in drafts if isinstance(d, Signal)]


@rule("NUT-09")
def discuss_gastrostomy(ctx: RuleContext) -> Outcome:
    n, s = ctx.t.nutrition, ctx.summary
    if not s.has(Nmd.ALS):
        return Skip.na("not ALS")
    if s.gastrostomy:
        return Skip.na("a gastrostomy is in place")
    wc = weight_context(ctx)
    if wc is not None and not wc.fresh:
        return Skip.stale("the latest weight is stale")
    loss = _weight_loss(ctx)
    if not loss:
        return Skip.na("no weight loss")
    fvcs = [
        m
        for m in pct_predicted_series(s, Concept.FVC_PCT_PREDICTED, Concept.FVC, Concept.FVC_PREDICTED)
        if m.comparator is None
    ]
    if not fvcs:
        return Skip.missing("no FVC % predicted")
    if not is_fresh(fvcs[-1], ctx.today, n.gastrostomy_fvc_fresh_days):
        return Skip.stale(f"the last FVC is older than {n.gastrostomy_fvc_fresh_days.text}")
    fvc = fvcs[-1]
    falling = len(fvcs) > 1 and fvcs[-2].value - fvc.value > n.gastrostomy_fvc_fall_points
    if not (fvc.value > n.gastrostomy_fvc_low_pct and (fvc.value <= n.gastrostomy_fvc_high_pct or falling)):
        return Skip.na(f"FVC {fvc.display} is outside the gastrostomy window")
    trend = f", down from {fvcs[-2].value:g} %" if falling else ""
    return Signal(
        indicator=Indicator.WARNING,
        summary=f"ALS weight loss with FVC {fvc.value:g} % predicted{trend}: discuss gastrostomy while FVC > "
        f"{n.gastrostomy_fvc_low_pct.text}",
        reason="Weight is falling and FVC is still above the safe line: gastrostomy is safest "
        "before FVC falls "
        "further (the exact timing is not settled).",
        evidence=(evidence_of("FVC % predicted", fvc), *(e for sig in loss for e in sig.evidence)),
        key="|".join(dict.fromkeys([f"FVC:{fvc.source}={fvc.value:.0f}"] + [sig.key for sig in loss])),
    )

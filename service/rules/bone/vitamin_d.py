"""Vitamin D, VD-01..VD-04 (25-OH vitamin D in ng/mL): a test is due (VD-01; an older result is never
compared with a threshold), deficiency (VD-02: treat, recheck), insufficiency in a bone-risk patient
(VD-03), and a result sent as a bound ("<10 ng/mL") read at that bound (VD-04, on the VD-02 card)."""

from __future__ import annotations

from datetime import timedelta

from service.fhir.summary import Concept, Measurement
from service.rules.bone.facts import DAYS_PER_MONTH, active_therapy, chronic_gc, months_ago
from service.rules.bone.risk import risk
from service.rules.core import Evidence, Indicator, Order, Outcome, RuleContext, Signal, Skip, memo, rule


def _evidence(m: Measurement, why: str = "") -> Evidence:
    note = (" (preliminary)" if m.preliminary else "") + (f" – {why}" if why else "")
    return Evidence("25-OH vitamin D", f"{m.display}{note}", m.when, m.source)


def below(m: Measurement, cut: float) -> bool:
    """True when the value is certainly below ``cut``; a '<x' bound counts at x (VD-04)."""
    if m.comparator in ("<", "<="):
        return m.value <= cut
    if m.comparator in (">", ">="):
        return False  # only a lower bound: cannot be called low
    return m.value < cut


@memo
def latest(ctx: RuleContext) -> Measurement | None:
    series = [m for m in ctx.summary.series(Concept.VITAMIN_D_25OH) if m.when <= ctx.today]
    return series[-1] if series else None


def _current(ctx: RuleContext) -> Measurement | Skip:
    last = latest(ctx)
    if last is None:
        return Skip.missing("no 25-OH vitamin D on record")
    if months_ago(ctx, last.when) > ctx.t.bone.vitd_lookback_months:
        return Skip.stale(
            f"last 25-OH vitamin D {last.when} is older than {ctx.t.bone.vitd_lookback_months.text}"
        )
    return last


def _deficient(ctx: RuleContext, m: Measurement) -> bool:
    b = ctx.t.bone
    return below(m, b.vitd_deficient_ng_ml) or (
        m.comparator in ("<", "<=") and m.value <= b.vitd_target_ng_ml
    )


def bone_risk(ctx: RuleContext) -> list[str]:
    """Why the patient is in the bone-risk population that needs yearly 25-OH vitamin D."""
    r = risk(ctx)
    out = []
    if r.gc:
        out.append("on glucocorticoids")
    if r.non_ambulatory:
        out.append("non-ambulatory")
    if r.low:
        out.append("low BMD")
    if r.fractures:
        out.append("prior fragility fracture")
    if active_therapy(ctx):
        out.append("on bone-targeted therapy")
    return out


@rule("VD-01")
def test_due(ctx: RuleContext) -> Outcome:
    last = latest(ctx)
    lookback = ctx.t.bone.vitd_lookback_months
    who = bone_risk(ctx)
    if not who:
        return Skip.na(
            "not in the bone-risk population (no glucocorticoids, walks, no low BMD, fracture or therapy)"
        )
    if last is not None and months_ago(ctx, last.when) <= lookback:
        return Skip.na(f"25-OH vitamin D measured {last.when}")
    return Signal(
        indicator=Indicator.INFO,
        summary=f"25-OH vitamin D due ({who[0]}): last one {last.display} on {last.when}"
        if last
        else f"25-OH vitamin D due ({who[0]}): none on record",
        reason=f"Vitamin D is checked yearly in bone care ({', '.join(who)})"
        + ("; the older value is not used for decisions." if last else "."),
        evidence=(_evidence(last, "older than the window"),)
        if last
        else (Evidence("25-OH vitamin D", "none on record"),),
        key=f"VD-01:{last.source if last else ''}",
    )


@rule("VD-02")
def deficiency(ctx: RuleContext) -> Outcome:
    last = _current(ctx)
    if isinstance(last, Skip):
        return last
    if not _deficient(ctx, last):
        return Skip.below(
            f"25-OH vitamin D {last.display} is not below {ctx.t.bone.vitd_deficient_ng_ml.text}"
        )
    recheck = max(ctx.today, last.when + timedelta(days=ctx.t.bone.vitd_recheck_months * DAYS_PER_MONTH))
    return Signal(
        indicator=Indicator.WARNING,
        summary=f"Vitamin D deficiency ({last.display} on {last.when}) – treat and recheck in "
        f"{ctx.t.bone.vitd_recheck_months.text}",
        reason="Vitamin D deficiency weakens bone further in neuromuscular disorders: treat it and recheck.",
        evidence=(_evidence(last),),
        key=f"VD-02:{last.source}={last.display}",
        since=last.when + timedelta(days=1),  # a recheck ordered after this result suppresses the card
        order=Order(occurrence=recheck),
    )


@rule("VD-04")
def reported_as_bound(ctx: RuleContext) -> Outcome:
    last = _current(ctx)
    if isinstance(last, Skip):
        return last
    if last.comparator not in ("<", "<="):
        return Skip.na("the result is a number, not a bound")
    if not _deficient(ctx, last):
        return Skip.below(f"the bound {last.display} is above the target")
    return Signal(
        indicator=Indicator.WARNING,
        summary=f"Vitamin D reported as '{last.display}': read at its bound, treated as deficient",
        reason=f"Reported as '{last.display}': read at its bound and treated as deficient.",
        evidence=(_evidence(last),),
        key=f"VD-02:{last.source}={last.display}",
        since=last.when + timedelta(days=1),
    )


@rule("VD-03")
def insufficiency(ctx: RuleContext) -> Outcome:
    b = ctx.t.bone
    last = _current(ctx)
    if isinstance(last, Skip):
        return last
    if _deficient(ctx, last):
        return Skip.na("deficient (VD-02 applies)")
    if not below(last, b.vitd_target_ng_ml):
        return Skip.below(f"25-OH vitamin D {last.display} reaches the target {b.vitd_target_ng_ml.text}")
    gc, non_amb = chronic_gc(ctx), ctx.summary.non_ambulatory
    if not (gc or non_amb):
        return Skip.na("not on chronic glucocorticoids and ambulant")
    who = ", ".join(x for x in (f"on {gc.drug}" if gc else "", "non-ambulatory" if non_amb else "") if x)
    return Signal(
        indicator=Indicator.INFO,
        summary=f"Vitamin D insufficient for a bone-risk patient ({last.display}, {who}): target ≥ "
        f"{b.vitd_target_ng_ml.text}",
        reason=f"In a patient {who}, supplement vitamin D to at least the target (frameworks differ on it).",
        evidence=(_evidence(last),),
        key=f"VD-03:{last.source}={last.display}",
    )

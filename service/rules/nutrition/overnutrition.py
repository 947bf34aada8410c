"""NUT-08, over-nutrition: glucocorticoid-treated DMD or SMA with a high BMI-for-age (SMA: above a low
percentile, to evaluate body composition), or an adult BMI in the obese range — dietitian review."""

from __future__ import annotations

from service.fhir.summary import DrugClass, Nmd
from service.rules.core import Indicator, Outcome, RuleContext, Signal, Skip, rule
from service.rules.nutrition.body import adult_now, child_now, is_adult
from service.rules.nutrition.common import finish


@rule("NUT-08")
def over_nutrition(ctx: RuleContext) -> Outcome:
    return finish(ctx, "NUT-08", _over(ctx))


def _over(ctx: RuleContext) -> Signal | Skip:
    n, s = ctx.t.nutrition, ctx.summary
    gc_dmd = s.has(Nmd.DMD, Nmd.BECKER) and any(c.active for c in s.courses(DrugClass.GLUCOCORTICOID))
    sma = s.has(Nmd.SMA)
    if not (gc_dmd or sma):
        return Skip.na("neither glucocorticoid-treated DMD nor SMA")
    adult = is_adult(ctx)
    now = adult_now(ctx) if adult else child_now(ctx)
    if now is None:
        return Skip.missing("no BMI or BMI-for-age")
    label, why = "", ""
    if adult and now.bmi is not None and now.bmi >= n.over_bmi_adult_kg_m2:
        label, why = f"{now.label} (≥ {n.over_bmi_adult_kg_m2.text})", "high BMI"
    elif not adult and now.percentile is not None and now.label.startswith("BMI"):
        if gc_dmd and now.percentile >= n.over_bmi_percentile_dmd:
            label, why = (
                now.label,
                f"at or above the {n.over_bmi_percentile_dmd.number}th percentile on glucocorticoids",
            )
        elif sma and now.percentile > n.over_bmi_percentile_sma:
            label = f"SMA, {now.label}"
            why = f"SMA above the {n.over_bmi_percentile_sma.number}th percentile: evaluate body composition"
    if not label:
        return Skip.below(f"{now.label} is not in the over-nutrition range")
    tail = (
        "evaluate body composition (excess fat)"
        if label.startswith("SMA")
        else "weight gain / low lean mass risk"
    )
    return Signal(
        indicator=Indicator.INFO,
        summary=f"{label}: dietitian review – {tail}",
        reason=f"{why.capitalize()}. Glucocorticoids and loss of ambulation drive fat gain; in SMA "
        "fat mass is "
        "high at a normal BMI.",
        evidence=now.evidence,
        key=now.key,
        notes=now.notes,
        preliminary=now.preliminary,
    )

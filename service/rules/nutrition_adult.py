"""Adult BMI rules: NUT-04 low BMI by GLIM age bands, NUT-05 BMI fall in ALS (each point: HR 1.09–1.23)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.fhir.summary import Concept, Nmd
from service.rules import citations as cite
from service.rules import growth
from service.rules import thresholds_nutrition as T
from service.rules.core import Indicator, RuleContext
from service.rules.nutrition_common import EPS, Signal, evidence_of, months, shown, tv

if TYPE_CHECKING:
    from service.rules.nutrition import WeightContext

from service.rules.nutrition_body import BodySize, adult_now


def bmi_signals(ctx: RuleContext, wc: WeightContext | None) -> list[Signal]:
    """Adults: NUT-04 low BMI by GLIM age bands; NUT-05 BMI fall in ALS."""
    now = adult_now(ctx, wc)
    if now is None or now.bmi is None:
        return []
    out: list[Signal] = []
    age = wc.age if wc is not None else ctx.summary.age_at(ctx.today)
    if age is not None:
        # §2.F card column: < 18.5 critical at any adult age; < 20 (< 70 y) / < 22 (≥ 70 y) warning.
        older = age >= tv(ctx, T.BMI_OLDER_AGE)
        severe = tv(ctx, T.BMI_SEVERE)
        moderate = tv(ctx, T.BMI_MODERATE_OLDER if older else T.BMI_MODERATE)
        if now.bmi < moderate - EPS:
            ind, band = (
                (Indicator.CRITICAL, "severe") if now.bmi < severe - EPS else (Indicator.WARNING, "moderate")
            )
            out.append(
                Signal(
                    "NUT-04",
                    ind,
                    f"{now.label} at age {int(age)}: {band} low BMI (GLIM) – nutrition assessment",
                    f"BMI {shown(now.bmi)} is below {severe if band == 'severe' else moderate:g} kg/m²"
                    + (
                        " (critical at any adult age)."
                        if band == "severe"
                        else f", the GLIM moderate band for age {'≥' if older else '<'} "
                        f"{tv(ctx, T.BMI_OLDER_AGE):g}."
                    ),
                    now.evidence,
                    (cite.GLIM_2019,),
                    now.key,
                    now.notes,
                    now.preliminary,
                )
            )
    if wc is not None and ctx.summary.has(Nmd.ALS) and now.height is not None:
        out += _als_bmi_fall(ctx, wc, now)
    return out


def _als_bmi_fall(ctx: RuleContext, wc: WeightContext, now: BodySize) -> list[Signal]:
    """NUT-05: BMI fall ≥ 1 point since diagnosis or within 6 months (same height, so weight decides)."""
    s, w, h = ctx.summary, wc.current, now.height
    assert h is not None
    span_min, window = tv(ctx, T.MIN_SPAN), tv(ctx, T.RECENT_WINDOW)
    earlier = [
        m
        for m in s.series(Concept.WEIGHT)
        if m.comparator is None and span_min <= (w.when - m.when).days <= window
    ]
    onsets = [d.onset for d in s.diagnoses if d.disorder is Nmd.ALS and d.onset is not None]
    if onsets:
        match = tv(ctx, T.DIAGNOSIS_WEIGHT_MATCH)
        at_dx = [
            m
            for m in s.series(Concept.WEIGHT)
            if m.comparator is None
            and abs((m.when - min(onsets)).days) <= match
            and (w.when - m.when).days >= span_min
        ]
        earlier += at_dx[:1]
    if not earlier:
        return []
    ref = max(earlier, key=lambda m: m.value)
    before = growth.bmi_kg_m2(ref.value, h.value)
    # Compare unrounded (0.96 must not read as 1.0); one decimal, truncated, only for display.
    fall = before - growth.bmi_kg_m2(w.value, h.value)
    if fall < tv(ctx, T.ALS_BMI_FALL) - EPS:
        return []
    return [
        Signal(
            "NUT-05",
            Indicator.WARNING,
            f"BMI fell {shown(fall)} points in {months((w.when - ref.when).days)} "
            f"({before:.1f} → {now.bmi:.1f}) – "
            "each point lost raises ALS mortality 9–23 %",
            f"BMI fell {shown(fall)} kg/m² (same height); in ALS each BMI point lost raises mortality "
            "(HR 1.09–1.23).",
            (evidence_of("Earlier weight", ref),) + now.evidence,
            (cite.SEED_ALS_NUTRITION,),
            f"W:{ref.source}={ref.value:.1f};{w.source}={w.value:.1f}",
            now.notes,
            now.preliminary or ref.preliminary,
        )
    ]

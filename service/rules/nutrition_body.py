"""BMI-based nutrition checks: adult BMI (NUT-04), ALS BMI fall (NUT-05), children (NUT-06/07), over-nutrition (NUT-08).

No height, no BMI rule (edge case 14): BMI comes from a fresh height (§1.8: adult ≤ 12 months, child
≤ 3 months) or, for adults, a fresh BMI the EHR sent. A child's BMI-for-age percentile sent by the EHR
(LOINC 59576-9) wins over one computed here through ``growth`` (CDC 2000).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from service.fhir.summary import Concept, DrugClass, Measurement, Nmd
from service.rules import citations as cite
from service.rules import growth
from service.rules import thresholds_nutrition as T
from service.rules.core import Evidence, Indicator, RuleContext
from service.rules.nutrition_common import Signal, evidence_of, is_fresh, months, tv

if TYPE_CHECKING:
    from service.rules.nutrition import WeightContext

_ESTIMATED = "Height is estimated (ulna length / arm span / knee height): BMI is approximate."


@dataclass(frozen=True)
class BodySize:
    """A BMI (adult) or BMI-for-age / weight-for-length placement (child) now, with what it came from."""

    bmi: float | None  # kg/m2, one decimal
    z: float | None  # child only
    percentile: float | None  # child only
    label: str  # how the card names it
    evidence: tuple[Evidence, ...]
    key: str
    notes: tuple[str, ...] = ()
    height: Measurement | None = None


def _height(ctx: RuleContext, child: bool, near: Measurement | None = None) -> Measurement | None:
    """Latest fresh height; with ``near``, the height closest to that measurement's date within the window."""
    limit = tv(ctx, T.HEIGHT_FRESH_CHILD if child else T.HEIGHT_FRESH_ADULT)
    hs = [m for m in ctx.summary.series(Concept.HEIGHT) if m.comparator is None and m.value > 0]
    if near is not None:
        close = [h for h in hs if abs((h.when - near.when).days) <= limit]
        return min(close, key=lambda h: abs((h.when - near.when).days)) if close else None
    hs = [h for h in hs if h.when <= ctx.today]
    return hs[-1] if hs and is_fresh(hs[-1], ctx.today, limit) else None


def _adult_now(ctx: RuleContext, wc: WeightContext | None) -> BodySize | None:
    h = _height(ctx, child=False)
    if wc is not None and h is not None:
        bmi = round(growth.bmi_kg_m2(wc.current.value, h.value), 1)
        return BodySize(
            bmi, None, None, f"BMI {bmi:.1f} kg/m²",
            (evidence_of("Current weight", wc.current), evidence_of("Height", h)),
            f"B:{wc.current.source}={wc.current.value:.1f};{h.source}={h.value:.0f}",
            (_ESTIMATED,) if h.estimated else (), h,
        )
    sent = ctx.summary.latest(Concept.BMI)
    if sent is not None and sent.comparator is None and is_fresh(sent, ctx.today, tv(ctx, T.WEIGHT_FRESH)):
        bmi = round(sent.value, 1)
        return BodySize(bmi, None, None, f"BMI {bmi:.1f} kg/m²", (evidence_of("BMI (as recorded)", sent),),
                        f"B:{sent.source}={bmi:.1f}")
    return None


def bmi_signals(ctx: RuleContext, wc: WeightContext | None) -> list[Signal]:
    """Adults: NUT-04 low BMI by GLIM age bands; NUT-05 BMI fall in ALS."""
    now = _adult_now(ctx, wc)
    if now is None or now.bmi is None:
        return []
    out: list[Signal] = []
    age = wc.age if wc is not None else ctx.summary.age_at(ctx.today)
    if age is not None:
        older = age >= tv(ctx, T.BMI_OLDER_AGE)
        severe = tv(ctx, T.BMI_SEVERE_OLDER if older else T.BMI_SEVERE)
        moderate = tv(ctx, T.BMI_MODERATE_OLDER if older else T.BMI_MODERATE)
        if now.bmi < moderate:
            ind, band = (Indicator.CRITICAL, "severe") if now.bmi < severe else (Indicator.WARNING, "moderate")
            out.append(Signal(
                "NUT-04", ind, f"{now.label} at age {int(age)}: {band} low BMI (GLIM) – nutrition assessment",
                f"BMI {now.bmi:.1f} is below {severe if band == 'severe' else moderate:g} kg/m², the GLIM "
                f"{band} band for age {'≥' if older else '<'} {tv(ctx, T.BMI_OLDER_AGE):g}.",
                now.evidence, (cite.GLIM_2019,), now.key, now.notes,
            ))
    if wc is not None and ctx.summary.has(Nmd.ALS) and now.height is not None:
        out += _als_bmi_fall(ctx, wc, now)
    return out


def _als_bmi_fall(ctx: RuleContext, wc: WeightContext, now: BodySize) -> list[Signal]:
    """NUT-05: BMI fall ≥ 1 point since diagnosis or within 6 months (same height, so weight decides)."""
    s, w, h = ctx.summary, wc.current, now.height
    assert h is not None
    span_min, window = tv(ctx, T.MIN_SPAN), tv(ctx, T.RECENT_WINDOW)
    earlier = [m for m in s.series(Concept.WEIGHT)
               if m.comparator is None and span_min <= (w.when - m.when).days <= window]
    onsets = [d.onset for d in s.diagnoses if d.disorder is Nmd.ALS and d.onset is not None]
    if onsets:
        match = tv(ctx, T.DIAGNOSIS_WEIGHT_MATCH)
        at_dx = [m for m in s.series(Concept.WEIGHT) if m.comparator is None
                 and abs((m.when - min(onsets)).days) <= match and (w.when - m.when).days >= span_min]
        earlier += at_dx[:1]
    if not earlier:
        return []
    ref = max(earlier, key=lambda m: m.value)
    before = growth.bmi_kg_m2(ref.value, h.value)
    fall = round(before - growth.bmi_kg_m2(w.value, h.value), 1)
    if fall < tv(ctx, T.ALS_BMI_FALL):
        return []
    return [Signal(
        "NUT-05", Indicator.WARNING,
        f"BMI fell {fall:.1f} points in {months((w.when - ref.when).days)} ({before:.1f} → {now.bmi:.1f}) – "
        "each point lost raises ALS mortality 9–23 %",
        f"BMI fell {fall:.1f} kg/m² (same height); in ALS each BMI point lost raises mortality (HR 1.09–1.23).",
        (evidence_of("Earlier weight", ref),) + now.evidence, (cite.SEED_ALS_NUTRITION,),
        f"W:{ref.source}={ref.value:.1f};{w.source}={w.value:.1f}", now.notes,
    )]


def _child_now(ctx: RuleContext, wc: WeightContext | None) -> BodySize | None:
    """BMI-for-age (2–20 y) or weight-for-length (< 2 y): EHR percentile if fresh, else computed."""
    s, fresh = ctx.summary, tv(ctx, T.WEIGHT_FRESH)
    age = wc.age if wc is not None else s.age_at(ctx.today)
    if age is None:
        return None
    infant = age < tv(ctx, T.CHILD_BMI_MIN_AGE)
    concept = Concept.WEIGHT_FOR_LENGTH_PERCENTILE if infant else Concept.BMI_PERCENTILE
    name = "Weight-for-length" if infant else "BMI-for-age"
    sent = s.latest(concept)
    if sent is not None and sent.comparator is None and is_fresh(sent, ctx.today, fresh):
        z = round(growth.z_from_percentile(sent.value), 2)
        return BodySize(None, z, round(sent.value, 1), f"{name} percentile {sent.value:.1f} (Z {z:.2f})",
                        (evidence_of(f"{name} percentile (EHR)", sent),), f"Z:{sent.source}={sent.value:.1f}")
    h = _height(ctx, child=True)
    if infant or wc is None or h is None:
        return None
    bmi = growth.bmi_kg_m2(wc.current.value, h.value)
    placed = growth.bmi_for_age(bmi, age, s.sex)
    if placed is None:
        return None
    z, pct = round(placed.z, 2), round(placed.percentile, 1)
    return BodySize(
        round(bmi, 1), z, pct, f"BMI-for-age percentile {pct:.1f} (Z {z:.2f}, CDC)",
        (evidence_of("Current weight", wc.current), evidence_of("Height", h),
         Evidence("BMI-for-age (computed, " + placed.reference + ")", f"{bmi:.1f} kg/m², Z {z:.2f}, P{pct:.1f}")),
        f"Z:{wc.current.source}={wc.current.value:.1f};{h.source}={h.value:.0f}",
        (_ESTIMATED,) if h.estimated else (), h,
    )


def child_signals(ctx: RuleContext, wc: WeightContext | None) -> list[Signal]:
    """NUT-06 (low BMI-for-age / weight-for-length) and NUT-07 (weight loss, fall in Z) for children."""
    now = _child_now(ctx, wc)
    out: list[Signal] = []
    if now is not None and now.z is not None:
        # The < 5th percentile definition (Z68.51) is for BMI-for-age; weight-for-length uses Z bands only.
        low_pct = now.label.startswith("BMI") and (now.percentile or 100.0) < tv(ctx, T.CHILD_BMI_PCT)
        ind: Indicator | None = None
        if now.z <= tv(ctx, T.CHILD_Z_SEVERE):
            ind = Indicator.CRITICAL
        elif now.z <= tv(ctx, T.CHILD_Z_MODERATE) or low_pct:
            ind = Indicator.WARNING
        if ind is not None:
            out.append(Signal(
                "NUT-06", ind, f"{now.label}: underweight – nutrition assessment",
                "Below the 5th BMI-for-age percentile (CDC, ICD-10-CM Z68.51) or at/below ASPEN Z −2 (moderate) "
                "/ −3 (severe).",
                now.evidence, (cite.CDC_GROWTH, cite.ASPEN_2014), now.key, now.notes,
            ))
    age = wc.age if wc is not None else None
    if wc is not None and age is not None and age >= tv(ctx, T.CHILD_BMI_MIN_AGE):
        out += _child_loss(ctx, wc, now)
    return out


def _child_loss(ctx: RuleContext, wc: WeightContext, now: BodySize | None) -> list[Signal]:
    """NUT-07: ASPEN weight-loss bands (5 / 7.5 / 10 %) or a fall in BMI-for-age Z (1 / 2 / 3)."""
    s, w = ctx.summary, wc.current
    lookback = int(tv(ctx, T.USUAL_LOOKBACK_ALS if wc.als else T.USUAL_LOOKBACK))
    usual = s.usual_weight(w, lookback, int(tv(ctx, T.MIN_SPAN)))
    bands = [(T.CHILD_LOSS_SEVERE, Indicator.CRITICAL), (T.CHILD_LOSS_MODERATE, Indicator.WARNING),
             (T.CHILD_LOSS_MILD, Indicator.INFO)]
    if usual is not None and usual.value > 0:
        loss = round(100.0 * (usual.value - w.value) / usual.value, 1)
        ind = next((i for t, i in bands if loss >= tv(ctx, t)), None)
        if ind is not None:
            return [Signal(
                "NUT-07", ind,
                f"Weight down {loss:.1f} % in {months((w.when - usual.when).days)} "
                f"({usual.value:.1f} → {w.value:.1f} kg): paediatric malnutrition indicator",
                f"ASPEN/AND: weight loss ≥ 5 / 7.5 / 10 % of usual weight is mild / moderate / severe; {loss:.1f} %.",
                (evidence_of("Usual weight", usual), evidence_of("Current weight", w)), (cite.ASPEN_2014,),
                f"W:{usual.source}={usual.value:.1f};{w.source}={w.value:.1f}",
            )]
    if now is None or now.z is None:
        return []
    earlier = _earlier_z(ctx, w, lookback)
    if not earlier:
        return []
    z0, src = max(earlier)
    fall = round(z0 - now.z, 2)
    zb = [(T.CHILD_Z_FALL_SEVERE, Indicator.CRITICAL), (T.CHILD_Z_FALL_MODERATE, Indicator.WARNING),
          (T.CHILD_Z_FALL_MILD, Indicator.INFO)]
    ind = next((i for t, i in zb if fall >= tv(ctx, t)), None)
    if ind is None:
        return []
    return [Signal(
        "NUT-07", ind, f"BMI-for-age Z fell {fall:.2f} ({z0:.2f} → {now.z:.2f}): paediatric malnutrition indicator",
        "ASPEN/AND: a fall in BMI-for-age Z of 1 / 2 / 3 is mild / moderate / severe; stable kilograms can hide it.",
        now.evidence + (Evidence("Earlier BMI-for-age Z", f"{z0:.2f}", None, src),), (cite.ASPEN_2014,),
        f"Z:{src}={z0:.2f}|{now.key}", now.notes,
    )]


def _earlier_z(ctx: RuleContext, w: Measurement, lookback: int) -> list[tuple[float, str]]:
    """BMI-for-age Z values in the look-back window, from EHR percentiles or earlier weight + height."""
    s, span = ctx.summary, tv(ctx, T.MIN_SPAN)
    inside = [m for m in s.series(Concept.BMI_PERCENTILE) + s.series(Concept.WEIGHT)
              if m.comparator is None and span <= (w.when - m.when).days <= lookback]
    out: list[tuple[float, str]] = []
    for m in inside:
        if m.concept is Concept.BMI_PERCENTILE:
            out.append((round(growth.z_from_percentile(m.value), 2), m.source))
            continue
        h, age = _height(ctx, child=True, near=m), s.age_at(m.when)
        placed = growth.bmi_for_age(growth.bmi_kg_m2(m.value, h.value), age, s.sex) if h and age else None
        if placed is not None:
            out.append((round(placed.z, 2), m.source))
    return out


def over_nutrition_signals(ctx: RuleContext, wc: WeightContext | None, adult: bool) -> list[Signal]:
    """NUT-08: GC-treated DMD (≥ 85th pct / adult BMI ≥ 30) or SMA (> 25th pct / adult BMI ≥ 30) → info."""
    s = ctx.summary
    gc_dmd = s.has(Nmd.DMD, Nmd.BECKER) and any(c.active for c in s.courses(DrugClass.GLUCOCORTICOID))
    sma = s.has(Nmd.SMA)
    if not (gc_dmd or sma):
        return []
    now = _adult_now(ctx, wc) if adult else _child_now(ctx, wc)
    if now is None:
        return []
    why: Sequence[str] = ()
    if adult and now.bmi is not None and now.bmi >= tv(ctx, T.OVER_BMI_ADULT):
        why = (f"{now.label} (≥ {tv(ctx, T.OVER_BMI_ADULT):g})", "high BMI")
    elif not adult and now.percentile is not None and now.label.startswith("BMI"):
        if gc_dmd and now.percentile >= tv(ctx, T.OVER_PCT_DMD):
            why = (now.label, f"≥ {tv(ctx, T.OVER_PCT_DMD):g}th percentile on glucocorticoids")
        elif sma and now.percentile > tv(ctx, T.OVER_PCT_SMA):
            why = (now.label, f"SMA > {tv(ctx, T.OVER_PCT_SMA):g}th percentile: evaluate body composition")
    if not why:
        return []
    summary = f"{why[0]}: dietitian review – weight gain / low lean mass risk"
    return [Signal(
        "NUT-08", Indicator.INFO, summary,
        f"{why[1]}. Glucocorticoids and loss of ambulation drive fat gain; in SMA fat mass is high at a normal BMI.",
        now.evidence, (cite.DMD_CC_2018, cite.SMA_SOC_2018), now.key, now.notes,
    )]

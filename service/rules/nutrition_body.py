"""Body size now: adult BMI and a child's BMI-for-age / weight-for-length placement; over-nutrition (NUT-08).

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
from service.rules.nutrition_common import Signal, evidence_of, is_fresh, shown, tv

if TYPE_CHECKING:
    from service.rules.nutrition import WeightContext

_ESTIMATED = "Height is estimated (ulna length / arm span / knee height): BMI is approximate."


@dataclass(frozen=True)
class BodySize:
    """A BMI (adult) or BMI-for-age / weight-for-length placement (child) now, with what it came from."""

    # Values are unrounded: rules compare them with the thresholds; only ``label`` / evidence round.
    bmi: float | None  # kg/m2
    z: float | None  # child only
    percentile: float | None  # child only
    label: str  # how the card names it
    evidence: tuple[Evidence, ...]
    key: str
    notes: tuple[str, ...] = ()
    height: Measurement | None = None
    preliminary: bool = False  # any measurement used (BMI, percentile, weight, height) is preliminary


def _preliminary(*ms: Measurement | None) -> bool:
    return any(m is not None and m.preliminary for m in ms)


def _pct(p: float) -> str:
    # Truncated, like losses: a 4.96th percentile fires "< 5th" and must not read "5.0".
    return "<0.1" if p < 0.1 else shown(p)


def height(ctx: RuleContext, child: bool, near: Measurement | None = None) -> Measurement | None:
    """Latest fresh height; with ``near``, the height closest to that measurement's date within the window."""
    limit = tv(ctx, T.HEIGHT_FRESH_CHILD if child else T.HEIGHT_FRESH_ADULT)
    hs = [m for m in ctx.summary.series(Concept.HEIGHT) if m.comparator is None and m.value > 0]
    if near is not None:
        close = [h for h in hs if abs((h.when - near.when).days) <= limit]
        return min(close, key=lambda h: abs((h.when - near.when).days)) if close else None
    hs = [h for h in hs if h.when <= ctx.today]
    return hs[-1] if hs and is_fresh(hs[-1], ctx.today, limit) else None


def adult_now(ctx: RuleContext, wc: WeightContext | None) -> BodySize | None:
    h = height(ctx, child=False)
    if wc is not None and h is not None:
        bmi = growth.bmi_kg_m2(wc.current.value, h.value)
        return BodySize(
            bmi,
            None,
            None,
            f"BMI {shown(bmi)} kg/m²",
            (evidence_of("Current weight", wc.current), evidence_of("Height", h)),
            f"B:{wc.current.source}={wc.current.value:.1f};{h.source}={h.value:.0f}",
            (_ESTIMATED,) if h.estimated else (),
            h,
            _preliminary(wc.current, h),
        )
    sent = ctx.summary.latest(Concept.BMI)
    if sent is not None and sent.comparator is None and is_fresh(sent, ctx.today, tv(ctx, T.WEIGHT_FRESH)):
        return BodySize(
            sent.value,
            None,
            None,
            f"BMI {shown(sent.value)} kg/m²",
            (evidence_of("BMI (as recorded)", sent),),
            f"B:{sent.source}={sent.value:.1f}",
            preliminary=sent.preliminary,
        )
    return None


def child_now(ctx: RuleContext, wc: WeightContext | None) -> BodySize | None:
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
        z = growth.z_from_percentile(sent.value)
        return BodySize(
            None,
            z,
            sent.value,
            f"{name} percentile {_pct(sent.value)} (Z {z:.2f})",
            (evidence_of(f"{name} percentile (EHR)", sent),),
            f"Z:{sent.source}={sent.value:.1f}",
            preliminary=sent.preliminary,
        )
    h = height(ctx, child=True)
    if infant or wc is None or h is None:
        return None
    bmi = growth.bmi_kg_m2(wc.current.value, h.value)
    placed = growth.bmi_for_age(bmi, age, s.sex)
    if placed is None:
        return None
    z, pct = placed.z, placed.percentile
    return BodySize(
        bmi,
        z,
        pct,
        f"BMI-for-age percentile {_pct(pct)} (Z {z:.2f}, CDC)",
        (
            evidence_of("Current weight", wc.current),
            evidence_of("Height", h),
            Evidence(
                "BMI-for-age (computed, " + placed.reference + ")",
                f"{bmi:.1f} kg/m², Z {z:.2f}, P{_pct(pct)}",
            ),
        ),
        f"Z:{wc.current.source}={wc.current.value:.1f};{h.source}={h.value:.0f}",
        (_ESTIMATED,) if h.estimated else (),
        h,
        _preliminary(wc.current, h),
    )


def over_nutrition_signals(ctx: RuleContext, wc: WeightContext | None, adult: bool) -> list[Signal]:
    """NUT-08: GC-treated DMD (≥ 85th pct / adult BMI ≥ 30) or SMA (> 25th pct / adult BMI ≥ 30) → info."""
    s = ctx.summary
    gc_dmd = s.has(Nmd.DMD, Nmd.BECKER) and any(c.active for c in s.courses(DrugClass.GLUCOCORTICOID))
    sma = s.has(Nmd.SMA)
    if not (gc_dmd or sma):
        return []
    now = adult_now(ctx, wc) if adult else child_now(ctx, wc)
    if now is None:
        return []
    why: Sequence[str] = ()
    if adult and now.bmi is not None and now.bmi >= tv(ctx, T.OVER_BMI_ADULT):
        why = (f"{now.label} (≥ {tv(ctx, T.OVER_BMI_ADULT):g})", "high BMI")
    elif not adult and now.percentile is not None and now.label.startswith("BMI"):
        if gc_dmd and now.percentile >= tv(ctx, T.OVER_PCT_DMD):
            why = (now.label, f"≥ {tv(ctx, T.OVER_PCT_DMD):g}th percentile on glucocorticoids")
        elif sma and now.percentile > tv(ctx, T.OVER_PCT_SMA):
            why = (
                f"SMA, {now.label}",
                f"SMA > {tv(ctx, T.OVER_PCT_SMA):g}th percentile: evaluate body composition",
            )
    if not why:
        return []
    tail = (
        "evaluate body composition (excess fat)"
        if why[0].startswith("SMA")
        else "weight gain / low lean mass risk"
    )
    summary = f"{why[0]}: dietitian review – {tail}"
    return [
        Signal(
            "NUT-08",
            Indicator.INFO,
            summary,
            f"{why[1]}. Glucocorticoids and loss of ambulation drive fat gain; "
            "in SMA fat mass is high at a normal BMI.",
            now.evidence,
            (cite.DMD_CC_2018, cite.SMA_SOC_2018),
            now.key,
            now.notes,
            now.preliminary,
        )
    ]

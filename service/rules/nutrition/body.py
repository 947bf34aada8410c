"""The current weight, and body size now: adult BMI, a child's BMI-for-age or weight-for-length.

No height, no BMI (an estimated height gives an approximate BMI): BMI comes from a fresh height or,
for adults, a fresh BMI the EHR sent. A child's BMI-for-age percentile sent by the EHR wins over one
computed here (CDC 2000, through ``growth``). The age band comes from the birth date, never from
which measurement happens to be present.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.fhir.summary import Concept, Measurement, Nmd
from service.rules import growth
from service.rules.core import Evidence, RuleContext, memo
from service.rules.measures import evidence_of, is_fresh, shown

ESTIMATED = "Height is estimated (ulna length, arm span or knee height): BMI is approximate."


@dataclass(frozen=True)
class WeightContext:
    """The current weight and what the rules need to know about the patient at its date."""

    current: Measurement
    age: float | None  # years at the weight's date; None without a birth date
    als: bool
    fresh: bool


@memo
def weight_context(ctx: RuleContext) -> WeightContext | None:
    s = ctx.summary
    weights = [m for m in s.series(Concept.WEIGHT) if m.comparator is None and m.when <= ctx.today]
    if not weights:
        return None
    w = weights[-1]
    return WeightContext(
        w, s.age_at(w.when), s.has(Nmd.ALS), is_fresh(w, ctx.today, ctx.t.nutrition.weight_fresh_days)
    )


@memo
def is_adult(ctx: RuleContext) -> bool:
    """Adult criteria (GLIM) from the adult age; age at the current weight's date, else today."""
    wc = weight_context(ctx)
    age = wc.age if wc is not None else ctx.summary.age_at(ctx.today)
    return age is None or age >= ctx.t.nutrition.adult_age_years


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


def pct_text(p: float) -> str:
    # Truncated, like losses: a 4.96th percentile is below the 5th and must not read "5.0".
    return "<0.1" if p < 0.1 else shown(p)


def height(ctx: RuleContext, child: bool, near: Measurement | None = None) -> Measurement | None:
    """Latest fresh height; with ``near``, the height closest to that measurement's date within the window."""
    n = ctx.t.nutrition
    limit = n.height_fresh_child_days if child else n.height_fresh_adult_days
    hs = [m for m in ctx.summary.series(Concept.HEIGHT) if m.comparator is None and m.value > 0]
    if near is not None:
        close = [h for h in hs if abs((h.when - near.when).days) <= limit]
        return min(close, key=lambda h: abs((h.when - near.when).days)) if close else None
    hs = [h for h in hs if h.when <= ctx.today]
    return hs[-1] if hs and is_fresh(hs[-1], ctx.today, limit) else None


@memo
def adult_now(ctx: RuleContext) -> BodySize | None:
    wc = weight_context(ctx)
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
            (ESTIMATED,) if h.estimated else (),
            h,
            _preliminary(wc.current, h),
        )
    sent = ctx.summary.latest(Concept.BMI)
    if (
        sent is not None
        and sent.comparator is None
        and is_fresh(sent, ctx.today, ctx.t.nutrition.weight_fresh_days)
    ):
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


@memo
def child_now(ctx: RuleContext) -> BodySize | None:
    """BMI-for-age (from 2 years) or weight-for-length (below): EHR percentile if fresh, else computed."""
    s, n = ctx.summary, ctx.t.nutrition
    wc = weight_context(ctx)
    age = wc.age if wc is not None else s.age_at(ctx.today)
    if age is None:
        return None
    infant = age < n.child_bmi_min_age_years
    concept = Concept.WEIGHT_FOR_LENGTH_PERCENTILE if infant else Concept.BMI_PERCENTILE
    name = "Weight-for-length" if infant else "BMI-for-age"
    sent = s.latest(concept)
    if sent is not None and sent.comparator is None and is_fresh(sent, ctx.today, n.weight_fresh_days):
        z = growth.z_from_percentile(sent.value)
        return BodySize(
            None,
            z,
            sent.value,
            f"{name} percentile {pct_text(sent.value)} (Z {z:.2f})",
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
        f"BMI-for-age percentile {pct_text(pct)} (Z {z:.2f}, CDC)",
        (
            evidence_of("Current weight", wc.current),
            evidence_of("Height", h),
            Evidence(f"BMI-for-age ({placed.reference})", f"{bmi:.1f} kg/m², Z {z:.2f}, P{pct_text(pct)}"),
        ),
        f"Z:{wc.current.source}={wc.current.value:.1f};{h.source}={h.value:.0f}",
        (ESTIMATED,) if h.estimated else (),
        h,
        _preliminary(wc.current, h),
    )

"""Children's rules: NUT-06 low BMI-for-age or weight-for-length, NUT-07 weight loss or fall in Z (ASPEN)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.fhir.summary import Concept, Measurement
from service.rules import citations as cite
from service.rules import growth
from service.rules import thresholds_nutrition as T
from service.rules.core import Evidence, Indicator, RuleContext
from service.rules.nutrition_common import EPS, Signal, evidence_of, months, shown, tv

if TYPE_CHECKING:
    from service.rules.nutrition import WeightContext

from service.rules.nutrition_body import BodySize, child_now, height


def child_signals(ctx: RuleContext, wc: WeightContext | None) -> list[Signal]:
    """NUT-06 (low BMI-for-age / weight-for-length) and NUT-07 (weight loss, fall in Z) for children."""
    now = child_now(ctx, wc)
    out: list[Signal] = []
    if now is not None and now.z is not None:
        # The < 5th percentile definition (Z68.51) is for BMI-for-age; weight-for-length uses Z bands only.
        low_pct = (
            now.label.startswith("BMI")
            and now.percentile is not None
            and now.percentile < tv(ctx, T.CHILD_BMI_PCT) - EPS
        )
        ind: Indicator | None = None
        if now.z <= tv(ctx, T.CHILD_Z_SEVERE) + EPS:
            ind = Indicator.CRITICAL
        elif now.z <= tv(ctx, T.CHILD_Z_MODERATE) + EPS or low_pct:
            ind = Indicator.WARNING
        if ind is not None:
            out.append(
                Signal(
                    "NUT-06",
                    ind,
                    f"{now.label}: underweight – nutrition assessment",
                    "Below the 5th BMI-for-age percentile (CDC, ICD-10-CM Z68.51) or at/below ASPEN "
                    "Z −2 (moderate) "
                    "/ −3 (severe).",
                    now.evidence,
                    (cite.CDC_GROWTH, cite.ASPEN_2014),
                    now.key,
                    now.notes,
                    now.preliminary,
                )
            )
    age = wc.age if wc is not None else None
    if wc is not None and age is not None and age >= tv(ctx, T.CHILD_BMI_MIN_AGE):
        out += _child_loss(ctx, wc, now)
    return out


def _child_loss(ctx: RuleContext, wc: WeightContext, now: BodySize | None) -> list[Signal]:
    """NUT-07: ASPEN weight-loss bands (5 / 7.5 / 10 %) or a fall in BMI-for-age Z (1 / 2 / 3)."""
    s, w = ctx.summary, wc.current
    lookback = int(tv(ctx, T.USUAL_LOOKBACK_ALS if wc.als else T.USUAL_LOOKBACK))
    usual = s.usual_weight(w, lookback, int(tv(ctx, T.MIN_SPAN)))
    bands = [
        (T.CHILD_LOSS_SEVERE, Indicator.CRITICAL),
        (T.CHILD_LOSS_MODERATE, Indicator.WARNING),
        (T.CHILD_LOSS_MILD, Indicator.INFO),
    ]
    if usual is not None and usual.value > 0:
        # Unrounded against the bands (4.96 % is not 5 %); truncated only for display.
        loss = 100.0 * (usual.value - w.value) / usual.value
        ind = next((i for t, i in bands if loss >= tv(ctx, t) - EPS), None)
        if ind is not None:
            return [
                Signal(
                    "NUT-07",
                    ind,
                    f"Weight down {shown(loss)} % in {months((w.when - usual.when).days)} "
                    f"({usual.value:.1f} → {w.value:.1f} kg): paediatric malnutrition indicator",
                    "ASPEN/AND: weight loss ≥ 5 / 7.5 / 10 % of usual weight is mild / moderate / "
                    f"severe; here {shown(loss)} %.",
                    (evidence_of("Usual weight", usual), evidence_of("Current weight", w)),
                    (cite.ASPEN_2014,),
                    f"W:{usual.source}={usual.value:.1f};{w.source}={w.value:.1f}",
                    preliminary=usual.preliminary or w.preliminary,
                )
            ]
    if now is None or now.z is None:
        return []
    earlier = _earlier_z(ctx, w, lookback)
    if not earlier:
        return []
    z0, src = max(earlier)
    fall = z0 - now.z
    zb = [
        (T.CHILD_Z_FALL_SEVERE, Indicator.CRITICAL),
        (T.CHILD_Z_FALL_MODERATE, Indicator.WARNING),
        (T.CHILD_Z_FALL_MILD, Indicator.INFO),
    ]
    ind = next((i for t, i in zb if fall >= tv(ctx, t) - EPS), None)
    if ind is None:
        return []
    return [
        Signal(
            "NUT-07",
            ind,
            f"BMI-for-age Z fell {shown(fall, 2)} ({z0:.2f} → {now.z:.2f}): "
            "paediatric malnutrition indicator",
            "ASPEN/AND: a fall in BMI-for-age Z of 1 / 2 / 3 is mild / moderate / severe; "
            "stable kilograms can hide it.",
            now.evidence + (Evidence("Earlier BMI-for-age Z", f"{z0:.2f}", None, src),),
            (cite.ASPEN_2014,),
            f"Z:{src}={z0:.2f}|{now.key}",
            now.notes,
            now.preliminary,
        )
    ]


def _earlier_z(ctx: RuleContext, w: Measurement, lookback: int) -> list[tuple[float, str]]:
    """BMI-for-age Z values in the look-back window, from EHR percentiles or earlier weight + height."""
    s, span = ctx.summary, tv(ctx, T.MIN_SPAN)
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

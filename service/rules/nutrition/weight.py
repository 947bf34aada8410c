"""Adult weight loss, NUT-01..NUT-03 (GLIM; ALS mortality): loss from usual weight within six months
(NUT-01 from the warning threshold, NUT-02 severe — critical in ALS with "discuss gastrostomy"), and
slow loss beyond six months (NUT-03)."""

from __future__ import annotations

from service.fhir.summary import Concept, Measurement
from service.rules.core import Indicator, Outcome, RuleContext, Signal, Skip, memo, rule
from service.rules.measures import EPS, evidence_of, months, shown
from service.rules.nutrition.body import is_adult, weight_context
from service.rules.nutrition.common import finish


def loss_pct(usual: Measurement | None, w: Measurement) -> float:
    # Unrounded: rounding first would move the threshold (4.96 % would read "5.0 %" and fire). The
    # comparisons allow EPS so an exact 5.0 % (72.0 → 68.4 kg) still counts. Display truncates (shown).
    if usual is None or usual.value <= 0:
        return 0.0
    return 100.0 * (usual.value - w.value) / usual.value


def loss_signal(
    ctx: RuleContext, ind: Indicator, usual: Measurement, w: Measurement, loss: float, tail: str
) -> Signal:
    wc = weight_context(ctx)
    documented = usual.usual or usual.concept is Concept.USUAL_WEIGHT
    when = "from usual" if documented else f"in {months((w.when - usual.when).days)}"
    which = "documented usual" if documented else "heaviest recent"
    reason = f"Weight is {shown(loss)} % below the {which} weight."
    if wc is not None and wc.als:
        reason += (
            f" In ALS a loss of {ctx.t.nutrition.weight_loss_warning_pct.text} from usual weight "
            "nearly doubles "
            "mortality (HR 1.92)."
        )
    return Signal(
        indicator=ind,
        summary=f"Weight down {shown(loss)} % {when} ({usual.number} → {w.display}): {tail}",
        reason=reason,
        evidence=(
            evidence_of("Usual weight" if documented else "Heaviest recent weight", usual),
            evidence_of("Current weight", w),
        ),
        key=f"W:{usual.source}={usual.value:.1f};{w.source}={w.value:.1f}",
        preliminary=usual.preliminary or w.preliminary,
    )


@memo
def adult_loss(ctx: RuleContext) -> dict[str, Signal | Skip]:
    """NUT-01 / NUT-02 (one of them) and NUT-03, as drafts."""
    n = ctx.t.nutrition
    wc = weight_context(ctx)
    if wc is None:
        skip = Skip.missing("no weight on record")
        return {"NUT-01": skip, "NUT-02": skip, "NUT-03": skip}
    if not is_adult(ctx):
        skip = Skip.na("a child (NUT-07 applies)")
        return {"NUT-01": skip, "NUT-02": skip, "NUT-03": skip}
    s, w = ctx.summary, wc.current
    span = int(n.weight_min_span_days)
    out: dict[str, Signal | Skip] = {}
    usual = s.usual_weight(
        w, int(n.usual_weight_lookback_als_days if wc.als else n.usual_weight_lookback_days), span
    )
    loss = loss_pct(usual, w)
    if usual is None:
        out["NUT-01"] = out["NUT-02"] = Skip.missing(
            f"no usual weight (two weights at least {n.weight_min_span_days.text} apart)"
        )
    elif loss < n.weight_loss_warning_pct - EPS:
        out["NUT-01"] = out["NUT-02"] = Skip.below(
            f"loss {shown(loss)} % is below {n.weight_loss_warning_pct.text}"
        )
    else:
        severe = loss >= n.weight_loss_severe_pct - EPS
        ind = Indicator.CRITICAL if severe and wc.als else Indicator.WARNING
        tail = "nutrition assessment"
        if severe and wc.als:  # a loss over 10 % is a gastrostomy criterion, unless one is in place
            tail = "dietitian now" if s.gastrostomy else "dietitian now; discuss gastrostomy"
        signal = loss_signal(ctx, ind, usual, w, loss, tail)
        out["NUT-02" if severe else "NUT-01"] = signal
        out["NUT-01" if severe else "NUT-02"] = Skip.na(
            "severe loss (NUT-02 applies)" if severe else f"loss below {n.weight_loss_severe_pct.text}"
        )
    slow = s.usual_weight(w, int(n.usual_weight_lookback_long_days), span)
    slow_loss = loss_pct(slow, w)
    if (
        slow is not None
        and not slow.usual
        and slow.concept is Concept.WEIGHT
        and (w.when - slow.when).days > n.recent_loss_window_days
        and slow_loss > n.slow_loss_moderate_pct + EPS
    ):
        ind = Indicator.CRITICAL if slow_loss > n.slow_loss_severe_pct + EPS else Indicator.WARNING
        out["NUT-03"] = loss_signal(ctx, ind, slow, w, slow_loss, "slow loss, nutrition assessment")
    else:
        out["NUT-03"] = Skip.below(f"no loss over {n.slow_loss_moderate_pct.text} beyond six months")
    return out


@rule("NUT-01")
def weight_loss(ctx: RuleContext) -> Outcome:
    return finish(ctx, "NUT-01", adult_loss(ctx)["NUT-01"])


@rule("NUT-02")
def severe_weight_loss(ctx: RuleContext) -> Outcome:
    return finish(ctx, "NUT-02", adult_loss(ctx)["NUT-02"])


@rule("NUT-03")
def slow_weight_loss(ctx: RuleContext) -> Outcome:
    return finish(ctx, "NUT-03", adult_loss(ctx)["NUT-03"])

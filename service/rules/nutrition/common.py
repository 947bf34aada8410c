"""What every nutrition rule does with its draft signal: a stale current weight turns a weight-based
signal into one "repeat weight" card (never a threshold card); a weight-management plan keeps
weight-loss signals at info; oedema or a gastrostomy asks to verify the weight; a preliminary weight
never makes a card critical."""

from __future__ import annotations

from dataclasses import replace

from service.fhir.summary import Symptom
from service.rules.core import Indicator, Outcome, RuleContext, Signal, Skip
from service.rules.measures import evidence_of
from service.rules.nutrition.body import weight_context

WEIGHT_LOSS_RULES = frozenset({"NUT-01", "NUT-02", "NUT-03", "NUT-05", "NUT-07"})
WEIGHT_BASED = (
    "W:",
    "B:",
    "Z:",
)  # keys of signals that rest on the current weight (or an EHR BMI/percentile)
REPEAT_WEIGHT = "repeat-weight"
INTENTIONAL = "Weight loss may be intentional: a weight-management plan exists (card kept at info)."


def _weight_notes(ctx: RuleContext) -> tuple[str, ...]:
    s = ctx.summary
    notes = []
    if any(f.symptom is Symptom.OEDEMA for f in s.findings):
        notes.append("Verify weight: oedema is documented and can mask or mimic weight change.")
    if s.gastrostomy:
        notes.append(
            "Verify weight: gastrostomy in place (fluid shifts, feed timing, scale or wheelchair tare)."
        )
    return tuple(notes)


def finish(ctx: RuleContext, rule_id: str, draft: Signal | Skip) -> Outcome:
    """The rule's outcome from its draft signal (computed as if the current weight were fresh)."""
    if isinstance(draft, Skip):
        return draft
    wc = weight_context(ctx)
    weight_based = draft.key.startswith(WEIGHT_BASED)
    if wc is not None and not wc.fresh:
        if not weight_based:
            return Skip.stale("the latest weight is stale: only a 'repeat weight' card is given")
        days = (ctx.today - wc.current.when).days
        return Signal(
            indicator=Indicator.INFO,
            summary=f"Repeat weight: the last one ({wc.current.display}) is {days} days old",
            reason=f"The latest weight is older than {ctx.t.nutrition.weight_fresh_days.text}, so it is not "
            f"compared with thresholds. On that weight: {draft.summary}.",
            evidence=(evidence_of("Latest weight", wc.current),),
            key=f"STALE:{wc.current.source}={wc.current.value:.1f}",
            action=None,
            group=REPEAT_WEIGHT,
        )
    out = draft
    if ctx.summary.weight_management_plan and rule_id in WEIGHT_LOSS_RULES:
        out = replace(out, indicator=Indicator.INFO, notes=(*out.notes, INTENTIONAL))
    if weight_based:
        out = replace(out, notes=(*out.notes, *_weight_notes(ctx)))
    if wc is not None and wc.current.preliminary:
        out = replace(out, preliminary=True)
    return out


def no_weight(ctx: RuleContext) -> Skip | None:
    return Skip.missing("no weight on record") if weight_context(ctx) is None else None

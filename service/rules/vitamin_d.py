"""Vitamin D rules VD-01..VD-04 (clinical-knowledge §2.E), 25-OH vitamin D in ng/mL.

VD-01 annual test due (also when the last value is older than 12 months: a stale value never gives a
threshold card, §1.8); VD-02 deficiency < 20 ng/mL (treat, recheck ~3 months); VD-03 20-29.9 ng/mL in
glucocorticoid-treated or non-ambulatory patients; VD-04 a "<x" result is read at its bound.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from service.fhir.summary import ActionKind, Concept, Measurement
from service.rules import citations as cite
from service.rules._bone_cards import already_actioned, finding, vitd_suggestion
from service.rules._bone_data import DAYS_PER_MONTH, chronic_gc, gate, months_ago, th
from service.rules.core import Evidence, Finding, Indicator, RuleContext, Topic


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


def vitamin_d(ctx: RuleContext) -> Iterator[Finding]:
    if not gate(ctx):
        return
    series = [m for m in ctx.summary.series(Concept.VITAMIN_D_25OH) if m.when <= ctx.today]
    last = series[-1] if series else None
    lookback, deficient, target = (
        th(ctx, "vitd_lookback_months"),
        th(ctx, "vitd_deficient_ng_ml"),
        th(ctx, "vitd_target_ng_ml"),
    )
    if last is None or months_ago(ctx, last.when) > lookback:
        if already_actioned(ctx, ActionKind.VITAMIN_D_TEST):
            return
        prior = f": last {last.display} on {last.when}" if last else ""
        summary = f"Annual 25-OH vitamin D due{prior}"
        yield finding(
            ctx,
            ("VD-01",),
            Topic.VITAMIN_D,
            Indicator.INFO,
            summary,
            f"No 25-OH vitamin D in the last {lookback:g} months; yearly testing in NMD bone care."
            + (" The older value is not used for thresholds." if last else ""),
            [_evidence(last, "older than the window")]
            if last
            else [Evidence("25-OH vitamin D", "none on record")],
            action=ActionKind.VITAMIN_D_TEST,
            key=f"VD-01:{last.source if last else ''}",
            keys=("vitd_lookback_months", "order_window_vitd_days"),
            cites=(cite.PPMD, cite.BUCKNER_2015),
            suggestions=vitd_suggestion(summary),
        )
        return
    bound = last.comparator in ("<", "<=")
    if below(last, deficient) or (bound and last.value <= target):
        # a recheck ordered after this result suppresses the card
        if already_actioned(ctx, ActionKind.VITAMIN_D_TEST, last.when + timedelta(days=1)):
            return
        recheck = max(ctx.today, last.when + timedelta(days=th(ctx, "vitd_recheck_months") * DAYS_PER_MONTH))
        ids = ("VD-02", "VD-04") if bound else ("VD-02",)
        summary = f"Vitamin D deficiency ({last.display} on {last.when}) – treat and recheck in ~3 months"
        yield finding(
            ctx,
            ids,
            Topic.VITAMIN_D,
            Indicator.WARNING,
            summary,
            f"25-OH vitamin D below {deficient:g} ng/mL is deficiency: treat and recheck."
            + (f" Reported as '{last.display}': read at its bound, treated as deficient." if bound else ""),
            [_evidence(last)],
            action=ActionKind.VITAMIN_D_TEST,
            key=f"VD-02:{last.source}={last.display}",
            keys=("vitd_deficient_ng_ml", "vitd_recheck_months", "vitd_lookback_months"),
            cites=(cite.BUCKNER_2015, cite.ENDOCRINE_SOCIETY_2011),
            suggestions=vitd_suggestion(summary, recheck),
        )
        return
    gc, non_amb = chronic_gc(ctx), ctx.summary.non_ambulatory
    if below(last, target) and (gc or non_amb):
        who = ", ".join(x for x in (f"on {gc.drug}" if gc else "", "non-ambulatory" if non_amb else "") if x)
        yield finding(
            ctx,
            ("VD-03",),
            Topic.VITAMIN_D,
            Indicator.INFO,
            f"Vitamin D insufficient for bone-risk NMD ({last.display}, {who}): target ≥ {target:g} ng/mL",
            f"25-OH vitamin D {last.display} in a patient {who}: supplement to at least {target:g} ng/mL "
            "(frameworks differ on the target).",
            [_evidence(last)],
            action=None,
            key=f"VD-03:{last.source}={last.display}",
            keys=("vitd_target_ng_ml", "vitd_deficient_ng_ml", "gc_chronic_days"),
            cites=(cite.PPMD,),
        )


VITAMIN_D_RULES = (vitamin_d,)

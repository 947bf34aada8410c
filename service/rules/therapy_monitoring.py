"""Monitoring on bone-targeted therapy, escalation and de-escalation: MON-01..MON-06 (§2.D).

Longitudinal phenotyping decides progressive intensification or de-escalation [S000]: a new fracture
or falling BMD after >= 12 months of therapy is failure (escalate); stopped denosumab without follow-on
therapy risks rebound fractures; a child stable for years with resolved risk factors may de-escalate;
risk factors returning after a stop call for re-evaluation.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from service.fhir.summary import (
    ActionKind,
    Concept,
    DrugClass,
    Fracture,
    FractureKind,
    MedicationCourse,
    Symptom,
)
from service.rules import citations as cite
from service.rules._bone_cards import (
    action_card,
    already_actioned,
    dxa_sites,
    dxa_suggestion,
    finding,
)
from service.rules._bone_data import (
    DAYS_PER_MONTH,
    active_therapy,
    bone_courses,
    chronic_gc,
    fracture_evidence,
    fracture_key,
    fracture_text,
    gate,
    is_child,
    is_vf,
    months_ago,
    needs_confirmation,
    stop_date,
    th,
    therapy_evidence,
)
from service.rules._bone_dxa import exams
from service.rules._bone_risk import risk
from service.rules._bone_trend import changes, declines, threshold_keys
from service.rules.core import Evidence, Finding, Indicator, RuleContext, Topic

_review = action_card(Topic.BONE_THERAPY_REVIEW, ActionKind.BONE_SPECIALIST_REFERRAL)


def _is_new(ctx: RuleContext, f: Fracture) -> bool:
    """A new vertebra, or a grade increase at an already fractured vertebra; any long-bone fracture."""
    if f.kind is not FractureKind.VERTEBRAL:
        return True
    before = [
        g
        for g in ctx.summary.fractures
        if g.kind is FractureKind.VERTEBRAL
        and g is not f
        and g.level == f.level
        and f.level
        and g.when
        and f.when
        and g.when < f.when
    ]
    if not before:
        return True
    prior = max((g.genant_grade or 0) for g in before)
    return f.genant_grade is not None and f.genant_grade - prior >= th(ctx, "mon_grade_increase")


def _months_on(ctx: RuleContext, c: MedicationCourse) -> float:
    return months_ago(ctx, c.start) if c.start else 0.0


def on_therapy(ctx: RuleContext) -> Iterator[Finding]:
    """MON-01 new fracture, MON-02 falling BMD (both after >= 12 months), MON-03 DXA > 18 months,
    MON-05 de-escalation review (child)."""
    tx = active_therapy(ctx) if gate(ctx) else None
    if tx is None or tx.start is None:
        return
    months = _months_on(ctx, tx)
    if months >= th(ctx, "mon_min_therapy_months"):
        cut = tx.start + timedelta(days=th(ctx, "mon_min_therapy_months") * DAYS_PER_MONTH)
        new = [
            f
            for f in ctx.summary.fractures
            if f.when
            and f.when >= cut
            and _is_new(ctx, f)
            and (is_vf(ctx, f) or (f.kind is FractureKind.LONG_BONE and f.low_trauma is not False))
        ]
        if new:
            fx = max(new, key=lambda f: (not needs_confirmation(f), str(f.when)))
            ind = Indicator.WARNING if needs_confirmation(fx) else Indicator.CRITICAL
            yield from _review(
                ctx,
                "MON-01",
                ind,
                f"New fracture ({fracture_text(fx)}, {fx.when}) despite {months:.0f} months of {tx.drug}: "
                "treatment failure – escalate",
                "A new fracture after at least "
                f"{th(ctx, 'mon_min_therapy_months'):g} months of therapy is treatment failure: "
                "escalate dose or "
                "agent (anabolic in adults at very high risk)."
                + (" Fracture not confirmed: confirm first." if needs_confirmation(fx) else ""),
                [therapy_evidence(tx), *map(fracture_evidence, new)],
                f"MON-01:{fracture_key(fx)}",
                ("mon_min_therapy_months", "mon_grade_increase", "genant_min_grade"),
                (cite.ACR_GIOP_2022, cite.WARD_2018),
                since=fx.when,
            )
        falls = declines(ctx, later_from=tx.start)
        if falls:
            d = falls[0]
            yield from _review(
                ctx,
                "MON-02",
                Indicator.WARNING,
                f"BMD falling on {tx.drug} ({d.site} {d.text}) – check adherence, vitamin D, "
                "secondary causes",
                f"{d.text} at {d.site} over {d.months:.0f} months on therapy: check adherence, vitamin D and "
                "secondary causes; consider escalation.",
                [therapy_evidence(tx), *d.evidence],
                f"MON-02:{d.key}",
                ("mon_min_therapy_months", *threshold_keys(d)),
                (cite.ISCD_ADULT,),
                since=d.later.when,
            )
    yield from _repeat_dxa(ctx, tx)
    yield from _de_escalate(ctx, tx, months)


def _repeat_dxa(ctx: RuleContext, tx: MedicationCourse) -> Iterator[Finding]:
    ex = exams(ctx)
    last = ex[-1].when if ex else None
    if (last and months_ago(ctx, last) <= th(ctx, "mon_dxa_months")) or already_actioned(ctx, ActionKind.DXA):
        return
    when = f"last {last}" if last else "none on record"
    summary = f"On {tx.drug}: repeat DXA to document treatment response ({when})"
    yield finding(
        ctx,
        ("MON-03",),
        Topic.BMD_SURVEILLANCE,
        Indicator.INFO,
        summary,
        "BMD at several sites shows the response to bone-targeted therapy.",
        [therapy_evidence(tx), Evidence("Last DXA", str(last) if last else "none on record")],
        action=ActionKind.DXA,
        key=f"MON-03:{tx.drug}:{last}",
        keys=("mon_dxa_months", "order_window_dxa_days"),
        cites=(cite.SEED_REVIEW_2026,),
        suggestions=dxa_suggestion(summary, dxa_sites(is_child(ctx), ctx.summary.non_ambulatory)),
    )


def _de_escalate(ctx: RuleContext, tx: MedicationCourse, months: float) -> Iterator[Finding]:
    """MON-05: child >= 2 y on therapy, no fracture/back pain for 24 months, Z stable, risk resolved."""
    window = th(ctx, "deesc_fracture_free_months")
    if not is_child(ctx) or months < th(ctx, "deesc_min_therapy_months"):
        return
    recent_fx = [f for f in ctx.summary.fractures if f.when is None or months_ago(ctx, f.when) <= window]
    pain = [
        f
        for f in ctx.summary.findings
        if f.symptom is Symptom.BACK_PAIN and (f.when is None or months_ago(ctx, f.when) <= window)
    ]
    z = [c for c in changes(ctx) if c.later.concept is Concept.Z_SCORE]
    if recent_fx or pain or not z or declines(ctx) or chronic_gc(ctx) or ctx.summary.non_ambulatory:
        return
    yield from _review(
        ctx,
        "MON-05",
        Indicator.INFO,
        f"Stable on {tx.drug} for {months:.0f} months, risk factors resolved: consider maintenance/"
        "discontinuation review",
        "No new fracture or back pain, BMD Z stable or rising, glucocorticoids stopped and "
        "ambulant: review maintenance or discontinuation with the bone-health team.",
        [therapy_evidence(tx), *(e for c in z for e in c.evidence)],
        f"MON-05:{tx.drug}:{z[0].key}",
        ("deesc_min_therapy_months", "deesc_fracture_free_months"),
        (cite.WARD_2018,),
    )


def off_therapy(ctx: RuleContext) -> Iterator[Finding]:
    """MON-04 denosumab stopped without a bisphosphonate after it; MON-06 risk returned after a stop."""
    if not gate(ctx):
        return
    courses = bone_courses(ctx)
    bps = [c for c in courses if c.drug_class in (DrugClass.BISPHOSPHONATE_ORAL, DrugClass.BISPHOSPHONATE_IV)]
    for dmab in (c for c in courses if c.drug_class is DrugClass.DENOSUMAB and not c.active and stop_date(c)):
        stop = stop_date(dmab)
        if not any(b.active or (b.start and stop and b.start >= stop) for b in bps):
            yield from _review(
                ctx,
                "MON-04",
                Indicator.WARNING,
                f"Denosumab stopped (last dose {stop}) without follow-on therapy – rebound "
                "vertebral fracture risk",
                "Stopping denosumab without a bisphosphonate after it "
                "risks rebound bone loss and multiple vertebral fractures (sequential therapy).",
                [therapy_evidence(dmab)],
                f"MON-04:{stop}",
                (),
                (cite.ACR_GIOP_2022,),
                since=stop,
            )
    if active_therapy(ctx):
        return
    r = risk(ctx)
    stopped = sorted(
        ((c, s) for c in courses if not c.active and (s := stop_date(c))), key=lambda cs: cs[1], reverse=True
    )
    for c, stop in stopped:
        returned: list[tuple[str, Evidence]] = []
        for gc in ctx.summary.courses(DrugClass.GLUCOCORTICOID):
            if gc.active and gc.start and gc.start > stop:
                returned.append(
                    (
                        "glucocorticoids restarted",
                        Evidence("Glucocorticoid restarted", gc.drug, gc.start, gc.sources[0]),
                    )
                )
        since = ctx.summary.non_ambulatory_since
        if ctx.summary.non_ambulatory and since and since > stop:
            returned.append(("loss of ambulation", Evidence("Loss of ambulation", "non-ambulatory", since)))
        returned += [("new fracture", fracture_evidence(f)) for f in r.fractures if f.when and f.when > stop]
        if returned:
            what = ", ".join(dict.fromkeys(w for w, _ in returned))
            yield from _review(
                ctx,
                "MON-06",
                Indicator.WARNING,
                f"Risk factors returned after {c.drug} stopped ({stop}): {what} – re-evaluate",
                f"Bone-targeted therapy stopped on {stop}; since then: {what}. Re-evaluate therapy.",
                [therapy_evidence(c), *(e for _, e in returned)],
                f"MON-06:{c.drug}:{stop}:{what}",
                (),
                (),
                since=stop,
            )
            return  # one card for the most recent stop is enough


MONITORING_RULES = (on_therapy, off_therapy)

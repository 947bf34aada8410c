"""Monitoring on bone-targeted therapy, escalation and de-escalation, MON-01..MON-06: a new fracture or
falling BMD after a year of therapy is failure (escalate); repeat DXA documents the response; stopped
denosumab without follow-on therapy risks rebound fractures; a child stable for years may de-escalate;
risk returning after a stop calls for re-evaluation."""

from __future__ import annotations

from datetime import timedelta

from service.fhir.summary import Concept, DrugClass, Fracture, FractureKind, MedicationCourse, Site, Symptom
from service.rules.bone.density import dxa_sites
from service.rules.bone.dxa import exams, is_fresh, score_evidence, site_label
from service.rules.bone.facts import (
    DAYS_PER_MONTH,
    active_therapy,
    bone_courses,
    chronic_gc,
    fracture_evidence,
    fracture_key,
    fracture_text,
    fragility_fractures,
    is_child,
    is_vf,
    months_ago,
    needs_confirmation,
    stop_date,
    therapy_evidence,
    treated_by,
    years_between,
)
from service.rules.bone.risk import risk
from service.rules.bone.trend import changes, declines
from service.rules.core import Evidence, Indicator, Outcome, RuleContext, Signal, Skip, rule


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
    return f.genant_grade is not None and f.genant_grade - prior >= ctx.t.bone.mon_grade_increase


def _current(ctx: RuleContext) -> tuple[MedicationCourse, float] | Skip:
    tx = active_therapy(ctx)
    if tx is None or tx.start is None:
        return Skip.na("no current bone-targeted therapy with a start date")
    return tx, years_between(tx.start, ctx.today) * 12  # calendar months: two years to the day is 24


@rule("MON-01")
def fracture_on_therapy(ctx: RuleContext) -> Outcome:
    cur = _current(ctx)
    if isinstance(cur, Skip):
        return cur
    tx, months = cur
    b = ctx.t.bone
    if months < b.mon_min_therapy_months or tx.start is None:
        return Skip.na(f"on {tx.drug} for {months:.0f} months, less than {b.mon_min_therapy_months.text}")
    cut = tx.start + timedelta(days=b.mon_min_therapy_months * DAYS_PER_MONTH)
    new = [
        f
        for f in ctx.summary.fractures
        if f.when
        and f.when >= cut
        and _is_new(ctx, f)
        and (is_vf(ctx, f) or (f.kind is FractureKind.LONG_BONE and f.low_trauma is not False))
    ]
    if not new:
        return Skip.na("no new fracture after the first year of therapy")
    fx = max(new, key=lambda f: (not needs_confirmation(f), str(f.when)))
    confirm = needs_confirmation(fx)
    return Signal(
        indicator=Indicator.WARNING if confirm else Indicator.CRITICAL,
        summary=f"New fracture ({fracture_text(fx)}, {fx.when}) despite {months:.0f} months of {tx.drug}: "
        "treatment failure – escalate",
        reason="A new fracture after a year of therapy is treatment failure: escalate the dose or the agent "
        "(anabolic in adults at very high risk)."
        + (" The fracture is not confirmed: confirm it first." if confirm else ""),
        evidence=(therapy_evidence(tx), *map(fracture_evidence, new)),
        key=f"MON-01:{fracture_key(fx)}",
        since=fx.when,
    )


@rule("MON-02")
def falling_on_therapy(ctx: RuleContext) -> Outcome:
    cur = _current(ctx)
    if isinstance(cur, Skip):
        return cur
    tx, months = cur
    if months < ctx.t.bone.mon_min_therapy_months:
        return Skip.na(
            f"on {tx.drug} for {months:.0f} months, less than {ctx.t.bone.mon_min_therapy_months.text}"
        )
    falls = declines(ctx, tx.start)
    if not falls:
        return Skip.below("no fall in bone density since therapy started")
    d = falls[0]
    return Signal(
        indicator=Indicator.WARNING,
        summary=f"BMD falling on {tx.drug} ({d.site} {d.text}) – check adherence, vitamin D, "
        "secondary causes",
        reason=f"{d.text} at {d.site} over {d.months:.0f} months on therapy: check adherence, vitamin D and "
        "secondary causes; consider escalation.",
        evidence=(therapy_evidence(tx), *d.evidence),
        key=f"MON-02:{d.key}",
        since=d.later.when,
    )


@rule("MON-03")
def repeat_dxa(ctx: RuleContext) -> Outcome:
    cur = _current(ctx)
    if isinstance(cur, Skip):
        return cur
    tx, _ = cur
    ex = exams(ctx)
    last = ex[-1].when if ex else None
    if last and months_ago(ctx, last) <= ctx.t.bone.mon_dxa_months:
        return Skip.below(f"DXA on {last}")
    when = f"last one {months_ago(ctx, last):.0f} months ago" if last else "none on record"
    return Signal(
        indicator=Indicator.INFO,
        summary=f"On {tx.drug}: repeat DXA to document treatment response ({when})",
        reason="Bone density at several sites shows whether bone-targeted therapy is working.",
        evidence=(therapy_evidence(tx), *(() if last else (Evidence("Last DXA", "none on record"),))),
        key=f"MON-03:{tx.drug}:{last}",
        order=dxa_sites(ctx),
    )


@rule("MON-05")
def de_escalation_child(ctx: RuleContext) -> Outcome:
    cur = _current(ctx)
    if isinstance(cur, Skip):
        return cur
    tx, months = cur
    b = ctx.t.bone
    if not is_child(ctx):
        return Skip.na("adult")
    if months < b.deesc_min_therapy_months:
        return Skip.na(f"on {tx.drug} for {months:.0f} months, less than {b.deesc_min_therapy_months.text}")
    window = b.deesc_fracture_free_months
    if [f for f in ctx.summary.fractures if f.when is None or months_ago(ctx, f.when) <= window]:
        return Skip.na(f"fracture within {window.text}")
    if [
        f
        for f in ctx.summary.findings
        if f.symptom is Symptom.BACK_PAIN and (f.when is None or months_ago(ctx, f.when) <= window)
    ]:
        return Skip.na(f"back pain within {window.text}")
    z = [c for c in changes(ctx) if c.later.concept is Concept.Z_SCORE]
    if not z:
        return Skip.missing("no Z-score trend between two DXA scans")
    if declines(ctx):
        return Skip.below("bone density falling")
    persisting = [
        n
        for n, on in (("glucocorticoids", chronic_gc(ctx)), ("non-ambulatory", ctx.summary.non_ambulatory))
        if on
    ]
    if persisting:
        who = ", ".join(persisting)
        summary = f"Stable on {tx.drug} for {months:.0f} months ({who}): consider maintenance dosing"
        reason = (
            "No new fracture or back pain and a stable or rising Z-score while risk factors persist: review "
            "a maintenance regimen with the bone-health team."
        )
    else:
        summary = (
            f"Stable on {tx.drug} for {months:.0f} months, risk resolved: consider discontinuation review"
        )
        reason = (
            "No new fracture or back pain, a stable or rising Z-score, glucocorticoids stopped and walking: "
            "review discontinuation with the bone-health team."
        )
    return Signal(
        indicator=Indicator.INFO,
        summary=summary,
        reason=reason,
        evidence=(therapy_evidence(tx), *(e for c in z for e in c.evidence)),
        key=f"MON-05:{tx.drug}:{z[0].key}",
    )


@rule("MON-07")
def drug_holiday_review(ctx: RuleContext) -> Outcome:
    b = ctx.t.bone
    if is_child(ctx):
        return Skip.na("a child (MON-05 applies)")
    tx = active_therapy(ctx)
    if tx is None or tx.start is None:
        return Skip.na("no current bone-targeted therapy with a start date")
    if tx.drug_class is DrugClass.DENOSUMAB:
        return Skip.na("denosumab: never a holiday without follow-on therapy (MON-04)")
    if tx.drug_class not in (DrugClass.BISPHOSPHONATE_ORAL, DrugClass.BISPHOSPHONATE_IV):
        return Skip.na(f"{tx.drug} is not a bisphosphonate")
    years = years_between(tx.start, ctx.today)
    need = (
        b.deesc_adult_iv_years if tx.drug_class is DrugClass.BISPHOSPHONATE_IV else b.deesc_adult_oral_years
    )
    if years < need:
        return Skip.below(f"on {tx.drug} for {years:.1f} years, reviewed after {need.text}")
    if [f for f in ctx.summary.fractures if f.when is None or f.when >= tx.start]:
        return Skip.na("a fracture since therapy started (MON-01 reviews failure)")
    if chronic_gc(ctx):
        return Skip.na("on chronic glucocorticoids: fracture risk stays high")
    ex = exams(ctx)
    if not ex or not is_fresh(ctx, ex[-1].when):
        return Skip.missing(f"no DXA in the last {b.dxa_fresh_months.text}")
    exam = ex[-1]
    hips = [
        m
        for m in exam.scores
        if m.concept is Concept.T_SCORE and m.site in (Site.TOTAL_HIP, Site.FEMORAL_NECK)
    ]
    if not hips:
        return Skip.missing("no hip T-score on the latest DXA")
    hip = min(hips, key=lambda m: m.value)
    if hip.value <= b.t_osteoporosis_sd:
        return Skip.below(f"hip T {hip.display} is not above {b.t_osteoporosis_sd.text}")
    low = exam.lowest
    if low is not None and low.concept is Concept.T_SCORE and low.value <= b.t_osteoporosis_sd:
        return Skip.below(f"{site_label(low)} T {low.display}: very low bone density at another site")
    return Signal(
        indicator=Indicator.INFO,
        summary=f"{tx.drug.capitalize()} for {years:.0f} years, stable, no new fracture: "
        "review – consider a drug holiday",
        reason="Long-term bisphosphonate, no fracture on it, hip T-score above the osteoporosis line and no "
        "other high-risk feature: review, and consider a drug holiday (bisphosphonates stay in bone).",
        evidence=(therapy_evidence(tx), *(score_evidence(m) for m in exam.scores)),
        key=f"MON-07:{tx.drug}:{tx.start}:{hip.source}={hip.value:g}",
    )


@rule("MON-04")
def denosumab_stopped(ctx: RuleContext) -> Outcome:
    courses = bone_courses(ctx)
    bps = [c for c in courses if c.drug_class in (DrugClass.BISPHOSPHONATE_ORAL, DrugClass.BISPHOSPHONATE_IV)]
    signals = []
    for dmab in (c for c in courses if c.drug_class is DrugClass.DENOSUMAB and not c.active and stop_date(c)):
        stop = stop_date(dmab)
        if any(bp.active or (bp.start and stop and bp.start >= stop) for bp in bps):
            continue
        signals.append(
            Signal(
                indicator=Indicator.WARNING,
                summary=f"Denosumab stopped (last dose {stop}) without follow-on therapy – rebound vertebral "
                "fracture risk",
                reason="Stopping denosumab without a bisphosphonate after it risks rebound bone loss and "
                "multiple vertebral fractures: start sequential therapy.",
                evidence=(therapy_evidence(dmab),),
                key=f"MON-04:{stop}",
                since=stop,
            )
        )
    return signals or Skip.na("no stopped denosumab without follow-on therapy")


@rule("MON-06")
def risk_returned(ctx: RuleContext) -> Outcome:
    if active_therapy(ctx):
        return Skip.na("on bone-targeted therapy")
    r = risk(ctx)
    stopped = sorted(
        ((c, s) for c in bone_courses(ctx) if not c.active and (s := stop_date(c))),
        key=lambda cs: cs[1],
        reverse=True,
    )
    if not stopped:
        return Skip.na("no stopped bone-targeted therapy")
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
            return Signal(
                indicator=Indicator.WARNING,
                summary=f"Risk factors returned after {c.drug} stopped ({stop}): {what} – re-evaluate",
                reason=f"Since bone-targeted therapy stopped: {what}. Re-evaluate therapy.",
                evidence=(therapy_evidence(c), *(e for _, e in returned)),
                key=f"MON-06:{c.drug}:{stop}:{what}",
                since=stop,
            )
    return Skip.na("no risk factor returned since therapy stopped")


@rule("MON-08")
def stopped_while_risk_persists(ctx: RuleContext) -> Outcome:
    if active_therapy(ctx):
        return Skip.na("on bone-targeted therapy")
    treated = [
        (f, c) for f in fragility_fractures(ctx) if (c := treated_by(ctx, f)) is not None and not c.active
    ]
    if not treated:
        return Skip.na("no stopped course given for a fracture")
    persisting = [
        n
        for n, on in (("glucocorticoids", chronic_gc(ctx)), ("non-ambulatory", ctx.summary.non_ambulatory))
        if on
    ]
    if not persisting:
        return Skip.na("no persistent risk factor (chronic glucocorticoids, non-ambulatory)")
    course = max((c for _, c in treated), key=lambda c: stop_date(c) or ctx.today)
    stop = stop_date(course)
    ago = f"{months_ago(ctx, stop):.0f} months ago" if stop else "date not stated"
    return Signal(
        indicator=Indicator.WARNING,
        summary=f"{course.drug.capitalize()} stopped {ago} while risk persists ({', '.join(persisting)}): "
        "re-evaluate – BMD, spine imaging, restart?",
        reason="The fracture was treated, but the course has ended while the risk that caused it persists: "
        "re-evaluate with bone density and spine imaging, and consider restarting.",
        evidence=(therapy_evidence(course), *(fracture_evidence(f) for f, _ in treated)),
        key=f"MON-08:{course.drug}:{stop}:{','.join(persisting)}",
        since=stop,
    )

"""Spine imaging, SI-01..SI-08: vertebral fractures are often silent, so the spine is imaged
periodically — more often on glucocorticoids — and sooner when symptoms, low or falling BMD or a
long-bone fracture appear. Each asks for a lateral thoracolumbar radiograph or a DXA VFA."""

from __future__ import annotations

from datetime import date, timedelta

from service.fhir.summary import Measurement, Site, SpineImaging, Symptom
from service.rules.bone.dxa import (
    Exam,
    exams,
    fresh_exam,
    low_score,
    score_evidence,
    score_text,
    site_label,
    stale_exam,
)
from service.rules.bone.facts import (
    DAYS_PER_MONTH,
    active_therapy,
    chronic_gc,
    fracture_evidence,
    fracture_key,
    fracture_text,
    gc_evidence,
    is_long_bone_fragility,
    months_ago,
    needs_confirmation,
    therapy_evidence,
)
from service.rules.bone.risk import risk
from service.rules.bone.trend import declines
from service.rules.core import Evidence, Indicator, Outcome, RuleContext, Signal, Skip, rule

SYMPTOMS = {
    Symptom.BACK_PAIN: "back pain",
    Symptom.HEIGHT_LOSS: "height loss/growth arrest",
    Symptom.KYPHOSIS: "kyphosis",
}
IMAGING_NAMES = {"lateral_spine_xr": "lateral spine X-ray", "dxa_vfa": "DXA vertebral fracture assessment"}


def imaging(ctx: RuleContext, since: date | None = None) -> list[SpineImaging]:
    """Adequate spine imaging up to today (and on/after ``since``), oldest first."""
    return sorted(
        (i for i in ctx.summary.spine_imaging if i.when <= ctx.today and (since is None or i.when >= since)),
        key=lambda i: i.when,
    )


def last_imaging(ctx: RuleContext) -> SpineImaging | None:
    found = imaging(ctx)
    return found[-1] if found else None


def imaging_evidence(i: SpineImaging | None) -> Evidence:
    if i is None:
        return Evidence("Last spine imaging", "none on record")
    return Evidence("Last spine imaging", IMAGING_NAMES.get(i.kind.value, i.kind.value), i.when, i.source)


def _ago(ctx: RuleContext, i: SpineImaging) -> str:
    return f"{months_ago(ctx, i.when):.0f} months ago"


@rule("SI-01")
def baseline_on_glucocorticoids(ctx: RuleContext) -> Outcome:
    gc = chronic_gc(ctx)
    if gc is None or gc.start is None:
        return Skip.na("no chronic systemic glucocorticoid")
    if imaging(ctx, gc.start):
        return Skip.na("spine imaged since the glucocorticoid started")
    return Signal(
        indicator=Indicator.WARNING,
        summary=f"On long-term glucocorticoids ({gc.drug}), no baseline spine imaging: "
        "order lateral spine X-ray or DXA VFA",
        reason="Vertebral fractures on glucocorticoids are often silent; no lateral spine image has been "
        "taken since the course started.",
        evidence=(gc_evidence(gc, ctx.today), imaging_evidence(last_imaging(ctx))),
        key=f"SI-01:{gc.drug}:{gc.start}",
    )


@rule("SI-02")
def surveillance_on_glucocorticoids(ctx: RuleContext) -> Outcome:
    b = ctx.t.bone
    gc = chronic_gc(ctx)
    if gc is None or gc.start is None:
        return Skip.na("no chronic systemic glucocorticoid")
    since = imaging(ctx, gc.start)
    if not since:
        return Skip.na("no spine imaging since the glucocorticoid started (SI-01 applies)")
    last = since[-1]
    age = months_ago(ctx, last.when)
    if age <= b.si_gc_info_months:
        return Skip.below(f"last spine imaging {age:.0f} months ago, due after {b.si_gc_info_months.text}")
    overdue = age > b.si_gc_warning_months
    return Signal(
        indicator=Indicator.WARNING if overdue else Indicator.INFO,
        summary=f"Spine imaging {'overdue' if overdue else 'due'} on glucocorticoids: last one "
        f"{_ago(ctx, last)}",
        reason="On glucocorticoids vertebral fractures are often silent, so the spine is imaged "
        "regularly; the last image is older than the surveillance interval.",
        evidence=(gc_evidence(gc, ctx.today), imaging_evidence(last)),
        key=f"SI-02:{last.source}",
    )


@rule("SI-03")
def surveillance_other_risk(ctx: RuleContext) -> Outcome:
    b = ctx.t.bone
    if chronic_gc(ctx):
        return Skip.na("on chronic glucocorticoids (SI-01/SI-02 apply)")
    r = risk(ctx)
    names = [n for n in r.names() if not n.startswith("falling")]  # falling BMD has its own rule (SI-04)
    if not names:
        return Skip.na("no persistent risk factor (non-ambulatory, low BMD, prior fragility fracture)")
    last = last_imaging(ctx)
    age = months_ago(ctx, last.when) if last else None
    if age is not None and age <= b.si_rf_info_months:
        return Skip.below(f"last spine imaging {age:.0f} months ago, due after {b.si_rf_info_months.text}")
    warn = (last is None and r.non_ambulatory) or (age or 0) > b.si_rf_warning_months
    when = f"last one {_ago(ctx, last)}" if last else "never done"
    return Signal(
        indicator=Indicator.WARNING if warn else Indicator.INFO,
        summary=f"Spine imaging due ({', '.join(names)}): {when}",
        reason=f"Without glucocorticoids, {', '.join(names)} still puts the spine at risk of silent "
        "fractures; periodic imaging finds them.",
        evidence=(*r.evidence(ctx.today), imaging_evidence(last)),
        key=f"SI-03:{r.key}:{last.source if last else ''}",
    )


@rule("SI-04")
def falling_bmd_imaging(ctx: RuleContext) -> Outcome:
    falls = declines(ctx)
    if not falls:
        return _no_decline(ctx)
    d = falls[0]
    since = d.later.when - timedelta(days=ctx.t.bone.si_imaging_before_dxa_months * DAYS_PER_MONTH)
    done = imaging(ctx, since)
    if done:
        return Skip.na(
            f"spine imaged on {done[-1].when}, within {ctx.t.bone.si_imaging_before_dxa_months.text} "
            "before the later scan or since"
        )
    return Signal(
        indicator=Indicator.WARNING,
        summary=f"BMD falling at {d.site} ({d.text}): image the spine now for silent vertebral fractures",
        reason=f"{d.text} at {d.site} over {d.months:.0f} months; a falling bone density calls for a look "
        "for silent vertebral fractures.",
        evidence=tuple(e for x in falls for e in x.evidence),
        key="|".join(x.key for x in falls),
    )


def _no_decline(ctx: RuleContext) -> Skip:
    ex = exams(ctx)
    if len(ex) < 2:
        return Skip.missing("fewer than two DXA scans")
    return stale_exam(ctx, ex[-1]) or Skip.below(
        f"no site fell by {ctx.t.bone.decline_sd.text} (or its least significant change)"
    )


@rule("SI-05")
def new_symptoms(ctx: RuleContext) -> Outcome:
    window = ctx.t.bone.si_symptom_recent_days
    new = [
        f
        for f in ctx.summary.findings
        if f.symptom in SYMPTOMS
        and f.when
        and 0 <= (ctx.today - f.when).days <= window
        and not imaging(ctx, f.when)
    ]
    if not new:
        return Skip.na(
            f"no back pain, height loss or kyphosis in the last {window.text} without imaging since"
        )
    first = min(new, key=lambda f: f.when or ctx.today)
    what = "/".join(dict.fromkeys(SYMPTOMS[f.symptom] for f in new))
    return Signal(
        indicator=Indicator.WARNING,
        summary=f"New {what} ({first.when}) on a bone-risk background: lateral spine X-ray or VFA",
        reason=f"New {what} and no spine imaging since: look for vertebral fractures.",
        evidence=(
            *(Evidence("New symptom", SYMPTOMS[f.symptom], f.when, f.source) for f in new),
            imaging_evidence(last_imaging(ctx)),
        ),
        key="SI-05:" + ",".join(f.source for f in new),
        since=first.when,
    )


PAEDIATRIC_SITES = (Site.LUMBAR_SPINE, Site.TOTAL_BODY)


def _si06_score(exam: Exam) -> tuple[Measurement | None, str]:
    """Children: lumbar spine or total body less head Z (the paediatric sites, HAZ preferred); when
    neither is valid, the lowest other valid site. Adults: the lowest valid site."""
    if exam.band == "child":
        ped = [m for m in exam.scores if m.site in PAEDIATRIC_SITES]
        if ped:
            return min(ped, key=lambda m: m.value), "paediatric site"
        return exam.lowest, "no valid lumbar spine or total body: lowest valid site"
    return exam.lowest, "lowest valid site"


@rule("SI-06")
def low_bmd_imaging(ctx: RuleContext) -> Outcome:
    b = ctx.t.bone
    exam = fresh_exam(ctx)
    if isinstance(exam, Skip):
        return exam
    m, which = _si06_score(exam)
    if m is None:
        return Skip.missing(f"no valid score on the latest DXA ({exam.why})")
    if not low_score(ctx, m):
        return Skip.below(f"{site_label(m)} {score_text(m)} is not low")
    recent = [i for i in imaging(ctx) if months_ago(ctx, i.when) <= b.si_low_bmd_months]
    if recent:
        return Skip.na(f"spine imaged within {b.si_low_bmd_months.text}")
    return Signal(
        indicator=Indicator.WARNING,
        summary=f"Low BMD ({site_label(m)} {score_text(m)}): look for vertebral fractures before "
        "deciding therapy",
        reason=f"{exam.why}. Low bone density raises the chance of silent vertebral fractures, which "
        "change the treatment decision.",
        evidence=(
            *(score_evidence(s, which if s is m else "") for s in exam.scores),
            *(score_evidence(s, why) for s, why in exam.set_aside),
            imaging_evidence(last_imaging(ctx)),
        ),
        key=f"SI-06:{m.source}={m.value:g}",
    )


@rule("SI-07")
def long_bone_fracture_imaging(ctx: RuleContext) -> Outcome:
    b = ctx.t.bone
    if [i for i in imaging(ctx) if months_ago(ctx, i.when) <= b.si_long_bone_months]:
        return Skip.na(f"spine imaged within {b.si_long_bone_months.text}")
    new = [
        f
        for f in ctx.summary.fractures
        if is_long_bone_fragility(f)
        and f.when
        and 0 <= (ctx.today - f.when).days <= b.si_long_bone_recent_days
    ]
    if not new:
        return Skip.na(f"no fragility long-bone fracture in the last {b.si_long_bone_recent_days.text}")
    fx = new[-1]
    confirm = needs_confirmation(fx)
    return Signal(
        indicator=Indicator.INFO,
        summary=f"Long-bone fragility fracture ({fracture_text(fx)}, {fx.when}): screen the spine "
        "for fractures" + (" (confirm low trauma)" if confirm else ""),
        reason="A non-vertebral fragility fracture predicts vertebral fractures; screen the spine."
        + (" The mechanism or the diagnosis is not confirmed: confirm it first." if confirm else ""),
        evidence=tuple(fracture_evidence(f) for f in new),
        key="SI-07:" + fracture_key(fx),
        since=fx.when,
    )


@rule("SI-08")
def imaging_on_therapy(ctx: RuleContext) -> Outcome:
    tx = active_therapy(ctx)
    if tx is None:
        return Skip.na("no current bone-targeted therapy")
    last = last_imaging(ctx)
    if last and months_ago(ctx, last.when) <= ctx.t.bone.si_on_therapy_months:
        return Skip.below(f"spine imaged {_ago(ctx, last)}")
    when = f"last one {_ago(ctx, last)}" if last else "none on record"
    return Signal(
        indicator=Indicator.INFO,
        summary=f"On {tx.drug}: yearly spine imaging shows new vertebral fractures ({when})",
        reason="On bone-targeted therapy, new vertebral fractures are the main sign that treatment is "
        "failing; image the spine yearly.",
        evidence=(therapy_evidence(tx), imaging_evidence(last)),
        key=f"SI-08:{tx.drug}:{last.source if last else ''}",
    )

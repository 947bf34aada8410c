"""Spine imaging rules SI-01..SI-08 (clinical-knowledge §2.A; SI-04 lives with BMD-05 in ``bmd.py``).

Vertebral fractures are often silent, so the spine is imaged periodically, more often with glucocorticoids
and sooner when symptoms, low BMD or a long-bone fracture appear [S000]. Each rule asks for a lateral
thoracolumbar radiograph or a DXA VFA; an order inside the window (§2.H) suppresses it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from service.fhir.summary import ActionKind, Concept, Measurement, Site, SpineImaging, Symptom
from service.rules import citations as cite
from service.rules._bone_cards import action_card
from service.rules._bone_data import (
    active_therapy,
    chronic_gc,
    fracture_evidence,
    fracture_key,
    fracture_text,
    gate,
    gc_evidence,
    is_long_bone_fragility,
    months_ago,
    needs_confirmation,
    th,
    therapy_evidence,
)
from service.rules._bone_dxa import Exam, exams, is_fresh, low_score, score_evidence, site_label
from service.rules._bone_risk import risk
from service.rules.core import Evidence, Finding, Indicator, RuleContext, Topic

SYMPTOMS = {
    Symptom.BACK_PAIN: "back pain",
    Symptom.HEIGHT_LOSS: "height loss/growth arrest",
    Symptom.KYPHOSIS: "kyphosis",
}


def imaging(ctx: RuleContext, since: date | None = None) -> list[SpineImaging]:
    """Adequate spine imaging (§1.5) up to today (and on/after ``since``), oldest first."""
    return sorted(
        (i for i in ctx.summary.spine_imaging if i.when <= ctx.today and (since is None or i.when >= since)),
        key=lambda i: i.when,
    )


def last_imaging(ctx: RuleContext) -> SpineImaging | None:
    found = imaging(ctx)
    return found[-1] if found else None


def imaging_evidence(i: SpineImaging | None) -> Evidence:
    if i is None:
        return Evidence("Last adequate spine imaging", "none on record (lateral spine X-ray or DXA VFA)")
    return Evidence("Last adequate spine imaging", i.kind.replace("_", " "), i.when, i.source)


_card = action_card(Topic.SPINE_IMAGING, ActionKind.SPINE_IMAGING)


def si_glucocorticoid(ctx: RuleContext) -> Iterator[Finding]:
    """SI-01 no spine imaging since chronic GC started (warning); SI-02 surveillance > 12 / > 24 months."""
    gc = chronic_gc(ctx) if gate(ctx) else None
    if gc is None or gc.start is None:
        return
    since = imaging(ctx, gc.start)
    ev = [gc_evidence(gc, ctx.today), imaging_evidence(last_imaging(ctx))]
    if not since:
        yield from _card(
            ctx,
            "SI-01",
            Indicator.WARNING,
            f"On long-term glucocorticoids ({gc.drug}) with no baseline spine imaging: "
            "order lateral spine X-ray or DXA VFA",
            f"Systemic glucocorticoid for {gc.days_on(ctx.today)} days and no lateral thoracolumbar "
            "radiograph or DXA VFA since it started; vertebral fractures are often silent.",
            ev,
            f"SI-01:{gc.drug}:{gc.start}",
            ("gc_chronic_days",),
            (cite.ACR_GIOP_2022, cite.PPMD, cite.DMD_CC_2018),
        )
        return
    last = since[-1]
    age = months_ago(ctx, last.when)
    if age <= th(ctx, "si_gc_info_months"):
        return
    ind = Indicator.WARNING if age > th(ctx, "si_gc_warning_months") else Indicator.INFO
    yield from _card(
        ctx,
        "SI-02",
        ind,
        f"Surveillance spine imaging due: last {last.when} ({age:.0f} months ago), "
        f"on glucocorticoids (every 1-2 y)",
        f"Glucocorticoid-treated: lateral spine imaging every {th(ctx, 'si_gc_info_months'):g}-"
        f"{th(ctx, 'si_gc_warning_months'):g} months; last was {age:.0f} months ago.",
        ev,
        f"SI-02:{last.source}",
        ("gc_chronic_days", "si_gc_info_months", "si_gc_warning_months"),
        (cite.DMD_CC_2018, cite.PPMD, cite.SCOTTISH_MUSCLE_NETWORK),
    )


def si_other_risk(ctx: RuleContext) -> Iterator[Finding]:
    """SI-03: no chronic GC but another persistent risk factor, spine imaging > 24 months (or never)."""
    if not gate(ctx) or chronic_gc(ctx):
        return
    r = risk(ctx)
    names = [n for n in r.names() if not n.startswith("falling")]  # falling BMD has its own rule (SI-04)
    if not names:
        return
    done = imaging(ctx)
    last = done[-1] if done else None
    age = months_ago(ctx, last.when) if last else None
    if age is not None and age <= th(ctx, "si_rf_info_months"):
        return
    never_non_amb = last is None and r.non_ambulatory
    ind = (
        Indicator.WARNING if never_non_amb or (age or 0) > th(ctx, "si_rf_warning_months") else Indicator.INFO
    )
    when = f"last {last.when} ({age:.0f} months ago)" if last and age is not None else "none on record"
    yield from _card(
        ctx,
        "SI-03",
        ind,
        f"Spine imaging due ({', '.join(names)}): {when}",
        f"Persistent risk factor without glucocorticoids ({', '.join(names)}): lateral spine imaging "
        f"every {th(ctx, 'si_rf_info_months'):g}-{th(ctx, 'si_rf_warning_months'):g} months.",
        [*r.evidence(ctx.today), imaging_evidence(last)],
        f"SI-03:{r.key}:{last.source if last else ''}",
        ("si_rf_info_months", "si_rf_warning_months"),
        (cite.DMD_CC_2018, cite.PPMD),
    )


def si_symptoms(ctx: RuleContext) -> Iterator[Finding]:
    """SI-05: new back pain, height loss/growth arrest or kyphosis (last 90 days) not imaged since onset."""
    if not gate(ctx):
        return
    window = th(ctx, "si_symptom_recent_days")
    new = [
        f
        for f in ctx.summary.findings
        if f.symptom in SYMPTOMS
        and f.when
        and 0 <= (ctx.today - f.when).days <= window
        and not imaging(ctx, f.when)
    ]
    if not new:
        return
    first = min(new, key=lambda f: f.when or ctx.today)
    what = "/".join(dict.fromkeys(SYMPTOMS[f.symptom] for f in new))
    ev = [Evidence("New symptom", SYMPTOMS[f.symptom], f.when, f.source) for f in new]
    yield from _card(
        ctx,
        "SI-05",
        Indicator.WARNING,
        f"New {what} ({first.when}) on NMD bone-risk background: lateral spine X-ray/VFA",
        f"New {what} since {first.when} and no spine imaging since: look for vertebral fractures.",
        [*ev, imaging_evidence(last_imaging(ctx))],
        "SI-05:" + ",".join(f.source for f in new),
        ("si_symptom_recent_days",),
        (cite.BUCKNER_2015, cite.SCOTTISH_MUSCLE_NETWORK),
        since=first.when,
    )


PAEDIATRIC_SITES = (Site.LUMBAR_SPINE, Site.TOTAL_BODY)


def _si06_score(exam: Exam) -> tuple[Measurement | None, str]:
    """The score SI-06 reads, and why. Children (5-<20 y): lumbar spine or total body less head Z (the
    ISCD paediatric sites, HAZ preferred by ``exam_on``); when neither is valid (LS set aside for
    scoliosis / rods / VF, or not measured) the lowest other valid site (ISCD: hip, LDF, radius).
    Adults: the lowest valid site."""
    if exam.band == "child":
        ped = [m for m in exam.scores if m.site in PAEDIATRIC_SITES]
        if ped:
            return min(ped, key=lambda m: m.value), "lumbar spine / total body less head (ISCD sites)"
        return exam.lowest, "no valid lumbar spine or total body less head: lowest valid site"
    return exam.lowest, "lowest valid site"


def si_low_bmd(ctx: RuleContext) -> Iterator[Finding]:
    """SI-06: low BMD (child LS/TBLH Z, adult lowest valid site; fresh DXA), no spine imaging in 12 months."""
    ex = exams(ctx) if gate(ctx) else []
    if not ex or not is_fresh(ctx, ex[-1].when):
        return
    exam = ex[-1]
    m, which = _si06_score(exam)
    if m is None or not low_score(ctx, m):
        return
    if [i for i in imaging(ctx) if months_ago(ctx, i.when) <= th(ctx, "si_low_bmd_months")]:
        return
    metric = "Z" if m.concept is Concept.Z_SCORE else "T"
    ev = [score_evidence(s, which if s is m else "") for s in exam.scores]
    ev += [score_evidence(s, why) for s, why in exam.set_aside]
    yield from _card(
        ctx,
        "SI-06",
        Indicator.WARNING,
        f"Low BMD ({site_label(m)} {metric} {m.value:g}): "
        "look for vertebral fractures before deciding therapy",
        f"{exam.why}; {which} decides. Low BMD raises the chance of silent vertebral "
        "fractures, which change the treatment decision.",
        [*ev, imaging_evidence(last_imaging(ctx))],
        f"SI-06:{m.source}={m.value:g}",
        ("z_low_sd", "t_osteoporosis_sd", "dxa_fresh_months", "si_low_bmd_months"),
        (cite.BUCKNER_2015, cite.ISCD_PEDIATRIC, cite.ISCD_ADULT),
    )


def si_long_bone(ctx: RuleContext) -> Iterator[Finding]:
    """SI-07: new low-trauma long-bone fracture (90 days) and no spine imaging in 12 months."""
    if not gate(ctx) or [
        i for i in imaging(ctx) if months_ago(ctx, i.when) <= th(ctx, "si_long_bone_months")
    ]:
        return
    new = [
        f
        for f in ctx.summary.fractures
        if is_long_bone_fragility(f)
        and f.when
        and 0 <= (ctx.today - f.when).days <= th(ctx, "si_long_bone_recent_days")
    ]
    if not new:
        return
    fx = new[-1]
    confirm = " (confirm low-trauma mechanism)" if needs_confirmation(fx) else ""
    yield from _card(
        ctx,
        "SI-07",
        Indicator.INFO,
        f"Long-bone fragility fracture ({fracture_text(fx)}, {fx.when}): screen spine for VFs{confirm}",
        "A non-vertebral fragility fracture predicts vertebral fractures; screen the spine."
        + (" Mechanism or verification not confirmed: confirm before acting." if confirm else ""),
        [fracture_evidence(f) for f in new],
        "SI-07:" + fracture_key(fx),
        ("si_long_bone_recent_days", "si_long_bone_months"),
        (),
        since=fx.when,
    )


def si_on_therapy(ctx: RuleContext) -> Iterator[Finding]:
    """SI-08: on bone-targeted therapy and no spine imaging in > 12 months (treatment response)."""
    tx = active_therapy(ctx) if gate(ctx) else None
    if tx is None:
        return
    done = imaging(ctx)
    last = done[-1] if done else None
    if last and months_ago(ctx, last.when) <= th(ctx, "si_on_therapy_months"):
        return
    when = f"last {last.when}" if last else "none on record"
    yield from _card(
        ctx,
        "SI-08",
        Indicator.INFO,
        f"On bone therapy ({tx.drug}): yearly spine imaging to detect new VFs ({when})",
        "On bone-targeted therapy, yearly spine imaging shows new vertebral fractures (response).",
        [therapy_evidence(tx), imaging_evidence(last)],
        f"SI-08:{tx.drug}:{last.source if last else ''}",
        ("si_on_therapy_months",),
        (cite.WARD_2018,),
    )


SPINE_RULES = (si_glucocorticoid, si_other_risk, si_symptoms, si_low_bmd, si_long_bone, si_on_therapy)

"""Bone-targeted therapy rules BT-01..BT-07 (clinical-knowledge §2.C): fracture-focused [S000].

A vertebral fracture (Genant >= 1) is a clear indication; a fragility long-bone fracture with a persistent
risk factor is one; BMD alone is an indication only for adults >= 50 (BT-03) or GC-treated adults (BT-04),
never in children (BT-05). With persistent risk factors and no fracture, pre-emptive therapy is discussed
(BT-06, info). With active therapy these give way to the monitoring rules (§2.H). Unconfirmed fractures
(provisional, mechanism unknown) and unknown medication data never give a critical card.
"""

from __future__ import annotations

from collections.abc import Iterator

from service.fhir.summary import ActionKind, Concept, Fracture, FractureKind
from service.rules import citations as cite
from service.rules._bone_cards import action_finding, finding
from service.rules._bone_data import (
    active_therapy,
    age_now,
    fracture_evidence,
    fracture_key,
    fracture_text,
    gate,
    is_child,
    medications_known,
    months_ago,
    needs_confirmation,
    th,
)
from service.rules._bone_dxa import exams, is_fresh, ls_invalid_reason, score_evidence, site_label
from service.rules._bone_risk import Risk, paediatric_osteoporosis, risk
from service.rules.core import Evidence, Finding, Indicator, RuleContext, Topic
from service.rules.vitamin_d import below

CHILD_NOTE = " In children, IV bisphosphonate is the usual first line (DMD CC 2018 / Ward 2018, recalled)."


def _cap(ctx: RuleContext, ind: Indicator, *fractures: Fracture) -> Indicator:
    """Critical only on confirmed evidence and known medication data."""
    if ind is Indicator.CRITICAL and (
        any(needs_confirmation(f) for f in fractures) or not medications_known(ctx)
    ):
        return Indicator.WARNING
    return ind


def _card(
    ctx: RuleContext,
    r: Risk,
    ids: tuple[str, ...],
    ind: Indicator,
    summary: str,
    reason: str,
    ev: list[Evidence],
    key: str,
    keys: tuple[str, ...],
    cites: tuple,
    since=None,
) -> Finding | None:
    ped = paediatric_osteoporosis(ctx, r)
    if ped:
        ids, reason = (*ids, "BMD-02"), f"{reason} Classification: {ped}."
    if not medications_known(ctx):
        reason += " Medication data were not available: check for current bone-targeted therapy."
    return action_finding(
        ctx,
        ids,
        Topic.BONE_THERAPY,
        ActionKind.BONE_SPECIALIST_REFERRAL,
        ind,
        summary,
        reason + (CHILD_NOTE if is_child(ctx) else ""),
        ev,
        key=key,
        keys=keys,
        cites=cites,
        since=since,
    )


def bt_vertebral(ctx: RuleContext, r: Risk) -> Finding | None:
    """BT-01 (VF + persistent risk factor: critical); BT-01b (none: grade 1 warning, >= 2 critical)."""
    vfs = [f for f in r.fractures if f.kind is FractureKind.VERTEBRAL]
    if not vfs:
        return None
    vf = max(vfs, key=lambda f: (not needs_confirmation(f), f.genant_grade or 1, str(f.when)))
    others = r.names(*vfs)
    grade = vf.genant_grade
    rid = "BT-01" if others else "BT-01b"
    # Critical needs a risk factor on final data: a preliminary low/falling DXA is listed, not counted.
    confirmed = r.confirmed_names(*vfs)
    ind = _cap(ctx, Indicator.CRITICAL if confirmed or (grade or 0) >= 2 else Indicator.WARNING, vf)
    preliminary_only = bool(others) and not confirmed and ind is Indicator.WARNING
    when = vf.when or "date not stated"
    if needs_confirmation(vf):
        summary = f"Possible vertebral fracture ({fracture_text(vf)}) on {when}: confirm; treat if confirmed"
    elif (rid == "BT-01b" or preliminary_only) and ind is Indicator.WARNING:
        summary = (
            f"Mild vertebral deformity ({fracture_text(vf)}) on {when}: confirm by expert read; treat if so"
        )
    else:
        summary = (
            f"Vertebral fracture ({fracture_text(vf)}) on {when}: bone-targeted therapy indicated – refer"
        )
    reason = "Vertebral fractures (Genant >= 1, often silent) clearly indicate bone-strengthening therapy" + (
        f"; persistent risk factors: {', '.join(others)}."
        if others
        else "; no other persistent risk factor, so a mild deformity needs an expert read first."
    )
    if preliminary_only:
        reason += " The DXA result behind the risk factor is preliminary: confirm it before treating."
    if needs_confirmation(vf):
        reason += " The fracture is provisional or its mechanism is unconfirmed: confirm before treating."
    return _card(
        ctx,
        r,
        (rid,),
        ind,
        summary,
        reason,
        [*map(fracture_evidence, vfs), *r.evidence(ctx.today, *vfs)],
        f"BT-01:{fracture_key(vf)}",
        ("genant_min_grade",),
        (cite.GENANT_1993, cite.ISCD_PEDIATRIC, cite.BUCKNER_2015, cite.BHOF_2022, cite.DMD_CC_2018),
        since=vf.when,
    )


def bt_long_bone(ctx: RuleContext, r: Risk) -> Finding | None:
    """BT-02: fragility long-bone fracture + persistent risk factor (critical with low BMD or a VF)."""
    lbs = [f for f in r.fractures if f.kind is FractureKind.LONG_BONE]
    if not lbs:
        return None
    fx = max(lbs, key=lambda f: (not needs_confirmation(f), str(f.when)))
    others = r.names(fx)
    if not others:
        return None
    severe = (r.low is not None and not r.low[1].preliminary) or any(
        f.kind is FractureKind.VERTEBRAL and not needs_confirmation(f) for f in r.fractures
    )
    ind = _cap(ctx, Indicator.CRITICAL if severe else Indicator.WARNING, fx)
    confirm = " (confirm mechanism)" if needs_confirmation(fx) else ""
    summary = (
        f"Fragility long-bone fracture ({fracture_text(fx)}, {fx.when or 'date not stated'}): "
        f"assess for bone-targeted therapy{confirm}"
    )
    return _card(
        ctx,
        r,
        ("BT-02",),
        ind,
        summary,
        f"Low-trauma long-bone fracture with persistent risk factors ({', '.join(others)})."
        + (" Also low BMD or a vertebral fracture." if severe else ""),
        [fracture_evidence(fx), *r.evidence(ctx.today, fx)],
        f"BT-02:{fracture_key(fx)}",
        ("z_low_sd", "t_osteoporosis_sd"),
        (cite.ISCD_PEDIATRIC, cite.DMD_CC_2018),
        since=fx.when,
    )


def bt_bmd(ctx: RuleContext, r: Risk) -> Finding | None:
    """BT-03: adult >= 50 y, T <= -2.5 at the lowest valid site, no fracture."""
    if (
        r.fractures
        or r.low is None
        or r.low[0].band != "adult_50_plus"
        or r.low[1].concept is not Concept.T_SCORE
    ):
        return None
    exam, m = r.low
    return _card(
        ctx,
        r,
        ("BT-03",),
        Indicator.WARNING,
        f"Osteoporosis by BMD (T {m.value:g} {site_label(m)}): bone-targeted therapy indicated",
        f"{exam.why}; lowest valid site T <= {th(ctx, 't_osteoporosis_sd'):g} (WHO osteoporosis).",
        [score_evidence(s, "lowest valid site" if s is m else "") for s in exam.scores],
        f"BT-03:{m.source}={m.value:g}",
        ("t_osteoporosis_sd", "age_t_classes_years", "dxa_fresh_months"),
        (cite.ISCD_ADULT, cite.BHOF_2022),
    )


def bt_glucocorticoid(ctx: RuleContext, r: Risk) -> Finding | None:
    """BT-04: adult on chronic GC with T <= -1.0 at >= 40 y (ACR 2022 moderate/high risk) or a fracture."""
    age = age_now(ctx)
    if r.gc is None or age is None or age < th(ctx, "age_adult_years"):
        return None
    ex = exams(ctx)
    ts = [
        m
        for m in ctx.summary.measurements
        if ex
        and m.when == ex[-1].when
        and m.concept is Concept.T_SCORE
        and m.comparator is None
        and not (m.site and m.site.value == "lumbar_spine" and ls_invalid_reason(ctx, m.when))
    ]
    low_t = min(ts, key=lambda m: m.value) if ts and is_fresh(ctx, ts[0].when) else None
    t_ok = (
        low_t is not None
        and (ctx.summary.age_at(low_t.when) or 0) >= th(ctx, "acr_min_age_years")
        and low_t.value <= th(ctx, "t_low_mass_sd")
    )
    prior = r.prior_fractures()
    if not t_ok and not prior:
        return None
    what = f"T {low_t.value:g} {site_label(low_t)}" if t_ok and low_t else "prior fragility fracture"
    return _card(
        ctx,
        r,
        ("BT-04",),
        Indicator.WARNING,
        f"Glucocorticoid-induced osteoporosis risk ({what}, on {r.gc.drug}): ACR 2022 recommends treatment",
        "ACR 2022: treat moderate/high fracture risk in adults on chronic glucocorticoids (oral "
        "bisphosphonate "
        "first; anabolic for very high risk). FRAX is needed to grade risk from the T-score.",
        ([score_evidence(low_t, "lowest T (ACR uses T from 40 y)")] if t_ok and low_t else [])
        + r.evidence(ctx.today),
        f"BT-04:{r.key}:{low_t.source if t_ok and low_t else ''}",
        ("acr_min_age_years", "t_low_mass_sd", "gc_chronic_days"),
        (cite.ACR_GIOP_2022,),
    )


def bt_preemptive(ctx: RuleContext, r: Risk) -> Finding | None:
    """BT-06 (info): GC plus non-ambulatory, falling BMD or low BMD, no fracture. BT-05: low BMD alone
    without glucocorticoids gives no therapy card (children: densitometry alone is not osteoporosis)."""
    if r.fractures or r.gc is None:
        return None
    extra = [n for n in r.names() if not n.startswith("glucocorticoids")]
    if not extra:
        return None
    return _card(
        ctx,
        r,
        ("BT-06",),
        Indicator.INFO,
        f"Persistent risk factors (glucocorticoids + {', '.join(extra)}): discuss pre-emptive bone therapy",
        "No fracture yet, but persistent risk factors: the field is moving to therapy before a first "
        "fracture (emerging – discuss with a bone-health expert).",
        r.evidence(ctx.today),
        f"BT-06:{r.key}",
        ("gc_chronic_days", "decline_sd", "z_low_sd"),
        (),
    )


def bt_before_start(ctx: RuleContext) -> Finding | None:
    """BT-07 (companion info): vitamin D < 20 ng/mL or renal function unknown before a bisphosphonate."""
    s, ev, problems = ctx.summary, [], []
    vd = s.latest(Concept.VITAMIN_D_25OH)
    if vd and months_ago(ctx, vd.when) <= th(ctx, "vitd_lookback_months"):
        ev.append(Evidence("25-OH vitamin D", vd.display, vd.when, vd.source))
        # Same reading as VD-02/VD-04: '<x' counts at its bound, '>x' is never certainly deficient.
        if below(vd, th(ctx, "vitd_deficient_ng_ml")):
            problems.append(f"vitamin D {vd.display}")
    renal = [
        m
        for c in (Concept.CYSTATIN_C, Concept.CREATININE)
        if (m := s.latest(c)) and months_ago(ctx, m.when) <= th(ctx, "renal_lookback_months")
    ]
    ev += [
        Evidence(m.concept.value.replace("_", " ").capitalize(), m.display, m.when, m.source) for m in renal
    ]
    if not renal:
        problems.append("renal function unknown")
    elif renal[0].concept is not Concept.CYSTATIN_C:
        problems.append("renal function by creatinine only (prefer cystatin C)")
    if calcium := s.latest(Concept.CALCIUM):
        ev.append(Evidence("Calcium", calcium.display, calcium.when, calcium.source))
    if not problems:
        return None
    return finding(
        ctx,
        ("BT-07",),
        Topic.BONE_THERAPY,
        Indicator.INFO,
        "Before bisphosphonate: correct vitamin D and check renal function (cystatin C if low muscle mass)",
        f"Before starting: {'; '.join(problems)}. Creatinine overestimates renal function when muscle mass "
        "is low; zoledronic acid is avoided at low creatinine clearance (label). Check calcium.",
        ev,
        action=ActionKind.BONE_SPECIALIST_REFERRAL,
        key="BT-07:" + ";".join(problems),
        keys=("vitd_deficient_ng_ml", "renal_lookback_months"),
        cites=(cite.SEED_BONE_MUSCLE_CROSSTALK,),
    )


def bone_therapy(ctx: RuleContext) -> Iterator[Finding]:
    """All BT rules; nothing while bone-targeted therapy is active (the MON rules take over, §2.H)."""
    if not gate(ctx) or active_therapy(ctx):
        return
    r = risk(ctx)
    found = [
        f
        for f in (
            bt_vertebral(ctx, r),
            bt_long_bone(ctx, r),
            bt_bmd(ctx, r),
            bt_glucocorticoid(ctx, r),
            bt_preemptive(ctx, r),
        )
        if f
    ]
    if found and (companion := bt_before_start(ctx)):
        found.append(companion)
    yield from found

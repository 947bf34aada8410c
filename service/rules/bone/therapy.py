"""Bone-targeted therapy, BT-01..BT-07 — fracture-focused: a vertebral fracture is a clear indication;
a fragility long-bone fracture with a persistent risk factor is one; bone density alone is one only
for adults from 50 (BT-03) or adults on glucocorticoids (BT-04), never in children. With persistent
risk factors and no fracture, pre-emptive therapy is discussed (BT-06). While therapy is current the
monitoring rules take over. Unconfirmed fractures and missing medication data never give a critical
card."""

from __future__ import annotations

from service.fhir.summary import Concept, Fracture, FractureKind, Measurement
from service.rules.bone.dxa import exams, is_fresh, ls_invalid_reason, score_evidence, score_text, site_label
from service.rules.bone.facts import (
    active_therapy,
    age_now,
    fracture_evidence,
    fracture_key,
    fracture_text,
    is_child,
    medications_known,
    months_ago,
    needs_confirmation,
    treated_by,
)
from service.rules.bone.risk import paediatric_osteoporosis, risk
from service.rules.bone.trend import Decline, changes
from service.rules.bone.vitamin_d import below
from service.rules.core import Evidence, Indicator, Outcome, RuleContext, Signal, Skip, rule

FIRST_LINE_CHILD = " In children, IV bisphosphonate is the usual first line."


def _cap(ctx: RuleContext, ind: Indicator, *fractures: Fracture) -> Indicator:
    """Critical only on confirmed evidence and known medication data."""
    if ind is Indicator.CRITICAL and (
        any(needs_confirmation(f) for f in fractures) or not medications_known(ctx)
    ):
        return Indicator.WARNING
    return ind


def _on_therapy(ctx: RuleContext) -> Skip | None:
    tx = active_therapy(ctx)
    return Skip.na(f"on {tx.drug} (the monitoring rules apply)") if tx else None


def _therapy_signal(ctx: RuleContext, reason: str, **kw: object) -> Signal:
    """A therapy signal with the paediatric osteoporosis classification (BMD-02), a warning when
    medication data are missing, and the paediatric first line."""
    also: tuple[str, ...] = ()
    ped = paediatric_osteoporosis(ctx)
    if ped:
        also, reason = ("BMD-02",), f"{reason} This is {ped}."
    if not medications_known(ctx):
        reason += " Medication data were not available: check for current bone-targeted therapy."
    if is_child(ctx):
        reason += FIRST_LINE_CHILD
    return Signal(reason=reason, also=also, **kw)  # type: ignore[arg-type]


@rule("BT-01")
def vertebral_fracture(ctx: RuleContext) -> Outcome:
    return _vertebral(ctx, with_risk=True)


@rule("BT-01b")
def vertebral_fracture_no_risk(ctx: RuleContext) -> Outcome:
    return _vertebral(ctx, with_risk=False)


def _vertebral(ctx: RuleContext, with_risk: bool) -> Outcome:
    if (on := _on_therapy(ctx)) is not None:
        return on
    r = risk(ctx)
    all_vfs = [f for f in r.fractures if f.kind is FractureKind.VERTEBRAL]
    vfs = [f for f in all_vfs if treated_by(ctx, f) is None]
    if not all_vfs:
        return Skip.na("no vertebral fracture of sufficient grade")
    if not vfs:
        return Skip.na("the vertebral fracture was treated (MON-08 reviews a stopped course)")
    vf = max(vfs, key=lambda f: (not needs_confirmation(f), f.genant_grade or 1, str(f.when)))
    others = r.names(*vfs)
    if bool(others) is not with_risk:
        return Skip.na(
            "another persistent risk factor present (BT-01)"
            if others
            else "no other persistent risk factor (BT-01b)"
        )
    grade = vf.genant_grade
    # Critical needs a risk factor on final data: a preliminary low/falling DXA is listed, not counted.
    confirmed = r.confirmed_names(*vfs)
    ind = _cap(ctx, Indicator.CRITICAL if confirmed or (grade or 0) >= 2 else Indicator.WARNING, vf)
    preliminary_only = bool(others) and not confirmed and ind is Indicator.WARNING
    when = vf.when or "date not stated"
    if needs_confirmation(vf):
        summary = f"Possible vertebral fracture ({fracture_text(vf)}) on {when}: confirm; treat if confirmed"
    elif (not with_risk or preliminary_only) and ind is Indicator.WARNING:
        summary = (
            f"Mild vertebral deformity ({fracture_text(vf)}) on {when}: confirm by expert read; treat if so"
        )
    else:
        summary = (
            f"Vertebral fracture ({fracture_text(vf)}) on {when}: bone-targeted therapy indicated – refer"
        )
    if others:
        reason = (
            "A vertebral fracture is a clear indication for bone-targeted therapy; risk persists "
            f"({', '.join(others)})."
        )
    else:
        reason = "No other persistent risk factor: a mild deformity needs an expert read before treating."
    if preliminary_only:
        reason += " The DXA behind the risk factor is preliminary: confirm it before treating."
    if needs_confirmation(vf):
        reason += " The fracture is provisional or its mechanism unconfirmed: confirm before treating."
    return _therapy_signal(
        ctx,
        reason,
        indicator=ind,
        summary=summary,
        evidence=(*map(fracture_evidence, vfs), *r.evidence(ctx.today, *vfs)),
        key=f"BT-01:{fracture_key(vf)}",
        since=vf.when,
    )


@rule("BT-02")
def long_bone_fracture(ctx: RuleContext) -> Outcome:
    if (on := _on_therapy(ctx)) is not None:
        return on
    r = risk(ctx)
    lbs = [f for f in r.fractures if f.kind is FractureKind.LONG_BONE and treated_by(ctx, f) is None]
    if not lbs:
        return Skip.na("no untreated fragility long-bone fracture")
    fx = max(lbs, key=lambda f: (not needs_confirmation(f), str(f.when)))
    others = r.names(fx)
    if not others:
        return Skip.na("no persistent risk factor besides the fracture")
    severe = (r.low is not None and not r.low[1].preliminary) or any(
        f.kind is FractureKind.VERTEBRAL and not needs_confirmation(f) for f in r.fractures
    )
    ind = _cap(ctx, Indicator.CRITICAL if severe else Indicator.WARNING, fx)
    confirm = " (confirm mechanism)" if needs_confirmation(fx) else ""
    return _therapy_signal(
        ctx,
        f"A low-trauma long-bone fracture with persistent risk factors ({', '.join(others)})"
        + (", with low BMD or a vertebral fracture." if severe else "."),
        indicator=ind,
        summary=f"Fragility long-bone fracture ({fracture_text(fx)}, {fx.when or 'date not stated'}): "
        f"assess for bone-targeted therapy{confirm}",
        evidence=(fracture_evidence(fx), *r.evidence(ctx.today, fx)),
        key=f"BT-02:{fracture_key(fx)}",
        since=fx.when,
    )


@rule("BT-03")
def osteoporosis_by_bmd(ctx: RuleContext) -> Outcome:
    if (on := _on_therapy(ctx)) is not None:
        return on
    r = risk(ctx)
    if r.fractures:
        return Skip.na("a fracture is on record (BT-01/BT-02 apply)")
    if r.low is None or r.low[0].band != "adult_50_plus" or r.low[1].concept is not Concept.T_SCORE:
        return Skip.na("no low T-score from 50 years on a recent DXA")
    exam, m = r.low
    return _therapy_signal(
        ctx,
        f"{exam.why}; the lowest valid site is in the osteoporosis range (WHO).",
        indicator=Indicator.WARNING,
        summary=f"Osteoporosis by BMD ({score_text(m)} {site_label(m)}): bone-targeted therapy indicated",
        evidence=tuple(score_evidence(s, "lowest valid site" if s is m else "") for s in exam.scores),
        key=f"BT-03:{m.source}={m.value:g}",
    )


def _lowest_t(ctx: RuleContext) -> Measurement | None:
    ex = exams(ctx)
    if not ex:
        return None
    ts = [
        m
        for m in ctx.summary.series(Concept.T_SCORE)
        if m.when == ex[-1].when
        and m.comparator is None
        and not (m.site and m.site.value == "lumbar_spine" and ls_invalid_reason(ctx, m.when))
    ]
    return min(ts, key=lambda m: m.value) if ts and is_fresh(ctx, ts[0].when) else None


@rule("BT-04")
def glucocorticoid_osteoporosis(ctx: RuleContext) -> Outcome:
    if (on := _on_therapy(ctx)) is not None:
        return on
    b = ctx.t.bone
    r = risk(ctx)
    age = age_now(ctx)
    if r.gc is None:
        return Skip.na("no chronic glucocorticoid")
    if age is None or age < b.age_adult_years:
        return Skip.na("not an adult")
    low_t = _lowest_t(ctx)
    t_ok = (
        low_t is not None
        and (ctx.summary.age_at(low_t.when) or 0) >= b.acr_min_age_years
        and low_t.value <= b.t_low_mass_sd
    )
    prior = r.prior_fractures()
    if not t_ok and not prior:
        return Skip.below("no prior fragility fracture and no low T-score")
    what = "prior fragility fracture" if prior else f"{score_text(low_t)} {site_label(low_t)}"  # type: ignore[arg-type]
    reason = (
        "On chronic glucocorticoids a prior fragility fracture is high fracture risk: treat (oral "
        "bisphosphonate first; anabolic for very high risk)."
        if prior
        else "On chronic glucocorticoids with a low T-score: grade the fracture risk with FRAX adjusted for "
        "the glucocorticoid dose, and treat if it is moderate or high."
    )
    return _therapy_signal(
        ctx,
        reason,
        indicator=Indicator.WARNING if prior else Indicator.INFO,
        summary=f"Glucocorticoid osteoporosis risk ({what}): assess fracture risk (FRAX); treat if "
        "moderate/high",
        evidence=(
            *([score_evidence(low_t, "lowest T-score")] if t_ok and low_t else []),
            *r.evidence(ctx.today),
        ),
        key=f"BT-04:{r.key}:{low_t.source if t_ok and low_t else ''}",
    )


@rule("BT-06")
def preemptive(ctx: RuleContext) -> Outcome:
    if (on := _on_therapy(ctx)) is not None:
        return on
    r = risk(ctx)
    if r.fractures:
        return Skip.na("a fracture is on record")
    persistent = [
        n
        for n in (
            f"glucocorticoids ({r.gc.drug})" if r.gc else "",
            "non-ambulatory" if r.non_ambulatory else "",
        )
        if n
    ]
    if not persistent:
        return Skip.na("no persistent risk factor (chronic glucocorticoids, non-ambulatory)")
    fall = falling_rate(ctx)
    bmd: list[str] = []
    if r.low:
        bmd.append(f"low BMD ({score_text(r.low[1])})")
    if fall is not None:
        bmd.append(f"falling BMD ({fall.text})")
    if not bmd:
        return Skip.below("bone density neither low nor falling fast enough")
    ev = r.evidence(ctx.today)
    if fall is not None and r.falling is not fall:
        ev += list(fall.evidence)
    return _therapy_signal(
        ctx,
        "No fracture yet, but risk persists and bone density is low or falling: the field is moving to "
        "therapy before a first fracture (emerging practice; discuss with a bone-health expert).",
        indicator=Indicator.INFO,
        summary=f"No fracture yet, but {', '.join(persistent + bmd)}: discuss pre-emptive bone therapy",
        evidence=tuple(ev),
        key=f"BT-06:{r.key}:{fall.key if fall else ''}",
    )


def falling_rate(ctx: RuleContext) -> Decline | None:
    """The steepest fall in a Z- (or T-) score per year, when it reaches the pre-emptive rate."""
    rate = ctx.t.bone.preemptive_fall_sd_per_year
    found = [
        d
        for d in changes(ctx)
        if d.later.concept is not Concept.BMD and d.months > 0 and round(d.delta / d.months * 12, 2) <= -rate
    ]
    return min(found, key=lambda d: d.delta / d.months) if found else None


@rule("BT-07")
def before_starting(ctx: RuleContext) -> Outcome:
    b = ctx.t.bone
    s, ev, problems = ctx.summary, [], []
    vd = s.latest(Concept.VITAMIN_D_25OH)
    if vd and months_ago(ctx, vd.when) <= b.vitd_lookback_months:
        ev.append(Evidence("25-OH vitamin D", vd.display, vd.when, vd.source))
        if below(vd, b.vitd_deficient_ng_ml):
            problems.append(f"vitamin D {vd.display}")
    renal = [
        m
        for c in (Concept.CYSTATIN_C, Concept.CREATININE)
        if (m := s.latest(c)) and months_ago(ctx, m.when) <= b.renal_lookback_months
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
        return Skip.na("vitamin D and renal function known and adequate")
    return Signal(
        indicator=Indicator.INFO,
        summary="Before a bisphosphonate: correct vitamin D and check renal function (cystatin C "
        "if low muscle mass)",
        reason=f"Before starting: {'; '.join(problems)}. Creatinine overestimates renal function when muscle "
        "mass is low.",
        evidence=tuple(ev),
        key="BT-07:" + ";".join(problems),
    )

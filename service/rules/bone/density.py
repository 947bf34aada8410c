"""Bone density rules: one site only (BMD-03), site discordance (BMD-04), falling BMD review (BMD-05,
rides on the SI-04 card while the spine is not imaged), DXA surveillance (BMD-06) and Z-scores not
adjusted for height (BMD-07). BMD sets how often the spine is imaged; on its own it is not a treatment
indication in children."""

from __future__ import annotations

from datetime import timedelta

from service.fhir.summary import SITE_LABELS, ActionKind, Concept, Measurement, Site, Symptom
from service.rules.bone.dxa import (
    exams,
    fresh_exam,
    is_fresh,
    ls_invalid_reason,
    score_evidence,
    score_text,
    site_label,
)
from service.rules.bone.facts import active_therapy, chronic_gc, is_child, months_ago
from service.rules.bone.risk import risk
from service.rules.bone.trend import declines
from service.rules.core import Evidence, Indicator, Order, Outcome, RuleContext, Signal, Skip, rule


def dxa_sites(ctx: RuleContext) -> Order:
    """Sites to ask for: children lumbar spine and total body less head (lateral distal femur when
    non-ambulatory); adults lumbar spine, both hips, femoral neck and 33 % radius (ISCD)."""
    if is_child(ctx):
        ldf = ("lateral distal femur",) if ctx.summary.non_ambulatory else ()
        return Order(body_sites=("lumbar spine", "total body less head", *ldf))
    return Order(body_sites=("lumbar spine", "total hip (both sides)", "femoral neck", "33 % radius"))


@rule("BMD-03")
def one_site_only(ctx: RuleContext) -> Outcome:
    lookback = ctx.t.bone.sites_lookback_months
    recent = [e for e in exams(ctx) if months_ago(ctx, e.when) <= lookback]
    if not recent:
        return Skip.missing(f"no DXA in the last {lookback.text}")
    if recent[-1].band == "under_5":
        return Skip.na("DXA is not interpreted at this age")
    sites = frozenset(s for e in recent for s in e.sites)
    if len(sites) != 1:
        return Skip.na(f"{len(sites)} sites measured")
    site = SITE_LABELS[next(iter(sites))]
    non_amb = ctx.summary.non_ambulatory
    if is_child(ctx):
        add = "hip or total body less head" + (" or lateral distal femur" if non_amb else "")
    else:
        add = "hip or 33 % radius"
    return Signal(
        indicator=Indicator.INFO,
        summary=f"BMD from one site only ({site}, {recent[-1].when}): add {add}",
        reason="Bone loss is regional in neuromuscular disorders: one site can look normal while others "
        "are low, and the lumbar spine can look better as motor function declines.",
        evidence=tuple(score_evidence(m, "only site measured") for e in recent for m in e.scores)
        or (Evidence("DXA site", site, recent[-1].when),),
        key=f"BMD-03:{site}:{recent[-1].when}",
        since=recent[-1].when + timedelta(days=1),
        order=dxa_sites(ctx),
    )


def _normal(ctx: RuleContext, m: Measurement) -> bool:
    b = ctx.t.bone
    return m.value > (b.z_low_sd if m.concept is Concept.Z_SCORE else b.t_low_mass_sd)


@rule("BMD-04")
def site_discordance(ctx: RuleContext) -> Outcome:
    b = ctx.t.bone
    e = fresh_exam(ctx)
    if isinstance(e, Skip):
        return e
    why: list[str] = []
    for concept in (Concept.Z_SCORE, Concept.T_SCORE):
        same = [m for m in e.scores if m.concept is concept]
        spread = max((m.value for m in same), default=0) - min((m.value for m in same), default=0)
        if len({m.site for m in same}) >= 2 and round(spread, 2) >= b.site_spread_sd:
            why.append(f"sites differ by {spread:.1f} SD")
    ls = [m for m in e.scores if m.site is Site.LUMBAR_SPINE]
    others = [m for m in e.scores if m not in ls]
    if (
        ctx.summary.non_ambulatory
        and ls
        and others
        and _normal(ctx, ls[0])
        and not any(_normal(ctx, m) for m in others)
    ):
        why.append("lumbar spine is the only normal site in a non-ambulatory patient")
    bad = ls_invalid_reason(ctx, e.when) if Site.LUMBAR_SPINE in e.sites else None
    if bad:
        why.append(f"lumbar spine not valid ({bad})")
    if not why:
        return Skip.below(f"sites agree within {b.site_spread_sd.text}")
    low = e.lowest
    if low is not None:
        lowest = f"{site_label(low)} {score_text(low)}"
        summary = f"Site discordance: use the lowest valid site ({lowest}) – lumbar spine may mislead"
    else:
        summary = f"Lumbar spine BMD not valid ({bad}): measure hip, femur or radius instead"
    return Signal(
        indicator=Indicator.INFO,
        summary=summary,
        reason=f"{'; '.join(why).capitalize()}. Classify on the lowest valid site.",
        evidence=(
            *(score_evidence(m, "lowest valid site" if m is low else "") for m in e.scores),
            *(score_evidence(m, w) for m, w in e.set_aside),
        ),
        key=f"BMD-04:{e.when}:{';'.join(why)}",
        action=ActionKind.DXA if low is None else None,  # nothing valid left: other sites must be measured
        since=e.when + timedelta(days=1),
        order=dxa_sites(ctx),
    )


@rule("BMD-05")
def falling_bmd_review(ctx: RuleContext) -> Outcome:
    falls = declines(ctx)
    if not falls:
        return Skip.below("no fall in bone density between DXA scans")
    if active_therapy(ctx):
        return Skip.na("on bone-targeted therapy (MON-02 reviews a fall on therapy)")
    d = falls[0]
    gc = chronic_gc(ctx)
    review = "GC dose, vitamin D" if gc else "vitamin D, secondary causes"
    return Signal(
        indicator=Indicator.WARNING,
        summary=f"Bone density falling at {d.site} ({d.text}) – review {review}; bone-health referral",
        reason=f"Review {'the glucocorticoid dose, ' if gc else ''}vitamin D and secondary causes, and "
        "involve the bone-health team.",
        evidence=tuple(e for x in falls for e in x.evidence),
        key="|".join(x.key for x in falls),
        since=d.later.when,
    )


@rule("BMD-06")
def dxa_surveillance(ctx: RuleContext) -> Outcome:
    b = ctx.t.bone
    age = ctx.summary.age_at(ctx.today)
    if age is not None and age < b.age_dxa_min_years:
        return Skip.na("DXA is not interpreted at this age")
    r, ex = risk(ctx), exams(ctx)
    last = ex[-1] if ex else None
    months = months_ago(ctx, last.when) if last else None
    stale_low = bool(
        last
        and not is_fresh(ctx, last.when)
        and last.lowest
        and last.lowest.value
        <= (b.z_low_sd if last.lowest.concept is Concept.Z_SCORE else b.t_osteoporosis_sd)
    )
    due = months is None or months > b.dxa_warning_months
    if r.gc:
        if months is not None and months <= b.dxa_gc_info_months:
            return Skip.below(f"last DXA {months:.0f} months ago, due after {b.dxa_gc_info_months.text}")
        ind = Indicator.WARNING if due else Indicator.INFO
    elif due and (r.non_ambulatory or r.prior_fractures() or stale_low):
        ind = Indicator.INFO
    elif not due:
        return Skip.below(f"last DXA {months:.0f} months ago, due after {b.dxa_warning_months.text}")
    else:
        return Skip.na("no persistent risk factor")
    names = r.names() + (["earlier low BMD"] if stale_low and not r.low else [])
    when = f"last DXA {months:.0f} months ago" if last and months is not None else "no DXA on record"
    return Signal(
        indicator=ind,
        summary=f"DXA {'overdue' if ind is Indicator.WARNING else 'due'}: {when}; {', '.join(names)}",
        reason=f"With {', '.join(names)}, bone density is followed regularly; it also guides how often "
        "the spine is imaged.",
        evidence=(
            *r.evidence(ctx.today),
            *(score_evidence(m, "earlier scan") for m in (last.scores if last else ())),
            *(() if last else (Evidence("Last DXA", "none on record"),)),
        ),
        key=f"BMD-06:{last.when if last else ''}:{r.key}",
        order=dxa_sites(ctx),
    )


@rule("BMD-07")
def not_height_adjusted(ctx: RuleContext) -> Outcome:
    if not is_child(ctx):
        return Skip.na("adult")
    growth = [f for f in ctx.summary.findings if f.symptom is Symptom.HEIGHT_LOSS]
    if not growth:
        return Skip.na("no growth arrest or short stature recorded")
    ex = exams(ctx)
    if not ex or not is_fresh(ctx, ex[-1].when) or ex[-1].band != "child":
        return Skip.missing("no recent paediatric DXA")
    zs = [m for m in ex[-1].scores if m.concept is Concept.Z_SCORE]
    if not zs or any(m.height_adjusted for m in zs):
        return Skip.na("height-adjusted Z-score reported")
    return Signal(
        indicator=Indicator.INFO,
        summary="Z-score not height-adjusted – may overstate the deficit in a short child (use HAZ/BMAD)",
        reason="Short stature or growth arrest makes age-matched Z-scores look worse than they are; ask "
        "for height-adjusted Z (HAZ) or BMAD.",
        evidence=(
            Evidence("Growth", "height loss / growth arrest", growth[-1].when, growth[-1].source),
            *(score_evidence(m, "not height-adjusted") for m in zs),
        ),
        key=f"BMD-07:{ex[-1].when}",
    )

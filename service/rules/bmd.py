"""BMD rules (clinical-knowledge §2.B): falling BMD (SI-04 + BMD-05, one card), one site only (BMD-03),
site discordance (BMD-04), DXA surveillance (BMD-06) and Z-scores not adjusted for height (BMD-07).

BMD-01 (which score, lowest valid site) is ``_bone_dxa``; BMD-02 (paediatric osteoporosis) is in
``_bone_risk`` and shows in the bone-therapy card. BMD sets imaging frequency; it is not on its own a
treatment indication in children [S000, ISCD 2013].
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from service.fhir.summary import SITE_LABELS, ActionKind, Concept, Measurement, Symptom
from service.rules import citations as cite
from service.rules._bone_cards import (
    already_actioned,
    dxa_sites,
    dxa_suggestion,
    finding,
    referral_suggestion,
    spine_suggestions,
)
from service.rules._bone_data import active_therapy, gate, is_child, months_ago, th
from service.rules._bone_dxa import exams, is_fresh, ls_invalid_reason, score_evidence, site_label
from service.rules._bone_risk import risk
from service.rules._bone_trend import declines, threshold_keys
from service.rules.core import Evidence, Finding, Indicator, RuleContext, Topic
from service.rules.spine_imaging import imaging


def falling_bmd(ctx: RuleContext) -> Iterator[Finding]:
    """SI-04 (image the spine) merged with BMD-05 (review causes, refer); BMD-05 alone once imaged."""
    falls = declines(ctx) if gate(ctx) else []
    if not falls:
        return
    d = falls[0]
    on_therapy = active_therapy(ctx) is not None  # then MON-02 reviews the therapy instead of BMD-05
    ev = [e for x in falls for e in x.evidence]
    key = "|".join(x.key for x in falls)
    keys = threshold_keys(d)
    bmd05 = "Review glucocorticoid dose, vitamin D and secondary causes; involve the bone-health team."
    if not imaging(ctx, d.later.when) and not already_actioned(ctx, ActionKind.SPINE_IMAGING):
        ids = ("SI-04",) if on_therapy else ("SI-04", "BMD-05")
        summary = f"BMD falling at {d.site} ({d.text}): image the spine now for silent vertebral fractures"
        yield finding(
            ctx,
            ids,
            Topic.SPINE_IMAGING,
            Indicator.WARNING,
            summary,
            f"{d.text} at {d.site} over {d.months:.0f} months with no spine imaging since the later "
            f"scan; a falling BMD calls for spine imaging." + ("" if on_therapy else f" {bmd05}"),
            ev,
            action=ActionKind.SPINE_IMAGING,
            key=key,
            keys=(*keys, "order_window_spine_days"),
            cites=(cite.SEED_REVIEW_2026, cite.BUCKNER_2015, cite.DMD_CC_2018),
            suggestions=spine_suggestions(summary),
        )
    elif not on_therapy and not already_actioned(ctx, ActionKind.BONE_SPECIALIST_REFERRAL, d.later.when):
        summary = (
            f"Bone density falling at {d.site} ({d.text}) – review GC dose, vitamin D, bone-health referral"
        )
        yield finding(
            ctx,
            ("BMD-05",),
            Topic.BONE_THERAPY,
            Indicator.WARNING,
            summary,
            f"{d.text} at {d.site} over {d.months:.0f} months. {bmd05}",
            ev,
            action=ActionKind.BONE_SPECIALIST_REFERRAL,
            key=key,
            keys=(*keys, "order_window_referral_days"),
            cites=(cite.SEED_REVIEW_2026, cite.ISCD_ADULT),
            suggestions=referral_suggestion(summary),
        )


def bmd_one_site(ctx: RuleContext) -> Iterator[Finding]:
    """BMD-03: only one skeletal site measured in the last 24 months: ask for more sites."""
    recent = (
        [e for e in exams(ctx) if months_ago(ctx, e.when) <= th(ctx, "sites_lookback_months")]
        if gate(ctx)
        else []
    )
    if not recent or recent[-1].band == "under_5":
        return
    sites = frozenset(s for e in recent for s in e.sites)
    if len(sites) != 1 or already_actioned(ctx, ActionKind.DXA, recent[-1].when + timedelta(days=1)):
        return
    site = SITE_LABELS[next(iter(sites))]
    child, non_amb = is_child(ctx), ctx.summary.non_ambulatory
    add = (
        ("hip or total body less head" + (" or lateral distal femur" if non_amb else ""))
        if child
        else "hip or 33 % radius"
    )
    summary = f"BMD from one site only ({site}, {recent[-1].when}): add {add}"
    yield finding(
        ctx,
        ("BMD-03",),
        Topic.BMD_SITES,
        Indicator.INFO,
        summary,
        "Regional osteoporosis: one site can look normal while others are low (the lumbar spine can "
        "look better as motor function declines). Measure several sites.",
        [score_evidence(m, "only site measured") for e in recent for m in e.scores]
        or [Evidence("DXA site", site, recent[-1].when)],
        action=ActionKind.DXA,
        key=f"BMD-03:{site}:{recent[-1].when}",
        keys=("sites_lookback_months", "order_window_dxa_days"),
        cites=(cite.SEED_REVIEW_2026, cite.ISCD_PEDIATRIC, cite.ISCD_ADULT),
        suggestions=dxa_suggestion(summary, dxa_sites(child, non_amb)),
    )


def _normal(ctx: RuleContext, m: Measurement) -> bool:
    cut = th(ctx, "z_low_sd") if m.concept is Concept.Z_SCORE else th(ctx, "t_low_mass_sd")
    return m.value > cut


def bmd_discordance(ctx: RuleContext) -> Iterator[Finding]:
    """BMD-04: same-day spread >= 1.0 SD, lumbar spine the only normal site when non-ambulatory, or an
    invalid lumbar spine (VF, scoliosis, rods): use the lowest valid site."""
    ex = exams(ctx) if gate(ctx) else []
    if not ex or not is_fresh(ctx, ex[-1].when):
        return
    e = ex[-1]
    why: list[str] = []
    for concept in (Concept.Z_SCORE, Concept.T_SCORE):
        same = [m for m in e.scores if m.concept is concept]
        if len({m.site for m in same}) >= 2 and round(
            max(m.value for m in same) - min(m.value for m in same), 2
        ) >= th(ctx, "site_spread_sd"):
            why.append(f"sites differ by {max(m.value for m in same) - min(m.value for m in same):.1f} SD")
    ls = [m for m in e.scores if m.site and m.site.value == "lumbar_spine"]
    others = [m for m in e.scores if m not in ls]
    if (
        ctx.summary.non_ambulatory
        and ls
        and others
        and _normal(ctx, ls[0])
        and not any(_normal(ctx, m) for m in others)
    ):
        why.append("lumbar spine is the only normal site in a non-ambulatory patient")
    bad = ls_invalid_reason(ctx, e.when) if any(s.value == "lumbar_spine" for s in e.sites) else None
    if bad:
        why.append(f"lumbar spine not valid ({bad})")
    if not why:
        return
    low = e.lowest
    need_sites = low is None  # nothing valid left: other sites must be measured
    if low is not None:
        summary = (
            f"Site discordance: use the lowest valid site ({site_label(low)} "
            f"{'Z' if low.concept is Concept.Z_SCORE else 'T'} {low.value:g}) – lumbar spine may mislead"
        )
    else:
        summary = f"Lumbar spine BMD not valid ({bad}): measure hip, femur or radius instead"
    if need_sites and already_actioned(ctx, ActionKind.DXA, e.when + timedelta(days=1)):
        return
    yield finding(
        ctx,
        ("BMD-04",),
        Topic.BMD_SITES,
        Indicator.INFO,
        summary,
        f"{'; '.join(why).capitalize()}. {e.why}. Classify on the lowest valid site.",
        [score_evidence(m, "lowest valid site" if m is low else "") for m in e.scores]
        + [score_evidence(m, w) for m, w in e.set_aside],
        action=ActionKind.DXA if need_sites else None,
        key=f"BMD-04:{e.when}:{';'.join(why)}",
        keys=("site_spread_sd", "dxa_fresh_months"),
        cites=(cite.SEED_REVIEW_2026, cite.ISCD_ADULT, cite.ISCD_PEDIATRIC),
        suggestions=dxa_suggestion(summary, dxa_sites(is_child(ctx), ctx.summary.non_ambulatory))
        if need_sites
        else (),
    )


def dxa_surveillance(ctx: RuleContext) -> Iterator[Finding]:
    """BMD-06: persistent risk factor and no DXA in > 24 months (GC: > 12 info, > 24 warning); a stale
    low DXA is a 'repeat' info (§1.8), never a threshold card."""
    age = ctx.summary.age_at(ctx.today)
    if not gate(ctx) or (age is not None and age < th(ctx, "age_dxa_min_years")):
        return
    r, ex = risk(ctx), exams(ctx)
    last = ex[-1] if ex else None
    months = months_ago(ctx, last.when) if last else None
    stale_low = bool(
        last
        and not is_fresh(ctx, last.when)
        and last.lowest
        and last.lowest.value
        <= (th(ctx, "z_low_sd") if last.lowest.concept is Concept.Z_SCORE else th(ctx, "t_osteoporosis_sd"))
    )
    due = months is None or months > th(ctx, "dxa_warning_months")
    if r.gc:
        if months is not None and months <= th(ctx, "dxa_gc_info_months"):
            return
        ind = Indicator.WARNING if due else Indicator.INFO
    elif due and (r.non_ambulatory or r.prior_fractures() or stale_low):
        ind = Indicator.INFO
    else:
        return
    if already_actioned(ctx, ActionKind.DXA):
        return
    names = r.names() + (["earlier low BMD"] if stale_low and not r.low else [])
    when = (
        f"last DXA {last.when} ({months:.0f} months ago)"
        if last and months is not None
        else "no DXA on record"
    )
    summary = f"DXA surveillance due: {when}; {', '.join(names)}"
    yield finding(
        ctx,
        ("BMD-06",),
        Topic.BMD_SURVEILLANCE,
        ind,
        summary,
        f"Persistent risk factor ({', '.join(names)}): DXA every 1-2 years (yearly with glucocorticoids); "
        "BMD guides how often the spine is imaged.",
        [
            *r.evidence(ctx.today),
            *(score_evidence(m, "earlier scan") for m in (last.scores if last else ())),
            Evidence("Last DXA", str(last.when) if last else "none on record"),
        ],
        action=ActionKind.DXA,
        key=f"BMD-06:{last.when if last else ''}:{r.key}",
        keys=("dxa_gc_info_months", "dxa_warning_months", "dxa_fresh_months", "order_window_dxa_days"),
        cites=(cite.PPMD, cite.BUCKNER_2015, cite.DMD_CC_2018),
        suggestions=dxa_suggestion(summary, dxa_sites(is_child(ctx), ctx.summary.non_ambulatory)),
    )


def bmd_not_height_adjusted(ctx: RuleContext) -> Iterator[Finding]:
    """BMD-07: child with growth arrest / short stature and only age-matched (not height-adjusted) Z."""
    if not gate(ctx) or not is_child(ctx):
        return
    growth = [f for f in ctx.summary.findings if f.symptom is Symptom.HEIGHT_LOSS]
    ex = exams(ctx)
    if not growth or not ex or not is_fresh(ctx, ex[-1].when) or ex[-1].band != "child":
        return
    zs = [m for m in ex[-1].scores if m.concept is Concept.Z_SCORE]
    if not zs or any(m.height_adjusted for m in zs):
        return
    yield finding(
        ctx,
        ("BMD-07",),
        Topic.BMD_SITES,
        Indicator.INFO,
        "Z-score not height-adjusted – may overstate the deficit in a short child (use HAZ/BMAD)",
        "Short stature or growth arrest makes age-matched Z-scores look worse than they are; ISCD "
        "recommends height-adjusted Z (HAZ) or BMAD.",
        [
            Evidence("Growth", "height loss / growth arrest", growth[-1].when, growth[-1].source),
            *(score_evidence(m, "not height-adjusted") for m in zs),
        ],
        action=None,
        key=f"BMD-07:{ex[-1].when}",
        keys=("dxa_fresh_months",),
        cites=(cite.ISCD_PEDIATRIC,),
    )


BMD_RULES = (falling_bmd, bmd_one_site, bmd_discordance, dxa_surveillance, bmd_not_height_adjusted)

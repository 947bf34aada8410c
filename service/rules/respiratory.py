"""Respiratory follow-up rules RESP-01…RESP-04 (clinical-knowledge §2.G), only where justified.

ALS: FVC < 50 % predicted, |MIP| < 60 / |SNIP| < 40 cmH₂O or orthopnoea within 3 months → NIV
assessment (RESP-01, warning); VC or FVC < 1.1 L → respiratory review (RESP-02, warning); spirometry
every 3 months (RESP-03).
DMD/SMA/other NMD: FVC < 50 % → pulmonology review at info (RESP-04, [R]); spirometry every 6 months
when non-ambulatory (RESP-03). One finding per action: PULMONOLOGY_REFERRAL and SPIROMETRY. Litres and
% predicted are different concepts and never compared with each other.
"""

from __future__ import annotations

from dataclasses import replace

from service.fhir.summary import ActionKind, Concept, Measurement, Nmd, Symptom
from service.rules import citations as cite
from service.rules import thresholds_respiratory as T
from service.rules.core import Evidence, Finding, Indicator, Rule, RuleContext, SuggestedResource, Topic
from service.rules.nutrition_common import (
    Signal,
    already_actioned,
    below,
    evidence_of,
    is_fresh,
    merge,
    months,
    pct_predicted_series,
    service_request,
    tv,
)

_NIV = "respiratory insufficiency – refer for NIV assessment"


def _latest(ms: tuple[Measurement, ...] | list[Measurement]) -> Measurement | None:
    return ms[-1] if ms else None


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _strength(p: Measurement) -> Measurement:
    """An inspiratory pressure (MIP, SNIP) as its magnitude: it is a negative pressure, often recorded
    signed (-45 cmH₂O); the criterion is |MIP| < 60. A signed bound flips ('>-60' means weaker than 60)."""
    if p.value >= 0:
        return p
    return replace(p, value=-p.value, comparator=_FLIP.get(p.comparator or "", p.comparator))


def _pct_predicted(ctx: RuleContext) -> tuple[str, Measurement] | None:
    """Latest FVC % predicted (sent or computed from litres / predicted litres); VC % when no FVC % exists."""
    s = ctx.summary
    fvc = _latest(pct_predicted_series(s, Concept.FVC_PCT_PREDICTED, Concept.FVC, Concept.FVC_PREDICTED))
    if fvc is not None:
        return "FVC", fvc
    vc = _latest(pct_predicted_series(s, Concept.VC_PCT_PREDICTED, Concept.VC, Concept.VC_PREDICTED))
    return ("VC", vc) if vc is not None else None


def _litres(ctx: RuleContext) -> tuple[str, Measurement] | None:
    """Latest vital capacity in litres, FVC or (slow) VC; on a shared date the lower one."""
    both = [("FVC", m) for m in ctx.summary.series(Concept.FVC)] + [
        ("VC", m) for m in ctx.summary.series(Concept.VC)
    ]
    if not both:
        return None
    last = max(m.when for _, m in both)
    return min(((n, m) for n, m in both if m.when == last), key=lambda nm: nm[1].value)


def _threshold_signals(ctx: RuleContext, als: bool, fresh_days: float) -> tuple[list[Signal], list[Signal]]:
    """(signals on fresh data, signals that stale data would have given)."""
    fresh: list[Signal] = []
    stale: list[Signal] = []
    pct, low = _pct_predicted(ctx), tv(ctx, T.FVC_PCT_LOW)
    if pct is not None and below(pct[1], low):
        name, m = pct
        if als:
            sig = Signal(
                "RESP-01",
                Indicator.WARNING,
                f"{name} {m.display} predicted (< {low:g} %): {_NIV}",
                f"{name} below {low:g} % predicted meets NIV criteria in ALS (AAN 2009, Level B).",
                (evidence_of(f"{name} % predicted", m),),
                (cite.AAN_ALS_2009,),
                f"R:{m.source}={m.value:g}",
            )
        else:
            sig = Signal(
                "RESP-04",
                Indicator.INFO,
                f"{name} {m.display} predicted (< {low:g} %): pulmonology review (cough assist / NIV)",
                f"{name} below {low:g} % predicted in DMD/SMA/other NMD: pulmonology review [R].",
                (evidence_of(f"{name} % predicted", m),),
                (cite.DMD_CC_2018,),
                f"R:{m.source}={m.value:g}",
                ("Kept at info until the DMD CC 2018 figure is confirmed [R].",),
            )
        (fresh if is_fresh(m, ctx.today, fresh_days) else stale).append(sig)
    if not als:
        return fresh, stale
    for concept, limit_t, name in ((Concept.MIP, T.MIP_LOW, "MIP"), (Concept.SNIP, T.SNIP_LOW, "SNIP")):
        p, limit = ctx.summary.latest(concept), tv(ctx, limit_t)
        if p is not None and below(_strength(p), limit):
            sig = Signal(
                "RESP-01",
                Indicator.WARNING,
                f"{name} {p.value:g} cmH₂O (weaker than {limit:g}): {_NIV}",
                f"{name} weaker than {limit:g} cmH₂O is an NIV criterion in ALS.",
                (evidence_of(name, p),),
                (cite.AAN_ALS_2009,),
                f"R:{p.source}={p.value:g}",
            )
            (fresh if is_fresh(p, ctx.today, fresh_days) else stale).append(sig)
    # Only orthopnoea documented inside the ALS respiratory freshness window (§1.8, 3 months [R]) is a
    # current NIV criterion; an old or undated entry gives no card (RESP-03 asks for a reassessment).
    orth = [
        f
        for f in ctx.summary.findings
        if f.symptom is Symptom.ORTHOPNOEA
        and f.when is not None
        and 0 <= (ctx.today - f.when).days <= fresh_days
    ]
    if orth:
        fresh.append(
            Signal(
                "RESP-01",
                Indicator.WARNING,
                f"Orthopnoea in ALS: {_NIV}",
                "Orthopnoea is an NIV criterion in ALS (AAN 2009).",
                (Evidence("Orthopnoea", "documented", orth[-1].when, orth[-1].source),),
                (cite.AAN_ALS_2009,),
                f"R:{orth[-1].source}",
            )
        )
    vol, vlow = _litres(ctx), tv(ctx, T.VC_LITRES_LOW)
    if vol is not None and below(vol[1], vlow):
        name, m = vol
        sig = Signal(
            "RESP-02",
            Indicator.WARNING,
            f"{name} {m.display} (< {vlow:g} L): higher risk of hospitalisation for chest infection – "
            "respiratory review",
            f"A vital capacity below {vlow:g} L in ALS raises the risk of hospitalisation for "
            "lower respiratory tract infection.",
            (evidence_of(f"{name} (litres)", m),),
            (cite.SEED_ALS_NUTRITION,),
            f"R:{m.source}={m.value:g}",
        )
        (fresh if is_fresh(m, ctx.today, fresh_days) else stale).append(sig)
    return fresh, stale


def _spirometry_due(ctx: RuleContext, als: bool, fresh_days: float, stale: list[Signal]) -> list[Signal]:
    """RESP-03 (ALS; non-ambulatory DMD/SMA), and 'repeat measurement' for stale data (edge case 17)."""
    s = ctx.summary
    concepts = (Concept.FVC, Concept.VC, Concept.FVC_PCT_PREDICTED, Concept.VC_PCT_PREDICTED)
    dates = [m.when for c in concepts for m in s.series(c) if m.when <= ctx.today]
    last = max(dates) if dates else None
    overdue = last is None or (ctx.today - last).days > fresh_days
    due_population = als or (s.non_ambulatory and s.has(Nmd.DMD, Nmd.BECKER, Nmd.SMA))
    out: list[Signal] = []
    if overdue and due_population:
        ago = "none on record" if last is None else f"last FVC/VC {months((ctx.today - last).days)} ago"
        out.append(
            Signal(
                "RESP-03",
                Indicator.INFO,
                f"Spirometry (FVC, MIP/MEP) due: {ago}",
                f"Recommended every {fresh_days:g} days in this population.",
                (Evidence("Last FVC/VC", str(last) if last else "none"),),
                (cite.AAN_ALS_2009, cite.MDSTARNET_2016),
                f"S:{last}",
                ("ALS 3-monthly interval is a recalled figure [R].",) if als else (),
            )
        )
    for x in stale:
        out.append(
            Signal(
                x.rule_id,
                Indicator.INFO,
                f"Repeat spirometry: stale result would meet {x.rule_id} ({x.evidence[0].value})",
                f"Older than {fresh_days:g} days, so no threshold card. On that value: {x.summary}.",
                x.evidence,
                x.citations,
                "STALE:" + x.key,
            )
        )
    return out


def evaluate_respiratory(ctx: RuleContext) -> list[Finding]:
    """At most one pulmonology/NIV finding and one spirometry finding."""
    s = ctx.summary
    if not s.in_scope or s.deceased:
        return []
    als = s.has(Nmd.ALS)
    fresh_days = tv(ctx, T.FRESH_ALS if als else T.FRESH_OTHER)
    fresh, stale = _threshold_signals(ctx, als, fresh_days)
    findings: list[Finding] = []
    if fresh and not already_actioned(
        s, ActionKind.PULMONOLOGY_REFERRAL, ctx.today, tv(ctx, T.PULMONOLOGY_RECENT)
    ):
        lead = max(fresh, key=lambda x: x.indicator.rank)
        label = (
            "Refer for non-invasive ventilation assessment"
            if als
            else "Refer to pulmonology (cough assist / NIV)"
        )
        req = service_request(ActionKind.PULMONOLOGY_REFERRAL, lead.summary)
        f = merge(
            fresh,
            Topic.RESPIRATORY_REVIEW,
            ActionKind.PULMONOLOGY_REFERRAL,
            [SuggestedResource(label, req, ActionKind.PULMONOLOGY_REFERRAL)],
        )
        if f is not None:
            findings.append(f)
    due = _spirometry_due(ctx, als, fresh_days, stale)
    if due and not already_actioned(s, ActionKind.SPIROMETRY, ctx.today, tv(ctx, T.SPIROMETRY_RECENT)):
        req = service_request(ActionKind.SPIROMETRY, due[0].summary)
        f = merge(
            due,
            Topic.RESPIRATORY_REVIEW,
            ActionKind.SPIROMETRY,
            [SuggestedResource("Order spirometry (FVC, MIP/MEP)", req, ActionKind.SPIROMETRY)],
        )
        if f is not None:
            findings.append(f)
    return findings


RESPIRATORY_RULES: tuple[Rule, ...] = (evaluate_respiratory,)

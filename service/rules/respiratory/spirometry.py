"""RESP-01..RESP-04. ALS: FVC below the line, weak MIP or sniff pressure, or orthopnoea → NIV assessment
(RESP-01); vital capacity in litres below the line → respiratory review (RESP-02); spirometry every few
months (RESP-03). Other neuromuscular disorders: FVC below the line → pulmonology review at info
(RESP-04); spirometry when non-ambulatory (RESP-03). A result older than the freshness window is never
compared with a threshold: it asks for repeat spirometry instead. Litres and % predicted are different
concepts and never compared with each other."""

from __future__ import annotations

from dataclasses import replace

from service.fhir.summary import ActionKind, Concept, Measurement, Nmd, Symptom
from service.knowledge.model import Threshold
from service.rules.core import Evidence, Indicator, Outcome, RuleContext, Signal, Skip, rule
from service.rules.measures import below, evidence_of, is_fresh, months, pct_predicted_series

NIV = "respiratory insufficiency – refer for NIV assessment"
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


def fresh_days(ctx: RuleContext) -> Threshold:
    r = ctx.t.respiratory
    return r.fresh_als_days if ctx.summary.has(Nmd.ALS) else r.fresh_other_days


def _strength(p: Measurement) -> Measurement:
    """An inspiratory pressure (MIP, SNIP) as its magnitude: it is a negative pressure, often recorded
    signed (−45 cmH₂O); the criterion is on the absolute value. A signed bound flips ('>-60' is weaker)."""
    if p.value >= 0:
        return p
    return replace(p, value=-p.value, comparator=_FLIP.get(p.comparator or "", p.comparator))


def _pct_predicted(ctx: RuleContext) -> tuple[str, Measurement] | None:
    """Latest FVC % predicted (sent, or computed from litres / predicted); VC % when there is no FVC %."""
    s = ctx.summary
    fvc = pct_predicted_series(s, Concept.FVC_PCT_PREDICTED, Concept.FVC, Concept.FVC_PREDICTED)
    if fvc:
        return "FVC", fvc[-1]
    vc = pct_predicted_series(s, Concept.VC_PCT_PREDICTED, Concept.VC, Concept.VC_PREDICTED)
    return ("VC", vc[-1]) if vc else None


def _litres(ctx: RuleContext) -> tuple[str, Measurement] | None:
    """Latest vital capacity in litres, FVC or (slow) VC; on a shared date the lower one."""
    both = [("FVC", m) for m in ctx.summary.series(Concept.FVC)] + [
        ("VC", m) for m in ctx.summary.series(Concept.VC)
    ]
    if not both:
        return None
    last = max(m.when for _, m in both)
    return min(((n, m) for n, m in both if m.when == last), key=lambda nm: nm[1].value)


def _fresh_or_repeat(ctx: RuleContext, signal: Signal, m: Measurement | None) -> Signal:
    """The signal when its measurement is fresh; else a 'repeat spirometry' signal (never a "
    "threshold card)."""
    days = fresh_days(ctx)
    if m is None or is_fresh(m, ctx.today, days):
        return signal
    return Signal(
        indicator=Indicator.INFO,
        summary=f"Repeat spirometry: the last result ({signal.evidence[0].value}) is older than {days.text}",
        reason=f"The result is older than {days.text}, so it is not compared with thresholds. On that value: "
        f"{signal.summary}.",
        evidence=signal.evidence,
        key="STALE:" + signal.key,
        action=ActionKind.SPIROMETRY,
    )


def _fvc_signal(ctx: RuleContext, als: bool) -> Signal | None:
    low = ctx.t.respiratory.fvc_pct_low
    pct = _pct_predicted(ctx)
    if pct is None or not below(pct[1], low):
        return None
    name, m = pct
    if als:
        signal = Signal(
            indicator=Indicator.WARNING,
            summary=f"{name} {m.display} predicted (< {low.text}): {NIV}",
            reason=f"{name} below {low.text} predicted meets the criteria for non-invasive "
            "ventilation in ALS, "
            "which lengthens survival.",
            evidence=(evidence_of(f"{name} % predicted", m),),
            key=f"R:{m.source}={m.value:g}",
        )
    else:
        signal = Signal(
            indicator=Indicator.INFO,
            summary=f"{name} {m.display} predicted (< {low.text}): pulmonology review (cough assist / NIV)",
            reason=f"{name} below {low.text} predicted: review airway clearance and night-time ventilation.",
            evidence=(evidence_of(f"{name} % predicted", m),),
            key=f"R:{m.source}={m.value:g}",
        )
    return _fresh_or_repeat(ctx, signal, m)


@rule("RESP-01")
def niv_criteria(ctx: RuleContext) -> Outcome:
    r = ctx.t.respiratory
    if not ctx.summary.has(Nmd.ALS):
        return Skip.na("not ALS (RESP-04 applies)")
    out: list[Signal] = []
    fvc = _fvc_signal(ctx, als=True)
    if fvc is not None:
        out.append(fvc)
    for concept, limit, name in (
        (Concept.MIP, r.mip_low_cmh2o, "MIP"),
        (Concept.SNIP, r.snip_low_cmh2o, "SNIP"),
    ):
        p = ctx.summary.latest(concept)
        if p is not None and below(_strength(p), limit):
            signal = Signal(
                indicator=Indicator.WARNING,
                summary=f"{name} {p.value:g} cmH₂O (weaker than {limit.text}): {NIV}",
                reason=f"{name} weaker than {limit.text} is a criterion for non-invasive ventilation in ALS.",
                evidence=(evidence_of(name, p),),
                key=f"R:{p.source}={p.value:g}",
            )
            out.append(_fresh_or_repeat(ctx, signal, p))
    # Only orthopnoea documented inside the freshness window is a current criterion.
    days = fresh_days(ctx)
    orth = [
        f
        for f in ctx.summary.findings
        if f.symptom is Symptom.ORTHOPNOEA and f.when is not None and 0 <= (ctx.today - f.when).days <= days
    ]
    if orth:
        out.append(
            Signal(
                indicator=Indicator.WARNING,
                summary=f"Orthopnoea in ALS: {NIV}",
                reason="Orthopnoea is a criterion for non-invasive ventilation in ALS.",
                evidence=(Evidence("Orthopnoea", "documented", orth[-1].when, orth[-1].source),),
                key=f"R:{orth[-1].source}",
            )
        )
    return out or Skip.below("FVC, MIP and sniff pressure above the lines, no recent orthopnoea")


@rule("RESP-04")
def fvc_low_other(ctx: RuleContext) -> Outcome:
    if ctx.summary.has(Nmd.ALS):
        return Skip.na("ALS (RESP-01 applies)")
    signal = _fvc_signal(ctx, als=False)
    return signal or Skip.below(f"FVC % predicted not below {ctx.t.respiratory.fvc_pct_low.text}")


@rule("RESP-02")
def vital_capacity_litres(ctx: RuleContext) -> Outcome:
    if not ctx.summary.has(Nmd.ALS):
        return Skip.na("not ALS")
    vlow = ctx.t.respiratory.vc_low_l
    vol = _litres(ctx)
    if vol is None:
        return Skip.missing("no vital capacity in litres")
    name, m = vol
    if not below(m, vlow):
        return Skip.below(f"{name} {m.display} is not below {vlow.text}")
    signal = Signal(
        indicator=Indicator.WARNING,
        summary=f"{name} {m.display} (< {vlow.text}): higher risk of hospitalisation for chest infection – "
        "respiratory review",
        reason=f"A vital capacity below {vlow.text} in ALS raises the risk of hospitalisation for "
        "chest infection.",
        evidence=(evidence_of(f"{name} (litres)", m),),
        key=f"R:{m.source}={m.value:g}",
    )
    return _fresh_or_repeat(ctx, signal, m)


@rule("RESP-03")
def spirometry_due(ctx: RuleContext) -> Outcome:
    s = ctx.summary
    als = s.has(Nmd.ALS)
    if not (als or (s.non_ambulatory and s.has(Nmd.DMD, Nmd.BECKER, Nmd.SMA))):
        return Skip.na("not ALS, nor non-ambulatory DMD, Becker or SMA")
    days = fresh_days(ctx)
    concepts = (Concept.FVC, Concept.VC, Concept.FVC_PCT_PREDICTED, Concept.VC_PCT_PREDICTED)
    dates = [m.when for c in concepts for m in s.series(c) if m.when <= ctx.today]
    last = max(dates) if dates else None
    if last is not None and (ctx.today - last).days <= days:
        return Skip.below(f"spirometry on {last}")
    ago = "none on record" if last is None else f"last FVC/VC {months((ctx.today - last).days)} ago"
    return Signal(
        indicator=Indicator.INFO,
        summary=f"Spirometry (FVC, MIP/MEP) due: {ago}",
        reason=f"Vital capacity is followed at least every {days.text} in this population.",
        evidence=(Evidence("Last FVC/VC", "on record" if last else "none on record", last),),
        key=f"S:{last}",
    )

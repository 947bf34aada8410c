"""Falling bone density between two DXA scans (SI-04, BMD-05, MON-02): a Z- (or T-) score fall of at
least the decline threshold, or a BMD (g/cm²) fall of at least the site's least significant change,
between scans a set interval apart, same site and side, the later scan fresh. Bounded values and an
invalid lumbar spine are left out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from service.fhir.summary import Concept, Measurement, Site
from service.knowledge.model import Threshold
from service.rules.bone.dxa import is_fresh, ls_invalid_reason, score_evidence, site_label
from service.rules.bone.facts import months_between
from service.rules.core import Evidence, RuleContext, memo


@dataclass(frozen=True)
class Decline:
    earlier: Measurement
    later: Measurement
    delta: float  # SD for scores, % for BMD
    months: float
    lsc: Threshold | None = None  # the least significant change used for a BMD (g/cm²) decline
    falls: bool = True  # the change reaches the decline threshold

    @property
    def text(self) -> str:
        """'ΔZ -0.6' or 'BMD -6.1 %'."""
        if self.later.concept is Concept.BMD:
            return f"BMD {self.delta:+.1f} %"
        return f"Δ{'Z' if self.later.concept is Concept.Z_SCORE else 'T'} {self.delta:+.1f}"

    @property
    def site(self) -> str:
        return site_label(self.later)

    @property
    def evidence(self) -> tuple[Evidence, ...]:
        return (score_evidence(self.earlier, "earlier scan"), score_evidence(self.later, f"{self.text}"))

    @property
    def key(self) -> str:
        return (
            f"decline:{self.earlier.source}={self.earlier.value:g}>{self.later.source}={self.later.value:g}"
        )


def lsc_for(ctx: RuleContext, site: Site | None) -> Threshold | None:
    """The least significant change of BMD (g/cm²) at a site, or None for a site without one."""
    b = ctx.t.bone
    return {
        Site.LUMBAR_SPINE: b.lsc_lumbar_spine_pct,
        Site.TOTAL_HIP: b.lsc_total_hip_pct,
        Site.FEMORAL_NECK: b.lsc_femoral_neck_pct,
        Site.FOREARM: b.lsc_forearm_pct,
    }.get(site)  # type: ignore[arg-type]


def _series(ctx: RuleContext, concept: Concept) -> dict[tuple, list[Measurement]]:
    # Z-scores and BMD from the DXA age; T-scores only in adults (not used in children).
    b = ctx.t.bone
    min_age = b.age_adult_years if concept is Concept.T_SCORE else b.age_dxa_min_years
    out: dict[tuple, list[Measurement]] = {}
    for m in ctx.summary.series(concept):
        if m.site is None or m.site is Site.OTHER or m.comparator is not None or m.when > ctx.today:
            continue
        age = ctx.summary.age_at(m.when)
        if age is None or age < min_age:
            continue
        out.setdefault((m.site, m.laterality, m.height_adjusted), []).append(m)
    return {k: sorted(v, key=lambda m: m.when) for k, v in out.items()}


def _change(ctx: RuleContext, a: Measurement, b: Measurement) -> tuple[float, bool, Threshold | None]:
    if b.concept is Concept.BMD:
        lsc = lsc_for(ctx, b.site)
        if lsc is None or a.value <= 0:
            return 0.0, False, None
        pct = round((b.value - a.value) / a.value * 100, 2)
        return pct, pct <= -lsc, lsc
    delta = round(b.value - a.value, 2)  # rounding: -2.3 - -1.8 must be -0.5, not -0.4999
    return delta, delta <= -ctx.t.bone.decline_sd, None


@memo
def changes(ctx: RuleContext, later_from: date | None = None) -> tuple[Decline, ...]:
    """Per site/side/metric, the worst change into the latest (fresh) scan from an earlier scan inside
    the comparison interval."""
    found: list[Decline] = []
    lo, hi = ctx.t.bone.decline_min_months, ctx.t.bone.decline_max_months
    for concept in (Concept.Z_SCORE, Concept.T_SCORE, Concept.BMD):
        for (site, _side, _haz), ms in _series(ctx, concept).items():
            later = ms[-1]
            if not is_fresh(ctx, later.when) or (later_from and later.when < later_from):
                continue
            if site is Site.LUMBAR_SPINE and ls_invalid_reason(ctx, later.when):
                continue
            best: Decline | None = None
            for a in ms[:-1]:
                months = months_between(a.when, later.when)
                if not lo <= months <= hi:
                    continue
                delta, falls, lsc = _change(ctx, a, later)
                if concept is Concept.BMD and lsc is None:
                    continue  # no least significant change for this site
                if best is None or delta < best.delta:
                    best = Decline(a, later, delta, months, lsc, falls)
            if best:
                found.append(best)
    return tuple(sorted(found, key=lambda d: (d.later.concept is Concept.BMD, d.delta)))


def declines(ctx: RuleContext, later_from: date | None = None) -> tuple[Decline, ...]:
    """Changes that reach the decline threshold, worst first; scores before BMD g/cm²."""
    return tuple(d for d in changes(ctx, later_from) if d.falls)

"""Falling BMD between two DXA scans (SI-04, BMD-05, MON-02): a Z- (or T-) score fall >= 0.5 SD, or a
BMD (g/cm2) fall >= the site's least significant change, between scans 6-36 months apart, same site and
side, the later scan fresh. Comparator values and an invalid lumbar spine are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from service.fhir.summary import Concept, Measurement, Site
from service.rules._bone_data import months_between, th
from service.rules._bone_dxa import LSC_KEYS, is_fresh, ls_invalid_reason, score_evidence, site_label
from service.rules.core import Evidence, RuleContext


@dataclass(frozen=True)
class Decline:
    earlier: Measurement
    later: Measurement
    delta: float  # SD for scores, % for BMD
    months: float
    lsc_key: str | None = None  # threshold used for a BMD (g/cm2) decline
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
        return (
            score_evidence(self.earlier, "earlier scan"),
            score_evidence(self.later, f"{self.text} over {self.months:.0f} months"),
        )

    @property
    def key(self) -> str:
        return (
            f"decline:{self.earlier.source}={self.earlier.value:g}>{self.later.source}={self.later.value:g}"
        )


def _min_age(ctx: RuleContext, concept: Concept) -> float:
    # Z-scores from 5 y; T-scores only from 20 y (ignored in children, §1.2); BMD g/cm2 from 5 y.
    return th(ctx, "age_adult_years") if concept is Concept.T_SCORE else th(ctx, "age_dxa_min_years")


def _series(ctx: RuleContext, concept: Concept) -> dict[tuple, list[Measurement]]:
    out: dict[tuple, list[Measurement]] = {}
    for m in ctx.summary.series(concept):
        age = ctx.summary.age_at(m.when)
        if m.site is None or m.site is Site.OTHER or m.comparator is not None or m.when > ctx.today:
            continue
        if age is None or age < _min_age(ctx, concept):
            continue
        out.setdefault((m.site, m.laterality, m.height_adjusted), []).append(m)
    return {k: sorted(v, key=lambda m: m.when) for k, v in out.items()}


def _change(ctx: RuleContext, a: Measurement, b: Measurement) -> tuple[float, bool, str | None]:
    if b.concept is Concept.BMD:
        key = LSC_KEYS.get(b.site)  # type: ignore[arg-type]
        if key is None or a.value <= 0:
            return 0.0, False, None
        pct = round((b.value - a.value) / a.value * 100, 2)
        return pct, pct <= -th(ctx, key), key
    delta = round(b.value - a.value, 2)  # rounding: -2.3 - -1.8 must be -0.5, not -0.4999
    return delta, delta <= -th(ctx, "decline_sd"), None


def changes(ctx: RuleContext, later_from: date | None = None) -> list[Decline]:
    """Per site/side/metric, the worst change into the latest (fresh) scan from a scan 6-36 months before."""
    found: list[Decline] = []
    lo, hi = th(ctx, "decline_min_months"), th(ctx, "decline_max_months")
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
                delta, falls, key = _change(ctx, a, later)
                if concept is Concept.BMD and key is None:
                    continue  # no least significant change for this site
                if best is None or delta < best.delta:
                    best = Decline(a, later, delta, months, key, falls)
            if best:
                found.append(best)
    return sorted(found, key=lambda d: (d.later.concept is Concept.BMD, d.delta))


def declines(ctx: RuleContext, later_from: date | None = None) -> list[Decline]:
    """Changes that reach the decline threshold, worst first; scores before BMD g/cm2."""
    return [d for d in changes(ctx, later_from) if d.falls]


def threshold_keys(d: Decline) -> tuple[str, ...]:
    base = ("bone.decline_min_months", "bone.decline_max_months")
    return base + ((f"bone.{d.lsc_key}",) if d.lsc_key else ("bone.decline_sd",))

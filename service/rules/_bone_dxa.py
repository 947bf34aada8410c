"""BMD-01: which DXA score is used at each date and site, the lowest valid site, and decline between scans.

Age is taken at the scan date (§1.2): under 5 y not interpreted; 5 - <20 y Z-score only (T ignored);
20 - <50 y Z-score (no WHO T classes); >= 50 y T-score; women 45 - <55 y without menopausal status: both
scores reported, no classification. Lumbar spine is not a valid site with scoliosis, spinal fusion or a
lumbar vertebral fracture (§4 item 13). Trends compare the same site and side only (§4 item 10).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import groupby

from service.fhir.summary import SITE_LABELS, Concept, Measurement, Site, Symptom
from service.rules._bone_data import is_vf, months_between, th
from service.rules.core import Evidence, RuleContext

DXA_CONCEPTS = (Concept.BMD, Concept.T_SCORE, Concept.Z_SCORE)
LSC_KEYS = {
    Site.LUMBAR_SPINE: "lsc_lumbar_spine_pct",
    Site.TOTAL_HIP: "lsc_total_hip_pct",
    Site.FEMORAL_NECK: "lsc_femoral_neck_pct",
    Site.FOREARM: "lsc_forearm_pct",
}
METRIC = {Concept.Z_SCORE: "Z", Concept.T_SCORE: "T"}


def site_label(m: Measurement) -> str:
    name = SITE_LABELS.get(m.site, "site") if m.site else "site"
    return f"{name} ({m.laterality})" if m.laterality else name


def score_evidence(m: Measurement, why: str = "") -> Evidence:
    kind = {Concept.Z_SCORE: "HAZ Z-score" if m.height_adjusted else "Z-score", Concept.T_SCORE: "T-score"}
    label = f"{kind.get(m.concept, 'BMD')} {site_label(m)}"
    note = (" (preliminary)" if m.preliminary else "") + (f" – {why}" if why else "")
    return Evidence(
        label, f"{m.display} SD{note}" if m.unit == "SD" else f"{m.display}{note}", m.when, m.source
    )


@dataclass(frozen=True)
class Exam:
    """One DXA date: the score used per site, and what was set aside and why."""

    when: date
    age: float | None
    band: str  # "under_5" | "child" | "adult_under_50" | "adult_50_plus" | "unclassified" | "unknown_age"
    why: str  # which score and why, for the card detail
    scores: tuple[Measurement, ...]  # chosen valid score per (site, side)
    set_aside: tuple[tuple[Measurement, str], ...]
    sites: frozenset[Site]  # every site measured that day (BMD, T or Z)

    @property
    def lowest(self) -> Measurement | None:
        return min(self.scores, key=lambda m: m.value) if self.scores else None


def ls_invalid_reason(ctx: RuleContext, when: date) -> str | None:
    """Why lumbar-spine DXA is not valid at a date (scoliosis, rods, lumbar or unlocated VF), else None."""
    for f in ctx.summary.findings:
        if f.symptom in (Symptom.SCOLIOSIS, Symptom.SPINAL_FUSION) and (f.when is None or f.when <= when):
            return "spinal fusion/rods" if f.symptom is Symptom.SPINAL_FUSION else "scoliosis"
    for fx in ctx.summary.fractures:
        if (
            is_vf(ctx, fx)
            and (fx.when is None or fx.when <= when)
            and (fx.level or "L").upper().startswith("L")
        ):
            return f"vertebral fracture ({fx.level or 'level not stated'})"
    return None


def _band(ctx: RuleContext, when: date) -> tuple[str, float | None]:
    s = ctx.summary
    age = s.age_at(when)
    if age is None:
        return "unknown_age", None
    if age < th(ctx, "age_dxa_min_years"):
        return "under_5", age
    if age < th(ctx, "age_adult_years"):
        return "child", age
    if s.sex != "male" and th(ctx, "menopause_unknown_from_years") <= age < th(
        ctx, "menopause_unknown_to_years"
    ):
        return "unclassified", age  # menopausal status is not coded: report both, do not classify
    return ("adult_under_50" if age < th(ctx, "age_t_classes_years") else "adult_50_plus"), age


WHY = {
    "child": "Z-score used: age {age:.0f} y at scan (T-scores are not used under 20 y)",
    "adult_under_50": "Z-score used: age {age:.0f} y at scan (WHO T-score classes apply only from 50 y)",
    "adult_50_plus": "T-score used: age {age:.0f} y at scan (WHO classes from 50 y)",
    "unclassified": "age {age:.0f} y, menopausal status not recorded: Z and T reported, not classified",
    "under_5": "age {age:.1f} y at scan: DXA not interpreted under 5 y",
    "unknown_age": "birth date unknown: DXA not classified",
}


def exam_on(ctx: RuleContext, when: date, ms: list[Measurement]) -> Exam:
    band, age = _band(ctx, when)
    ls_bad = ls_invalid_reason(ctx, when)
    want = {
        "child": Concept.Z_SCORE,
        "adult_under_50": Concept.Z_SCORE,
        "adult_50_plus": Concept.T_SCORE,
    }.get(band)
    chosen: list[Measurement] = []
    aside: list[tuple[Measurement, str]] = []
    scores = [m for m in ms if m.concept in METRIC and m.comparator is None]
    for key, group in groupby(
        sorted(scores, key=lambda m: (m.site, m.laterality or "")), key=lambda m: (m.site, m.laterality)
    ):
        g = list(group)
        if want is None:
            aside += [(m, WHY[band].format(age=age or 0)) for m in g]
            continue
        if key[0] is Site.LUMBAR_SPINE and ls_bad:
            aside += [(m, f"lumbar spine not valid: {ls_bad}") for m in g]
            continue
        pick = [m for m in g if m.concept is want]
        if not pick and band == "adult_50_plus":
            pick = [m for m in g if m.concept is Concept.Z_SCORE]  # no T reported: Z with caution
        ignored = "T-score ignored under 20 y" if band == "child" else "T-score not classified under 50 y"
        aside += [(m, ignored) for m in g if m.concept is Concept.T_SCORE and want is Concept.Z_SCORE]
        if not pick:
            continue
        # height-adjusted Z (HAZ/BMAD) is preferred in children (ISCD 2013)
        chosen.append(sorted(pick, key=lambda m: (not m.height_adjusted, m.preliminary))[0])
    why = WHY[band].format(age=age or 0)
    return Exam(when, age, band, why, tuple(chosen), tuple(aside), frozenset(m.site for m in ms if m.site))


def exams(ctx: RuleContext) -> list[Exam]:
    """DXA exams up to today, oldest first."""
    ms = [
        m
        for m in ctx.summary.measurements
        if m.concept in DXA_CONCEPTS and m.site is not None and m.when <= ctx.today
    ]
    return [
        exam_on(ctx, d, list(g)) for d, g in groupby(sorted(ms, key=lambda m: m.when), key=lambda m: m.when)
    ]


def is_fresh(ctx: RuleContext, when: date) -> bool:
    return months_between(when, ctx.today) <= th(ctx, "dxa_fresh_months")


def low_score(ctx: RuleContext, m: Measurement) -> bool:
    """Z <= -2.0 (below expected range) or T <= -2.5 (osteoporosis), per the metric the band chose."""
    cut = th(ctx, "z_low_sd") if m.concept is Concept.Z_SCORE else th(ctx, "t_osteoporosis_sd")
    return m.value <= cut


def latest_low(ctx: RuleContext, fresh_only: bool = True) -> tuple[Exam, Measurement] | None:
    """The latest exam's lowest valid score when it is low (fresh exams only unless asked)."""
    ex = exams(ctx)
    if not ex or (fresh_only and not is_fresh(ctx, ex[-1].when)):
        return None
    low = ex[-1].lowest
    return (ex[-1], low) if low is not None and low_score(ctx, low) else None

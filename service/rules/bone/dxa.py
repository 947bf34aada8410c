"""Which DXA score is read at each scan (BMD-01): the metric by age band, the valid sites, the lowest
valid site. Age is taken at the scan date; a coded post-menopausal status applies the T-score classes.
The lumbar spine is not valid with scoliosis, spinal fusion (status or procedure) or a lumbar vertebral
fracture (an unlocated one is not assumed lumbar). Trends compare the same site and side only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import groupby

from service.fhir.summary import SITE_LABELS, Concept, Measurement, Site, Symptom
from service.rules.bone.facts import is_vf, months_between
from service.rules.core import Evidence, RuleContext, Skip, memo

DXA_CONCEPTS = (Concept.BMD, Concept.T_SCORE, Concept.Z_SCORE)
METRIC = {Concept.Z_SCORE: "Z", Concept.T_SCORE: "T"}


def site_label(m: Measurement) -> str:
    name = SITE_LABELS.get(m.site, "site") if m.site else "site"
    return f"{name} ({m.laterality})" if m.laterality else name


def score_name(m: Measurement) -> str:
    """'Z', 'HAZ', 'T' or 'BMD' — how the score is named in a summary."""
    if m.concept is Concept.Z_SCORE:
        return "HAZ" if m.height_adjusted else "Z"
    return METRIC.get(m.concept, "BMD")


def score_text(m: Measurement) -> str:
    """'Z −2.3' / 'T −2.6' — the metric with its value, as a summary names it."""
    return f"{score_name(m)} {m.display}"


def score_evidence(m: Measurement, why: str = "") -> Evidence:
    kind = {Concept.Z_SCORE: "HAZ Z-score" if m.height_adjusted else "Z-score", Concept.T_SCORE: "T-score"}
    label = f"{kind.get(m.concept, 'BMD')} {site_label(m)}"
    note = (" (preliminary)" if m.preliminary else "") + (f" – {why}" if why else "")
    value = f"{m.display} SD{note}" if m.unit == "SD" else f"{m.display}{note}"
    return Evidence(label, value, m.when, m.source, part=label)


@dataclass(frozen=True)
class Exam:
    """One DXA date: the score used per site, and what was set aside and why."""

    when: date
    age: float | None
    band: str  # "under_5" | "child" | "adult_under_50" | "adult_50_plus" | "unclassified" | "unknown_age"
    why: str  # which score and why, for the card
    scores: tuple[Measurement, ...]  # chosen valid score per (site, side)
    set_aside: tuple[tuple[Measurement, str], ...]
    sites: frozenset[Site]  # every site measured that day (BMD, T or Z)

    @property
    def lowest(self) -> Measurement | None:
        return min(self.scores, key=lambda m: m.value) if self.scores else None


def is_lumbar(level: str | None) -> bool:
    """Whether a vertebral level names the lumbar spine ("L2", "lumbar", "thoracolumbar",
    "lumbosacral", a range touching L). An unknown level is unknown, never assumed lumbar."""
    if not level:
        return False
    return "lumbar" in level.lower() or any(part.strip().upper().startswith("L") for part in level.split("-"))


def ls_invalid_reason(ctx: RuleContext, when: date) -> str | None:
    """Why lumbar-spine DXA is not valid at a date (scoliosis, rods, a lumbar VF), else None."""
    for f in ctx.summary.findings:
        if f.symptom in (Symptom.SCOLIOSIS, Symptom.SPINAL_FUSION) and (f.when is None or f.when <= when):
            return "spinal fusion/rods" if f.symptom is Symptom.SPINAL_FUSION else "scoliosis"
    for fx in ctx.summary.fractures:
        if is_vf(ctx, fx) and (fx.when is None or fx.when <= when) and is_lumbar(fx.level):
            return f"vertebral fracture ({fx.level})"
    return None


def postmenopausal_at(ctx: RuleContext, when: date) -> bool:
    """A woman with a coded post-menopausal status recorded on or before ``when`` (undated: always;
    Z78.0, N95.1, N95.8/N95.9, SNOMED 161712005, a coded answer)."""
    return ctx.summary.sex != "male" and any(
        f.symptom is Symptom.POSTMENOPAUSAL and (f.when is None or f.when <= when)
        for f in ctx.summary.findings
    )


def _band(ctx: RuleContext, when: date) -> tuple[str, float | None, bool]:
    """(band, age at the scan, whether a coded post-menopausal status decided it)."""
    s, b = ctx.summary, ctx.t.bone
    age = s.age_at(when)
    if age is None:
        return "unknown_age", None, False
    if age < b.age_dxa_min_years:
        return "under_5", age, False
    if age < b.age_adult_years:
        return "child", age, False
    if postmenopausal_at(ctx, when):  # post-menopausal women are read by T-score at any adult age
        return "adult_50_plus", age, age < b.age_t_classes_years or age < b.menopause_unknown_to_years
    if s.sex != "male" and b.menopause_unknown_from_years <= age < b.menopause_unknown_to_years:
        return "unclassified", age, False  # menopausal status is not coded: report both, do not classify
    return ("adult_under_50" if age < b.age_t_classes_years else "adult_50_plus"), age, False


def _why(ctx: RuleContext, band: str, age: float | None, coded: bool = False) -> str:
    b = ctx.t.bone
    a = f"{age or 0:.0f}"
    if coded:
        return f"T-score used: post-menopausal (coded status), age {a} at the scan"
    return {
        "child": f"Z-score used: age {a} at the scan (T-scores are not used under {b.age_adult_years.text})",
        "adult_under_50": f"Z-score used: age {a} at the scan (WHO T-score classes apply from "
        f"{b.age_t_classes_years.text})",
        "adult_50_plus": f"T-score used: age {a} at the scan",
        "unclassified": f"age {a}, menopausal status not recorded: Z and T reported, not classified",
        "under_5": f"age {age or 0:.1f} at the scan: DXA not interpreted under {b.age_dxa_min_years.text}",
        "unknown_age": "birth date unknown: DXA not classified",
    }[band]


def exam_on(ctx: RuleContext, when: date, ms: list[Measurement]) -> Exam:
    band, age, coded = _band(ctx, when)
    why = _why(ctx, band, age, coded)
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
            aside += [(m, why) for m in g]
            continue
        if key[0] is Site.LUMBAR_SPINE and ls_bad:
            aside += [(m, f"lumbar spine not valid: {ls_bad}") for m in g]
            continue
        pick = [m for m in g if m.concept is want]
        if not pick and band == "adult_50_plus":
            pick = [m for m in g if m.concept is Concept.Z_SCORE]  # no T reported: Z with caution
        ignored = "T-score not used in children" if band == "child" else "T-score not classified before 50"
        aside += [(m, ignored) for m in g if m.concept is Concept.T_SCORE and want is Concept.Z_SCORE]
        if not pick:
            continue
        # a height-adjusted Z (HAZ/BMAD) is preferred in children
        chosen.append(sorted(pick, key=lambda m: (not m.height_adjusted, m.preliminary))[0])
    return Exam(when, age, band, why, tuple(chosen), tuple(aside), frozenset(m.site for m in ms if m.site))


@memo
def exams(ctx: RuleContext) -> tuple[Exam, ...]:
    """DXA exams up to today, oldest first."""
    ms = sorted(
        (
            m
            for c in DXA_CONCEPTS
            for m in ctx.summary.series(c)
            if m.site is not None and m.when <= ctx.today
        ),
        key=lambda m: (m.when, m.source, m.concept),
    )
    return tuple(exam_on(ctx, d, list(g)) for d, g in groupby(ms, key=lambda m: m.when))


def is_fresh(ctx: RuleContext, when: date) -> bool:
    return months_between(when, ctx.today) <= ctx.t.bone.dxa_fresh_months


def stale_exam(ctx: RuleContext, exam: Exam) -> Skip | None:
    """Why the latest exam is too old to compare with a threshold, or None when it is fresh."""
    if is_fresh(ctx, exam.when):
        return None
    return Skip.stale(f"latest DXA {exam.when} is older than {ctx.t.bone.dxa_fresh_months.text}")


def fresh_exam(ctx: RuleContext) -> Exam | Skip:
    """The latest DXA exam when it is fresh enough to compare with a threshold, else why not."""
    ex = exams(ctx)
    if not ex:
        return Skip.missing("no DXA on record")
    return stale_exam(ctx, ex[-1]) or ex[-1]


def low_score(ctx: RuleContext, m: Measurement) -> bool:
    """Z at or below the low-for-age line, or T at or below the osteoporosis line, per the band's metric."""
    b = ctx.t.bone
    return m.value <= (b.z_low_sd if m.concept is Concept.Z_SCORE else b.t_osteoporosis_sd)


@memo
def latest_low(ctx: RuleContext) -> tuple[Exam, Measurement] | None:
    """The latest (fresh) exam's lowest valid score when it is low."""
    ex = exams(ctx)
    if not ex or not is_fresh(ctx, ex[-1].when):
        return None
    low = ex[-1].lowest
    return (ex[-1], low) if low is not None and low_score(ctx, low) else None

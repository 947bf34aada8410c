"""Facts the bone rules share: elapsed time and age, glucocorticoid and bone-therapy exposure, and which
fractures count as fragility fractures. Each is computed once per request (``memo``)."""

from __future__ import annotations

from datetime import date

from service.fhir.summary import DrugClass, Fracture, FractureKind, MedicationCourse
from service.rules.core import Evidence, RuleContext, memo

DAYS_PER_MONTH = 365.25 / 12  # calendar average; intervals are stated in months


def months_between(earlier: date, later: date) -> float:
    return (later - earlier).days / DAYS_PER_MONTH


def months_ago(ctx: RuleContext, when: date) -> float:
    return months_between(when, ctx.today)


def years_between(earlier: date, later: date) -> float:
    """Completed calendar years plus the fraction of the current one (five years to the day is 5.0)."""
    years = later.year - earlier.year - ((later.month, later.day) < (earlier.month, earlier.day))
    last, following = (
        _anniversary(earlier, earlier.year + years),
        _anniversary(earlier, earlier.year + years + 1),
    )
    return years + (later - last).days / (following - last).days


def _anniversary(d: date, year: int) -> date:
    try:
        return d.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 3, 1)


def age_now(ctx: RuleContext) -> float | None:
    return ctx.summary.age_at(ctx.today)


def is_child(ctx: RuleContext) -> bool:
    age = age_now(ctx)
    return age is not None and age < ctx.t.bone.age_adult_years


def medications_known(ctx: RuleContext) -> bool:
    """False when the data layer reports that no medication resources were obtained (an empty
    ``data_complete`` means "not reported" and is taken as complete)."""
    got = ctx.summary.data_complete
    return not got or any(kind.lower().startswith("medication") for kind in got)


# --- glucocorticoids -------------------------------------------------------------------------------
@memo
def chronic_gc(ctx: RuleContext) -> MedicationCourse | None:
    """The earliest-started systemic glucocorticoid course long enough to be chronic that is active or
    ended recently."""
    b = ctx.t.bone
    found: list[MedicationCourse] = []
    for c in ctx.summary.courses(DrugClass.GLUCOCORTICOID):
        days = c.days_on(ctx.today)
        if days is None or days < b.gc_chronic_days:
            continue
        if c.active or (c.end is not None and (ctx.today - c.end).days <= b.gc_recently_active_days):
            found.append(c)
    return min(found, key=lambda c: c.start or ctx.today) if found else None


def gc_evidence(c: MedicationCourse, today: date) -> Evidence:
    months = (c.days_on(today) or 0) / DAYS_PER_MONTH
    state = "ongoing" if c.active else "stopped"
    return Evidence(
        "Systemic glucocorticoid since", f"{c.drug}, {months:.0f} months, {state}", c.start, c.sources[0]
    )


# --- bone-targeted therapy -------------------------------------------------------------------------
def bone_courses(ctx: RuleContext) -> tuple[MedicationCourse, ...]:
    return tuple(c for c in ctx.summary.medications if c.drug_class.is_bone_therapy)


@memo
def active_therapy(ctx: RuleContext) -> MedicationCourse | None:
    """The longest-running current bone-targeted course (last dose within its interval)."""
    active = [c for c in bone_courses(ctx) if c.active]
    return min(active, key=lambda c: c.start or ctx.today) if active else None


def stop_date(c: MedicationCourse) -> date | None:
    return c.end or c.last_dose


def therapy_evidence(c: MedicationCourse) -> Evidence:
    if c.active:
        return Evidence("Bone-targeted therapy since", f"{c.drug}, current", c.start, c.sources[0])
    return Evidence(
        "Bone-targeted therapy, last dose", f"{c.drug}, stopped", c.last_dose or c.end, c.sources[0]
    )


# --- fractures -------------------------------------------------------------------------------------
def is_vf(ctx: RuleContext, f: Fracture) -> bool:
    """A vertebral fracture that counts: Genant grade at least the minimum (borderline does not; an
    unstated grade counts), not traumatic (a high-energy external-cause code makes it not one)."""
    if f.kind is not FractureKind.VERTEBRAL or f.low_trauma is False:
        return False
    return f.genant_grade is None or f.genant_grade >= ctx.t.bone.genant_min_grade


def is_long_bone_fragility(f: Fracture) -> bool:
    """A long-bone fracture not known to be traumatic (unknown mechanism counts, but needs confirmation)."""
    return f.kind is FractureKind.LONG_BONE and f.low_trauma is not False


def needs_confirmation(f: Fracture) -> bool:
    return f.provisional or f.low_trauma is None


@memo
def fragility_fractures(ctx: RuleContext) -> tuple[Fracture, ...]:
    return tuple(f for f in ctx.summary.fractures if is_vf(ctx, f) or is_long_bone_fragility(f))


def treated_by(ctx: RuleContext, f: Fracture) -> MedicationCourse | None:
    """The bone-targeted course given at or after a fracture (an undated fracture: any course), if any:
    the fracture has been treated."""
    for c in bone_courses(ctx):
        until = ctx.today if c.active else (c.end or c.last_dose or ctx.today)
        if f.when is None or until >= f.when:
            return c
    return None


def fracture_text(f: Fracture) -> str:
    """'T12, Genant 2' / 'femur' — the short part used in summaries."""
    if f.kind is FractureKind.VERTEBRAL:
        grade = f"Genant {f.genant_grade:g}" if f.genant_grade is not None else "grade not stated"
        return f"{f.level or 'level not stated'}, {grade}"
    return f.level or "long bone"


def fracture_evidence(f: Fracture) -> Evidence:
    label = "Vertebral fracture" if f.kind is FractureKind.VERTEBRAL else "Long-bone fracture"
    flags = []
    if f.provisional:
        flags.append("provisional")
    if f.low_trauma is None:
        flags.append("mechanism unconfirmed")
    elif f.cause:
        flags.append(f"{'low-energy' if f.low_trauma else 'high-energy'} mechanism {f.cause}")
    extra = f" ({', '.join(flags)})" if flags else ""
    return Evidence(label, f"{fracture_text(f)}{extra}", f.when, f.sources[0] if f.sources else None)


def fracture_key(f: Fracture) -> str:
    return f"{f.kind}:{f.level}:{f.genant_grade}:{f.when}:{','.join(sorted(f.sources))}"

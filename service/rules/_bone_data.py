"""Facts the bone rules share: population gate, elapsed time, glucocorticoid and bone-therapy exposure,
and which fractures count as fragility fractures (clinical-knowledge §1.1, §1.3, §1.4, §1.6).
"""

from __future__ import annotations

from datetime import date

from service.fhir.summary import DrugClass, Fracture, FractureKind, MedicationCourse
from service.rules.core import Evidence, RuleContext

DAYS_PER_MONTH = 365.25 / 12  # calendar average; intervals are stated in months


def th(ctx: RuleContext, name: str) -> float:
    """Value of threshold ``bone.<name>`` in force (institution overrides applied)."""
    return ctx.thresholds[f"bone.{name}"].value


def gate(ctx: RuleContext) -> bool:
    """Population gate (§1.1): an in-scope NMD and not deceased."""
    return ctx.summary.in_scope and not ctx.summary.deceased


def months_between(earlier: date, later: date) -> float:
    return (later - earlier).days / DAYS_PER_MONTH


def months_ago(ctx: RuleContext, when: date) -> float:
    return months_between(when, ctx.today)


def age_now(ctx: RuleContext) -> float | None:
    return ctx.summary.age_at(ctx.today)


def is_child(ctx: RuleContext) -> bool:
    age = age_now(ctx)
    return age is not None and age < th(ctx, "age_adult_years")


def medications_known(ctx: RuleContext) -> bool:
    """False when the data layer reports that no medication resources were obtained (edge case 23).

    An empty ``data_complete`` means "not reported" and is taken as complete.
    """
    got = ctx.summary.data_complete
    return not got or any(kind.lower().startswith("medication") for kind in got)


# --- glucocorticoids (§1.3) ------------------------------------------------------------------------
def chronic_gc(ctx: RuleContext) -> MedicationCourse | None:
    """The earliest-started systemic GC course of >= 90 days that is active or ended recently."""
    found: list[MedicationCourse] = []
    for c in ctx.summary.courses(DrugClass.GLUCOCORTICOID):
        days = c.days_on(ctx.today)
        if days is None or days < th(ctx, "gc_chronic_days"):
            continue
        if c.active or (c.end is not None and (ctx.today - c.end).days <= th(ctx, "gc_recently_active_days")):
            found.append(c)
    return min(found, key=lambda c: c.start or ctx.today) if found else None


def gc_evidence(c: MedicationCourse, today: date) -> Evidence:
    state = "ongoing" if c.active else f"stopped {c.end}"
    return Evidence(
        "Systemic glucocorticoid", f"{c.drug}, {c.days_on(today)} days ({state})", c.start, c.sources[0]
    )


# --- bone-targeted therapy (§3.6, §4 item 19) -----------------------------------------------------------
def bone_courses(ctx: RuleContext) -> tuple[MedicationCourse, ...]:
    return tuple(c for c in ctx.summary.medications if c.drug_class.is_bone_therapy)


def active_therapy(ctx: RuleContext) -> MedicationCourse | None:
    """The longest-running active bone-targeted course (dose within its interval, per the data layer)."""
    active = [c for c in bone_courses(ctx) if c.active]
    return min(active, key=lambda c: c.start or ctx.today) if active else None


def stop_date(c: MedicationCourse) -> date | None:
    return c.end or c.last_dose


def therapy_evidence(c: MedicationCourse) -> Evidence:
    state = "active" if c.active else f"stopped (last dose {c.last_dose or c.end})"
    return Evidence(
        "Bone-targeted therapy", f"{c.drug} since {c.start or 'unknown'}, {state}", c.start, c.sources[0]
    )


# --- fractures (§1.4, §1.6) ---------------------------------------------------------------------------
def is_vf(ctx: RuleContext, f: Fracture) -> bool:
    """A vertebral fracture that counts: Genant >= 1 (0.5 does not; unknown grade counts), not traumatic."""
    if f.kind is not FractureKind.VERTEBRAL or f.low_trauma is False:
        return False
    return f.genant_grade is None or f.genant_grade >= th(ctx, "genant_min_grade")


def is_long_bone_fragility(f: Fracture) -> bool:
    """A long-bone fracture not known to be traumatic (unknown mechanism counts, but needs confirmation)."""
    return f.kind is FractureKind.LONG_BONE and f.low_trauma is not False


def needs_confirmation(f: Fracture) -> bool:
    return f.provisional or f.low_trauma is None


def fragility_fractures(ctx: RuleContext) -> tuple[Fracture, ...]:
    return tuple(f for f in ctx.summary.fractures if is_vf(ctx, f) or is_long_bone_fragility(f))


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
    extra = f" ({', '.join(flags)})" if flags else ""
    return Evidence(label, f"{fracture_text(f)}{extra}", f.when, f.sources[0] if f.sources else None)


def fracture_key(f: Fracture) -> str:
    return f"{f.kind}:{f.level}:{f.genant_grade}:{f.when}:{','.join(sorted(f.sources))}"

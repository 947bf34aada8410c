"""Fractures from Conditions, Observations and DiagnosticReport.conclusionCode, merged.

Negations are honoured (valueBoolean false, "absent", normal interpretation, Genant grade < 1); a
resolved vertebral fracture still counts; traumatic S-codes keep ``low_trauma=None`` (the clinician
confirms the mechanism, also after merging with an imaging read) unless an ICD-10-CM external-cause
code recorded with the fracture says it (high energy → not a fragility fracture, a low-energy
fall → fragility); unconfirmed/provisional/differential Conditions and non-final reports/Observations
make a provisional fracture. The vertebral level comes from the code (S22.0-, S32.0-, M48.5-) or the
text; an unknown level stays unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from service.fhir.answers import presence
from service.fhir.fhirjson import (
    as_dict,
    as_list,
    codings,
    concept_text,
    effective_date,
    parse_date,
    period_start,
    reference,
    status_of,
    vertebral_level,
)
from service.fhir.summary import Fracture, FractureKind
from service.fhir.terms import Terms

_MERGE_DAYS = 30  # the same fracture reported within ± 30 days
# not (yet) confirmed — "unconfirmed" is the parent of provisional and differential.
PROVISIONAL_VERIFICATION = frozenset({"unconfirmed", "provisional", "differential"})
# only a finished report is confirmed; partial/preliminary/registered/unknown are not.
FINAL_REPORT = frozenset({"final", "amended", "corrected", "appended"})
FINAL_OBSERVATION = frozenset({"final", "amended", "corrected"})


# ``mechanism`` of a fracture code → Fracture.low_trauma (None: the clinician confirms the mechanism).
_LOW_TRAUMA: dict[str, bool | None] = {"fragility": True, "low_energy": True, "high_energy": False}
ABSENT = "fracture absent"  # a negation: the Observation is used, no fracture
BELOW_GRADE = "Genant grade below"  # … the fracture threshold: a negation too


def classify(
    concept: object, terms: Terms, extra_text: str = ""
) -> tuple[FractureKind, bool | None, str | None] | None:
    """(kind, low_trauma, level) when a CodeableConcept is a fracture code, else None."""
    found = terms.find(concept, terms.fractures)
    if found is None:
        return None
    words = f"{concept_text(concept)} {extra_text}".lower()
    kind_name = found.get("kind")
    if kind_name == "any":  # generic fragility codes: the text may say where
        if terms.vertebral_text.match_text(words):
            kind_name = "vertebral"
        elif terms.long_bone_text.match_text(words):
            kind_name = "long_bone"
    kind = FractureKind(kind_name) if kind_name in ("vertebral", "long_bone") else FractureKind.OTHER
    level: str | None = None
    if kind is FractureKind.VERTEBRAL:
        level = found.get("level") or vertebral_level(words)
    elif kind is FractureKind.LONG_BONE:
        named = terms.long_bone_text.match_text(words)
        level = found.get("bone") or (named.text if named else None)
    return kind, _LOW_TRAUMA.get(found.get("mechanism", "")), level


@dataclass(frozen=True)
class Cause:
    """An external-cause code recorded as a Condition of its own."""

    code: str
    low_trauma: bool  # low_energy → True, high_energy → False
    when: date | None
    encounter: str
    source: str


def cause_of(concepts: list, terms: Terms) -> tuple[str, bool] | None:
    """(code, low_trauma) of the first external-cause code among ``concepts``; a mix of high- and
    low-energy codes says nothing (None)."""
    found = [
        (code, entry.get("mechanism") == "low_energy")
        for c in concepts
        for system, code, _ in codings(c)
        if (entry := terms.external_cause.lookup(terms.canonical(system), code)) is not None
    ]
    if not found or len({low for _, low in found}) > 1:
        return None
    return found[0]


def _when(cond: dict) -> date | None:
    return (
        parse_date(cond.get("onsetDateTime"))
        or period_start(cond.get("onsetPeriod"))
        or parse_date(cond.get("recordedDate"))
    )


def external_cause(cond: dict, source: str, terms: Terms) -> Cause | None:
    """A Condition that is an external-cause code (and no fracture)."""
    found = cause_of([cond.get("code")], terms)
    if found is None:
        return None
    return Cause(found[0], found[1], _when(cond), reference(cond.get("encounter")), source)


def _linked_cause(
    cond: dict, when: date | None, causes: list[Cause], terms: Terms
) -> tuple[str, bool] | None:
    """The mechanism recorded with a fracture Condition: its own codes and evidence first, then the
    external-cause Conditions of the same encounter, else of the same date (conflicting ones: None)."""
    evidence = [c for e in as_list(cond.get("evidence")) for c in as_list(as_dict(e).get("code"))]
    own = cause_of([cond.get("code"), *evidence], terms)
    if own is not None:
        return own
    encounter = reference(cond.get("encounter"))
    linked = [c for c in causes if encounter and c.encounter == encounter]
    if not linked and when is not None:
        linked = [c for c in causes if c.when == when]
    if not linked or len({c.low_trauma for c in linked}) > 1:
        return None
    return linked[0].code, linked[0].low_trauma


def from_condition(
    cond: dict, source: str, terms: Terms, causes: list[Cause] | tuple[Cause, ...] = ()
) -> Fracture | None:
    """A fracture Condition (any clinicalStatus: a resolved VF still counts). Refuted is filtered upstream."""
    found = classify(cond.get("code"), terms, concept_text(cond.get("bodySite")))
    if found is None:
        return None
    kind, low_trauma, level = found
    verification = status_of(cond.get("verificationStatus"))
    when = _when(cond)
    cause = _linked_cause(cond, when, list(causes), terms)
    return Fracture(
        kind,
        when,
        (source,),
        level,
        None,
        cause[1] if cause else low_trauma,
        verification in PROVISIONAL_VERIFICATION,
        concept_text(cond.get("code"))[:80],
        cause[0] if cause else None,
    )


def from_report(report: dict, source: str, terms: Terms) -> list[Fracture]:
    """Fractures named in DiagnosticReport.conclusionCode (spine X-ray / VFA / DXA reports); an
    external-cause code among the conclusions gives their mechanism."""
    out = []
    conclusions = as_list(report.get("conclusionCode"))
    cause = cause_of(conclusions, terms)
    for cc in conclusions:
        found = classify(cc, terms, concept_text(report.get("code")))
        if found:
            kind, low_trauma, level = found
            out.append(
                Fracture(
                    kind,
                    effective_date(report),
                    (source,),
                    level,
                    None,
                    cause[1] if cause else low_trauma,
                    report.get("status") not in FINAL_REPORT,
                    concept_text(cc)[:80],
                    cause[0] if cause else None,
                )
            )
    return out


def is_vf_observation(obs: dict, terms: Terms) -> bool:
    code = obs.get("code")
    if terms.find(code, terms.vf_observation) is not None:
        return True
    return terms.vf_observation.match_text(concept_text(code)) is not None


def _grade(holder: dict) -> float | None:
    q = holder.get("valueQuantity")
    raw = as_dict(q).get("value") if q is not None else holder.get("valueInteger", holder.get("valueDecimal"))
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    return float(raw) if raw in (0, 0.5, 1, 2, 3) else None


def _presence(obs: dict, terms: Terms) -> bool | None:
    """``answers.presence``; a fracture code as the value also says "present"."""
    present = presence(obs, terms)
    if present is None and classify(obs.get("valueCodeableConcept"), terms):
        return True
    return present


def from_observation(
    obs: dict, source: str, terms: Terms, min_grade: float
) -> tuple[list[Fracture], str | None]:
    """Fractures of a vertebral-fracture Observation (per vertebra), or ([], reason) when none; a
    Genant grade below ``min_grade`` is no fracture (bone.genant_min_grade)."""
    when = effective_date(obs)
    present = _presence(obs, terms)
    level = vertebral_level(concept_text(obs.get("bodySite")), concept_text(obs.get("code")))
    graded: list[tuple[float, str | None]] = []
    top_grade = _grade(obs)
    if top_grade is not None:
        graded.append((top_grade, level))
    for comp in as_list(obs.get("component")):
        ctext = concept_text(as_dict(comp).get("code"))
        g = _grade(as_dict(comp))
        if g is not None and terms.genant.match_text(ctext):
            graded.append((g, vertebral_level(ctext, concept_text(as_dict(comp).get("bodySite"))) or level))
    if present is False:
        return [], ABSENT
    if not graded:
        if present is None:
            return [], "fracture finding without value"  # never trigger on the code alone
        graded = [(None, level)]  # type: ignore[list-item]
    prelim = obs.get("status") not in FINAL_OBSERVATION
    out = [
        # A VF read on imaging with no trauma code is a fragility fracture (the mechanism is
        # traumatic only where a traumatic S-code or a high-energy external cause says so).
        Fracture(
            FractureKind.VERTEBRAL, when, (source,), lvl, g, True, prelim, "vertebral fracture", assumed=True
        )
        for g, lvl in graded
        if g is None or g >= min_grade
    ]
    return out, None if out else f"{BELOW_GRADE} {min_grade:g}"


def is_negation(reason: str | None) -> bool:
    """Whether ``from_observation``'s reason is a negative read (data, not a dropped resource)."""
    return reason is not None and (reason == ABSENT or reason.startswith(BELOW_GRADE))


_REGIONS = {
    "thoracic": {f"T{i}" for i in range(1, 13)},
    "lumbar": {f"L{i}" for i in range(1, 6)},
    "lumbosacral": {f"L{i}" for i in range(1, 6)} | {f"S{i}" for i in range(1, 6)},
    "thoracolumbar": {f"T{i}" for i in range(1, 13)} | {f"L{i}" for i in range(1, 6)},
}
_ONE = re.compile(r"^([CTLS])(\d{1,2})$")


def vertebrae(level: str | None) -> set[str]:
    """The vertebrae a level names: "T12" → {T12}, "T5-T6" → {T5, T6}, "lumbar" → {L1 … L5}."""
    if not level:
        return set()
    if level.lower() in _REGIONS:
        return _REGIONS[level.lower()]
    ends = [m for m in (_ONE.match(p.strip().upper()) for p in level.split("-")) if m]
    if len(ends) != len(level.split("-")) or len(ends) > 2:
        return {level.upper()}
    first, last = ends[0], ends[-1]
    if first[1] != last[1]:
        return {first[0], last[0]}
    return {f"{first[1]}{i}" for i in range(int(first[2]), int(last[2]) + 1)}


def _same(a: Fracture, b: Fracture) -> bool:
    if a.kind is not b.kind:
        return False
    if a.level and b.level and a.level != b.level:
        if a.kind is not FractureKind.VERTEBRAL or not vertebrae(a.level) & vertebrae(b.level):
            return False
    if a.when and b.when:
        return abs((a.when - b.when).days) <= _MERGE_DAYS
    # one date unknown: only the same named level is clearly the same fracture
    return a.when is None and b.when is None or bool(a.level and a.level == b.level)


def _level(a: Fracture, b: Fracture) -> str | None:
    """The more precise of two levels of the same fracture ("T6" over "T5-T6" over "thoracic")."""
    levels = [x for x in (a.level, b.level) if x]
    return min(levels, key=lambda lv: len(vertebrae(lv))) if levels else None


def _mechanism(a: Fracture, b: Fracture) -> tuple[bool | None, str | None]:
    """(low_trauma, cause) of a merged fracture. An external-cause code decides over an imaging read's
    default and over an S-code's "unconfirmed"; codes that disagree leave it to the clinician (None).
    Without a cause: fragility only when every source says so (a traumatic S-code merged with an
    imaging read keeps None, so the card asks the clinician)."""
    caused = [f for f in (a, b) if f.cause]
    if caused:
        said = {f.low_trauma for f in (a, b) if f.cause or (not f.assumed and f.low_trauma is not None)}
        return (said.pop() if len(said) == 1 else None), caused[0].cause
    return (a.low_trauma if a.low_trauma == b.low_trauma else None), None


def _combine(a: Fracture, b: Fracture) -> Fracture:
    dates = [d for d in (a.when, b.when) if d]
    grades = [g for g in (a.genant_grade, b.genant_grade) if g is not None]
    low, cause = _mechanism(a, b)
    return Fracture(
        a.kind,
        min(dates) if dates else None,
        tuple(dict.fromkeys(a.sources + b.sources)),
        _level(a, b),
        max(grades) if grades else None,
        low,
        a.provisional and b.provisional,
        a.description or b.description,
        cause,
        a.assumed and b.assumed,
    )


def merge(fractures: list[Fracture]) -> tuple[Fracture, ...]:
    """Collapse reports of the same fracture (same kind and level, dates within ± 30 days)."""
    merged: list[Fracture] = []
    for f in sorted(fractures, key=lambda f: (f.when or date.min, f.sources)):
        for i, m in enumerate(merged):
            if _same(m, f):
                merged[i] = _combine(m, f)
                break
        else:
            merged.append(f)
    return tuple(merged)

"""Fractures from Conditions, Observations and DiagnosticReport.conclusionCode, merged (§4 items 2-4).

Negations are honoured (valueBoolean false, "absent", normal interpretation, Genant grade < 1); a
resolved vertebral fracture still counts; traumatic S-codes keep ``low_trauma=None`` (the clinician
confirms the mechanism, also after merging with an imaging read); unconfirmed/provisional/differential
Conditions and non-final reports/Observations make a provisional fracture.
"""

from __future__ import annotations

from datetime import date

from service.fhir import codes
from service.fhir.fhirjson import (
    as_dict,
    as_list,
    codings,
    concept_text,
    effective_date,
    icd_prefix,
    parse_date,
    period_start,
    presence,
    status_of,
    vertebral_level,
)
from service.fhir.summary import Fracture, FractureKind

_MERGE_DAYS = 30  # §4 item 4: the same fracture reported within ± 30 days
# §4 item 2: not (yet) confirmed — "unconfirmed" is the parent of provisional and differential.
PROVISIONAL_VERIFICATION = frozenset({"unconfirmed", "provisional", "differential"})
# §4 item 1: only a finished report is confirmed; partial/preliminary/registered/unknown are not.
FINAL_REPORT = frozenset({"final", "amended", "corrected", "appended"})
FINAL_OBSERVATION = frozenset({"final", "amended", "corrected"})


def classify(concept: object, extra_text: str = "") -> tuple[FractureKind, bool | None, str | None] | None:
    """(kind, low_trauma, level) when a CodeableConcept is a fracture code, else None."""
    words = f"{concept_text(concept)} {extra_text}".lower()
    for system, code, _ in codings(concept):
        found: tuple[str, bool | None] | None = None
        bone = None
        if system == codes.SNOMED and code in codes.FRACTURE_SNOMED:
            found = codes.FRACTURE_SNOMED[code]
        elif system in codes.ICD_SYSTEMS:
            prefix = icd_prefix(code, codes.FRACTURE_ICD_PREFIX)
            if prefix:
                found = codes.FRACTURE_ICD_PREFIX[prefix]
                bone_prefix = icd_prefix(code, codes.FRACTURE_BONE_ICD)
                bone = codes.FRACTURE_BONE_ICD[bone_prefix] if bone_prefix else None
        if found is None:
            continue
        kind_name, low_trauma = found
        if kind_name == "any":  # generic fragility codes: the text may say where
            if any(t in words for t in codes.VERTEBRAL_TEXT):
                kind_name = "vertebral"
            elif any(t in words for t in codes.LONG_BONE_TEXT):
                kind_name = "long_bone"
        kind = FractureKind(kind_name) if kind_name in ("vertebral", "long_bone") else FractureKind.OTHER
        if kind is FractureKind.VERTEBRAL:
            level = vertebral_level(words)
        elif kind is FractureKind.LONG_BONE:
            level = bone or next((t for t in codes.LONG_BONE_TEXT if t in words), None)
        else:
            level = None
        return kind, low_trauma, level
    return None


def from_condition(cond: dict, source: str) -> Fracture | None:
    """A fracture Condition (any clinicalStatus: a resolved VF still counts). Refuted is filtered upstream."""
    found = classify(cond.get("code"), concept_text(cond.get("bodySite")))
    if found is None:
        return None
    kind, low_trauma, level = found
    verification = status_of(cond.get("verificationStatus"))
    when = (
        parse_date(cond.get("onsetDateTime"))
        or period_start(cond.get("onsetPeriod"))
        or parse_date(cond.get("recordedDate"))
    )
    return Fracture(
        kind,
        when,
        (source,),
        level,
        None,
        low_trauma,
        verification in PROVISIONAL_VERIFICATION,
        concept_text(cond.get("code"))[:80],
    )


def from_report(report: dict, source: str) -> list[Fracture]:
    """Fractures named in DiagnosticReport.conclusionCode (spine X-ray / VFA / DXA reports)."""
    out = []
    for cc in as_list(report.get("conclusionCode")):
        found = classify(cc, concept_text(report.get("code")))
        if found:
            kind, low_trauma, level = found
            out.append(
                Fracture(
                    kind,
                    effective_date(report),
                    (source,),
                    level,
                    None,
                    low_trauma,
                    report.get("status") not in FINAL_REPORT,
                    concept_text(cc)[:80],
                )
            )
    return out


def is_vf_observation(obs: dict) -> bool:
    code = obs.get("code")
    if any((s, c) in codes.VERTEBRAL_FRACTURE_OBSERVATION for s, c, _ in codings(code)):
        return True
    return any(t in concept_text(code) for t in codes.VF_OBSERVATION_TEXT)


def _grade(holder: dict) -> float | None:
    q = holder.get("valueQuantity")
    raw = as_dict(q).get("value") if q is not None else holder.get("valueInteger", holder.get("valueDecimal"))
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    return float(raw) if raw in (0, 0.5, 1, 2, 3) else None


def _presence(obs: dict) -> bool | None:
    """``fhirjson.presence``; a fracture code as the value also says "present"."""
    present = presence(obs)
    if present is None and classify(obs.get("valueCodeableConcept")):
        return True
    return present


def from_observation(obs: dict, source: str) -> tuple[list[Fracture], str | None]:
    """Fractures of a vertebral-fracture Observation (per vertebra), or ([], reason) when none."""
    when = effective_date(obs)
    present = _presence(obs)
    level = vertebral_level(concept_text(obs.get("bodySite")), concept_text(obs.get("code")))
    graded: list[tuple[float, str | None]] = []
    top_grade = _grade(obs)
    if top_grade is not None:
        graded.append((top_grade, level))
    for comp in as_list(obs.get("component")):
        ctext = concept_text(as_dict(comp).get("code"))
        g = _grade(as_dict(comp))
        if g is not None and any(t in ctext for t in codes.GENANT_TEXT):
            graded.append((g, vertebral_level(ctext, concept_text(as_dict(comp).get("bodySite"))) or level))
    if present is False:
        return [], "fracture absent"
    if not graded:
        if present is None:
            return [], "fracture finding without value"  # §4 item 3: never trigger on the code alone
        graded = [(None, level)]  # type: ignore[list-item]
    prelim = obs.get("status") not in FINAL_OBSERVATION
    out = [
        # A VF read on imaging with no trauma code is a fragility fracture (§4 item 4 asks for the
        # mechanism only where a traumatic S-code says so).
        Fracture(FractureKind.VERTEBRAL, when, (source,), lvl, g, True, prelim, "vertebral fracture")
        for g, lvl in graded
        if g is None or g >= codes.GENANT_FRACTURE_MIN
    ]
    return out, None if out else "Genant grade below 1"


def _same(a: Fracture, b: Fracture) -> bool:
    if a.kind is not b.kind:
        return False
    if a.level and b.level and a.level != b.level:
        return False
    if a.when and b.when:
        return abs((a.when - b.when).days) <= _MERGE_DAYS
    # one date unknown: only the same named level is clearly the same fracture
    return a.when is None and b.when is None or bool(a.level and a.level == b.level)


def _combine(a: Fracture, b: Fracture) -> Fracture:
    dates = [d for d in (a.when, b.when) if d]
    grades = [g for g in (a.genant_grade, b.genant_grade) if g is not None]
    # Fragility (True) only when every source says so: a traumatic S-code (None, mechanism unknown)
    # merged with an imaging read keeps None, so the card asks the clinician (§4 item 4).
    low = a.low_trauma if a.low_trauma == b.low_trauma else None
    return Fracture(
        a.kind,
        min(dates) if dates else None,
        tuple(dict.fromkeys(a.sources + b.sources)),
        a.level or b.level,
        max(grades) if grades else None,
        low,
        a.provisional and b.provisional,
        a.description or b.description,
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

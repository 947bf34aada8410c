"""Conditions (and coded findings in Observations) → diagnoses, mobility, symptoms, gastrostomy.

Population gate (§1.1): an in-scope NMD counts when clinicalStatus is active/recurrence/relapse or
absent and verificationStatus is not refuted/entered-in-error (refuted ones are dropped upstream).
Fractures are handled in ``fractures.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from service.fhir import codes
from service.fhir.fhirjson import codings, concept_text, icd_prefix, parse_date, period_start, status_of
from service.fhir.summary import ClinicalFinding, Diagnosis, Nmd, Symptom

ACTIVE_CLINICAL = {None, "active", "recurrence", "relapse"}


@dataclass
class ConditionFacts:
    """What the conditions say, accumulated over all resources."""

    diagnoses: list[Diagnosis] = field(default_factory=list)
    non_ambulatory_dates: list[date | None] = field(default_factory=list)
    findings: list[ClinicalFinding] = field(default_factory=list)
    gastrostomy: bool = False


def nmd_of(concept: object) -> Nmd | None:
    for system, code, _ in codings(concept):
        if system == codes.SNOMED and code in codes.NMD_SNOMED:
            return codes.NMD_SNOMED[code]
        if system in codes.ICD_SYSTEMS:
            prefix = icd_prefix(code, codes.NMD_ICD)
            if prefix:
                return codes.NMD_ICD[prefix]
    return None


def _icd_in(concept: object, wanted: set[str]) -> bool:
    return any(
        system in codes.ICD_SYSTEMS and icd_prefix(code, {w: 1 for w in wanted})
        for system, code, _ in codings(concept)
    )


def is_non_ambulatory(concept: object) -> bool:
    return any(
        s == codes.SNOMED and c in codes.NON_AMBULATORY_SNOMED for s, c, _ in codings(concept)
    ) or _icd_in(concept, codes.NON_AMBULATORY_ICD)


def symptom_of(concept: object, body_site: str = "") -> Symptom | None:
    """The symptom / status a code means; ``body_site`` is the Condition.bodySite text."""
    words = concept_text(concept)
    for system, code, _ in codings(concept):
        if system == codes.SNOMED and code in codes.SYMPTOM_SNOMED:
            return codes.SYMPTOM_SNOMED[code]
        if system in codes.ICD_SYSTEMS:
            prefix = icd_prefix(code, codes.SYMPTOM_ICD_PREFIX)
            if prefix:
                return codes.SYMPTOM_ICD_PREFIX[prefix]
            # arthrodesis of any joint: spinal fusion only when the text names the spine
            if icd_prefix(code, {codes.ARTHRODESIS_ICD: 1}) and codes.SPINE_TEXT.search(
                f"{words} {body_site}"
            ):
                return Symptom.SPINAL_FUSION
    return next((s for t, s in codes.SYMPTOM_TEXT.items() if t in words), None)


def is_gastrostomy(concept: object) -> bool:
    return _icd_in(concept, codes.GASTROSTOMY_ICD) or any(
        s == codes.SNOMED and c in codes.GASTROSTOMY_PROCEDURE_SNOMED for s, c, _ in codings(concept)
    )


def is_candidate(cond: dict) -> bool:
    code = cond.get("code")
    return bool(
        nmd_of(code)
        or is_non_ambulatory(code)
        or symptom_of(code, concept_text(cond.get("bodySite")))
        or is_gastrostomy(code)
    )


def onset(cond: dict) -> date | None:
    return (
        parse_date(cond.get("onsetDateTime"))
        or period_start(cond.get("onsetPeriod"))
        or parse_date(cond.get("recordedDate"))
    )


def add_condition(cond: dict, source: str, facts: ConditionFacts) -> str | None:
    """Add one (not refuted) Condition's facts; returns a drop reason when it contributes nothing."""
    code = cond.get("code")
    clinical = status_of(cond.get("clinicalStatus"))
    active = clinical in ACTIVE_CLINICAL
    used = False
    nmd = nmd_of(code)
    if nmd is not None:
        if not active:
            return "diagnosis not active"
        facts.diagnoses.append(Diagnosis(nmd, onset(cond), source, concept_text(code)[:80]))
        used = True
    if is_non_ambulatory(code) and active:
        facts.non_ambulatory_dates.append(onset(cond))
        used = True
    symptom = symptom_of(code, concept_text(cond.get("bodySite")))
    # Spinal fusion is a permanent status: it counts even when recorded as resolved.
    if symptom is not None and (active or symptom is Symptom.SPINAL_FUSION):
        facts.findings.append(ClinicalFinding(symptom, onset(cond), source))
        used = True
    if is_gastrostomy(code) and active:
        facts.gastrostomy = True
        used = True
    return None if used else "condition not active"

"""Conditions (and coded findings in Observations) → diagnoses, mobility, symptoms, gastrostomy.

Population gate: an in-scope NMD counts when clinicalStatus is active/recurrence/relapse or
absent and verificationStatus is not refuted/entered-in-error (refuted ones are dropped upstream).
Fractures are handled in ``fractures.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from service.fhir.fhirjson import concept_label, concept_text, parse_date, period_start, status_of
from service.fhir.summary import ClinicalFinding, Diagnosis, Nmd, Symptom
from service.fhir.terms import Terms

ACTIVE_CLINICAL = {None, "active", "recurrence", "relapse"}
PERMANENT = frozenset({Symptom.SPINAL_FUSION, Symptom.POSTMENOPAUSAL})
# Z98.1 "arthrodesis status" covers any joint (value-set entries marked ``needs_spine_text``): spinal
# fusion only when the code text or bodySite names the spine (word-start match: "rod" must not match
# "arthrodesis").
SPINE_TEXT = re.compile(r"\b(spin|vertebr|lumb|thora|scolio|rods?\b|harrington)")


@dataclass
class ConditionFacts:
    """What the conditions say, accumulated over all resources."""

    diagnoses: list[Diagnosis] = field(default_factory=list)
    non_ambulatory_dates: list[date | None] = field(default_factory=list)
    findings: list[ClinicalFinding] = field(default_factory=list)
    gastrostomy: bool = False


def nmd_of(concept: object, terms: Terms) -> Nmd | None:
    found = terms.find(concept, terms.disorders)
    return Nmd(found.get("disorder")) if found is not None else None


def is_non_ambulatory(concept: object, terms: Terms) -> bool:
    return terms.find(concept, terms.non_ambulatory) is not None


def symptom_of(concept: object, terms: Terms, body_site: str = "") -> Symptom | None:
    """The symptom / status a code means; ``body_site`` is the Condition.bodySite text."""
    words = concept_text(concept)
    for found in terms.entries(concept, terms.findings):
        if not found.get("needs_spine_text") or SPINE_TEXT.search(f"{words} {body_site}"):
            return Symptom(found.get("symptom"))
    phrase = terms.findings.match_text(words)
    return Symptom(phrase.get("symptom")) if phrase is not None else None


def is_gastrostomy(concept: object, terms: Terms) -> bool:
    return terms.find(concept, terms.gastrostomy) is not None


def is_gastrostomy_device(concept: object, terms: Terms) -> bool:
    """A device type that is a gastrostomy tube: by code, or by name when it carries none."""
    return is_gastrostomy(concept, terms) or terms.gastrostomy.match_text(concept_text(concept)) is not None


def is_spinal_fusion(concept: object, terms: Terms) -> bool:
    """A spinal fusion / instrumentation procedure."""
    return terms.find(concept, terms.spinal_fusion) is not None


def is_candidate(cond: dict, terms: Terms) -> bool:
    code = cond.get("code")
    return bool(
        nmd_of(code, terms)
        or is_non_ambulatory(code, terms)
        or symptom_of(code, terms, concept_text(cond.get("bodySite")))
        or is_gastrostomy(code, terms)
    )


def onset(cond: dict) -> date | None:
    return (
        parse_date(cond.get("onsetDateTime"))
        or period_start(cond.get("onsetPeriod"))
        or parse_date(cond.get("recordedDate"))
    )


def add_condition(cond: dict, source: str, facts: ConditionFacts, terms: Terms) -> str | None:
    """Add one (not refuted) Condition's facts; returns a drop reason when it contributes nothing."""
    code = cond.get("code")
    clinical = status_of(cond.get("clinicalStatus"))
    active = clinical in ACTIVE_CLINICAL
    used = False
    nmd = nmd_of(code, terms)
    if nmd is not None:
        if not active:
            return "diagnosis not active"
        facts.diagnoses.append(Diagnosis(nmd, onset(cond), source, concept_label(code)[:80]))
        used = True
    if is_non_ambulatory(code, terms) and active:
        facts.non_ambulatory_dates.append(onset(cond))
        used = True
    symptom = symptom_of(code, terms, concept_text(cond.get("bodySite")))
    # Spinal fusion and a post-menopausal state are permanent: they count even when recorded as resolved.
    if symptom is not None and (active or symptom in PERMANENT):
        facts.findings.append(ClinicalFinding(symptom, onset(cond), source))
        used = True
    if is_gastrostomy(code, terms) and active:
        facts.gastrostomy = True
        used = True
    return None if used else "condition not active"

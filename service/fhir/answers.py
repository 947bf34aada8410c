"""Whether a finding Observation says yes or no: coded answers and interpretations from the
value sets ``present``, ``absent`` and ``normal-interpretation``, and plain-text answers."""

from __future__ import annotations

from typing import Any

from service.fhir.fhirjson import as_list, codings, concept_text
from service.fhir.terms import Terms

# Whole-answer texts (a substring test would read "no" in "normal" or "none" in "nonetheless"); the
# value sets' phrases ("absent", "not present" …) are matched inside the text.
NO_TEXT = frozenset({"no", "n", "false", "denies", "denied"})
YES_TEXT = frozenset({"yes", "y", "true"})


def answer(concept: Any, terms: Terms) -> bool | None:
    """Yes (True) / no or absent (False) / neither (None) of an answer CodeableConcept or string."""
    if isinstance(concept, str):
        words = concept.strip().lower().rstrip(".")
    else:
        found = codings(concept)
        bare = {c for _, c, _ in found}
        if terms.find(concept, terms.absent) or not bare.isdisjoint(terms.absent_ids):
            return False
        if terms.find(concept, terms.present) or not bare.isdisjoint(terms.present_ids):
            return True
        words = concept_text(concept).strip().rstrip(".")
    if words in NO_TEXT or terms.absent.match_text(words):
        return False
    if words in YES_TEXT or terms.present.match_text(words):
        return True
    return None


def presence(obs: dict, terms: Terms) -> bool | None:
    """Whether a finding Observation asserts its finding: False for a negation (normal /
    negative interpretation, valueBoolean false, an absent / "No" answer), True for an affirmative
    value, None when the value says neither or there is no value (callers decide what that means)."""
    # a normal/negative interpretation wins over a contradicting value (no false alarm)
    if any(
        c in terms.normal_interpretation
        for cc in as_list(obs.get("interpretation"))
        for _, c, _ in codings(cc)
    ):
        return False
    if isinstance(obs.get("valueBoolean"), bool):
        return obs["valueBoolean"]
    if obs.get("valueCodeableConcept") is not None:
        return answer(obs["valueCodeableConcept"], terms)
    if isinstance(obs.get("valueString"), str):
        return answer(obs["valueString"], terms)
    return None

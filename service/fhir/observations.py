"""Observation → Measurements in canonical units (or Dropped with a reason).

Handles status (§4 item 1), dataAbsentReason (5), comparators (6), units (7), FVC sent as % (8),
plausibility (9), DXA site/laterality (10), estimated height and usual weight (14, §1.7), and
components (panels: each component with a known code becomes its own Measurement).
"""

from __future__ import annotations

from datetime import date

from service.fhir import codes
from service.fhir.fhirjson import as_dict, as_list, codings, concept_text, effective_date, text
from service.fhir.summary import CANONICAL_UNITS, Concept, Dropped, Measurement, Site
from service.fhir.units import to_canonical, unit_of

_COMPARATORS = {"<", "<=", ">", ">="}
_PCT_OF = {Concept.FVC: Concept.FVC_PCT_PREDICTED, Concept.VC: Concept.VC_PCT_PREDICTED}
Mapped = tuple[Concept, Site | None, str | None]


def concept_of(code: object) -> Mapped | None:
    """(concept, DXA site, laterality) for an Observation/component code, or None."""
    for system, c, _ in codings(code):
        if system == codes.LOINC:
            if c in codes.DXA:
                return codes.DXA[c]
            if c in codes.MEASUREMENTS:
                return codes.MEASUREMENTS[c], None, None
        elif system == codes.SNOMED and c in codes.SNOMED_MEASUREMENTS:
            return codes.SNOMED_MEASUREMENTS[c], None, None
    if any(t in concept_text(code) for t in codes.USUAL_WEIGHT_TEXT):
        return Concept.USUAL_WEIGHT, None, None
    return None


def is_candidate(obs: dict) -> bool:
    """Cheap pre-filter on raw JSON: may this Observation hold a measurement?"""
    if concept_of(obs.get("code")) is not None:
        return True
    return any(concept_of(as_dict(c).get("code")) for c in as_list(obs.get("component")))


def _words(obs: dict) -> str:
    """Lower-case free text that may qualify a value (code, method, bodySite, notes)."""
    parts = [
        concept_text(obs.get("code")),
        concept_text(obs.get("method")),
        concept_text(obs.get("bodySite")),
    ]
    parts += [text(as_dict(n).get("text")).lower() for n in as_list(obs.get("note"))]
    return " ".join(parts)


def _site_side(mapped: Mapped, obs: dict, words: str) -> tuple[Site | None, str | None]:
    _, site, side = mapped
    if site is None:
        return None, None
    if site in (Site.OTHER, Site.FEMORAL_NECK):
        for hint, hinted in codes.SITE_TEXT:
            if hint in words and (site is Site.OTHER or hinted is Site.DISTAL_FEMUR):
                site = hinted
                break
    if side is None:
        body = as_dict(obs.get("bodySite"))
        for _, c, _ in codings(body):
            for qualifier, lr in codes.LATERALITY_SNOMED.items():
                if qualifier in c:  # post-coordinated "71341001:272741003=7771000"
                    side = lr
        if side is None:
            body_text = concept_text(body)
            side = "left" if "left" in body_text else "right" if "right" in body_text else None
    return site, side


def _one(mapped: Mapped, holder: dict, obs: dict, when: date, source: str, words: str) -> Measurement | str:
    """A Measurement from the value of ``holder`` (the Observation or one component), or a reason."""
    concept = mapped[0]
    if holder.get("dataAbsentReason") is not None:
        return "data absent"
    if "valueQuantity" in holder:
        q = as_dict(holder["valueQuantity"])
    elif isinstance(holder.get("valueInteger"), int) and not isinstance(holder.get("valueInteger"), bool):
        q = {"value": holder["valueInteger"]}
    elif any(k.startswith("value") for k in holder):
        return "value is not a quantity"
    else:
        return "no value"
    raw = q.get("value")
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return "no numeric value"
    comparator = q.get("comparator")
    if comparator is not None and comparator not in _COMPARATORS:
        return "unsupported comparator"
    unit = unit_of(q)
    if unit == "%" and concept in _PCT_OF:  # edge case 8: a % under a volume code is % predicted
        concept = _PCT_OF[concept]
    value, reason = to_canonical(concept, float(raw), unit)
    if value is None:
        return reason or "unit not convertible"
    lo, hi = codes.PLAUSIBLE.get(concept, (float("-inf"), float("inf")))
    if not lo <= value <= hi:
        return f"implausible {concept.value}"
    usual = concept is Concept.USUAL_WEIGHT or (
        concept is Concept.WEIGHT and any(t in words for t in codes.USUAL_WEIGHT_TEXT)
    )
    if usual:
        concept = Concept.USUAL_WEIGHT
    site, side = _site_side(mapped, obs, words)
    return Measurement(
        concept=concept,
        value=round(value, 6),
        unit=CANONICAL_UNITS[concept],
        when=when,
        source=source,
        comparator=comparator,
        preliminary=obs.get("status") == "preliminary",
        site=site,
        laterality=side,
        height_adjusted=concept is Concept.Z_SCORE and any(t in words for t in codes.HEIGHT_ADJUSTED_TEXT),
        estimated=concept is Concept.HEIGHT and any(t in words for t in codes.ESTIMATED_HEIGHT_TEXT),
        usual=usual,
    )


def measurements(obs: dict, source: str) -> tuple[list[Measurement], list[Dropped]]:
    """All Measurements of one (already status-checked) Observation, and what was dropped from it."""
    out: list[Measurement] = []
    dropped: list[Dropped] = []
    when = effective_date(obs)
    if when is None:
        return out, [Dropped(source, "no date")]
    words = _words(obs)
    holders: list[tuple[Mapped, dict]] = []
    top = concept_of(obs.get("code"))
    if top is not None and (
        any(k.startswith("value") for k in obs) or "dataAbsentReason" in obs or not obs.get("component")
    ):
        holders.append((top, obs))
    for comp in as_list(obs.get("component")):
        mapped = concept_of(as_dict(comp).get("code"))
        if mapped is not None:
            holders.append((mapped, comp))
    for mapped, holder in holders:
        result = _one(mapped, holder, obs, when, source, words)
        if isinstance(result, Measurement):
            out.append(result)
        else:
            dropped.append(Dropped(source, result))
    return out, dropped

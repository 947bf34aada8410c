"""Observation → Measurements in canonical units (or Dropped with a reason).

Handles status, dataAbsentReason, comparators, units, FVC sent as %, plausibility, DXA site and
laterality, estimated height and usual weight, and components (panels: each component with a known
code becomes its own Measurement).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import orjson

from service.fhir.fhirjson import as_dict, as_list, codings, concept_text, effective_date, text
from service.fhir.summary import CANONICAL_UNITS, Concept, Dropped, Measurement, Site
from service.fhir.terms import Terms
from service.fhir.textvalues import parse
from service.fhir.units import quantity_unit, resolve, to_canonical

_COMPARATORS = {"<", "<=", ">", ">="}
_PCT_OF = {Concept.FVC: Concept.FVC_PCT_PREDICTED, Concept.VC: Concept.VC_PCT_PREDICTED}
Mapped = tuple[Concept, Site | None, str | None]
# Plausible ranges in canonical units (code is king, but check the unit/value); values
# outside are unit or code errors.
PLAUSIBLE: dict[Concept, tuple[float, float]] = {
    Concept.T_SCORE: (-5.0, 5.0),
    Concept.Z_SCORE: (-5.0, 5.0),
    Concept.BMD: (0.2, 1.8),
    Concept.WEIGHT: (0.2, 400.0),
    Concept.USUAL_WEIGHT: (0.2, 400.0),
    Concept.HEIGHT: (20.0, 260.0),
    Concept.BMI: (5.0, 100.0),
    Concept.BMI_PERCENTILE: (0.0, 100.0),
    Concept.WEIGHT_FOR_LENGTH_PERCENTILE: (0.0, 100.0),
    Concept.FVC: (0.0, 10.0),
    Concept.FVC_PREDICTED: (0.0, 10.0),
    Concept.VC: (0.0, 10.0),
    Concept.VC_PREDICTED: (0.0, 10.0),
    Concept.FVC_PCT_PREDICTED: (0.0, 250.0),
    Concept.VC_PCT_PREDICTED: (0.0, 250.0),
    Concept.VITAMIN_D_25OH: (0.0, 300.0),
    Concept.CREATININE: (0.0, 30.0),
    Concept.CYSTATIN_C: (0.0, 20.0),
}


def concept_of(code: object, terms: Terms) -> Mapped | None:
    """(concept, DXA site, laterality) for an Observation/component code, or None."""
    found = terms.find(code, *terms.measurements)
    if found is not None:
        site = found.get("site")
        return Concept(found.get("concept")), Site(site) if site else None, found.get("laterality")
    if _usual_weight(concept_text(code), terms):
        return Concept.USUAL_WEIGHT, None, None
    return None


def _usual_weight(words: str, terms: Terms) -> bool:
    """The text names a usual / pre-illness weight (no standard code exists)."""
    phrase = terms.body.match_text(words)
    return phrase is not None and phrase.get("concept") == Concept.USUAL_WEIGHT


def is_candidate(obs: dict, terms: Terms) -> bool:
    """Cheap pre-filter on raw JSON: may this Observation hold a measurement?"""
    if concept_of(obs.get("code"), terms) is not None:
        return True
    return any(concept_of(as_dict(c).get("code"), terms) for c in as_list(obs.get("component")))


def _words(obs: dict) -> str:
    """Lower-case free text that may qualify a value (code, method, bodySite, notes)."""
    parts = [
        concept_text(obs.get("code")),
        concept_text(obs.get("method")),
        concept_text(obs.get("bodySite")),
    ]
    parts += [text(as_dict(n).get("text")).lower() for n in as_list(obs.get("note"))]
    return " ".join(parts)


def _site_side(mapped: Mapped, obs: dict, words: str, terms: Terms) -> tuple[Site | None, str | None]:
    _, site, side = mapped
    if site is None:
        return None, None
    if site in (Site.OTHER, Site.FEMORAL_NECK):
        for hint in terms.dxa_site_text.texts:  # longest phrase first
            hinted = Site(hint.get("site"))
            if hint.text in words and (site is Site.OTHER or hinted is Site.DISTAL_FEMUR):
                site = hinted
                break
    if side is None:
        body = as_dict(obs.get("bodySite"))
        for _, c, _ in codings(body):
            for qualifier, lr in terms.laterality:
                if qualifier in c:  # post-coordinated "71341001:272741003=7771000"
                    side = lr
        if side is None:
            body_text = concept_text(body)
            side = "left" if "left" in body_text else "right" if "right" in body_text else None
    return site, side


# A "<x" text result without a unit is read in the canonical unit where that is the larger of the
# concept's readings, so the bound stays true whichever unit the lab meant: 25-OH D "<10" as ng/mL
# (10 nmol/L would be 4 ng/mL). Other concepts need a unit.
_UNITLESS_BOUND = frozenset({Concept.VITAMIN_D_25OH})


def _text_quantity(
    concept: Concept, holder: dict, terms: Terms, below_detection: Mapping[Concept, float]
) -> tuple[dict, str | None, str | None] | str:
    """(Quantity, unit, alias) of a text result (valueString, valueCodeableConcept text), or a reason."""
    value = holder.get("valueString")
    if not isinstance(value, str):  # the answer's text, else its first display (case kept: units)
        answer = as_dict(holder.get("valueCodeableConcept"))
        value = text(answer.get("text")) or next((d for _, _, d in codings(answer) if d), "")
    words = value
    parsed = parse(words)
    if parsed is None:
        if terms.below_detection.match_text(words.lower()) and concept in below_detection:
            bound = {"value": below_detection[concept], "comparator": "<", "as_sent": words.strip()[:40]}
            return bound, CANONICAL_UNITS[concept], None
        return "text result without one number"
    unit, alias = resolve(parsed.unit)
    if unit is None and parsed.comparator in ("<", "<=") and concept in _UNITLESS_BOUND:
        unit = CANONICAL_UNITS[concept]
    return {"value": parsed.value, "comparator": parsed.comparator}, unit, alias


def _one(
    mapped: Mapped,
    holder: dict,
    obs: dict,
    when: date,
    source: str,
    words: str,
    terms: Terms,
    below_detection: Mapping[Concept, float],
) -> Measurement | str:
    """A Measurement from the value of ``holder`` (the Observation or one component), or a reason."""
    if holder.get("dataAbsentReason") is not None:
        return "data absent"
    unit_alias: tuple[str | None, str | None] | None = None  # a text result's unit, read from the text
    if "valueQuantity" in holder:
        q = as_dict(holder["valueQuantity"])
    elif isinstance(holder.get("valueInteger"), int) and not isinstance(holder.get("valueInteger"), bool):
        q = {"value": holder["valueInteger"]}
    elif isinstance(holder.get("valueString"), str) or isinstance(holder.get("valueCodeableConcept"), dict):
        found = _text_quantity(mapped[0], holder, terms, below_detection)
        if isinstance(found, str):
            return found
        q, unit_alias = found[0], (found[1], found[2])
    elif any(k.startswith("value") for k in holder):
        return "value is not a quantity"
    else:
        return "no value"
    recipe = _recipe(mapped, q, obs, words, terms, unit_alias)
    return _with_recipe(recipe, q, obs, when, source, text=unit_alias is not None)


@dataclass(frozen=True, slots=True)
class _Recipe:
    """What a value's code, text and unit decide, whatever its number and date."""

    concept: Concept
    factor: float  # to the canonical unit
    lo: float  # plausible range, in the canonical unit
    hi: float
    implausible: str  # the drop reason outside it
    site: Site | None
    side: str | None
    usual: bool
    height_adjusted: bool
    estimated: bool
    alias: str | None


# A call's memo of simple Observations' recipes (None: no concept), by what decides them.
Recipes = dict[bytes, _Recipe | str | None]
_UNSUPPORTED_COMPARATOR = "unsupported comparator"


def _recipe(
    mapped: Mapped,
    q: dict,
    obs: dict,
    words: str,
    terms: Terms,
    unit_alias: tuple[str | None, str | None] | None = None,
) -> _Recipe | str:
    """How a value of concept ``mapped`` in Quantity ``q`` is read, or why it is dropped whatever its
    number. ``unit_alias``: the unit of a text result (else the Quantity's)."""
    comparator = q.get("comparator")
    if comparator is not None and comparator not in _COMPARATORS:
        return _UNSUPPORTED_COMPARATOR
    concept = mapped[0]
    unit, alias = unit_alias if unit_alias is not None else quantity_unit(q)
    if unit == "%" and concept in _PCT_OF:  # a % under a volume code is % predicted
        concept = _PCT_OF[concept]
    factor, reason = to_canonical(concept, 1.0, unit)
    if factor is None:
        return reason or "unit not convertible"
    lo, hi = PLAUSIBLE.get(concept, (float("-inf"), float("inf")))  # before "usual" renames the concept
    implausible = f"implausible {concept.value}"
    usual = concept is Concept.USUAL_WEIGHT or (concept is Concept.WEIGHT and _usual_weight(words, terms))
    if usual:
        concept = Concept.USUAL_WEIGHT
    site, side = _site_side(mapped, obs, words, terms)
    height_adjusted = concept is Concept.Z_SCORE and terms.height_adjusted.match_text(words) is not None
    estimated = concept is Concept.HEIGHT and terms.estimated_height.match_text(words) is not None
    return _Recipe(concept, factor, lo, hi, implausible, site, side, usual, height_adjusted, estimated, alias)


def _with_recipe(
    recipe: _Recipe | str, q: dict, obs: dict, when: date, source: str, text: bool = False
) -> Measurement | str:
    """The Measurement of Quantity ``q`` read with ``recipe``, or the reason it is dropped."""
    raw = q.get("value")
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return "no numeric value"
    if isinstance(recipe, str):
        return "text result: " + recipe if text and recipe != _UNSUPPORTED_COMPARATOR else recipe
    value = float(raw) * recipe.factor
    if not recipe.lo <= value <= recipe.hi:
        return recipe.implausible
    return Measurement(
        concept=recipe.concept,
        value=round(value, 6),
        unit=CANONICAL_UNITS[recipe.concept],
        when=when,
        source=source,
        comparator=q.get("comparator"),
        preliminary=obs.get("status") == "preliminary",
        site=recipe.site,
        laterality=recipe.side,
        height_adjusted=recipe.height_adjusted,
        estimated=recipe.estimated,
        usual=recipe.usual,
        unit_alias=recipe.alias,
        as_sent=q.get("as_sent") if text else None,
    )


def _recipe_key(obs: dict, q: dict) -> bytes | None:
    """Everything a simple Observation's recipe depends on (None: not simple, or not JSON)."""
    if "component" in obs or "dataAbsentReason" in obs:
        return None
    try:
        return orjson.dumps(
            (
                obs.get("code"),
                obs.get("method"),
                obs.get("bodySite"),
                obs.get("note"),
                {k: v for k, v in q.items() if k != "value"},
            )
        )
    except TypeError:  # not JSON (a caller's odd object): read it the long way
        return None


def _simple_recipe(obs: dict, q: dict, terms: Terms) -> _Recipe | str | None:
    mapped = concept_of(obs.get("code"), terms)
    return None if mapped is None else _recipe(mapped, q, obs, _words(obs), terms)


def measurements(
    obs: dict,
    source: str,
    terms: Terms,
    below_detection: Mapping[Concept, float] | None = None,
    recipes: Recipes | None = None,
    when: date | None = None,
) -> tuple[list[Measurement], list[Dropped]]:
    """All Measurements of one (already status-checked) Observation, and what was dropped from it.

    ``below_detection``: the bound a "below detection" text result is read at, by concept (none: such
    a result is dropped). ``recipes``: a memo for the call's simple Observations (one Quantity, no
    component), whose code, text and unit decide everything but the number and the date. ``when``: the
    Observation's date when the caller has read it already."""
    out: list[Measurement] = []
    dropped: list[Dropped] = []
    when = when or effective_date(obs)
    if when is None:
        return out, [Dropped(source, "no date")]
    q = obs.get("valueQuantity")
    key = _recipe_key(obs, q) if recipes is not None and isinstance(q, dict) else None
    if key is not None and recipes is not None and isinstance(q, dict):
        if key not in recipes:
            recipes[key] = _simple_recipe(obs, q, terms)
        recipe = recipes[key]
        if recipe is not None:
            result = _with_recipe(recipe, q, obs, when, source)
            return ([result], []) if isinstance(result, Measurement) else ([], [Dropped(source, result)])
    words = _words(obs)
    holders: list[tuple[Mapped, dict]] = []
    top = concept_of(obs.get("code"), terms)
    if top is not None and (
        any(k.startswith("value") for k in obs) or "dataAbsentReason" in obs or not obs.get("component")
    ):
        holders.append((top, obs))
    for comp in as_list(obs.get("component")):
        mapped = concept_of(as_dict(comp).get("code"), terms)
        if mapped is not None:
            holders.append((mapped, comp))
    for mapped, holder in holders:
        result = _one(mapped, holder, obs, when, source, words, terms, below_detection or {})
        if isinstance(result, Measurement):
            out.append(result)
        else:
            dropped.append(Dropped(source, result))
    return out, dropped

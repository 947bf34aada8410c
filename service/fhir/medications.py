"""Glucocorticoid and bone-therapy exposure: one MedicationCourse per drug,
describing its current episode of continuous exposure (records split at gaps longer than the drug's
dosing interval; 90 days for glucocorticoids).

Drugs are matched by RxNorm ingredient, then ATC, then display text (medicationCodeableConcept,
contained or referenced Medication). Requests, statements and administrations of one episode merge.
Bone therapy is "active" while the last dose/refill is within the drug's interval (the knowledge's
``medication`` thresholds).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from service.fhir import episodes
from service.fhir.episodes import Exposure
from service.fhir.fhirjson import (
    as_dict,
    as_list,
    codings,
    concept_text,
    effective_date,
    parse_date,
    period_start,
    reference,
    text,
)
from service.fhir.summary import DrugClass, MedicationCourse
from service.fhir.terms import Terms
from service.fhir.whose import target
from service.knowledge.thresholds import Medication

# Statuses that mean the drug was never (or not) given: the record is dropped.
NOT_TAKEN = {"entered-in-error", "cancelled", "draft", "not-taken", "intended", "not-done", "unknown"}
ONGOING = {"active", "on-hold", "in-progress"}
MED_TYPES = ("MedicationRequest", "MedicationStatement", "MedicationAdministration")


def identify(concept: object, terms: Terms) -> tuple[str, DrugClass] | None:
    """(ingredient, class) of a medication CodeableConcept, or None: by ingredient code (RxNorm,
    ATC), then by name in the text (longest first: "methylprednisolone" before "prednisolone"), then
    by ATC class (the display names the drug)."""
    found = terms.find(concept, terms.drugs)
    if found is not None:
        return str(found.get("drug")), DrugClass(found.get("drug_class"))
    named = terms.drugs.match_text(concept_text(concept))
    if named is not None:
        drug = str(named.get("drug"))
        return drug, DrugClass(terms.drug_class[drug])
    for system, code, display in codings(concept):
        cls = terms.drug_classes.lookup(terms.canonical(system), code)
        if cls is not None:
            return (display or code).lower(), DrugClass(cls.get("drug_class"))
    return None


def referenced(res: dict, medications: Mapping[str, dict]) -> dict | None:
    """The contained or referenced Medication of a medication resource, when the request holds it."""
    ref = reference(res.get("medicationReference"))
    if not ref:
        return None
    if ref.startswith("#"):
        for c in as_list(res.get("contained")):
            if as_dict(c).get("id") == ref[1:]:
                return as_dict(c)
        return None
    found = target(ref)
    key = found[1] if found and found[0] == "Medication" else ref
    return medications.get(f"Medication/{key}") or medications.get(key)


def medication_concept(res: dict, medications: Mapping[str, dict]) -> object:
    """medicationCodeableConcept, or the code of the contained / referenced Medication."""
    if "medicationCodeableConcept" in res:
        return res["medicationCodeableConcept"]
    med = referenced(res, medications)
    return as_dict(med).get("code") if med else None


def _route(res: dict) -> str | None:
    dosages = (
        as_list(res.get("dosageInstruction")) + as_list(res.get("dosage")) + [as_dict(res.get("dosage"))]
    )
    for d in dosages:
        words = concept_text(as_dict(d).get("route"))
        if words:
            return words
    return None


_DURATION_DAYS = {"d": 1, "wk": 7, "mo": 30, "a": 365}  # UCUM units of Timing.repeat.boundsDuration


def _duration_end(req: dict, start: date | None) -> date | None:
    """End of a MedicationRequest given as a duration ("for 5 days": timing.repeat.boundsDuration)."""
    for d in as_list(req.get("dosageInstruction")):
        dur = as_dict(as_dict(as_dict(as_dict(d).get("timing")).get("repeat")).get("boundsDuration"))
        value, unit = dur.get("value"), dur.get("code") or dur.get("unit")
        if (
            start
            and isinstance(value, int | float)
            and not isinstance(value, bool)
            and unit in _DURATION_DAYS
        ):
            return start + timedelta(days=max(0, round(value * _DURATION_DAYS[unit]) - 1))
    return None


NOT_RESOLVED = "medication not resolved"


def exposure(res: dict, source: str, medications: Mapping[str, dict], terms: Terms) -> Exposure | str:
    """An Exposure from one medication resource, or a drop reason.

    A medicationReference to a Medication the request lacks (the prefetch layer fetches it from
    fhirServer when it can) is matched on the reference's display text as a last resort; when that
    names no drug it is reported as not resolved, never counted as "not used".
    """
    concept = medication_concept(res, medications)
    med = referenced(res, medications)
    if concept is None and "medicationReference" in res and med is None:
        display = text(as_dict(res.get("medicationReference")).get("display"))
        concept = {"text": display} if display else None
        if identify(concept, terms) is None:
            return NOT_RESOLVED
    found = identify(concept, terms)
    if found is None:
        return "medication not used"
    status = text(res.get("status"))
    if status in NOT_TAKEN:
        return f"status {status}"
    drug, cls = found
    route = _route(res)
    # route, drug name and dose form (Medication.form): a cream, ointment, eye drops, inhaler or nasal
    # spray is not systemic even when no route is given
    words = f"{route or ''} {concept_text(concept)} {concept_text(as_dict(med).get('form'))}"
    if cls is DrugClass.GLUCOCORTICOID and terms.non_systemic.match_text(words):
        return "non-systemic glucocorticoid"  # inhaled/topical are not exposure
    kind = text(res.get("resourceType"))
    if kind == "MedicationRequest":
        bounds = [
            as_dict(as_dict(as_dict(d).get("timing")).get("repeat")).get("boundsPeriod")
            for d in as_list(res.get("dosageInstruction"))
        ]
        validity = as_dict(res.get("dispenseRequest")).get("validityPeriod")
        authored = parse_date(res.get("authoredOn"))
        start = (
            next((period_start(b) for b in bounds if period_start(b)), None)
            or period_start(validity)
            or authored
        )
        end = next((parse_date(as_dict(b).get("end")) for b in bounds if as_dict(b).get("end")), None)
        end = end or parse_date(as_dict(validity).get("end")) or _duration_end(res, start)
        last = max((d for d in (authored, period_start(validity)) if d), default=start)
    else:
        start = effective_date(res) or parse_date(res.get("dateAsserted"))
        end = parse_date(as_dict(res.get("effectivePeriod")).get("end"))
        last = end or start
        if kind == "MedicationAdministration":
            end = end or start
    ongoing = status in ONGOING or (status == "" and end is None)
    if not ongoing and end is None:
        end = last  # completed/stopped without an end date: exposure ends at the last known date
    if start is None and last is None:
        return "no date"
    return Exposure(drug, cls, start, end, last, ongoing, source, route, kind)


def courses(exposures: list[Exposure], today: date, th: Medication) -> tuple[MedicationCourse, ...]:
    """One MedicationCourse per drug: its current (latest) episode of continuous exposure.

    Earlier episodes separated by a gap longer than the drug's interval are not reported: the start
    (hence ``days_on`` and months on therapy) is that of the current episode — a 2021 prednisone
    burst does not make a course started last week chronic, and a 2019 zoledronate infusion does not
    add years to a restart. A stopped drug's course is its last episode, with its end date.
    """
    by_drug: dict[str, list[Exposure]] = {}
    for e in exposures:
        by_drug.setdefault(e.drug, []).append(e)
    out = []
    for drug, records in sorted(by_drug.items()):
        group = episodes.current(episodes.split(records, th), today)
        cls = group[0].drug_class
        starts = [e.start for e in group if e.start]
        lasts = [e.last for e in group if e.last and e.last <= today]
        ongoing = [e for e in group if e.ongoing and (e.end is None or e.end >= today)]
        ends = [e.end for e in group if e.end]
        end = None if ongoing else (max(ends) if ends else None)
        last = max(lasts) if lasts else None
        if cls is DrugClass.GLUCOCORTICOID:
            active = bool(ongoing)
        else:  # a MedicationStatement saying "taking it now" is current use; otherwise the dosing interval
            active = any(e.kind == "MedicationStatement" for e in ongoing) or episodes.interval_ok(
                cls, drug, last, today, th
            )
        out.append(
            MedicationCourse(
                drug=drug,
                drug_class=cls,
                start=min(starts) if starts else None,
                end=end,
                last_dose=last,
                active=active,
                sources=tuple(e.source for e in group),
                route=next((e.route for e in group if e.route), None),
            )
        )
    return tuple(out)


@dataclass
class MedicationIndex:
    """Medication resources of the input, by "Medication/<id>" and bare id (for medicationReference)."""

    by_ref: dict[str, dict] = field(default_factory=dict)

    def add(self, med: dict) -> None:
        mid = med.get("id")
        if isinstance(mid, str):
            self.by_ref[f"Medication/{mid}"] = med
            self.by_ref[mid] = med

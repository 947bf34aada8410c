"""Small FHIR JSON builders for the data-layer tests (each returns a plain dict)."""

from __future__ import annotations

import itertools
from datetime import date

from service.fhir.build import IntakeStats, build_summary, summarise
from service.fhir.summary import ActionKind, PatientSummary
from service.knowledge import default_knowledge

TODAY = date(2024, 6, 1)
KNOWLEDGE = default_knowledge()
_ids = itertools.count(1)
UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
CPT = "http://www.ama-assn.org/go/cpt"
__all__ = [
    "ATC",
    "CPT",
    "ICD10CM",
    "KNOWLEDGE",
    "LOINC",
    "RXNORM",
    "SNOMED",
    "TODAY",
    "cc",
    "cond",
    "obs",
    "order_codes",
    "qty",
    "run",
    "steroid",
]


def cc(system: str, code: str, display: str = "", text: str | None = None) -> dict:
    out: dict = {"coding": [{"system": system, "code": code, **({"display": display} if display else {})}]}
    if text:
        out["text"] = text
    return out


def qty(value: float, code: str | None, comparator: str | None = None, unit: str | None = None) -> dict:
    q: dict = {"value": value}
    if code is not None:
        q.update(system=UCUM, code=code, unit=unit or code)
    elif unit is not None:
        q["unit"] = unit
    if comparator:
        q["comparator"] = comparator
    return q


def obs(
    code: str | dict,
    value: object = None,
    unit: str | None = "kg",
    *,
    system: str = LOINC,
    status: str = "final",
    when: str | None = "2024-01-10",
    id: str | None = None,
    **extra: object,
) -> dict:
    r: dict = {
        "resourceType": "Observation",
        "id": id or f"o{next(_ids)}",
        "status": status,
        "code": code if isinstance(code, dict) else cc(system, code),
        "subject": {"reference": "Patient/p1"},
    }
    if when is not None:
        r["effectiveDateTime"] = when
    if isinstance(value, bool):
        r["valueBoolean"] = value
    elif isinstance(value, int | float):
        r["valueQuantity"] = qty(value, unit)
    r.update(extra)
    return r


def cond(
    system: str,
    code: str,
    *,
    clinical: str | None = "active",
    verification: str | None = None,
    onset: str | None = "2023-03-01",
    id: str | None = None,
    **extra: object,
) -> dict:
    r: dict = {
        "resourceType": "Condition",
        "id": id or f"c{next(_ids)}",
        "code": cc(system, code),
        "subject": {"reference": "Patient/p1"},
    }
    if clinical:
        r["clinicalStatus"] = cc("http://terminology.hl7.org/CodeSystem/condition-clinical", clinical)
    if verification:
        r["verificationStatus"] = cc(
            "http://terminology.hl7.org/CodeSystem/condition-ver-status", verification
        )
    if onset:
        r["onsetDateTime"] = onset
    r.update(extra)
    return r


def steroid(since: str = "2020-01-01") -> dict:
    """An ongoing deflazacort MedicationStatement named only by its text (chronic systemic GC)."""
    return {
        "resourceType": "MedicationStatement",
        "id": "ms1",
        "status": "active",
        "subject": {"reference": "Patient/p1"},
        "effectivePeriod": {"start": since},
        "medicationCodeableConcept": {"text": "Deflazacort 18 mg tablet"},
    }


def order_codes(action: ActionKind) -> set[tuple[str, str]]:
    """(system, code) of every order / procedure code for ``action`` in the value set ``orders``."""
    return {(c.system, c.code) for c in KNOWLEDGE.vocabulary["orders"].codes if c.get("action") == action}


def run(
    *resources: object,
    today: date = TODAY,
    patient_id: str | None = None,
    complete: frozenset[str] = frozenset(),
) -> PatientSummary:
    return build_summary(list(resources), today, KNOWLEDGE, patient_id=patient_id, complete=complete)


def stats(*resources: object, patient_id: str | None = None) -> tuple[PatientSummary, IntakeStats]:
    return summarise(list(resources), TODAY, KNOWLEDGE, patient_id=patient_id)


def reasons(summary: PatientSummary) -> list[str]:
    return [d.reason for d in summary.dropped]

"""Small FHIR JSON builders for the data-layer tests (each returns a plain dict)."""

from __future__ import annotations

import itertools
from datetime import date

from service.fhir.build import IntakeStats, build_summary, summarise
from service.fhir.codes import CPT, ICD10CM, LOINC, RXNORM, SNOMED
from service.fhir.summary import PatientSummary
from service.rules.thresholds import load_thresholds

TODAY = date(2024, 6, 1)
THRESHOLDS = load_thresholds()
_ids = itertools.count(1)
UCUM = "http://unitsofmeasure.org"
__all__ = ["CPT", "ICD10CM", "LOINC", "RXNORM", "SNOMED", "TODAY", "cc", "cond", "obs", "qty", "run"]


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


def run(
    *resources: object,
    today: date = TODAY,
    patient_id: str | None = None,
    complete: frozenset[str] = frozenset(),
) -> PatientSummary:
    return build_summary(list(resources), today, THRESHOLDS, patient_id=patient_id, complete=complete)


def stats(*resources: object, patient_id: str | None = None) -> tuple[PatientSummary, IntakeStats]:
    return summarise(list(resources), TODAY, THRESHOLDS, patient_id=patient_id)


def reasons(summary: PatientSummary) -> list[str]:
    return [d.reason for d in summary.dropped]

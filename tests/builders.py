"""Small builders of FHIR R4 JSON and hook requests for tests (codes as in the knowledge's value sets)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

PATIENT_ID = "pt-1"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


def patient(pid: str = PATIENT_ID, birth: str = "1970-05-01", sex: str = "male") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "gender": sex, "birthDate": birth}


def condition(
    rid: str,
    code: str,
    system: str = SNOMED,
    pid: str = PATIENT_ID,
    onset: str | None = None,
    status: str = "active",
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Condition",
        "id": rid,
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": status}]},
        "verificationStatus": {"coding": [{"system": CONDITION_VERIFICATION, "code": "confirmed"}]},
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": f"Patient/{pid}"},
    }
    if onset:
        res["onsetDateTime"] = onset
    return res


def quantity_obs(
    rid: str,
    loinc: str,
    value: float,
    unit: str,
    when: date | str,
    pid: str = PATIENT_ID,
    category: str = "vital-signs",
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "category": [
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": category}
                ]
            }
        ],
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": str(when),
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
    }


def hook_request(prefetch: dict[str, Any] | None, pid: str = PATIENT_ID, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/example", "patientId": pid},
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    body.update(extra)
    return body


# The prefetch key each resource type arrives under (the service's search templates).
PREFETCH_KEY_OF = {
    "Condition": "conditions",
    "Observation": "observations",
    "MedicationRequest": "medicationRequests",
    "MedicationStatement": "medicationStatements",
    "MedicationAdministration": "medicationAdministrations",
    "DiagnosticReport": "diagnosticReports",
    "Procedure": "procedures",
    "ServiceRequest": "serviceRequests",
}


def full_prefetch(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """Split resources into the service's prefetch keys, as an EHR would deliver them."""
    by_type: dict[str, list[dict[str, Any]]] = {}
    for r in resources:
        by_type.setdefault(r["resourceType"], []).append(r)
    pre: dict[str, Any] = {key: None for key in PREFETCH_KEY_OF.values()}
    pre["patient"] = (by_type.get("Patient") or [None])[0]
    for rtype, key in PREFETCH_KEY_OF.items():
        if by_type.get(rtype):
            pre[key] = searchset(by_type[rtype])
    return pre


def als_weight_loss(
    today: date, pid: str = PATIENT_ID, usual: float = 72.0, current: float = 67.6
) -> list[dict]:
    """Adult ALS patient whose weight fell from ``usual`` to ``current`` kg over 4 months."""
    return [
        patient(pid),
        condition(f"{pid}-als", "86044005", pid=pid, onset="2025-06-01"),
        quantity_obs(f"{pid}-w1", "29463-7", usual, "kg", today - timedelta(days=120), pid=pid),
        quantity_obs(f"{pid}-w2", "29463-7", current, "kg", today - timedelta(days=3), pid=pid),
    ]

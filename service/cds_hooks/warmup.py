"""Start-up warm-up: one synthetic evaluation so lazily built parts (FHIR model classes, validators,
growth tables) are ready before the first EHR call, and before gunicorn freezes the heap."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from service.fhir import codes


def _obs(rid: str, loinc: str, value: float, unit: str, when: date) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": codes.LOINC, "code": loinc}]},
        "subject": {"reference": "Patient/warm-up"},
        "effectiveDateTime": when.isoformat(),
        "valueQuantity": {"value": value, "unit": unit, "system": codes.UCUM, "code": unit},
    }


def synthetic_chart(today: date) -> list[dict[str, Any]]:
    """A 12-year-old with DMD on deflazacort: weights, height, DXA, FVC, vitamin D (no real patient)."""
    ago = lambda days: today - timedelta(days=days)  # noqa: E731
    return [
        {
            "resourceType": "Patient",
            "id": "warm-up",
            "gender": "male",
            "birthDate": ago(12 * 365 + 30).isoformat(),
        },
        {
            "resourceType": "Condition",
            "id": "warm-up-dmd",
            "subject": {"reference": "Patient/warm-up"},
            "clinicalStatus": {"coding": [{"system": codes.CONDITION_CLINICAL, "code": "active"}]},
            "code": {"coding": [{"system": codes.SNOMED, "code": "76670001"}]},
        },
        {
            "resourceType": "MedicationRequest",
            "id": "warm-up-gc",
            "status": "active",
            "intent": "order",
            "subject": {"reference": "Patient/warm-up"},
            "authoredOn": ago(400).isoformat(),
            "medicationCodeableConcept": {"coding": [{"system": codes.RXNORM, "code": "22396"}]},
        },
        _obs("warm-up-w1", "29463-7", 40.0, "kg", ago(200)),
        _obs("warm-up-w2", "29463-7", 36.0, "kg", ago(5)),
        _obs("warm-up-h", "8302-2", 145.0, "cm", ago(5)),
        _obs("warm-up-z", "85394-5", -2.3, "{Z-score}", ago(30)),
        _obs("warm-up-bmd", "24966-4", 0.61, "g/cm2", ago(30)),
        _obs("warm-up-fvc", "19872-1", 70.0, "%", ago(30)),
        _obs("warm-up-vd", "62292-8", 18.0, "ng/mL", ago(30)),
    ]

"""Start-up warm-up: one synthetic evaluation so lazily built parts (FHIR model classes, validators,
growth tables) are ready before the first EHR call, and before gunicorn freezes the heap."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from service.fhir import codes
from service.fhir.summary import Concept, Nmd, Site


def _loinc(concept: Concept, site: Site | None = None) -> str:
    """The first LOINC of a concept in the terminology module (no code is written here)."""
    if site is not None:
        return next(c for c, (k, s, side) in codes.DXA.items() if k is concept and s is site and side is None)
    return next(c for c, k in codes.MEASUREMENTS.items() if k is concept)


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
            "code": {
                "coding": [
                    {
                        "system": codes.SNOMED,
                        "code": next(c for c, n in codes.NMD_SNOMED.items() if n is Nmd.DMD),
                    }
                ]
            },
        },
        {
            "resourceType": "MedicationRequest",
            "id": "warm-up-gc",
            "status": "active",
            "intent": "order",
            "subject": {"reference": "Patient/warm-up"},
            "authoredOn": ago(400).isoformat(),
            "medicationCodeableConcept": {
                "coding": [{"system": codes.RXNORM, "code": min(codes.DRUGS["deflazacort"][1])}]
            },
        },
        _obs("warm-up-w1", _loinc(Concept.WEIGHT), 40.0, "kg", ago(200)),
        _obs("warm-up-w2", _loinc(Concept.WEIGHT), 36.0, "kg", ago(5)),
        _obs("warm-up-h", _loinc(Concept.HEIGHT), 145.0, "cm", ago(5)),
        _obs("warm-up-z", _loinc(Concept.Z_SCORE, Site.LUMBAR_SPINE), -2.3, "{Z-score}", ago(30)),
        _obs("warm-up-bmd", _loinc(Concept.BMD, Site.LUMBAR_SPINE), 0.61, "g/cm2", ago(30)),
        _obs("warm-up-fvc", _loinc(Concept.FVC_PCT_PREDICTED), 70.0, "%", ago(30)),
        _obs("warm-up-vd", _loinc(Concept.VITAMIN_D_25OH), 18.0, "ng/mL", ago(30)),
    ]

"""Start-up warm-up: one synthetic evaluation so lazily built parts (FHIR model classes, validators,
growth tables) are ready before the first EHR call, and before gunicorn freezes the heap."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from service.fhir.terms import MEASUREMENT_SETS
from service.fhir.units import UCUM
from service.knowledge import Knowledge
from service.knowledge.concepts import Concept, Nmd, Site
from service.knowledge.model import Code, Vocabulary

CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"


def _first(vocabulary: Vocabulary, valuesets: tuple[str, ...], system: str, **attrs: str | None) -> Code:
    """The first code of ``system`` in ``valuesets`` with these attributes (no code is written here)."""
    return next(
        c
        for vs in valuesets
        for c in vocabulary[vs].codes
        if c.system == vocabulary.uri(system) and all(c.get(k) == v for k, v in attrs.items())
    )


def _measured(vocabulary: Vocabulary, concept: Concept, site: Site | None = None) -> Code:
    """The first LOINC of a concept (a DXA site's code without laterality)."""
    if site is not None:
        return _first(vocabulary, ("dxa",), "loinc", concept=concept, site=site, laterality=None)
    return _first(vocabulary, MEASUREMENT_SETS, "loinc", concept=concept)


def _obs(rid: str, code: Code, value: float, unit: str, when: date) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": code.system, "code": code.code}]},
        "subject": {"reference": "Patient/warm-up"},
        "effectiveDateTime": when.isoformat(),
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }


def synthetic_chart(today: date, knowledge: Knowledge) -> list[dict[str, Any]]:
    """A 12-year-old with DMD on deflazacort: weights, height, DXA, FVC, vitamin D (no real patient),
    coded with the first standard code of each concept in the knowledge's value sets."""
    v = knowledge.vocabulary
    ago = lambda days: today - timedelta(days=days)  # noqa: E731
    dmd = _first(v, ("neuromuscular-disorders",), "snomed", disorder=Nmd.DMD)
    deflazacort = _first(v, ("drugs",), "rxnorm", drug="deflazacort")
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
            "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
            "code": {"coding": [{"system": dmd.system, "code": dmd.code}]},
        },
        {
            "resourceType": "MedicationRequest",
            "id": "warm-up-gc",
            "status": "active",
            "intent": "order",
            "subject": {"reference": "Patient/warm-up"},
            "authoredOn": ago(400).isoformat(),
            "medicationCodeableConcept": {
                "coding": [{"system": deflazacort.system, "code": deflazacort.code}]
            },
        },
        _obs("warm-up-w1", _measured(v, Concept.WEIGHT), 40.0, "kg", ago(200)),
        _obs("warm-up-w2", _measured(v, Concept.WEIGHT), 36.0, "kg", ago(5)),
        _obs("warm-up-h", _measured(v, Concept.HEIGHT), 145.0, "cm", ago(5)),
        _obs("warm-up-z", _measured(v, Concept.Z_SCORE, Site.LUMBAR_SPINE), -2.3, "{Z-score}", ago(30)),
        _obs("warm-up-bmd", _measured(v, Concept.BMD, Site.LUMBAR_SPINE), 0.61, "g/cm2", ago(30)),
        _obs("warm-up-fvc", _measured(v, Concept.FVC_PCT_PREDICTED), 70.0, "%", ago(30)),
        _obs("warm-up-vd", _measured(v, Concept.VITAMIN_D_25OH), 18.0, "ng/mL", ago(30)),
    ]

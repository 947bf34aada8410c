"""Deterministic patient-view requests of a long-followed DMD patient, with N Observations.

The mix is what a neuromuscular clinic's chart looks like after years of follow-up: weights at every
visit, heights, BMI, DXA exams at several sites (BMD and Z-scores at lumbar spine, left hip, femoral
neck), spirometry (FVC in L and % predicted), 25-OH vitamin D, and — the majority — vitals and labs
the service does not read (heart rate, blood pressure panels, temperature, SpO2, electrolytes, CK,
liver enzymes, haemoglobin, glucose).
Resources carry the elements real EHR exports carry (meta, identifier, category, encounter, performer,
referenceRange, interpretation), so the JSON size per Observation is realistic for the parse floor.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import date, timedelta
from typing import Any

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
PATIENT_ID = "bench-dmd-1"
TODAY = date(2026, 3, 1)
FOLLOW_UP_YEARS = 14

# (weight in the mix, loinc, display, unit, value generator(age_fraction, rng), category)
_Q = tuple[str, str, str, Any, str]
SERVICE_READS: list[tuple[float, _Q]] = [
    (
        0.16,
        (
            "29463-7",
            "Body weight",
            "kg",
            lambda f, r: round(22 + 40 * f - 8 * max(0, f - 0.8) + r.gauss(0, 0.8), 1),
            "vital-signs",
        ),
    ),
    (
        0.03,
        ("8302-2", "Body height", "cm", lambda f, r: round(115 + 50 * f + r.gauss(0, 0.5), 1), "vital-signs"),
    ),
    (
        0.03,
        (
            "39156-5",
            "Body mass index (BMI) [Ratio]",
            "kg/m2",
            lambda f, r: round(17 + 6 * f + r.gauss(0, 0.4), 1),
            "vital-signs",
        ),
    ),
    (
        0.015,
        (
            "24966-4",
            "Lumbar spine BMD",
            "g/cm2",
            lambda f, r: round(0.75 + 0.1 * f + r.gauss(0, 0.02), 3),
            "imaging",
        ),
    ),
    (
        0.015,
        (
            "85394-5",
            "Lumbar spine Z-score",
            "{Z-score}",
            lambda f, r: round(-1.2 - 1.0 * f + r.gauss(0, 0.2), 1),
            "imaging",
        ),
    ),
    (
        0.008,
        (
            "46278-8",
            "Left hip BMD",
            "g/cm2",
            lambda f, r: round(0.70 - 0.05 * f + r.gauss(0, 0.02), 3),
            "imaging",
        ),
    ),
    (
        0.008,
        (
            "80938-4",
            "Left hip Z-score",
            "{Z-score}",
            lambda f, r: round(-1.5 - 1.0 * f + r.gauss(0, 0.2), 1),
            "imaging",
        ),
    ),
    (
        0.008,
        (
            "24701-5",
            "Femoral neck BMD",
            "g/cm2",
            lambda f, r: round(0.65 - 0.05 * f + r.gauss(0, 0.02), 3),
            "imaging",
        ),
    ),
    (
        0.008,
        (
            "80934-3",
            "Femoral neck Z-score",
            "{Z-score}",
            lambda f, r: round(-1.7 - 1.0 * f + r.gauss(0, 0.2), 1),
            "imaging",
        ),
    ),
    (
        0.04,
        (
            "19870-5",
            "Forced vital capacity [Volume] by Spirometry",
            "L",
            lambda f, r: round(max(0.6, 1.6 + 1.2 * f - 2.0 * max(0, f - 0.5)) + r.gauss(0, 0.05), 2),
            "exam",
        ),
    ),
    (
        0.04,
        (
            "19872-1",
            "FVC % predicted",
            "%",
            lambda f, r: round(max(20, 95 - 55 * f) + r.gauss(0, 2), 0),
            "exam",
        ),
    ),
    (
        0.025,
        (
            "62292-8",
            "25-hydroxyvitamin D2+D3 [Mass/volume]",
            "ng/mL",
            lambda f, r: round(max(8, 28 - 10 * f + r.gauss(0, 4)), 0),
            "laboratory",
        ),
    ),
]
UNRELATED: list[tuple[float, _Q]] = [
    (0.14, ("8867-4", "Heart rate", "/min", lambda f, r: round(r.gauss(92, 8)), "vital-signs")),
    (0.06, ("8310-5", "Body temperature", "Cel", lambda f, r: round(r.gauss(36.8, 0.3), 1), "vital-signs")),
    (0.06, ("9279-1", "Respiratory rate", "/min", lambda f, r: round(r.gauss(18, 2)), "vital-signs")),
    (
        0.06,
        (
            "2708-6",
            "Oxygen saturation in Arterial blood",
            "%",
            lambda f, r: round(r.gauss(97, 1)),
            "vital-signs",
        ),
    ),
    (
        0.04,
        (
            "2951-2",
            "Sodium [Moles/volume] in Serum or Plasma",
            "mmol/L",
            lambda f, r: round(r.gauss(140, 2)),
            "laboratory",
        ),
    ),
    (
        0.04,
        (
            "2823-3",
            "Potassium [Moles/volume] in Serum or Plasma",
            "mmol/L",
            lambda f, r: round(r.gauss(4.2, 0.3), 1),
            "laboratory",
        ),
    ),
    (
        0.04,
        (
            "2157-6",
            "Creatine kinase [Enzymatic activity/volume] in Serum or Plasma",
            "U/L",
            lambda f, r: round(r.gauss(9000, 3000)),
            "laboratory",
        ),
    ),
    (
        0.04,
        (
            "1742-6",
            "Alanine aminotransferase [Enzymatic activity/volume]",
            "U/L",
            lambda f, r: round(r.gauss(250, 60)),
            "laboratory",
        ),
    ),
    (
        0.04,
        (
            "718-7",
            "Hemoglobin [Mass/volume] in Blood",
            "g/dL",
            lambda f, r: round(r.gauss(13.5, 0.8), 1),
            "laboratory",
        ),
    ),
    (
        0.04,
        (
            "2345-7",
            "Glucose [Mass/volume] in Serum or Plasma",
            "mg/dL",
            lambda f, r: round(r.gauss(95, 10)),
            "laboratory",
        ),
    ),
]
BP = 0.06  # blood-pressure panels (component Observations)


def _observation(rng: random.Random, i: int, when: date, frac: float, spec: _Q) -> dict[str, Any]:
    loinc, display, unit, value, category = spec
    return {
        "resourceType": "Observation",
        "id": f"obs-{i}",
        "meta": {"versionId": "1", "lastUpdated": f"{when.isoformat()}T12:00:00Z"},
        "identifier": [{"system": "urn:oid:1.2.840.114350.1.13.0.1.7.2.798268", "value": f"{i:08d}"}],
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": category}]}],
        "code": {"coding": [{"system": LOINC, "code": loinc, "display": display}], "text": display},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "encounter": {"reference": f"Encounter/enc-{when.isoformat()}"},
        "effectiveDateTime": f"{when.isoformat()}T{rng.randint(8, 17):02d}:{rng.randint(0, 59):02d}:00-05:00",
        "issued": f"{when.isoformat()}T18:00:00Z",
        "performer": [{"reference": "Practitioner/nmd-clinic-1"}],
        "valueQuantity": {"value": value(frac, rng), "unit": unit, "system": UCUM, "code": unit},
        "interpretation": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                        "code": "N",
                    }
                ]
            }
        ],
    }


def _bp(rng: random.Random, i: int, when: date) -> dict[str, Any]:
    obs = _observation(
        rng, i, when, 0.0, ("85354-9", "Blood pressure panel", "mm[Hg]", lambda f, r: 0, "vital-signs")
    )
    del obs["valueQuantity"]
    obs["component"] = [
        {
            "code": {"coding": [{"system": LOINC, "code": code, "display": disp}]},
            "valueQuantity": {
                "value": round(rng.gauss(mean, 6)),
                "unit": "mm[Hg]",
                "system": UCUM,
                "code": "mm[Hg]",
            },
        }
        for code, disp, mean in (
            ("8480-6", "Systolic blood pressure", 105),
            ("8462-4", "Diastolic blood pressure", 65),
        )
    ]
    return obs


def _visits(count: int, span: int, rng: random.Random) -> list[int]:
    """``count`` visit days spread evenly over ``span`` days, with a little jitter."""
    return [min(span, int(span * (k + 0.5) / count + rng.uniform(-10, 10))) for k in range(count)]


def observations(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` Observations over the follow-up years, chronological.

    DXA, spirometry and vitamin D come in visits, as in clinic: a DXA exam is 6 Observations on one day
    (BMD and Z at lumbar spine, left hip, femoral neck), at most twice a year; spirometry is FVC (L) and
    FVC % predicted on one day, and vitamin D one value, at most 4 times a year. Heavier charts grow by
    what grows in real charts: weights, vitals and labs (inpatient stays), drawn from the mix above.
    """
    rng = random.Random(seed)
    by_code = {spec[0]: spec for _, spec in SERVICE_READS}
    dxa = [by_code[c] for c in ("24966-4", "85394-5", "46278-8", "80938-4", "24701-5", "80934-3")]
    spiro = [by_code["19870-5"], by_code["19872-1"]]
    years = FOLLOW_UP_YEARS
    start = TODAY - timedelta(days=365 * years)
    span = (TODAY - start).days
    planned: list[tuple[int, _Q | None]] = []  # (day, spec); None = blood-pressure panel
    for count, group in (
        (min(2 * years, max(1, round(0.055 * n / 6))), dxa),
        (min(4 * years, max(1, round(0.08 * n / 2))), spiro),
        (min(4 * years, max(1, round(0.025 * n))), [by_code["62292-8"]]),
    ):
        planned += [(day, spec) for day in _visits(count, span, rng) for spec in group]
    planned = planned[:n]
    rest = [spec for _, spec in SERVICE_READS if spec[0] in ("29463-7", "8302-2", "39156-5")]
    rest_specs: list[_Q | None] = [*rest, *(spec for _, spec in UNRELATED), None]
    rest_weights = [w for w, spec in SERVICE_READS if spec in rest] + [w for w, _ in UNRELATED] + [BP]
    others = n - len(planned)
    for i in range(others):
        day = int(span * (i + rng.random()) / others)
        planned.append((day, rng.choices(rest_specs, rest_weights)[0]))
    planned.sort(key=lambda p: p[0])
    out = []
    for i, (day, spec) in enumerate(planned):
        when = start + timedelta(days=day)
        out.append(_bp(rng, i, when) if spec is None else _observation(rng, i, when, day / span, spec))
    return out


def _searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [
            {
                "fullUrl": f"https://ehr.example.org/fhir/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


def request(n: int, seed: int = 7) -> dict[str, Any]:
    """A patient-view request, full prefetch: a 15-year-old boy with DMD on deflazacort, n Observations."""
    patient = {"resourceType": "Patient", "id": PATIENT_ID, "gender": "male", "birthDate": "2011-02-14"}
    condition = {
        "resourceType": "Condition",
        "id": "dmd",
        "clinicalStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}
            ]
        },
        "verificationStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}
            ]
        },
        "code": {
            "coding": [{"system": SNOMED, "code": "76670001", "display": "Duchenne muscular dystrophy"}]
        },
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "onsetDateTime": "2015-06-01",
    }
    steroid = {
        "resourceType": "MedicationRequest",
        "id": "deflazacort",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": "22396", "display": "deflazacort"}]
        },
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "authoredOn": "2017-01-10",
        "dosageInstruction": [{"text": "0.9 mg/kg daily", "route": {"text": "oral"}}],
    }
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.UUID(int=random.Random(seed + n).getrandbits(128), version=4)),
        "fhirServer": "https://ehr.example.org/fhir",
        "context": {"userId": "Practitioner/nmd-clinic-1", "patientId": PATIENT_ID},
        "prefetch": {
            "patient": patient,
            "conditions": _searchset([condition]),
            "observations": _searchset(observations(n, seed)),
            "medicationRequests": _searchset([steroid]),
            "medicationStatements": None,
            "medicationAdministrations": None,
            "diagnosticReports": None,
            "procedures": None,
            "serviceRequests": None,
        },
    }


def body(n: int, seed: int = 7) -> bytes:
    return json.dumps(request(n, seed), separators=(",", ":")).encode()


if __name__ == "__main__":  # python -m bench.generate 200 > req.json
    import sys

    sys.stdout.buffer.write(body(int(sys.argv[1]) if len(sys.argv) > 1 else 200))

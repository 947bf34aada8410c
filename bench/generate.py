"""Deterministic patient-view requests of a long-followed DMD patient, with N Observations.

Two workloads (``WORKLOADS``), the same patient, Condition and MedicationRequest:

- ``mixed`` (``observations``): a whole-chart export, most of it codes the service does not read.
- ``all-relevant`` (``relevant_observations``): only codes the service reads, as an EHR sends them when
  it runs the service's own prefetch query (``service/knowledge/valuesets/observations.yaml``).

The mixed mix is what a neuromuscular clinic's chart looks like after years of follow-up: weights at every
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
from collections.abc import Callable
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
    return _resource(rng, i, when, (loinc, display, unit, category), lambda: value(frac, rng))


def _resource(
    rng: random.Random, i: int, when: date, code: tuple[str, str, str, str], value: Callable[[], float]
) -> dict[str, Any]:
    """An Observation as an EHR export carries it (~1 KiB of JSON); ``code`` is (loinc, display, unit,
    category). ``value`` is called after the time of day is drawn (the mixed workload's draw order)."""
    loinc, display, unit, category = code
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
        "valueQuantity": {"value": value(), "unit": unit, "system": UCUM, "code": unit},
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


# --- all-relevant workload ------------------------------------------------------------------------
# Every code below is in service/knowledge/valuesets/observations.yaml (bench/test_generate.py checks
# that the service reads every generated Observation). (loinc, display, unit, category)
_Code = tuple[str, str, str, str]
WEIGHT: _Code = ("29463-7", "Body weight", "kg", "vital-signs")
HEIGHT: _Code = ("8302-2", "Body height", "cm", "vital-signs")
BMI: _Code = ("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", "vital-signs")
FVC: _Code = ("19870-5", "Forced vital capacity [Volume] Respiratory system", "L", "exam")
FVC_PCT: _Code = ("19872-1", "Forced vital capacity measured/predicted", "%", "exam")
VITAMIN_D: _Code = (
    "62292-8",
    "25-Hydroxyvitamin D2+D3 [Mass/volume] in Serum or Plasma",
    "ng/mL",
    "laboratory",
)
# A DXA report: BMD (g/cm2) and Z-score at lumbar spine, total hip and femoral neck ("Femur" codes).
DXA: tuple[_Code, ...] = (
    ("24966-4", "Lumbar spine [Mass/Area] Bone density by DXA", "g/cm2", "imaging"),
    ("85394-5", "Lumbar spine [Z-score] Bone density by DXA", "{Z-score}", "imaging"),
    ("38261-4", "Hip [Mass/Area] Bone density by DXA", "g/cm2", "imaging"),
    ("80933-5", "Hip [Z-score] Bone density by DXA", "{Z-score}", "imaging"),
    ("24701-5", "Femur [Mass/Area] Bone density by DXA", "g/cm2", "imaging"),
    ("80934-3", "Femur [Z-score] Bone density by DXA", "{Z-score}", "imaging"),
)
RELEVANT_CODES: tuple[_Code, ...] = (WEIGHT, HEIGHT, BMI, FVC, FVC_PCT, VITAMIN_D, *DXA)
BIRTH = date(2011, 2, 14)
DIAGNOSIS = date(2015, 6, 1)  # follow-up from diagnosis (age 4.3) to TODAY (age 15): ~129 months


def _value(code: _Code, age: float, rng: random.Random) -> float:
    """A plausible value at ``age`` for a boy with DMD on deflazacort from age 6: short stature,
    steroid weight gain, FVC peaking near 12 then falling, BMD Z-scores drifting down to about -2.5."""
    a = age - 4
    loinc = code[0]
    if loinc == WEIGHT[0]:
        return round(16 + 1.6 * a + 0.15 * a * a + rng.gauss(0, 0.4), 1)
    if loinc == HEIGHT[0]:
        return round(100 + 4.1 * a + rng.gauss(0, 0.4), 1)
    if loinc == FVC[0]:
        peak = 1.0 + 0.125 * min(a, 8)
        return round(max(0.6, peak - 0.13 * max(0, age - 12)) + rng.gauss(0, 0.05), 2)
    if loinc == FVC_PCT[0]:
        return round(min(110, 95 - 5 * max(0, age - 9) + rng.gauss(0, 3)))
    if loinc == VITAMIN_D[0]:
        return round(max(8, rng.gauss(24, 6)))
    bmd_base, bmd_slope, z_base, z_slope = {
        "24966-4": (0.50, 0.015, 0, 0),
        "85394-5": (0, 0, -0.3, -0.20),
        "38261-4": (0.55, 0.005, 0, 0),
        "80933-5": (0, 0, -0.8, -0.22),
        "24701-5": (0.52, 0.004, 0, 0),
        "80934-3": (0, 0, -1.0, -0.20),
    }[loinc]
    if code[2] == "g/cm2":
        return round(bmd_base + bmd_slope * a + rng.gauss(0, 0.015), 3)
    return round(z_base + z_slope * a + rng.gauss(0, 0.2), 1)


def _clinic_schedule() -> list[tuple[date, tuple[_Code, ...]]]:
    """The clinic's follow-up since diagnosis: a weight every month; every 3 months a clinic visit
    (height, BMI, spirometry: FVC and FVC % predicted); every 12 months a DXA report (6 values) and
    25-OH vitamin D. 35 Observations a year, ~378 in all."""
    events: list[tuple[date, tuple[_Code, ...]]] = []
    month = 0
    while (when := DIAGNOSIS + timedelta(days=round(30.44 * month))) <= TODAY:
        codes: tuple[_Code, ...] = (WEIGHT,)
        if month % 3 == 0:
            codes += (HEIGHT, BMI, FVC, FVC_PCT)
        if month % 12 == 6:
            codes += (*DXA, VITAMIN_D)
        events.append((when, codes))
        month += 1
    return events


def relevant_observations(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` Observations, every one with a code the service reads, chronological.

    Up to ~378: the most recent ``n`` of the clinic's schedule (``_clinic_schedule``; 32 is about the
    last 11 months: one DXA report, 3-4 visits). Beyond: the whole schedule plus remote monitoring
    spread evenly over the follow-up, in the ratio 2 home-scale weights to 1 home-spirometry session
    (FVC and FVC % predicted): at 5,000, about a weight every other day and two sessions a week for
    ten years. BMI at a visit is computed from that visit's weight and height.
    """
    rng = random.Random(seed)
    planned: list[tuple[date, _Code, float]] = []  # (day, code, value)
    for when, codes in _clinic_schedule():
        age = (when - BIRTH).days / 365.25
        weight, height = _value(WEIGHT, age, rng), _value(HEIGHT, age, rng)
        for code in codes:
            value = {
                WEIGHT: weight,
                HEIGHT: height,
                BMI: round(weight / (height / 100) ** 2, 1),
            }.get(code)
            planned.append((when, code, _value(code, age, rng) if value is None else value))
    planned = planned[-n:] if n <= len(planned) else planned
    remote: list[tuple[_Code, ...]] = []  # one entry per home measurement event
    extra = n - len(planned)
    while extra > 0:
        group = ((FVC, FVC_PCT), (WEIGHT,), (WEIGHT,))[len(remote) % 3][:extra]
        remote.append(group)
        extra -= len(group)
    span = (TODAY - DIAGNOSIS).days
    for k, group in enumerate(remote):
        when = DIAGNOSIS + timedelta(days=int(span * (k + 0.5) / len(remote)))
        planned += [(when, code, _value(code, (when - BIRTH).days / 365.25, rng)) for code in group]
    planned.sort(key=lambda p: p[0])
    return [_resource(rng, i, when, code, _given(value)) for i, (when, code, value) in enumerate(planned)]


def _given(value: float) -> Callable[[], float]:
    return lambda: value


WORKLOADS: dict[str, Callable[[int, int], list[dict[str, Any]]]] = {
    "mixed": lambda n, seed: observations(n, seed),
    "all-relevant": lambda n, seed: relevant_observations(n, seed),
}


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


def request(n: int, seed: int = 7, workload: str = "mixed") -> dict[str, Any]:
    """A patient-view request, full prefetch: a 15-year-old boy with DMD on deflazacort, n Observations
    of ``workload`` (a key of ``WORKLOADS``)."""
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
            "observations": _searchset(WORKLOADS[workload](n, seed)),
            "medicationRequests": _searchset([steroid]),
            "medicationStatements": None,
            "medicationAdministrations": None,
            "diagnosticReports": None,
            "procedures": None,
            "serviceRequests": None,
        },
    }


def body(n: int, seed: int = 7, workload: str = "mixed") -> bytes:
    return json.dumps(request(n, seed, workload), separators=(",", ":")).encode()


if __name__ == "__main__":  # python -m bench.generate 200 [mixed|all-relevant] > req.json
    import sys

    size = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    sys.stdout.buffer.write(body(size, workload=sys.argv[2] if len(sys.argv) > 2 else "mixed"))

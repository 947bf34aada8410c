"""Every realistic shape in tests/data/ehr-shapes is read (or dropped with its reason) as its table row
says (issue item 8). A file without a row, or a row without a file, fails the test."""

from __future__ import annotations

import json
from datetime import date

import pytest

from service.fhir.build import summarise
from service.fhir.summary import Concept, DrugClass, FractureKind, Nmd, Site, Symptom
from service.knowledge import default_knowledge
from tests.conftest import data_files

TODAY = date(2026, 11, 21)
FILES = {p.stem: p for p in data_files("ehr-shapes", "*.json", expected=25)}
T, Z, BMD, W = Concept.T_SCORE, Concept.Z_SCORE, Concept.BMD, Concept.WEIGHT
LS, FN, HIP = Site.LUMBAR_SPINE, Site.FEMORAL_NECK, Site.TOTAL_HIP
VD = Concept.VITAMIN_D_25OH
NOT_RESOLVED = "medication not resolved"

# file → what the summary must hold: measurements as (concept, site, value, comparator), dropped as
# (source, reason), and the other facts by name. Keys not given must be empty / false.
SHAPES: dict[str, dict] = {
    "searchset-absolute-urls-another-patient": {
        "measurements": [(W, None, 61.2, None)],
        "dropped": [
            ("Observation/w-other-1", "another patient"),
            ("Observation/w-other-2", "another patient"),
        ],
    },
    "transaction-urn-uuid": {
        "measurements": [(W, None, 61.2, None)],
        "diagnoses": [Nmd.ALS],
        "dropped": [("Observation/w-other", "another patient"), ("Patient/someone", "another patient")],
    },
    "logical-identifier-subject": {
        "measurements": [(W, None, 61.2, None)],
        "dropped": [("Observation/w-other", "another patient")],
    },
    "contained-patient-subject": {
        "measurements": [(W, None, 61.2, None)],
        "dropped": [("Observation/w-other", "another patient")],
    },
    "no-subject": {"dropped": [("Observation/w-orphan", "no subject")]},
    "dxa-panel-components": {
        "measurements": [
            (BMD, LS, 0.812, None),
            (T, LS, -2.2, None),
            (Z, LS, -1.4, None),
            (T, FN, -2.7, None),
        ],
    },
    "dxa-panel-hasmember": {
        "measurements": [(T, LS, -2.2, None), (T, FN, -2.7, None), (T, HIP, -2.4, None)],
        "dates": {"2026-09-15"},  # the members take the panel's date
    },
    "dxa-report-results-without-subject": {
        "measurements": [(T, LS, -2.2, None), (T, FN, -2.7, None)],
        "dates": {"2026-09-15"},
        "dropped": [("DiagnosticReport/dxa-report", "result not in the request")],
    },
    "dxa-report-contained-results": {"measurements": [(T, LS, -2.2, None), (T, FN, -2.7, None)]},
    "vitamin-d-text-results": {
        "measurements": [
            (VD, None, 20.0, "<"),
            (VD, None, 10.0, "<"),
            (VD, None, 8.0, "<"),
            (VD, None, 10.0, "<"),
        ],
        "dropped": [("Observation/vd-4", "text result without one number")],
        "latest": (VD, "<10 ng/mL"),
    },
    "weights-non-ucum-units": {
        "measurements": [
            (W, None, 68.039, None),
            (W, None, 67.0, None),
            (W, None, 66.5, None),
            (W, None, 66.0, None),
        ],
        "aliases": ["lbs", "Kg", "KG", "kgs"],
        "dropped": [("Observation/w-kilos", "unknown unit 'kilos'")],
    },
    "future-dated-result": {
        "measurements": [(Concept.FVC_PCT_PREDICTED, None, 48.0, None)],
        "dropped": [("Observation/fvc-typo", "dated in the future")],
    },
    "spinal-fusion-procedures": {"findings": [Symptom.SPINAL_FUSION, Symptom.SPINAL_FUSION]},
    "gastrostomy-cpt": {"gastrostomy": True},
    "gastrostomy-icd10pcs": {"gastrostomy": True},
    "gastrostomy-device": {"gastrostomy": True},
    "menopause-coded": {"findings": [Symptom.POSTMENOPAUSAL, Symptom.POSTMENOPAUSAL]},
    "fracture-car-crash": {"fractures": [(FractureKind.VERTEBRAL, "L1", False)]},
    "fracture-fall-thoracic": {"fractures": [(FractureKind.VERTEBRAL, "T7-T8", True)]},
    "collapsed-vertebra-unspecified": {"fractures": [(FractureKind.VERTEBRAL, None, True)]},
    "report-conclusion-level": {"fractures": [(FractureKind.VERTEBRAL, "L2", None)]},
    "medication-reference-unresolved": {
        "drugs": [("prednisone", DrugClass.GLUCOCORTICOID)],
        "dropped": [("MedicationRequest/mr-bare", NOT_RESOLVED)],
    },
    "topical-steroid-form": {"dropped": [("MedicationRequest/mr-cream", "non-systemic glucocorticoid")]},
    "population-gate-codes": {"diagnoses": [Nmd.ALS, Nmd.MYOTONIC, Nmd.MYOPATHY]},
    "bmi-only-adult": {"measurements": [(Concept.BMI, None, 17.4, None)]},
}


def test_every_file_has_a_row_and_every_row_a_file() -> None:
    assert sorted(FILES) == sorted(SHAPES)
    readme = (next(iter(FILES.values())).parent / "README.md").read_text()
    assert all(f"`{name}.json`" in readme for name in FILES), "each file needs its README line"


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_the_shape_is_read_or_dropped_with_its_reason(name) -> None:
    want = SHAPES[name]
    bundle = json.loads(FILES[name].read_text(encoding="utf-8"))
    s, stats = summarise([bundle], TODAY, default_knowledge(), patient_id="shape-pt")
    got = sorted((m.concept, m.site, round(m.value, 3), m.comparator) for m in s.measurements)
    assert got == sorted(want.get("measurements", [])), s.dropped
    assert sorted((d.source, d.reason) for d in s.dropped) == sorted(want.get("dropped", []))
    assert sorted(f.symptom for f in s.findings) == sorted(want.get("findings", []))
    assert s.gastrostomy is want.get("gastrostomy", False)
    assert [(f.kind, f.level, f.low_trauma) for f in s.fractures] == want.get("fractures", [])
    assert [(c.drug, c.drug_class) for c in s.medications] == want.get("drugs", [])
    assert sorted(d.disorder for d in s.diagnoses) == sorted(want.get("diagnoses", []))
    assert sorted(alias for _, alias, _ in stats.unit_aliases) == sorted(want.get("aliases", []))
    if "dates" in want:
        assert {str(m.when) for m in s.measurements} == want["dates"]
    if "latest" in want:
        concept, display = want["latest"]
        latest = s.latest(concept)
        assert latest is not None and latest.display == display
    assert s.birth_date == date(1968, 4, 2)  # the patient's own record is always read

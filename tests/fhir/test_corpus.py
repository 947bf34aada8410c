"""Corpus tests: official FHIR R4 examples and Synthea patients pass through build_summary.

Nothing may raise; the test prints how many resources were used and dropped (by reason) and checks
the numbers are sensible. The examples package is installed by the test script (see module constants);
its absence is a failure, not a skip.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from service.fhir.build import summarise, unbundle
from service.fhir.summary import Concept
from service.knowledge import default_knowledge
from tests.conftest import data_files

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / ".cache" / "fhir-r4-examples" / "package"
SYNTHEA = data_files("synthea", "*.json", expected=3)
TYPES = (
    "Observation",
    "Condition",
    "MedicationRequest",
    "MedicationStatement",
    "DiagnosticReport",
    "Patient",
    "MedicationAdministration",
    "Medication",
    "Procedure",
    "ServiceRequest",
    "ImagingStudy",
    "CarePlan",
)
TODAY = date(2020, 6, 1)


def _report(label: str, total: int, used: int, dropped: Counter, ignored: Counter) -> None:
    print(
        f"\n{label}: {total} resources, {used} used, {sum(ignored.values())} out of scope, "
        f"{sum(dropped.values())} dropped entries"
    )
    for reason, n in dropped.most_common():
        print(f"  {n:5d}  dropped: {reason}")
    for reason, n in ignored.most_common():
        print(f"  {n:5d}  out of scope: {reason}")


def test_official_examples_pass_through_build_summary() -> None:
    assert EXAMPLES.is_dir(), (
        f"FHIR R4 examples missing at {EXAMPLES}: run `mkdir -p .cache/fhir-r4-examples && cd "
        ".cache/fhir-r4-examples && npm pack hl7.fhir.r4.examples@4.0.1 --silent && "
        "tar xzf hl7.fhir.r4.examples-4.0.1.tgz`"
    )
    knowledge = default_knowledge()
    files = sorted(p for t in TYPES for p in EXAMPLES.glob(f"{t}-*.json"))
    assert len(files) > 100
    dropped: Counter[str] = Counter()
    ignored: Counter[str] = Counter()
    used = 0
    measurements = 0
    for path in files:
        resource = json.loads(path.read_text(encoding="utf-8"))
        summary, stats = summarise([resource], TODAY, knowledge)  # one at a time: each its own patient
        used += stats.used
        ignored.update(stats.ignored)
        measurements += len(summary.measurements)
        dropped.update(d.reason for d in summary.dropped)
    _report("FHIR R4 examples", len(files), used, dropped, ignored)
    print(f"  measurements: {measurements}")
    assert used >= 25  # 22 patients plus the few in-scope observations and medications
    assert measurements >= 2
    assert ignored["code not used"] > 20  # most example Observations are outside this service's scope
    assert dropped["no date"] == 1  # Observation/bmd has no effective[x] nor issued
    assert used + sum(ignored.values()) + sum(dropped.values()) >= len(files)  # every resource accounted for


def test_official_examples_units_and_dxa() -> None:
    knowledge = default_knowledge()
    weight = json.loads((EXAMPLES / "Observation-example.json").read_text())  # 185 [lb_av]
    bmd = json.loads((EXAMPLES / "Observation-bmd.json").read_text())  # 0.887 g/cm-2, left femur, no date
    s, _ = summarise([weight, bmd], TODAY, knowledge)
    assert [(d.source, d.reason) for d in s.dropped] == [("Observation/bmd", "no date")]
    s, _ = summarise([weight, {**bmd, "effectiveDateTime": "2019-05-02"}], TODAY, knowledge)
    w = s.latest(Concept.WEIGHT)
    b = s.latest(Concept.BMD)
    assert w is not None and abs(w.value - 185 * 0.45359237) < 1e-6
    assert b is not None and b.value == 0.887 and b.laterality == "left"


@pytest.mark.parametrize("path", SYNTHEA, ids=lambda p: p.name[:20])
def test_synthea_patients_pass_through_build_summary(path: Path) -> None:
    bundle = json.loads(path.read_text(encoding="utf-8"))
    resources = unbundle(bundle)
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    # the Bundle itself: its entries' fullUrls resolve the urn:uuid subject references
    summary, stats = summarise([bundle], TODAY, default_knowledge(), patient_id=patient["id"])
    dropped = Counter(d.reason for d in summary.dropped)
    _report(f"Synthea {path.name[:30]}", len(resources), stats.used, dropped, stats.ignored)
    assert summary.birth_date is not None and summary.sex in ("male", "female")
    assert len(summary.series(Concept.WEIGHT)) >= 5 and len(summary.series(Concept.HEIGHT)) >= 1
    assert stats.used >= 10 and stats.ignored["resource type not used"] > 0
    assert stats.used + sum(stats.ignored.values()) + len({d.source for d in summary.dropped}) >= len(
        resources
    )
    assert dropped["another patient"] == 0 and dropped["no subject"] == 0

"""The benchmark's inputs are what they claim (bench/generate.py, bench/auth.py): the all-relevant workload
is read whole by the service, the mixed one mostly not, and the benchmark's tokens pass the service's own
checks once. No timing is asserted here (speed lives in bench/)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import pytest
import yaml

from bench import auth, generate
from service.config import Settings
from service.errors import Unauthorized
from service.fhir.build import summarise, unbundle
from service.fhir.summary import Concept, DrugClass, Site
from service.knowledge import load_knowledge
from service.security.auth import Authenticator

KNOWLEDGE = load_knowledge(None)
VALUESETS = Path(__file__).resolve().parents[1] / "service" / "knowledge" / "valuesets" / "observations.yaml"


def _read(n: int, workload: str):
    request = orjson.loads(generate.body(n, workload=workload))
    resources = [r for v in request["prefetch"].values() if v for r in unbundle(v)]
    observations = [r for r in resources if r["resourceType"] == "Observation"]
    summary, stats = summarise(resources, generate.TODAY, KNOWLEDGE, generate.PATIENT_ID)
    return observations, summary, stats


@pytest.mark.parametrize("n", [32, 200, 1_000])
def test_every_all_relevant_observation_becomes_a_measurement(n):
    observations, summary, stats = _read(n, "all-relevant")
    assert len(observations) == n
    assert summary.dropped == ()
    assert sum(stats.ignored.values()) == 0
    assert len(summary.measurements) == n
    assert stats.used == n + 3  # and the Patient, the DMD Condition, the deflazacort MedicationRequest
    assert summary.in_scope
    assert [c.drug for c in summary.courses(DrugClass.GLUCOCORTICOID) if c.active] == ["deflazacort"]


def test_all_relevant_codes_are_loinc_codes_of_the_services_value_sets():
    valuesets = yaml.safe_load(VALUESETS.read_text(encoding="utf-8"))
    loinc = {c["code"] for vs in valuesets.values() for c in vs.get("codes", ()) if c["system"] == "loinc"}
    assert {code for code, *_ in generate.RELEVANT_CODES} <= loinc
    request = orjson.loads(generate.body(1_000, workload="all-relevant"))
    sent = {
        (coding["system"], coding["code"])
        for entry in request["prefetch"]["observations"]["entry"]
        for coding in entry["resource"]["code"]["coding"]
    }
    assert sent == {(generate.LOINC, code) for code, *_ in generate.RELEVANT_CODES}


def test_all_relevant_history_covers_each_concept_and_dxa_site():
    _, summary, _ = _read(200, "all-relevant")
    concepts = Counter(m.concept for m in summary.measurements)
    for concept in (
        Concept.WEIGHT,
        Concept.HEIGHT,
        Concept.BMI,
        Concept.FVC,
        Concept.FVC_PCT_PREDICTED,
        Concept.VITAMIN_D_25OH,
        Concept.BMD,
        Concept.Z_SCORE,
    ):
        assert concepts[concept] > 0, concept
    sites = {m.site for m in summary.measurements if m.concept in (Concept.BMD, Concept.Z_SCORE)}
    assert sites == {Site.LUMBAR_SPINE, Site.TOTAL_HIP, Site.FEMORAL_NECK}
    # the schedule's cadence: monthly weights outnumber quarterly heights, one DXA report a year
    assert concepts[Concept.WEIGHT] > concepts[Concept.HEIGHT] > concepts[Concept.VITAMIN_D_25OH]


def test_mixed_workload_is_mostly_codes_the_service_ignores():
    observations, summary, stats = _read(1_000, "mixed")
    assert len(observations) == 1_000
    assert stats.ignored["code not used"] > len(observations) / 2
    assert summary.dropped == ()


@pytest.mark.parametrize("workload", sorted(generate.WORKLOADS))
def test_requests_are_deterministic_and_the_largest_fits_the_http_limit(workload):
    assert generate.body(200, workload=workload) == generate.body(200, workload=workload)
    assert len(generate.body(5_000, workload=workload)) <= Settings().max_body_bytes


def test_bench_tokens_pass_the_services_checks_once(tmp_path: Path):
    issuer = auth.local_issuer(tmp_path)
    base_url = "http://127.0.0.1:8080"
    audience = f"{base_url}/cds-services/nmd-bone-health"
    settings = Settings(
        trusted_issuers_file=str(issuer.issuers_file),
        base_url=base_url,
        sqlite_path=str(tmp_path / "replay.sqlite3"),
    )
    authenticator = Authenticator(settings)
    first, second = issuer.token(audience), issuer.token(audience)
    authenticator.verify(f"Bearer {first}", audience)
    authenticator.verify(f"Bearer {second}", audience)  # a fresh jti is a new token
    with pytest.raises(Unauthorized):
        authenticator.verify(f"Bearer {first}", audience)  # the replay store remembers the first
    with pytest.raises(Unauthorized):
        authenticator.verify(f"Bearer {issuer.token(base_url + '/cds-services')}", audience)

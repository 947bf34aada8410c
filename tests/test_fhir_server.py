"""The real FHIR R4 test server (tests/fhir_server) does what the CDS service needs from an EHR."""

from __future__ import annotations

import os
import re
import subprocess
import time
from typing import Any

import pytest
import requests

from tests.fhir_server.harness import SERVER_SCRIPT, FhirServerError, FhirTestServer, node_binary

pytestmark = pytest.mark.fhir_server

PID = "nmd-patient-1"
OTHER = "nmd-patient-2"
LOINC = "http://loinc.org"
WEIGHT, HEIGHT = "29463-7", "8302-2"
SNOMED = "http://snomed.info/sct"


def _put(resource: dict[str, Any]) -> dict[str, Any]:
    return {
        "resource": resource,
        "request": {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"},
    }


def _obs(
    oid: str, code: str, value: float, unit: str, patient: str = PID, **effective: Any
) -> dict[str, Any]:
    return _put(
        {
            "resourceType": "Observation",
            "id": oid,
            "status": "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "vital-signs",
                        }
                    ]
                }
            ],
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "subject": {"reference": f"Patient/{patient}"},
            **effective,
            "valueQuantity": {
                "value": value,
                "unit": unit,
                "system": "http://unitsofmeasure.org",
                "code": unit,
            },
        }
    )


# Weight and height of PID, newest first as the server must sort them (instants compared in UTC; one
# measurement has an effectivePeriod instead of effectiveDateTime).
EXPECTED_WEIGHT_HEIGHT = ["w5", "h3", "w4", "w3", "h2", "w2", "h1", "w1"]


def patient_bundle() -> dict[str, Any]:
    subject = {"reference": f"Patient/{PID}"}
    entries = [
        _put(
            {
                "resourceType": "Patient",
                "id": PID,
                "gender": "male",
                "birthDate": "2012-03-14",
                "name": [{"family": "Testpatient", "given": ["Duchenne"]}],
            }
        ),
        _put({"resourceType": "Patient", "id": OTHER, "gender": "female", "birthDate": "2010-01-01"}),
        _put(
            {
                "resourceType": "Condition",
                "id": "dmd",
                "subject": subject,
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "active",
                        }
                    ]
                },
                "code": {
                    "coding": [
                        {"system": SNOMED, "code": "76670001", "display": "Duchenne muscular dystrophy"}
                    ]
                },
                "onsetDateTime": "2015-06-01",
            }
        ),
        _put(
            {
                "resourceType": "Condition",
                "id": "scoliosis",
                "subject": subject,
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "active",
                        }
                    ]
                },
                "code": {"coding": [{"system": SNOMED, "code": "298382003", "display": "Scoliosis"}]},
            }
        ),
        _obs("w1", WEIGHT, 18.2, "kg", effectiveDateTime="2018-02-01"),
        _obs("h1", HEIGHT, 108.0, "cm", effectiveDateTime="2018-02-01T09:00:00Z"),
        _obs(
            "w2",
            WEIGHT,
            21.5,
            "kg",
            effectivePeriod={"start": "2019-05-01T10:00:00Z", "end": "2019-05-01T10:30:00Z"},
        ),
        _obs("h2", HEIGHT, 115.0, "cm", effectiveDateTime="2020-01-10"),
        _obs("w3", WEIGHT, 24.0, "kg", effectiveDateTime="2021-03-03T08:00:00+01:00"),  # 07:00Z
        _obs("w4", WEIGHT, 25.1, "kg", effectiveDateTime="2021-03-03T07:30:00Z"),
        _obs("h3", HEIGHT, 121.5, "cm", effectiveDateTime="2022-08-20"),
        _obs("w5", WEIGHT, 27.9, "kg", effectiveDateTime="2023-11-05T14:00:00Z"),
        _obs("bmi1", "39156-5", 18.9, "kg/m2", effectiveDateTime="2023-11-05T14:00:00Z"),  # other code
        _obs("w-other", WEIGHT, 40.0, "kg", patient=OTHER, effectiveDateTime="2024-01-01"),  # other patient
        _put(
            {
                "resourceType": "MedicationRequest",
                "id": "deflazacort",
                "status": "active",
                "intent": "order",
                "subject": subject,
                "authoredOn": "2019-01-01",
                "medicationCodeableConcept": {
                    "coding": [
                        {
                            "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                            "code": "1740531",
                            "display": "deflazacort",
                        }
                    ]
                },
            }
        ),
        _put(
            {
                "resourceType": "ServiceRequest",
                "id": "dxa-order",
                "status": "active",
                "intent": "order",
                "subject": subject,
                "authoredOn": "2024-02-01",
                "code": {"coding": [{"system": LOINC, "code": "38269-7", "display": "DXA bone density"}]},
            }
        ),
        _put(
            {
                "resourceType": "Procedure",
                "id": "spinal-fusion",
                "status": "completed",
                "subject": subject,
                "code": {"coding": [{"system": SNOMED, "code": "44946007", "display": "Spinal fusion"}]},
                "performedDateTime": "2022-04-04",
            }
        ),
        _put(
            {
                "resourceType": "DiagnosticReport",
                "id": "dxa-report",
                "status": "final",
                "subject": subject,
                "code": {"coding": [{"system": LOINC, "code": "38269-7"}]},
                "effectiveDateTime": "2024-03-01",
                "result": [{"reference": "Observation/w5"}],
            }
        ),
    ]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


@pytest.fixture
def loaded(fresh_fhir_server: FhirTestServer) -> FhirTestServer:
    fresh_fhir_server.load_bundle(patient_bundle())
    return fresh_fhir_server


def ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


def test_metadata_is_a_capability_statement(fhir_server: FhirTestServer) -> None:
    cs = fhir_server.get("metadata")
    assert cs["resourceType"] == "CapabilityStatement"
    assert cs["fhirVersion"] == "4.0.1"
    types = {r["type"] for r in cs["rest"][0]["resource"]}
    assert {"Patient", "Observation", "Condition", "MedicationRequest", "ServiceRequest"} <= types


def test_transaction_bundle_loads_every_entry(fresh_fhir_server: FhirTestServer) -> None:
    bundle = patient_bundle()
    response = fresh_fhir_server.load_bundle(bundle)
    assert response["type"] == "transaction-response"
    assert len(response["entry"]) == len(bundle["entry"])
    assert all(e["response"]["status"] in ("200", "201") for e in response["entry"])
    # Loading again updates in place (PUT with fixed ids): nothing is duplicated.
    fresh_fhir_server.load_bundle(bundle)
    assert len(fresh_fhir_server.search_all("Observation", {"_count": 100})) == 10


def test_read_patient(loaded: FhirTestServer) -> None:
    patient = loaded.get(f"Patient/{PID}")
    assert patient["resourceType"] == "Patient"
    assert patient["id"] == PID
    assert patient["birthDate"] == "2012-03-14"
    missing = loaded.session.get(loaded.url("Patient/no-such-patient"), timeout=10)
    assert missing.status_code == 404
    assert missing.json()["resourceType"] == "OperationOutcome"


def test_weight_and_height_search_newest_first(loaded: FhirTestServer) -> None:
    bundle = loaded.get(
        "Observation",
        {"patient": PID, "code": f"{LOINC}|{WEIGHT},{LOINC}|{HEIGHT}", "_sort": "-date"},
    )
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "searchset"
    assert bundle["total"] == len(EXPECTED_WEIGHT_HEIGHT)
    assert ids(bundle) == EXPECTED_WEIGHT_HEIGHT
    for entry in bundle["entry"]:
        assert entry["fullUrl"] == loaded.url(f"Observation/{entry['resource']['id']}")
        assert entry["search"]["mode"] == "match"


def test_same_search_with_subject_reference_and_ascending(loaded: FhirTestServer) -> None:
    bundle = loaded.get(
        "Observation",
        {"subject": f"Patient/{PID}", "code": f"{LOINC}|{WEIGHT},{LOINC}|{HEIGHT}", "_sort": "date"},
    )
    assert ids(bundle) == [
        "w1",
        "h1",
        "w2",
        "h2",
        "w3",
        "w4",
        "h3",
        "w5",
    ]  # ascending: w3 (07:00Z) < w4 (07:30Z)


def test_search_as_raw_query_string(loaded: FhirTestServer) -> None:
    """The query exactly as a CDS prefetch template renders it, unencoded `|` and `,` included."""
    url = loaded.url(
        f"Observation?patient={PID}&code=http://loinc.org|29463-7,http://loinc.org|8302-2&_sort=-date"
    )
    bundle = loaded.get(url)
    assert ids(bundle) == EXPECTED_WEIGHT_HEIGHT


def test_paging_with_next_links_returns_every_entry_once(loaded: FhirTestServer) -> None:
    params = {"patient": PID, "code": f"{LOINC}|{WEIGHT},{LOINC}|{HEIGHT}", "_sort": "-date", "_count": 2}
    bundle = loaded.get("Observation", params)
    seen: list[str] = []
    pages = 0
    while True:
        pages += 1
        assert len(bundle.get("entry", [])) <= 2
        assert bundle["total"] == len(EXPECTED_WEIGHT_HEIGHT)
        seen += ids(bundle)
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        assert links["self"].startswith(loaded.base_url + "/Observation?")
        if "next" not in links:
            break
        assert links["next"].startswith(f"http://127.0.0.1:{loaded.port}/")
        bundle = requests.get(links["next"], headers=loaded.auth_headers, timeout=10).json()
    assert pages == 4
    assert seen == EXPECTED_WEIGHT_HEIGHT
    assert len(set(seen)) == len(seen)
    assert (
        loaded.search_all("Observation", params)
        and [o["id"] for o in loaded.search_all("Observation", params)] == EXPECTED_WEIGHT_HEIGHT
    )


def test_default_page_size_also_pages(loaded: FhirTestServer) -> None:
    for i in range(25):
        loaded.load_bundle(
            {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [_obs(f"extra-{i}", WEIGHT, 30 + i, "kg", effectiveDateTime=f"2010-01-{i + 1:02d}")],
            }
        )
    first = loaded.get("Observation", {"patient": PID})
    assert len(first["entry"]) == 20  # like HAPI and Medplum: 20 without _count
    assert any(link["relation"] == "next" for link in first["link"])
    assert len(loaded.search_all("Observation", {"patient": PID})) == 9 + 25


def test_date_filter(loaded: FhirTestServer) -> None:
    bundle = loaded.get(
        "Observation", {"patient": PID, "code": f"{LOINC}|{WEIGHT}", "date": "ge2021-01-01", "_sort": "-date"}
    )
    assert ids(bundle) == ["w5", "w4", "w3"]
    bundle = loaded.get(
        "Observation", [("patient", PID), ("code", WEIGHT), ("date", "ge2019"), ("date", "lt2021")]
    )
    assert ids(bundle) == ["w2"]


def test_other_resource_searches(loaded: FhirTestServer) -> None:
    assert sorted(ids(loaded.get("Condition", {"patient": PID}))) == ["dmd", "scoliosis"]
    assert ids(loaded.get("Condition", {"patient": PID, "code": f"{SNOMED}|76670001"})) == ["dmd"]
    assert ids(
        loaded.get("Condition", {"patient": PID, "clinical-status": "active", "code": "298382003"})
    ) == ["scoliosis"]
    assert ids(loaded.get("MedicationRequest", {"patient": PID, "status": "active"})) == ["deflazacort"]
    assert ids(loaded.get("ServiceRequest", {"subject": f"Patient/{PID}"})) == ["dxa-order"]
    assert ids(loaded.get("Procedure", {"patient": PID, "date": "ge2022-01-01"})) == ["spinal-fusion"]
    assert ids(loaded.get("DiagnosticReport", {"subject:Patient": PID})) == ["dxa-report"]
    assert ids(loaded.get("Observation", {"patient": OTHER})) == ["w-other"]
    assert ids(loaded.get("MedicationRequest", {"patient": OTHER})) == []


def test_include(loaded: FhirTestServer) -> None:
    bundle = loaded.get("DiagnosticReport", {"patient": PID, "_include": "DiagnosticReport:result"})
    modes = {(e["resource"]["id"], e["search"]["mode"]) for e in bundle["entry"]}
    assert modes == {("dxa-report", "match"), ("w5", "include")}


def test_unsupported_search_parameter_is_an_error_not_an_empty_result(loaded: FhirTestServer) -> None:
    for params in ({"patient": PID, "no-such-param": "x"}, {"patient": PID, "value-quantity": "gt20"}):
        response = loaded.session.get(loaded.url("Observation"), params=params, timeout=10)
        assert response.status_code == 400
        assert response.json()["resourceType"] == "OperationOutcome"


def test_create_update_delete(fresh_fhir_server: FhirTestServer) -> None:
    s = fresh_fhir_server
    headers = {"Content-Type": "application/fhir+json"}
    created = s.session.post(
        s.url("Patient"), json={"resourceType": "Patient", "gender": "other"}, headers=headers
    )
    assert created.status_code == 201
    new_id = created.json()["id"]
    assert created.headers["Location"].startswith(s.url(f"Patient/{new_id}"))
    updated = s.session.put(
        s.url(f"Patient/{new_id}"),
        headers=headers,
        json={"resourceType": "Patient", "id": new_id, "gender": "female"},
    )
    assert updated.status_code == 200
    assert s.get(f"Patient/{new_id}")["gender"] == "female"
    assert s.session.delete(s.url(f"Patient/{new_id}")).status_code == 200
    assert s.session.get(s.url(f"Patient/{new_id}")).status_code in (404, 410)


def test_failed_transaction_raises_with_outcome_text(fresh_fhir_server: FhirTestServer) -> None:
    bad = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {"resourceType": "Patient", "id": "a"},
                "request": {"method": "PUT", "url": "Patient/b"},
            }
        ],
    }
    with pytest.raises(FhirServerError, match="(?i)id"):
        fresh_fhir_server.load_bundle(bad)


def test_reset_empties_the_server(loaded: FhirTestServer) -> None:
    assert loaded.get("Patient", {"_id": PID})["total"] == 1
    loaded.reset()
    assert loaded.get("Patient", {"_id": PID})["total"] == 0
    assert loaded.session.get(loaded.url(f"Patient/{PID}")).status_code == 404


def test_request_without_token_is_401(loaded: FhirTestServer) -> None:
    assert loaded.token
    for url in (
        loaded.url(f"Patient/{PID}"),
        loaded.url("metadata"),
        loaded.url(f"Observation?patient={PID}"),
    ):
        response = requests.get(url, timeout=10)
        assert response.status_code == 401
        body = response.json()
        assert body["resourceType"] == "OperationOutcome"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    response = requests.post(loaded.base_url, json=patient_bundle(), timeout=10)
    assert response.status_code == 401


def test_request_with_wrong_token_is_401(loaded: FhirTestServer) -> None:
    for auth in (f"Bearer {loaded.token}x", "Bearer wrong", f"Basic {loaded.token}", loaded.token):
        response = requests.get(loaded.url(f"Patient/{PID}"), headers={"Authorization": auth}, timeout=10)
        assert response.status_code == 401, auth
        assert response.json()["resourceType"] == "OperationOutcome"


def test_open_server_and_reliable_stop() -> None:
    """A server without a token needs no Authorization; stop() leaves no process behind."""
    started = time.monotonic()
    with FhirTestServer() as server:
        assert time.monotonic() - started < 15
        assert requests.get(server.url("metadata"), timeout=10).status_code == 200
        pid = server.pid
        assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url("metadata"), timeout=2)


# --- browsers: CORS and the default base path ------------------------------------------------------

SANDBOX_ORIGIN = "http://localhost:8080"


def _preflight(url: str, origin: str) -> requests.Response:
    return requests.options(
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
            "Access-Control-Request-Private-Network": "true",
        },
        timeout=10,
    )


def test_browser_preflight_needs_no_token(loaded: FhirTestServer) -> None:
    response = _preflight(loaded.url("Observation/_search"), SANDBOX_ORIGIN)
    assert response.status_code == 204
    headers = response.headers
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "authorization" in headers["Access-Control-Allow-Headers"].lower()
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert headers["Access-Control-Allow-Private-Network"] == "true"


@pytest.mark.parametrize("token", ["right", "missing"])
def test_cors_headers_on_answers_and_on_401(loaded: FhirTestServer, token: str) -> None:
    headers = {"Origin": SANDBOX_ORIGIN, **(loaded.auth_headers if token == "right" else {})}
    response = requests.get(loaded.url(f"Patient/{PID}"), headers=headers, timeout=10)
    assert response.status_code == (200 if token == "right" else 401)
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]


def test_default_base_path_and_an_origin_allowlist() -> None:
    """Started by hand without --base-path, the FHIR base is /fhir; --cors-origin limits the origins."""
    process = subprocess.Popen(
        [
            str(node_binary()),
            str(SERVER_SCRIPT),
            "--port",
            "0",
            "--cors-origin",
            SANDBOX_ORIGIN,
            "--watch-stdin",
        ],
        cwd=SERVER_SCRIPT.parent,
        env={k: v for k, v in os.environ.items() if not k.startswith("FHIR_")},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        base = re.search(r"listening on (http://\S+)", line)
        assert base and base.group(1).endswith("/fhir"), line
        base_url = base.group(1)
        assert requests.get(f"{base_url}/metadata", timeout=10).status_code == 200
        root = requests.get(base_url.removesuffix("/fhir") + "/metadata", timeout=10)
        assert root.status_code == 404 and base_url in root.text
        allowed = requests.get(f"{base_url}/metadata", headers={"Origin": SANDBOX_ORIGIN}, timeout=10)
        assert allowed.headers["Access-Control-Allow-Origin"] == SANDBOX_ORIGIN
        assert allowed.headers["Vary"] == "Origin"
        other = _preflight(f"{base_url}/Patient", "https://elsewhere.example")
        assert "Access-Control-Allow-Origin" not in other.headers
    finally:
        process.terminate()
        process.wait(timeout=10)

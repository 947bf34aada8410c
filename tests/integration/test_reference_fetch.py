"""References the prefetch cannot resolve, fetched by id from the real FHIR server (issue items 2, 7):
DXA results reachable only through their DiagnosticReport (no subject of their own, so no patient
search finds them) and a Medication only referenced by a MedicationRequest. Without a usable
fhirServer, or when it fails, the call still answers 200 and the summary says what was missing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses

from service.app import create_app
from service.fhir.build import summarise
from service.knowledge import default_knowledge
from tests import builders as b
from tests.conftest import TODAY

URL = "/cds-services/nmd-bone-health"
RULES = "org.example.nmd-cds.rules"
PID = "ref-pt"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def _dxa_result(rid: str, loinc: str, value: float) -> dict:
    return {  # a result only reachable through its report: no subject, no date of its own
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": b.LOINC, "code": loinc}]},
        "valueQuantity": {"value": value, "unit": "{T-score}", "system": b.UCUM, "code": "{T-score}"},
    }


def _chart() -> tuple[list[dict], list[dict]]:
    """(what the EHR prefetches, what only its FHIR server holds): a 62-year-old man with FSHD, a
    DXA report from last month whose results are femoral neck T −2.7 and lumbar spine T −1.2, and
    prednisone by reference to a Medication."""
    when = (TODAY - timedelta(days=30)).isoformat()
    report = {
        "resourceType": "DiagnosticReport",
        "id": f"{PID}-dxa",
        "status": "final",
        "code": {"coding": [{"system": b.LOINC, "code": "38269-7", "display": "DXA Bone density"}]},
        "subject": {"reference": f"Patient/{PID}"},
        "effectiveDateTime": when,
        "result": [{"reference": f"Observation/{PID}-fn"}, {"reference": f"Observation/{PID}-ls"}],
    }
    request = {
        "resourceType": "MedicationRequest",
        "id": f"{PID}-mr",
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"Patient/{PID}"},
        "authoredOn": (TODAY - timedelta(days=400)).isoformat(),
        "medicationReference": {"reference": f"Medication/{PID}-med"},
    }
    prefetched = [
        b.patient(PID, birth="1964-01-15"),
        b.condition(f"{PID}-fshd", "399091004", pid=PID, onset="2010-01-01"),
        b.quantity_obs(f"{PID}-vd", "62292-8", 35, "ng/mL", TODAY - timedelta(days=20), pid=PID),
        report,
        request,
    ]
    server_only = [
        _dxa_result(f"{PID}-fn", "38263-0", -2.7),
        _dxa_result(f"{PID}-ls", "38267-1", -1.2),
        {
            "resourceType": "Medication",
            "id": f"{PID}-med",
            "code": {"coding": [{"system": RXNORM, "code": "8640"}]},
        },
    ]
    return prefetched, server_only


def _rules(body: dict) -> set[str]:
    return {r for card in body["cards"] for r in card["extension"][RULES]}


@pytest.mark.fhir_server
def test_missing_results_and_medication_are_fetched_from_the_fhir_server(fresh_fhir_server, settings):
    prefetched, server_only = _chart()
    fresh_fhir_server.load_bundle(
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
                for r in prefetched + server_only
            ],
        }
    )
    client = create_app(settings.with_(fhir_allowed_servers=(fresh_fhir_server.base_url,))).test_client()
    auth = {
        "access_token": fresh_fhir_server.token,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "nmd-cds",
    }
    full = b.hook_request(b.full_prefetch(prefetched), pid=PID)
    with_server = client.post(
        URL, json={**full, "fhirServer": fresh_fhir_server.base_url, "fhirAuthorization": auth}
    )
    assert with_server.status_code == 200, with_server.get_json()
    fired = _rules(with_server.get_json())
    assert "BT-03" in fired  # femoral neck T −2.7 at 62: osteoporosis by BMD, from the fetched results
    assert "SI-01" in fired  # prednisone for > 90 days, from the fetched Medication, no spine imaging

    alone = client.post(URL, json=full)  # the same prefetch and no fhirServer: not resolvable
    assert alone.status_code == 200
    assert not {"BT-03", "SI-01"} & _rules(alone.get_json())
    summary, _ = summarise(prefetched, TODAY, default_knowledge(), patient_id=PID)
    assert sorted(d.reason for d in summary.dropped) == [
        "medication not resolved",
        "result not in the request",  # one per reference
        "result not in the request",
    ]

    # no prefetch at all: the patient searches, then the references, all from the FHIR server
    fetched = client.post(
        URL,
        json={
            **b.hook_request(None, pid=PID),
            "fhirServer": fresh_fhir_server.base_url,
            "fhirAuthorization": auth,
        },
    )
    assert fetched.status_code == 200
    assert _rules(fetched.get_json()) == fired


FHIR = "https://ehr.example.org/fhir"


@responses.activate
def test_a_failing_reference_fetch_is_not_an_error(settings):
    prefetched, _ = _chart()
    responses.add(responses.GET, FHIR + "/Observation", status=500)
    responses.add(responses.GET, FHIR + "/Medication", status=503)
    client = create_app(settings.with_(fhir_allowed_servers=(FHIR,), fhir_timeout_s=1.0)).test_client()
    body = {
        **b.hook_request(b.full_prefetch(prefetched), pid=PID),
        "fhirServer": FHIR,
        "fhirAuthorization": {
            "access_token": "t",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "x",
        },
    }
    resp = client.post(URL, json=body)
    assert resp.status_code == 200
    assert not {"BT-03", "SI-01"} & _rules(resp.get_json())
    assert [c.request.url.split("?")[0] for c in responses.calls] == [
        FHIR + "/Medication",
        FHIR + "/Observation",
    ]

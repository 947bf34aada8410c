"""POST /cds-services/nmd-bone-health: prefetch present, null, missing (served by a real FHIR server), 412."""

from __future__ import annotations

import pytest

from tests import builders as b
from tests.conftest import TODAY

URL = "/cds-services/nmd-bone-health"


def nutrition_cards(body: dict) -> list[dict]:
    return [c for c in body["cards"] if c["source"]["topic"]["code"] == "nutrition-referral"]


def test_full_prefetch_weight_loss_gives_a_nutrition_referral_card(client, assert_valid_response):
    body = assert_valid_response(
        client.post(URL, json=b.hook_request(b.full_prefetch(b.als_weight_loss(TODAY)))).get_json()
    )
    (card,) = nutrition_cards(body)
    assert card["indicator"] == "warning"
    assert "6.1" in card["summary"]
    assert "72" in card["detail"] and "67.6" in card["detail"]
    resources = [a["resource"] for s in card["suggestions"] for a in s["actions"]]
    assert any(
        r["resourceType"] == "ServiceRequest" and r["subject"]["reference"] == f"Patient/{b.PATIENT_ID}"
        for r in resources
    )


def test_loss_below_five_percent_gives_no_nutrition_card(client, assert_valid_response):
    resources = b.als_weight_loss(TODAY, usual=72.0, current=68.5)  # 4.9 %
    body = assert_valid_response(client.post(URL, json=b.hook_request(b.full_prefetch(resources))).get_json())
    assert nutrition_cards(body) == []


def test_patient_without_nmd_gets_no_card(client, assert_valid_response):
    resources = [r for r in b.als_weight_loss(TODAY) if r["resourceType"] != "Condition"]
    body = assert_valid_response(client.post(URL, json=b.hook_request(b.full_prefetch(resources))).get_json())
    assert body == {"cards": []}


def test_null_prefetch_means_no_data_and_no_fetch(client, assert_valid_response):
    prefetch = {key: None for key in b.full_prefetch([])}
    # No fhirServer: had the service tried to fetch, it would have answered 412.
    resp = client.post(URL, json=b.hook_request(prefetch))
    assert resp.status_code == 200
    assert assert_valid_response(resp.get_json()) == {"cards": []}


def test_empty_bundle_means_no_data(client):
    prefetch = {key: b.searchset([]) for key in b.full_prefetch([])}
    prefetch["patient"] = b.patient()
    assert client.post(URL, json=b.hook_request(prefetch)).status_code == 200


@pytest.mark.parametrize(
    "extra, why",
    [
        ({}, "no fhirServer"),
        ({"fhirServer": "http://127.0.0.1:9/fhir"}, "server unreachable"),
    ],
)
def test_missing_prefetch_that_cannot_be_fetched_is_412(client, extra, why):
    body = b.hook_request(None, **extra)
    if "fhirServer" in extra:
        body["fhirAuthorization"] = {
            "access_token": "t",
            "token_type": "Bearer",
            "expires_in": 60,
            "scope": "patient/*.read",
            "subject": "nmd-cds",
        }
    resp = client.post(URL, json=body)
    assert resp.status_code == 412, why
    outcome = resp.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["diagnostics"]


def test_operation_outcome_in_prefetch_means_fetch_it(client):
    prefetch = b.full_prefetch(b.als_weight_loss(TODAY))
    prefetch["observations"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout"}],
    }
    resp = client.post(URL, json=b.hook_request(prefetch))  # no fhirServer to fetch from
    assert resp.status_code == 412
    assert "observations" in resp.get_data(as_text=True)


@pytest.mark.fhir_server
def test_missing_prefetch_is_fetched_from_the_fhir_server(client, fhir_server, assert_valid_response):
    pid = "api-fetch-1"
    resources = b.als_weight_loss(TODAY, pid=pid)
    fhir_server.load_bundle(transaction(resources))
    auth = {
        "access_token": fhir_server.token,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "nmd-cds",
    }
    with_prefetch = client.post(URL, json=b.hook_request(b.full_prefetch(resources), pid=pid)).get_json()
    fetched = client.post(
        URL, json=b.hook_request(None, pid=pid, fhirServer=fhir_server.base_url, fhirAuthorization=auth)
    )
    assert fetched.status_code == 200, fetched.get_json()
    assert_valid_response(fetched.get_json())
    assert card_keys(fetched.get_json()) == card_keys(with_prefetch)
    assert nutrition_cards(fetched.get_json())


@pytest.mark.fhir_server
def test_wrong_token_for_the_fhir_server_is_412(client, fhir_server):
    auth = {
        "access_token": "not-the-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "nmd-cds",
    }
    resp = client.post(
        URL, json=b.hook_request(None, fhirServer=fhir_server.base_url, fhirAuthorization=auth)
    )
    assert resp.status_code == 412
    assert "401" in resp.get_data(as_text=True)


def card_keys(body: dict) -> list[tuple[str, str, str]]:
    return sorted((c["source"]["topic"]["code"], c["indicator"], c["summary"]) for c in body["cards"])


def transaction(resources: list[dict]) -> dict:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
            for r in resources
        ],
    }


@pytest.mark.parametrize("include_cp, gets_cards", [(False, False), (True, True)])
def test_cerebral_palsy_is_in_scope_only_when_configured(settings, include_cp, gets_cards):
    from service.app import create_app

    resources = [r for r in b.als_weight_loss(TODAY) if r["resourceType"] != "Condition"]
    resources.append(b.condition("cp-1", "128188000"))
    client = create_app(settings.with_(include_cerebral_palsy=include_cp)).test_client()
    body = client.post(URL, json=b.hook_request(b.full_prefetch(resources))).get_json()
    assert bool(nutrition_cards(body)) is gets_cards


def test_card_source_flags_recalled_thresholds(client):
    # NUT-09's gastrostomy window (FVC 50-60 %) is a recalled [R] figure in the clinical reference.
    from service.fixtures.render import load_scenarios, render_scenario

    scenario = next(s for s in load_scenarios() if s["name"] == "als-weight-loss-fvc-falling")
    body = client.post(URL, json=render_scenario(scenario, TODAY)["request"]).get_json()
    gastrostomy = [c for c in body["cards"] if "gastrostomy while" in c["summary"]]
    assert gastrostomy and "recalled threshold [R]" in gastrostomy[0]["detail"]


@pytest.mark.parametrize(
    "severity, fetched",
    [("error", True), ("fatal", True), ("warning", False), ("information", False)],
)
def test_search_bundle_with_only_an_operation_outcome(client, severity, fetched):
    # HAPI-style empty searches carry a warning outcome: that is "no data", not a failed prefetch.
    prefetch = b.full_prefetch(b.als_weight_loss(TODAY))
    prefetch["serviceRequests"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 0,
        "entry": [
            {
                "search": {"mode": "outcome"},
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [{"severity": severity, "code": "informational"}],
                },
            }
        ],
    }
    resp = client.post(URL, json=b.hook_request(prefetch))  # no fhirServer: a fetch would be a 412
    assert resp.status_code == (412 if fetched else 200)


@pytest.mark.parametrize("field", ["patientId", "userId", "hookInstance"])
def test_ids_with_a_trailing_newline_are_400(client, field):
    req = b.hook_request(b.full_prefetch(b.als_weight_loss(TODAY)))
    where = req if field == "hookInstance" else req["context"]
    where[field] += "\n"
    resp = client.post(URL, json=req)
    assert resp.status_code == 400
    assert field in " ".join(resp.get_json()["details"])


def test_errors_do_not_echo_caller_values(client):
    req = b.hook_request(None, fhirAuthorization="eyJhbGciOiJFUzM4NCJ9.secret-token")
    req["context"]["patientId"] = 1234567
    text = client.post(URL, json=req).get_data(as_text=True)
    assert "secret-token" not in text and "1234567" not in text


def test_unknown_prefetch_keys_are_ignored_and_bounded(client):
    prefetch = b.full_prefetch(b.als_weight_loss(TODAY))
    prefetch.update({str(i): 0 for i in range(5000)})  # not the service's keys: ignored
    assert client.post(URL, json=b.hook_request(prefetch)).status_code == 200


def test_schema_problems_are_capped(client):
    req = b.hook_request({"observations": 1}, hook=["x"] * 10)
    req["context"] = {str(i): [] for i in range(10)}
    body = client.post(URL, json=req).get_json()
    assert 0 < len(body["details"]) <= 50

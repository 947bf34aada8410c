"""Everything a caller can get wrong is a 4xx with a JSON body saying what to fix; never a 500."""

from __future__ import annotations

import json

import pytest

from tests import builders as b

URL = "/cds-services/nmd-bone-health"


@pytest.mark.parametrize(
    "method, path, kwargs, status, says",
    [
        ("post", URL, {"data": "{not json", "content_type": "application/json"}, 400, "not valid JSON"),
        ("post", URL, {"data": b"\xff\xfe", "content_type": "application/json"}, 400, "JSON"),
        ("post", URL, {"json": []}, 400, "conform"),
        ("post", URL, {"json": {"hook": "patient-view"}}, 400, "hookInstance"),
        ("post", "/cds-services/no-such-service", {"json": b.hook_request(None)}, 404, "no-such-service"),
        ("get", URL, {}, 405, "GET"),
        ("delete", "/cds-services", {}, 405, "DELETE"),
        (
            "post",
            URL,
            {"data": "hook=patient-view", "content_type": "application/x-www-form-urlencoded"},
            415,
            "application/json",
        ),
        ("post", URL, {"data": "{}"}, 415, "application/json"),
        ("get", "/nothing-here", {}, 404, "endpoints"),
    ],
)
def test_client_errors_are_json_4xx(client, method, path, kwargs, status, says):
    resp = getattr(client, method)(path, **kwargs)
    assert resp.status_code == status
    body = resp.get_json()
    assert isinstance(body, dict) and body.get("message")
    assert says in json.dumps(body)


def test_every_schema_problem_is_reported_at_once(client):
    bad = {
        "hook": 7,
        "hookInstance": "not-a-uuid",
        "context": {"patientId": ""},
        "prefetch": {"observations": 1, "notOurs": 1},
        "fhirAuthorization": {"access_token": "t"},
    }
    body = client.post(URL, json=bad).get_json()
    text = "\n".join(body["details"])
    for fragment in (
        "hook",
        "hookInstance",
        "userId",
        "patientId",
        "prefetch/observations",
        "fhirAuthorization",
        "fhirServer",
    ):
        assert fragment in text, fragment


def test_wrong_hook_is_400(client):
    resp = client.post(URL, json=b.hook_request({}, hook="order-sign"))
    assert resp.status_code == 400
    assert "patient-view" in resp.get_json()["message"]


def test_body_over_the_limit_is_413(settings):
    from service.app import create_app

    small = create_app(settings.with_(max_body_bytes=1000)).test_client()
    resp = small.post(URL, data="x" * 2000, content_type="application/json")
    assert resp.status_code == 413
    assert "1000" in resp.get_json()["message"]


@pytest.mark.parametrize(
    "body, says",
    [
        ({"hook": "patient-view", "deep": json.loads("[" * 80 + "]" * 80)}, "nested deeper"),
        ({"hook": "patient-view", "many": list(range(60_000))}, "at most"),
    ],
)
def test_json_limits_are_400(client, body, says):
    resp = client.post(URL, json=body)
    assert resp.status_code == 400
    assert says in resp.get_json()["message"]


def test_unknown_extra_fields_are_ignored(client):
    req = b.hook_request(b.full_prefetch([]), extension={"com.example.x": {"a": 1}}, somethingNew=True)
    req["context"]["futureField"] = "x"
    assert client.post(URL, json=req).status_code == 200


def test_malformed_fhir_inside_a_valid_request_is_dropped_not_fatal(client, assert_valid_response, caplog):
    from tests.conftest import TODAY

    resources = b.als_weight_loss(TODAY)
    prefetch = b.full_prefetch(resources)
    prefetch["observations"]["entry"] += [
        {"resource": {"resourceType": "Observation", "status": "final", "code": "not-a-codeableconcept"}},
        {
            "resource": {
                "resourceType": "Observation",
                "id": "x",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
                "effectiveDateTime": "2026-11-01",
                "valueQuantity": {"value": 60, "unit": "stone"},
            }
        },
        {"resource": "garbage"},
        {"nothing": True},
    ]
    resp = client.post(URL, json=b.hook_request(prefetch))
    assert resp.status_code == 200
    body = assert_valid_response(resp.get_json())
    assert body["cards"], "the valid data must still produce its cards"
    call = next(r for r in caplog.records if r.getMessage() == "service call")
    assert call.dropped >= 1  # the weight in an unknown unit is reported, not used

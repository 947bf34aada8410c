"""Logs carry hook instance, service, outcome and timings — never tokens, patient ids, names or values."""

from __future__ import annotations

import json
import logging

import pytest

from service.app import create_app
from service.logs import JsonFormatter
from tests import builders as b
from tests.conftest import TODAY
from tests.security import tokens as t
from tests.security.conftest import app_settings
from tests.security.local_server import fhir_server

PID = "pt-zq4821"
FHIR_TOKEN = "fhir-access-token-7Hq2Lk9"
SECRETS_IN_PATIENT = ["Quarterhorse", "Zebedee", "MRN-55-31-77", "1968-02-29", "+1-555-0134", "Wobbleton"]
VALUES = ["72.3", "61.9"]


def patient_resources() -> list[dict]:
    resources = b.als_weight_loss(TODAY, pid=PID, usual=72.3, current=61.9)
    resources[0].update(
        name=[{"family": "Quarterhorse", "given": ["Zebedee"]}],
        identifier=[{"system": "urn:mrn", "value": "MRN-55-31-77"}],
        birthDate="1968-02-29",
        telecom=[{"system": "phone", "value": "+1-555-0134"}],
        address=[{"city": "Wobbleton"}],
    )
    return resources


@pytest.mark.parametrize("scenario", ["ok", "fetch_fails", "bad_token"])
def test_logs_of_a_full_request_hold_no_token_and_no_patient_data(tmp_path, issuers_path, caplog, scenario):
    # The service's own loggers at their most verbose; other libraries at the root default (WARNING), as in
    # production (urllib3 logs full URLs, with the patient id, at DEBUG: see docs/security.md).
    caplog.set_level(logging.DEBUG, logger="nmd_cds")
    resources = patient_resources()
    observations = [r for r in resources if r["resourceType"] == "Observation"]
    prefetch = b.full_prefetch(resources)
    del prefetch["observations"]  # fetched from fhirServer with the access token
    with fhir_server() as ehr:
        if scenario == "fetch_fails":
            ehr.reply = lambda path: (500, {}, json.dumps({"patient": PID, "name": "Quarterhorse"}).encode())
        else:
            ehr.reply = lambda path: (200, {}, json.dumps(b.searchset(observations)).encode())
        app = create_app(
            app_settings(
                tmp_path,
                trusted_issuers_file=str(issuers_path),
                base_url="https://cds.example.org",
                dev_mode=True,
                fhir_allowed_servers=(ehr.base,),
            )
        )
        jwt = t.token(t.key("ES256"), aud="https://cds.example.org/cds-services/nmd-bone-health")
        if scenario == "bad_token":
            jwt = jwt[:-6] + ("AAAAAA" if not jwt.endswith("AAAAAA") else "BBBBBB")
        body = b.hook_request(
            prefetch,
            pid=PID,
            fhirServer=ehr.base,
            fhirAuthorization={
                "access_token": FHIR_TOKEN,
                "token_type": "Bearer",
                "expires_in": 300,
                "scope": "patient/*.read",
                "subject": "nmd-cds",
            },
        )
        resp = app.test_client().post(
            "/cds-services/nmd-bone-health", json=body, headers={"Authorization": f"Bearer {jwt}"}
        )
    expected = {"ok": 200, "fetch_fails": 412, "bad_token": 401}[scenario]
    assert resp.status_code == expected
    if scenario == "ok":
        assert "61.9" in json.dumps(resp.get_json())  # the values did flow through the service...
        assert ehr.requests and ehr.requests[0][1] == f"Bearer {FHIR_TOKEN}"
    lines = [JsonFormatter().format(r) for r in caplog.records]
    log_text = "\n".join(lines)
    # ...but none of it reached the logs.
    for secret in [jwt, jwt.split(".")[2], FHIR_TOKEN, PID, *SECRETS_IN_PATIENT, *VALUES]:
        assert secret not in log_text, secret
    records = [json.loads(line) for line in lines]
    if scenario == "bad_token":
        assert any(r.get("reason") == "JWT signature does not verify" for r in records)
    else:
        (call,) = [r for r in records if r["msg"] == "service call"]
        assert call["hookInstance"] == body["hookInstance"] and call["service"] == "nmd-bone-health"
        assert call["outcome"] == {"ok": "ok", "fetch_fails": "http_412"}[scenario]
        assert isinstance(call["ms_total"], float)


AUD = "https://cds.example.org/cds-services/nmd-bone-health"


@pytest.mark.parametrize(
    "make, reason, logged",
    [
        (
            lambda: t.token(t.key("ES256"), aud="https://cds.example.org/cds-services/other"),
            "JWT aud is not the URL of this endpoint",
            {"token_audience": "https://cds.example.org/cds-services/other", "trusted_issuer": True},
        ),
        (
            lambda: t.token(t.key("ES256"), iss="https://unknown.example.org", aud=AUD),
            "JWT issuer is not trusted",
            {"issuer": "https://unknown.example.org", "trusted_issuer": False},
        ),
        (
            lambda: t.token(t.key("ES256", kid="rotated-away"), aud=AUD),
            "JWT kid not found in the issuer's key set",
            {"kid": "rotated-away", "issuer": t.ISS, "alg": "ES256"},
        ),
        (lambda: "not-a-jwt", "bearer token is not a JWT (DecodeError)", {}),
    ],
)
def test_a_401_log_line_says_what_was_expected_and_what_came_never_the_token(
    tmp_path, issuers_path, caplog, make, reason, logged
):
    """An integrator reading the log learns why: the reason, the audience expected, the issuer, audience,
    kid and alg the token claimed. The response says only 401; the token never reaches the log."""
    caplog.set_level(logging.DEBUG, logger="nmd_cds")
    app = create_app(
        app_settings(tmp_path, trusted_issuers_file=str(issuers_path), base_url="https://cds.example.org")
    )
    jwt = make()
    resp = app.test_client().post(
        "/cds-services/nmd-bone-health", json=b.hook_request({}), headers={"Authorization": f"Bearer {jwt}"}
    )
    assert resp.status_code == 401 and resp.get_json() == {"error": "unauthorized"}
    lines = [JsonFormatter().format(r) for r in caplog.records]
    (line,) = [json.loads(x) for x in lines if '"authentication failed"' in x]
    assert line["reason"] == reason and line["expected_audience"] == AUD
    assert {k: line.get(k) for k in logged} == logged
    assert jwt not in "\n".join(lines) and jwt.split(".")[-1] not in "\n".join(lines)

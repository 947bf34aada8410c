"""The SMART client (service.fhir.smart): discovery and token exchange against the real SMART test
server, and every way a server can answer wrong (fault injection with ``responses``)."""

from __future__ import annotations

import base64

import pytest
import requests
import responses
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from service.fhir.smart import Pkce, SmartClient, SmartConfiguration, SmartError

ISS = "https://ehr.example.org/fhir"
WELL_KNOWN = f"{ISS}/.well-known/smart-configuration"
TOKEN = "https://ehr.example.org/oauth/token"
GOOD_CONFIG = {
    "authorization_endpoint": "https://ehr.example.org/oauth/authorize",
    "token_endpoint": TOKEN,
    "capabilities": ["launch-ehr", "permission-v2"],
    "code_challenge_methods_supported": ["S256"],
}


def client(secret: str = "") -> SmartClient:
    return SmartClient("app-1", "https://cds.example.org/app/callback", client_secret=secret, timeout_s=2)


def test_pkce_challenge_is_s256_of_the_verifier_as_authlib_computes_it():
    for _ in range(20):
        pkce = Pkce.new()
        assert 43 <= len(pkce.verifier) <= 128
        assert pkce.challenge == create_s256_code_challenge(pkce.verifier)
        assert "=" not in pkce.challenge
    assert pkce.verifier not in repr(pkce)


@pytest.mark.parametrize(
    "capabilities,suffix",
    [
        (["permission-v2"], ".rs"),
        (["permission-v1", "permission-v2"], ".rs"),
        (["permission-v1"], ".read"),
        ([], ".read"),
    ],
)
def test_scopes_follow_the_servers_scope_version(capabilities, suffix):
    config = SmartConfiguration(ISS, "a", "t", frozenset(capabilities), frozenset({"S256"}))
    assert (
        config.scope(["Observation", "Patient"])
        == f"launch patient/Observation{suffix} patient/Patient{suffix}"
    )


@responses.activate
def test_discovery_and_authorize_url():
    responses.get(WELL_KNOWN, json=GOOD_CONFIG)
    config = client().discover(ISS + "/")
    assert config.iss == ISS and config.token_endpoint == TOKEN
    pkce = Pkce.new()
    url = client().authorize_url(config, launch="L1", state="S1", pkce=pkce, resource_types=["Patient"])
    assert url.startswith(GOOD_CONFIG["authorization_endpoint"] + "?response_type=code&client_id=app-1&")
    assert f"code_challenge={pkce.challenge}" in url and "code_challenge_method=S256" in url
    assert "aud=https%3A%2F%2Fehr.example.org%2Ffhir" in url and "scope=launch+patient%2FPatient.rs" in url


DISCOVERY_FAULTS = [
    # (how the server answers, words of the SmartError)
    ({"status": 404}, "answered HTTP 404"),
    ({"status": 302, "headers": {"Location": "https://evil.example/x"}}, "answered HTTP 302"),
    ({"body": "<html>"}, "not JSON"),
    ({"json": ["a list"]}, "not a JSON object"),
    ({"json": {**GOOD_CONFIG, "token_endpoint": None}}, "no usable token_endpoint"),
    (
        {"json": {**GOOD_CONFIG, "authorization_endpoint": "javascript:alert(1)"}},
        "no usable authorization_endpoint",
    ),
    ({"json": {**GOOD_CONFIG, "code_challenge_methods_supported": ["plain"]}}, "PKCE with S256"),
    ({"json": {k: v for k, v in GOOD_CONFIG.items() if k != "code_challenge_methods_supported"}}, "S256"),
    ({"body": b"{" + b" " * 300_000 + b"}"}, "larger than"),
    ({"body": requests.ConnectTimeout()}, "did not answer within 2 s"),
    ({"body": requests.ConnectionError()}, "unreachable (ConnectionError)"),
]


@pytest.mark.parametrize("answer,words", DISCOVERY_FAULTS)
@responses.activate
def test_discovery_faults_are_smart_errors(answer, words):
    responses.get(WELL_KNOWN, **answer)
    with pytest.raises(SmartError) as caught:
        client().discover(ISS)
    assert words in caught.value.reason


GOOD_TOKEN = {
    "access_token": "tok-secret",
    "token_type": "Bearer",
    "expires_in": 300,
    "scope": "launch patient/Patient.rs",
    "patient": "p1",
}
TOKEN_FAULTS = [
    (
        {"status": 400, "json": {"error": "invalid_grant", "error_description": "code p1 used"}},
        "(invalid_grant)",
    ),
    ({"status": 401, "json": {"error": "invalid_client"}}, "(invalid_client)"),
    ({"status": 400, "json": {"error": "<script>"}}, "(?)"),
    ({"status": 500}, "answered HTTP 500"),
    ({"json": {**GOOD_TOKEN, "patient": None}}, "no patient in context"),
    ({"json": {**GOOD_TOKEN, "access_token": ""}}, "no access_token"),
    ({"json": {**GOOD_TOKEN, "token_type": "mac"}}, "not a bearer token"),
]


@pytest.mark.parametrize("answer,words", TOKEN_FAULTS)
@responses.activate
def test_token_faults_are_smart_errors_that_never_echo_the_server(answer, words):
    responses.post(TOKEN, **answer)
    with pytest.raises(SmartError) as caught:
        client().exchange(TOKEN, "code-1", "v" * 50)
    assert words in caught.value.reason
    assert "p1" not in caught.value.reason and "code-1" not in caught.value.reason


@responses.activate
def test_public_client_sends_its_id_and_verifier_confidential_client_uses_basic_auth():
    responses.post(TOKEN, json=GOOD_TOKEN)
    grant = client().exchange(TOKEN, "code-1", "v" * 50)
    assert (grant.access_token, grant.patient, grant.expires_in) == ("tok-secret", "p1", 300)
    assert "tok-secret" not in repr(grant) and "p1" not in repr(grant)
    body = responses.calls[0].request.body
    assert (
        "client_id=app-1" in body
        and "code_verifier=" + "v" * 50 in body
        and "grant_type=authorization_code" in body
    )
    assert "Authorization" not in responses.calls[0].request.headers
    client("s3cret").exchange(TOKEN, "code-2", "v" * 50)
    second = responses.calls[1].request
    assert second.headers["Authorization"] == "Basic " + base64.b64encode(b"app-1:s3cret").decode()
    assert "client_id" not in second.body


@pytest.mark.fhir_server
def test_against_the_real_smart_server(smart):
    config = client().discover(smart.fhir_base)
    assert config.token_endpoint == f"{smart.base_url}/token" and "permission-v2" in config.capabilities
    with pytest.raises(SmartError) as caught:  # an unknown code at a real Authlib server
        client().exchange(config.token_endpoint, "no-such-code", "v" * 50)
    assert "invalid_client" in caught.value.reason or "invalid_grant" in caught.value.reason

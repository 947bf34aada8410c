"""Property-based fuzzing of the security-relevant parsers, without HTTP: each may refuse, none may crash.

Example counts (hypothesis ``max_examples``): 200 per property, 7 properties → up to 1,400 inputs.
"""

from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.cds_hooks.prefetch import resolve_prefetch
from service.cds_hooks.request import parse_hook_request, parse_json
from service.cds_hooks.services import patient_view_prefetch
from service.config import Settings
from service.errors import BadRequest, DataUnavailable, Unauthorized
from service.fhir.build import build_summary
from service.knowledge import default_knowledge
from service.security.auth import Authenticator
from service.security.ssrf import FhirServerRefused, check_fhir_server
from tests.security import strategies as fz
from tests.security import tokens as t

KNOWLEDGE = default_knowledge()
PATIENT_VIEW_PREFETCH = patient_view_prefetch(KNOWLEDGE)

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def auth(tmp_path_factory: pytest.TempPathFactory) -> Authenticator:
    d: Path = tmp_path_factory.mktemp("fuzz-auth")
    jwks = t.write_jwks(d / "jwks.json", t.key("ES256"), t.key("RS256"))
    path = t.write_issuers(
        d / "issuers.json",
        {t.ISS: {"jwks_file": str(jwks), "tenants": ["t1"], "jku_allowlist": ["https://127.0.0.1:9/jwks"]}},
    )
    return Authenticator(Settings(trusted_issuers_file=str(path)))


def b64(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


@FUZZ
@given(st.one_of(st.none(), st.text(max_size=300), st.text(max_size=300).map(lambda s: "Bearer " + s)))
def test_any_authorization_header_is_accepted_or_401(auth, header):
    with pytest.raises(Unauthorized):
        auth.verify(header, t.AUD)


headers = st.fixed_dictionaries(
    {
        "alg": st.one_of(
            st.sampled_from(["ES256", "RS256", "ES384", "none", "HS256", "RS512", ""]), fz.json_values
        )
    },
    optional={
        "typ": st.one_of(st.just("JWT"), fz.json_values),
        "kid": st.one_of(st.just("kid-es256"), fz.json_values),
        "jku": st.one_of(st.just("https://127.0.0.1:9/jwks"), fz.json_values),
        "crit": fz.json_values,
    },
)
payloads = st.fixed_dictionaries(
    {},
    optional={
        "iss": st.one_of(st.just(t.ISS), fz.json_values),
        "aud": st.one_of(st.just(t.AUD), fz.json_values),
        "exp": fz.json_values,
        "iat": fz.json_values,
        "nbf": fz.json_values,
        "jti": fz.json_values,
        "tenant": st.one_of(st.just("t1"), fz.json_values),
    },
)


@FUZZ
@given(headers, st.one_of(payloads, fz.json_values), st.binary(max_size=80))
def test_forged_jwts_are_always_401(auth, header, payload, signature):
    # The signature is random, so nothing may be accepted; the jku on the allowlist points at a closed port.
    token = f"{b64(header)}.{b64(payload)}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
    with pytest.raises(Unauthorized):
        auth.verify(f"Bearer {token}", t.AUD)


@FUZZ
@given(fz.mutated_requests())
def test_hook_request_parser_accepts_or_answers_400(body):
    try:
        data = parse_json(json.dumps(body).encode(), 64, 50_000)
        parse_hook_request(data, "patient-view")
    except BadRequest:
        pass


@FUZZ
@given(
    st.recursive(
        st.none(), lambda c: st.lists(c, max_size=3) | st.dictionaries(st.just("a"), c), max_leaves=80
    )
)
def test_deep_json_is_parsed_or_answers_400(value):
    try:
        parse_json(json.dumps(value).encode(), max_depth=5, max_array_length=2)
    except BadRequest as exc:
        assert "nested deeper than 5" in exc.message or "at most 2 are accepted" in exc.message


@FUZZ
@given(fz.full_prefetch_requests)
def test_malformed_prefetch_is_used_or_answers_412(body):
    req = parse_hook_request(body, "patient-view")
    try:
        resolve_prefetch(req, PATIENT_VIEW_PREFETCH, Settings())  # no fhirServer may be called
    except DataUnavailable:
        pass


# Found by the fuzz test: a non-list Bundle.entry crashed prefetch resolution (500); fixed in prefetch.py.
@pytest.mark.parametrize("entry", [1, 2.5, True])
def test_prefetch_bundle_with_non_list_entry(entry):
    body = fz.base_request({"patient": None, "conditions": {"resourceType": "Bundle", "entry": entry}})
    try:
        resolve_prefetch(parse_hook_request(body, "patient-view"), PATIENT_VIEW_PREFETCH, Settings())
    except DataUnavailable:
        pass


@FUZZ
@given(st.lists(fz.fhir_resources(), max_size=8))
def test_malformed_fhir_resources_never_crash_the_data_layer(resources):
    summary = build_summary(resources, date(2026, 11, 21), KNOWLEDGE, patient_id=fz.PATIENT_ID)
    assert summary.patient_id == fz.PATIENT_ID


@FUZZ
@given(
    st.one_of(
        st.text(max_size=60),
        st.from_regex(r"\A(https?|file|ftp)://[\w.@:\[\]%-]{0,30}(/[\w.%-]{0,10}){0,3}\Z"),
    )
)
def test_any_fhir_server_url_is_allowed_or_refused(url):
    for s in (Settings(dev_mode=True), Settings(fhir_allowed_servers=("https://ehr.example.org/fhir",))):
        try:
            check_fhir_server(url, s)
        except FhirServerRefused:
            pass

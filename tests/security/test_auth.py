"""JWT authentication of CDS clients: each allowed algorithm accepted; every bad token → 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import jwt
import pytest
import responses
from cryptography.hazmat.primitives import serialization

from service.config import ConfigError, Settings
from service.errors import Unauthorized
from service.security.auth import Authenticator
from service.security.issuers import SANDBOX_ISSUER, load_trusted_issuers
from service.security.jwks import KeySetCache
from tests.security import tokens as t

ALGS = ["ES384", "RS384", "ES256", "RS256"]
SPEC_ISS = "https://fhir-ehr.example.com/"
SPEC_AUD = "https://cds.example.org/cds-services/some-service"
SPEC_JKU = "https://fhir-ehr.example.com/jwk_uri"
OTHER_JKU = "https://keys.example.org/jwks.json"


@pytest.fixture
def issuers_file(tmp_path: Path) -> Path:
    jwks = t.write_jwks(tmp_path / "ehr-jwks.json", *(t.key(a) for a in ALGS))
    return t.write_issuers(
        tmp_path / "issuers.json",
        {
            t.ISS: {"jwks_file": jwks.name, "jku_allowlist": [OTHER_JKU]},
            "https://tenanted.example.org": {"jwks_file": str(jwks), "tenants": ["org-1"]},
            SPEC_ISS: {
                "jwks_file": str(t.DATA / "jwt-example-jwks-public.json"),
                "jku_allowlist": [SPEC_JKU],
            },
        },
    )


@pytest.fixture
def auth(issuers_file: Path) -> Authenticator:
    return Authenticator(Settings(trusted_issuers_file=str(issuers_file)))


def reason_of(auth: Authenticator, header: str | None, audience: str = t.AUD) -> str:
    with pytest.raises(Unauthorized) as info:
        auth.verify(header, audience)
    assert info.value.status == 401 and info.value.body() == {"error": "unauthorized"}
    return info.value.reason


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict, payload: dict) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}."


def hs256_with_public_key(k: t.Key) -> str:
    """The classic algorithm-confusion attack: HMAC keyed with the verifier's own public key (PEM)."""
    pem = k.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": k.kid}).encode())
    signing_input = f"{header}.{b64(json.dumps(t.claims()).encode())}"
    return f"{signing_input}.{b64(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())}"


@pytest.mark.parametrize("alg", ALGS)
def test_valid_token_of_each_allowed_algorithm_is_accepted(auth, alg):
    auth.verify(t.bearer(t.token(t.key(alg))), t.AUD)


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": [t.AUD, "https://other.example.org/"]},  # aud may be an array containing the endpoint URL
        {"sub": "client-id"},  # sub is not defined by CDS Hooks 2.0, but harmless
        {"tenant": "anything"},  # no tenant allowlist for this issuer
    ],
)
def test_accepted_claim_variants(auth, changes):
    auth.verify(t.bearer(t.token(t.key("ES384"), **changes)), t.AUD)


def test_tenant_on_the_allowlist_is_accepted(auth):
    auth.verify(t.bearer(t.token(t.key("ES256"), iss="https://tenanted.example.org", tenant="org-1")), t.AUD)


def test_spec_example_token_verifies_but_is_expired(auth):
    spec_token = (t.DATA / "jwt-example-compact.txt").read_text().strip()
    jwk = json.loads((t.DATA / "jwt-example-jwks-public.json").read_text())["keys"][0]
    # The signature is good: only the 2015 expiry makes it fail.
    jwt.decode(
        spec_token, jwt.PyJWK(jwk).key, algorithms=["ES384"], audience=SPEC_AUD, options={"verify_exp": False}
    )
    assert reason_of(auth, t.bearer(spec_token), SPEC_AUD) == "JWT expired"


def _replay(auth: Authenticator) -> str:
    tok = t.bearer(t.token(t.key("ES256")))
    auth.verify(tok, t.AUD)
    return tok


E256, R256 = t.key("ES256"), t.key("RS256")
REJECTED = [
    ("no header", lambda a: None, "no Authorization header"),
    ("basic auth", lambda a: "Basic dXNlcjpwYXNz", "not 'Bearer <JWT>'"),
    ("garbage", lambda a: "Bearer not.a.jwt", "not a JWT"),
    ("huge", lambda a: "Bearer " + "a" * 20000, "too long"),
    ("expired", lambda a: t.bearer(t.token(E256, exp=1_000_000, iat=999_990)), "JWT expired"),
    ("wrong audience", lambda a: t.bearer(t.token(E256, aud="https://cds.example.org/cds-services")), "aud"),
    (
        "unknown issuer",
        lambda a: t.bearer(t.token(E256, iss="https://evil.example.org")),
        "issuer is not trusted",
    ),
    ("unknown kid", lambda a: t.bearer(t.token(t.key("ES256", "rogue-kid"))), "kid not found"),
    (
        "alg none",
        lambda a: t.bearer(unsigned({"alg": "none", "typ": "JWT", "kid": E256.kid}, t.claims())),
        "alg",
    ),
    ("HS256 with public key", lambda a: t.bearer(hs256_with_public_key(R256)), "alg 'HS256' not allowed"),
    ("RS512", lambda a: t.bearer(t.token(t.Key("RS512", R256.kid, R256.private))), "alg 'RS512' not allowed"),
    ("replayed jti", lambda a: _replay(a), "replay"),
    ("jku off allowlist", lambda a: t.bearer(t.token(E256, {"jku": "https://evil.example.org/jwks"})), "jku"),
    ("typ not JWT", lambda a: t.bearer(t.token(E256, {"typ": "at+jwt"})), "typ"),
    ("kid missing", lambda a: t.bearer(t.token(E256, {"kid": None})), "no kid"),
    ("jti missing", lambda a: t.bearer(t.token(E256, jti=None)), "MissingRequiredClaim"),
    ("iat missing", lambda a: t.bearer(t.token(E256, iat=None)), "MissingRequiredClaim"),
    (
        "iat in the future",
        lambda a: t.bearer(t.token(E256, iat=4_000_000_000, exp=4_000_000_100)),
        "Immature",
    ),
    ("lifetime too long", lambda a: t.bearer(t.token(E256, exp=t.claims()["iat"] + 7200)), "lifetime"),
    (
        "tenant not allowed",
        lambda a: t.bearer(t.token(E256, iss="https://tenanted.example.org", tenant="x")),
        "tenant",
    ),
    ("tenant missing", lambda a: t.bearer(t.token(E256, iss="https://tenanted.example.org")), "tenant"),
    (
        "signed by another key",
        lambda a: t.bearer(t.token(t.Key("ES256", E256.kid, t.key("ES256", "x").private))),
        "signature",
    ),
    (
        "EC kid, RS256 token",
        lambda a: t.bearer(t.token(t.Key("RS256", E256.kid, R256.private))),
        "key unusable",
    ),
    (
        "P-384 kid, ES256 token",
        lambda a: t.bearer(t.token(t.Key("ES256", "kid-es384", E256.private))),
        "key unusable",
    ),
]


@pytest.mark.parametrize("case, make, reason", REJECTED, ids=[r[0] for r in REJECTED])
def test_bad_tokens_are_rejected_with_401_and_a_logged_reason(auth, case, make, reason):
    assert reason in reason_of(auth, make(auth))


def test_authentication_off_lets_everything_through():
    Authenticator(Settings(auth=False)).verify(None, t.AUD)


def test_default_settings_trust_nobody_not_even_the_sandbox():
    auth = Authenticator(Settings())
    assert auth.issuers == {}
    assert "not trusted" in reason_of(auth, t.bearer(t.token(E256, iss=SANDBOX_ISSUER)))


@pytest.mark.parametrize("dev_mode, ok", [(True, True), (False, False)])
def test_trusting_the_sandbox_requires_dev_mode(dev_mode, ok):
    settings = Settings(trust_sandbox=True, dev_mode=dev_mode)
    if ok:
        assert SANDBOX_ISSUER in load_trusted_issuers(settings)
    else:
        with pytest.raises(ConfigError, match="DEV_MODE"):
            Authenticator(settings)


@pytest.mark.parametrize(
    "issuer, message",
    [
        ({}, "needs jwks_file"),
        ({"jwks_file": "missing.json"}, "does not exist"),
        ({"jwks_url": "http://keys.example.org/jwks"}, "must be https"),
        ({"jku_allowlist": "https://x"}, "list of strings"),
        ({"jku_allowlist": ["https://x"], "colour": 1}, "unknown field"),
    ],
)
def test_bad_issuer_configuration_refuses_to_start(tmp_path, issuer, message):
    path = t.write_issuers(tmp_path / "issuers.json", {t.ISS: issuer})
    with pytest.raises(ConfigError, match=message):
        Authenticator(Settings(trusted_issuers_file=str(path)))


@responses.activate
def test_allowlisted_jku_is_fetched_and_cached(tmp_path):
    path = t.write_issuers(tmp_path / "i.json", {t.ISS: {"jku_allowlist": [OTHER_JKU]}})
    responses.get(OTHER_JKU, json=t.jwks(t.key("RS384")))
    auth = Authenticator(Settings(trusted_issuers_file=str(path)))
    for _ in range(3):
        auth.verify(t.bearer(t.token(t.key("RS384"), {"jku": OTHER_JKU})), t.AUD)
    assert len(responses.calls) == 1


@responses.activate
def test_jku_redirect_is_not_followed(tmp_path):
    path = t.write_issuers(tmp_path / "i.json", {t.ISS: {"jku_allowlist": [OTHER_JKU]}})
    responses.get(OTHER_JKU, status=302, headers={"Location": "https://evil.example.org/jwks"})
    auth = Authenticator(Settings(trusted_issuers_file=str(path)))
    assert "kid not found" in reason_of(auth, t.bearer(t.token(t.key("RS384"), {"jku": OTHER_JKU})))
    assert [c.request.url for c in responses.calls] == [OTHER_JKU]


def test_rotated_key_is_picked_up_on_unknown_kid_but_refreshes_are_rate_limited(tmp_path):
    now = [1000.0]
    jwks_path = t.write_jwks(tmp_path / "k.json", t.key("ES256"))
    path = t.write_issuers(tmp_path / "i.json", {t.ISS: {"jwks_file": str(jwks_path)}})
    auth = Authenticator(
        Settings(trusted_issuers_file=str(path)), key_sets=KeySetCache(min_refresh_s=30, clock=lambda: now[0])
    )
    auth.verify(t.bearer(t.token(t.key("ES256"))), t.AUD)
    new_key = t.key("ES384", "rotated-kid")
    t.write_jwks(jwks_path, t.key("ES256"), new_key)
    now[0] += 5  # too soon after the last load: not reloaded
    assert "kid not found" in reason_of(auth, t.bearer(t.token(new_key)))
    now[0] += 30
    auth.verify(t.bearer(t.token(new_key)), t.AUD)


@pytest.mark.parametrize(
    "jwk, kept",
    [
        ({"kty": "EC", "kid": "a", "crv": "P-256", "x": "x", "y": "y"}, True),
        ({"kty": "RSA", "kid": "a", "n": "n", "e": "AQAB", "use": "sig"}, True),
        ({"kty": "oct", "kid": "a", "k": "c2VjcmV0"}, False),  # symmetric: never a client key
        (
            {"kty": "EC", "kid": "a", "crv": "P-256", "x": "x", "y": "y", "d": "d"},
            False,
        ),  # private key published
        ({"kty": "RSA", "kid": "a", "n": "n", "e": "AQAB", "use": "enc"}, False),
        ({"kty": "EC", "crv": "P-256", "x": "x", "y": "y"}, False),  # no kid
    ],
)
def test_only_public_signature_keys_are_taken_from_a_key_set(jwk, kept):
    from service.security.jwks import parse_jwks

    assert ("a" in parse_jwks(json.dumps({"keys": [jwk]}).encode())) is kept


@responses.activate
def test_unreachable_jku_gives_401_and_is_not_hammered(tmp_path):
    path = t.write_issuers(tmp_path / "i.json", {t.ISS: {"jku_allowlist": [OTHER_JKU]}})
    responses.get(OTHER_JKU, status=503)
    auth = Authenticator(Settings(trusted_issuers_file=str(path)))
    for _ in range(5):
        assert "kid not found" in reason_of(auth, t.bearer(t.token(t.key("RS384"), {"jku": OTHER_JKU})))
    assert len(responses.calls) == 1


@responses.activate
def test_sandbox_tokens_are_checked_against_the_bundled_key_set_without_network():
    auth = Authenticator(Settings(trust_sandbox=True, dev_mode=True))
    sandbox_kid = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"  # the Sandbox's ES384 key
    forged = t.Key("ES384", sandbox_kid, t.key("ES384").private)  # right kid, wrong private key
    header = {"jku": "https://sandbox.cds-hooks.org/.well-known/jwks.json"}
    assert "signature" in reason_of(auth, t.bearer(t.token(forged, header, iss=SANDBOX_ISSUER)))
    assert len(responses.calls) == 0


NOW_S = t.claims()["iat"]


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": 10**400},  # float(10**400) overflows
        {"iat": NOW_S - 10, "exp": 10**400},
        {"exp": float("inf")},  # serialised as Infinity; PyJWT's int() overflows
        {"iat": float("-inf")},
        {"nbf": float("inf")},
        {"exp": float("nan")},
    ],
    ids=["exp 10**400", "exp 10**400 with past iat", "exp inf", "iat -inf", "nbf inf", "exp nan"],
)
def test_out_of_range_time_claims_of_a_trusted_issuer_are_401_not_500(auth, claims):
    # Signed by a trusted key: the token gets past the signature to the time checks.
    reason_of(auth, t.bearer(t.token(t.key("ES256"), **claims)))

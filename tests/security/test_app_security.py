"""The authentication, proxy and input-limit rules seen through HTTP (create_app + Flask test client)."""

from __future__ import annotations

import json

import pytest

from service.app import create_app
from tests import builders as b
from tests.security import tokens as t
from tests.security.conftest import app_settings

BASE = "https://cds.example.org"
SERVICE = "/cds-services/nmd-bone-health"


def auth_header(**claims) -> dict[str, str]:
    return {"Authorization": t.bearer(t.token(t.key("ES256"), **claims))}


@pytest.mark.parametrize(
    "method, path, aud, status",
    [
        ("get", "/cds-services", BASE + "/cds-services", 200),
        ("post", SERVICE, BASE + SERVICE, 200),
        (
            "post",
            SERVICE + "/feedback",
            BASE + SERVICE + "/feedback",
            None,
        ),  # whatever feedback answers, not 401
        ("get", "/cds-services", BASE + SERVICE, 401),  # a service-call token replayed at discovery
        ("post", SERVICE, BASE + "/cds-services", 401),
        ("post", SERVICE, "https://evil.example.org" + SERVICE, 401),
    ],
)
def test_aud_must_be_the_endpoint_invoked(secure_client, method, path, aud, status):
    body = {"feedback": []} if path.endswith("feedback") else b.hook_request(b.full_prefetch([b.patient()]))
    kwargs = {"json": body} if method == "post" else {}
    resp = getattr(secure_client, method)(path, headers=auth_header(aud=aud), **kwargs)
    if status is None:
        assert resp.status_code != 401
    else:
        assert resp.status_code == status


@pytest.mark.parametrize(
    "method, path, headers",
    [
        ("get", "/cds-services", {}),
        ("post", SERVICE, {}),
        ("post", SERVICE + "/feedback", {}),
        (
            "get",
            "/cds-services",
            {"Authorization": "Bearer " + (t.DATA / "jwt-example-compact.txt").read_text().strip()},
        ),
        ("get", "/cds-services", {"Authorization": "Basic YTpi"}),
    ],
)
def test_requests_without_a_valid_token_get_401_without_detail(secure_client, method, path, headers):
    resp = getattr(secure_client, method)(path, headers=headers)
    assert resp.status_code == 401
    assert resp.get_json() == {"error": "unauthorized"}


@pytest.mark.parametrize(
    "path, method", [("/healthz", "get"), ("/openapi.json", "get"), (SERVICE, "options")]
)
def test_health_openapi_and_preflight_need_no_token(secure_client, path, method):
    assert getattr(secure_client, method)(path).status_code in (200, 204)


def test_replayed_token_is_refused_at_the_second_use(secure_client):
    headers = auth_header(aud=BASE + "/cds-services")
    assert [secure_client.get("/cds-services", headers=headers).status_code for _ in range(2)] == [200, 401]


@pytest.mark.parametrize(
    "behind_proxy, forwarded, status",
    [
        (True, {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "cds.example.org"}, 200),
        (False, {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "cds.example.org"}, 401),
        (True, {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example.org"}, 401),
    ],
)
def test_forwarded_headers_count_only_behind_a_proxy(tmp_path, issuers_path, behind_proxy, forwarded, status):
    # Outside dev mode a fixed audience (or trusted proxy headers) is required: dev mode shows that the
    # forwarded headers are ignored when no proxy is trusted.
    app = create_app(
        app_settings(
            tmp_path,
            trusted_issuers_file=str(issuers_path),
            behind_proxy=behind_proxy,
            dev_mode=not behind_proxy,
        )
    )
    headers = {**forwarded, **auth_header(aud=BASE + "/cds-services")}
    assert app.test_client().get("/cds-services", headers=headers).status_code == status


@pytest.fixture
def limited_client(tmp_path):
    app = create_app(
        app_settings(
            tmp_path, auth=False, dev_mode=True, max_body_bytes=4000, max_json_depth=8, max_array_length=20
        )
    )
    return app.test_client()


def nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    "body, content_type, status, message",
    [
        (
            json.dumps(b.hook_request({"patient": None}, extension={"x": "y" * 5000})),
            "application/json",
            413,
            "4000",
        ),
        (
            json.dumps(b.hook_request({"patient": None}, extension=nested(10))),
            "application/json",
            400,
            "nested deeper than 8",
        ),
        (
            json.dumps(b.hook_request({"patient": None}, extension={"list": list(range(21))})),
            "application/json",
            400,
            "at most 20",
        ),
        ("[" * 5000 + "]" * 5000, "application/json", 413, "4000"),
        ("[" * 1500 + "]" * 1500, "application/json", 400, "nested deeper than 8"),
        ("{not json", "application/json", 400, "not valid JSON"),
        (b'{"a": "\xc3\x28"}', "application/json", 400, "UTF-8"),
        ("hook=patient-view", "application/x-www-form-urlencoded", 415, "application/json"),
    ],
)
def test_over_limit_and_malformed_bodies_get_a_clear_4xx(limited_client, body, content_type, status, message):
    resp = limited_client.post(SERVICE, data=body, content_type=content_type)
    assert resp.status_code == status
    assert message in resp.get_json()["message"]


def test_a_body_within_the_limits_is_served(limited_client):
    resp = limited_client.post(SERVICE, json=b.hook_request({k: None for k in b.full_prefetch([])}))
    assert resp.status_code == 200


def test_openapi_document_is_served(secure_client):
    doc = secure_client.get("/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1") and "/cds-services/{id}" in doc["paths"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic YTpi"},
        {"Authorization": "Bearer not.a.jwt"},
        {"Authorization": t.bearer(t.token(t.key("ES256"), aud=BASE + "/cds-services", exp=10**400))},
    ],
    ids=["no header", "basic", "garbage", "exp 10**400"],
)
def test_401_names_the_bearer_scheme_and_nothing_else(secure_client, headers):
    resp = secure_client.get("/cds-services", headers=headers)
    assert resp.status_code == 401
    assert resp.headers.get("WWW-Authenticate") == "Bearer"
    assert resp.get_json() == {"error": "unauthorized"}


def test_other_errors_carry_no_www_authenticate(secure_client):
    resp = secure_client.get("/no-such-path", headers=auth_header(aud=BASE + "/no-such-path"))
    assert resp.status_code == 404
    assert "WWW-Authenticate" not in resp.headers

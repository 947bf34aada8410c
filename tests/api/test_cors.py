"""CORS on every route, preflight included, for allowlisted origins only."""

from __future__ import annotations

import pytest

from tests import builders as b

SANDBOX = "https://sandbox.cds-hooks.org"


@pytest.mark.parametrize(
    "path", ["/cds-services", "/cds-services/nmd-bone-health", "/cds-services/nmd-bone-health/feedback"]
)
def test_preflight_on_every_route(client, path):
    resp = client.options(
        path,
        headers={
            "Origin": SANDBOX,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert resp.status_code == 204
    assert resp.headers["Access-Control-Allow-Origin"] == SANDBOX
    assert "authorization" in resp.headers["Access-Control-Allow-Headers"].lower()
    assert "POST" in resp.headers["Access-Control-Allow-Methods"]


def test_cors_headers_on_post_and_errors(client):
    ok = client.post(
        "/cds-services/nmd-bone-health", json=b.hook_request(b.full_prefetch([])), headers={"Origin": SANDBOX}
    )
    bad = client.post("/cds-services/nmd-bone-health", json={}, headers={"Origin": SANDBOX})
    assert ok.status_code == 200 and bad.status_code == 400
    for resp in (ok, bad):
        assert resp.headers["Access-Control-Allow-Origin"] == SANDBOX


def test_origin_off_the_allowlist_gets_no_cors_headers(client):
    resp = client.get("/cds-services", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in resp.headers


def test_configured_wildcard(settings):
    from service.app import create_app

    c = create_app(settings.with_(cors_origins=("*",))).test_client()
    resp = c.get("/cds-services", headers={"Origin": "https://any.example"})
    assert resp.headers["Access-Control-Allow-Origin"] == "*"

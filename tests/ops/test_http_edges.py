"""HTTP details an EHR or an operator relies on (in-process app): Allow on 405, no-store, request ids,
/readyz, /metrics, and the feedback CLI's database location."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from service import config
from service.app import create_app
from service.config import Settings
from service.feedback.backends import open_store
from service.feedback.cli import main as feedback_cli
from tests import builders as b
from tests.conftest import TODAY
from tests.security import tokens as t

URL = "/cds-services/nmd-bone-health"


@pytest.mark.parametrize(
    "method, path, allow",
    [
        ("get", URL, {"POST", "OPTIONS"}),
        ("put", "/cds-services", {"GET", "HEAD", "OPTIONS"}),
        ("delete", URL + "/feedback", {"POST", "OPTIONS"}),
        ("post", "/healthz", {"GET", "HEAD", "OPTIONS"}),
    ],
)
def test_405_names_the_allowed_methods(client, method: str, path: str, allow: set[str]) -> None:
    resp = getattr(client, method)(path)
    assert resp.status_code == 405 and resp.is_json
    assert {m.strip() for m in resp.headers["Allow"].split(",")} == allow


def test_405_comes_before_authentication(tmp_path: Path) -> None:
    jwks = t.write_jwks(tmp_path / "jwks.json", t.key("ES256"))
    issuers = t.write_issuers(tmp_path / "issuers.json", {t.ISS: {"jwks_file": str(jwks)}})
    app = create_app(
        Settings(
            sqlite_path=str(tmp_path / "db.sqlite3"),
            trusted_issuers_file=str(issuers),
            base_url="https://cds.example.org",
        )
    )
    resp = app.test_client().get(URL)  # no token: the method is wrong whoever asks
    assert resp.status_code == 405 and "Allow" in resp.headers


@pytest.mark.parametrize(
    "method, path, kwargs, cache_control",
    [
        ("post", URL, {"json": b.hook_request(b.full_prefetch(b.als_weight_loss(TODAY)))}, "no-store"),
        ("post", URL, {"json": {}}, "no-store"),
        ("post", URL + "/feedback", {"json": {"feedback": []}}, "no-store"),
        ("get", "/cds-services", {}, "no-store"),
        ("get", "/openapi.json", {}, None),
    ],
)
def test_card_and_feedback_answers_are_not_stored_by_caches(
    client, method, path, kwargs, cache_control
) -> None:
    resp = getattr(client, method)(path, **kwargs)
    assert resp.headers.get("Cache-Control") == cache_control


@pytest.mark.parametrize(
    "sent, echoed",
    [("abc-123.x:y", True), ("", False), ("a b", False), ("x" * 65, False), ("<script>", False)],
)
def test_request_id_is_echoed_only_when_safe(client, sent: str, echoed: bool) -> None:
    rid = client.get("/healthz", headers={"X-Request-Id": sent}).headers["X-Request-Id"]
    assert (rid == sent) is echoed and 1 <= len(rid) <= 64


def test_readyz_reports_each_check(tmp_path: Path, settings: Settings) -> None:
    ok = create_app(settings).test_client().get("/readyz")
    assert ok.status_code == 200 and ok.get_json() == {"status": "ready", "checks": {"feedback_store": "ok"}}
    (tmp_path / "a-file").write_text("")
    broken = create_app(settings.with_(sqlite_path=str(tmp_path / "a-file" / "db.sqlite3"))).test_client()
    resp = broken.get("/readyz")
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "5"
    assert resp.get_json() == {"status": "not_ready", "checks": {"feedback_store": "unavailable"}}
    assert broken.get("/healthz").status_code == 200  # liveness is not readiness


def test_readyz_with_authentication_checks_the_replay_store_and_key_sets(tmp_path: Path) -> None:
    jwks = t.write_jwks(tmp_path / "jwks.json", t.key("ES256"))
    issuers = t.write_issuers(tmp_path / "issuers.json", {t.ISS: {"jwks_file": str(jwks)}})
    settings = Settings(
        sqlite_path=str(tmp_path / "db.sqlite3"), trusted_issuers_file=str(issuers), base_url="https://x.org"
    )
    client = create_app(settings).test_client()
    checks = client.get("/readyz").get_json()["checks"]
    assert checks == {"replay_store": "ok", f"key_set {t.ISS}": "ok", "feedback_store": "ok"}
    jwks.write_text("not json")
    client = create_app(settings).test_client()
    resp = client.get("/readyz")
    assert resp.status_code == 503 and resp.get_json()["checks"][f"key_set {t.ISS}"] == "unavailable"


def test_the_feedback_cli_opens_the_services_file_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(config, "DATA_ROOT", tmp_path / "checkout")
    settings = Settings(sqlite_path="var/nmd-cds.sqlite3")  # the default kind: relative
    assert settings.sqlite_file() == tmp_path / "checkout" / "var" / "nmd-cds.sqlite3"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert feedback_cli(["report"], settings) == 1  # no database yet: an error, not a new empty one
    err = capsys.readouterr().err
    assert str(settings.sqlite_file()) in err and err.count("\n") == 1
    assert not settings.sqlite_file().exists() and not (elsewhere / "var").exists()
    store = open_store(settings)  # what the service creates
    store.migrate()
    store.close()
    assert feedback_cli(["report", "--csv"], settings) == 0
    assert not (elsewhere / "var").exists() and os.getcwd() == str(elsewhere)

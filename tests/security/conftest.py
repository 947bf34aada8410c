"""Apps with authentication on (one trusted issuer, ES256/RS384 keys) for the HTTP tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from service import config
from service.app import create_app
from service.config import Settings
from tests.conftest import TODAY
from tests.security import tokens as t


def app_settings(tmp_path: Path, **changes) -> Settings:
    base = Settings(
        today=TODAY,
        sqlite_path=str(tmp_path / "feedback.sqlite3"),
        patient_hash_secret="test-secret",
        fhir_timeout_s=3.0,
    )
    return base.with_(**changes)


@pytest.fixture(autouse=True)
def _relative_paths_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Authenticators built from default Settings keep their replay table in the relative sqlite_path
    # (var/nmd-cds.sqlite3, resolved against config.DATA_ROOT): make that land in the test's own folder,
    # never in the working tree.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(config, "DATA_ROOT", tmp_path)


@pytest.fixture
def issuers_path(tmp_path: Path) -> Path:
    jwks = t.write_jwks(tmp_path / "jwks.json", t.key("ES256"), t.key("RS384"))
    return t.write_issuers(tmp_path / "issuers.json", {t.ISS: {"jwks_file": str(jwks)}})


@pytest.fixture
def secure_app(tmp_path: Path, issuers_path: Path) -> Flask:
    return create_app(
        app_settings(tmp_path, trusted_issuers_file=str(issuers_path), base_url="https://cds.example.org")
    )


@pytest.fixture
def secure_client(secure_app: Flask):
    return secure_app.test_client()

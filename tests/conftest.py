"""Shared fixtures: settings with a pinned date, the Flask app and client, schema validators."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from service.app import create_app
from service.cds_hooks.request import validator
from service.config import Settings

# fixtures: fhir_server, pg_url, browser and screenshots
pytest_plugins = ["tests.fhir_server.plugin", "tests.pg_cluster", "tests.browser"]

TODAY = date(2026, 11, 21)
DATA = Path(__file__).resolve().parent / "data"  # test data copied into the repo; see each SOURCES.md


def data_files(folder: str, pattern: str, expected: int) -> list[Path]:
    """The files of ``tests/data/<folder>`` matching ``pattern``, for parametrizing a test.

    Fewer than ``expected`` is an error at collection time, so a missing file fails the run loudly
    instead of quietly collecting fewer (or zero) cases.
    """
    found = sorted((DATA / folder).glob(pattern))
    if len(found) < expected:
        raise FileNotFoundError(
            f"tests/data/{folder} holds {len(found)} file(s) matching {pattern}, expected {expected}: "
            f"restore them from git (see tests/data/{folder}/SOURCES.md)"
        )
    return found


def service_settings(folder: Path) -> Settings:
    """The tests' service: development mode, authentication off, "today" pinned, its store in ``folder``."""
    return Settings(
        auth=False,
        dev_mode=True,
        today=TODAY,
        sqlite_path=str(folder / "feedback.sqlite3"),
        patient_hash_secret="test-secret",
        fhir_timeout_s=3.0,
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return service_settings(tmp_path)


@pytest.fixture(scope="module")
def kit_client(tmp_path_factory: pytest.TempPathFactory):
    """One test client for a whole module (e.g. every fixture scenario in turn)."""
    return create_app(service_settings(tmp_path_factory.mktemp("service"))).test_client()


@pytest.fixture
def app(settings: Settings):
    return create_app(settings)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def response_schema():
    return validator("response")


@pytest.fixture(scope="session")
def assert_valid_response(response_schema):
    def check(body: dict) -> dict:
        errors = sorted(response_schema.iter_errors(body), key=str)
        assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
        return body

    return check

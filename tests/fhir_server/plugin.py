"""pytest fixtures for the real FHIR R4 test server.

Register with ``pytest_plugins = ["tests.fhir_server.plugin"]`` (or ``-p tests.fhir_server.plugin``).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from tests.fhir_server.harness import FhirTestServer


@pytest.fixture(scope="session")
def fhir_server() -> Iterator[FhirTestServer]:
    """One server for the whole session, protected by a random bearer token (``fhir_server.token``).

    Data loaded by one test stays for the next: use ``fresh_fhir_server`` (or call ``reset()``) for an
    empty server.
    """
    server = FhirTestServer(token=secrets.token_urlsafe(24))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fresh_fhir_server(fhir_server: FhirTestServer) -> Iterator[FhirTestServer]:
    """The session's server, emptied before the test (and after it)."""
    fhir_server.reset()
    yield fhir_server
    if fhir_server.process is not None:
        fhir_server.reset()

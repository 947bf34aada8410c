"""Fixtures of the trajectory app's tests: the real SMART authorization server (Authlib) in front of the
real FHIR test server, loaded with the two fixture patients and a patient with no data, and helpers
that play the EHR (a launch id for a patient) and the user (Allow / Deny on the consent page).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from service.fixtures.render import load_scenarios, render_scenario
from tests.conftest import TODAY
from tests.fhir_server.harness import FhirTestServer
from tests.smart_server.server import SmartTestServer

CLIENT_ID = "nmd-cds-trajectory"
ALS = "als-weight-loss-fvc-falling"
DMD = "dmd-vf-on-zoledronate"
EMPTY_PATIENT = "traj-empty-1"
SCENARIOS = {s["name"]: s for s in load_scenarios() if s["name"] in (ALS, DMD)}
EMPTY_BUNDLE = {
    "resourceType": "Bundle",
    "type": "transaction",
    "entry": [
        {
            "resource": {
                "resourceType": "Patient",
                "id": EMPTY_PATIENT,
                "gender": "female",
                "name": [{"family": "Emptyrecord", "given": ["Nora"]}],
            },
            "request": {"method": "PUT", "url": f"Patient/{EMPTY_PATIENT}"},
        }
    ],
}


def patient_of(name: str) -> str:
    return SCENARIOS[name]["patientId"]


def load_patients(fhir: FhirTestServer) -> None:
    """The two fixture patients (rendered for the tests' date) and one with a Patient resource only.
    PUTs with fixed ids: loading again (after another test emptied the server) changes nothing."""
    if len(SCENARIOS) != 2:
        pytest.fail(
            f"fixture scenarios {ALS} and {DMD} are missing from fhir_fixtures/scenarios", pytrace=False
        )
    for scenario in SCENARIOS.values():
        fhir.load_bundle(render_scenario(scenario, TODAY)["bundle"])
    fhir.load_bundle(EMPTY_BUNDLE)


@pytest.fixture(scope="session")
def smart_servers(fhir_server: FhirTestServer) -> Iterator[dict[str, SmartTestServer]]:
    """A protected SMART server (reads need a token) and an open-reads one (what the Sandbox needs)."""
    servers = {
        "protected": SmartTestServer(fhir_server).start(),
        "open": SmartTestServer(fhir_server, open_reads=True).start(),
    }
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture
def smart(smart_servers: dict[str, SmartTestServer], fhir_server: FhirTestServer) -> SmartTestServer:
    server = smart_servers["protected"]
    server.reset()
    load_patients(fhir_server)
    return server


@pytest.fixture
def open_smart(smart_servers: dict[str, SmartTestServer], fhir_server: FhirTestServer) -> SmartTestServer:
    server = smart_servers["open"]
    server.reset()
    load_patients(fhir_server)
    return server


@dataclass
class Consent:
    """The user at the EHR's consent page, driven over HTTP (the browser tests click instead)."""

    smart: SmartTestServer

    def answer(self, authorize_url: str, allow: bool) -> str:
        """GET the consent page, POST the decision; return the redirect back to the app (the callback)."""
        page = requests.get(authorize_url, timeout=10, allow_redirects=False)
        assert page.status_code == 200, page.text
        assert 'id="allow"' in page.text
        decision = requests.post(
            authorize_url, data={"decision": "allow" if allow else "deny"}, timeout=10, allow_redirects=False
        )
        assert decision.status_code == 302, decision.text
        return decision.headers["Location"]


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def new_secret() -> str:
    return secrets.token_urlsafe(8)

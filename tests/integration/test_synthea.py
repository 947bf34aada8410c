"""Realistic data: the Synthea patients (with an in-scope diagnosis added and dates shifted to be recent)
run through both paths without errors and with the same cards."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from service.app import create_app
from service.fixtures.render import prefetch_for, transaction_bundle
from tests import builders as b
from tests.conftest import TODAY, data_files
from tests.integration.test_scenarios import outcome

FILES = data_files("synthea", "*.json", expected=3)
KEEP = {
    "Patient",
    "Condition",
    "Observation",
    "MedicationRequest",
    "MedicationStatement",
    "Procedure",
    "DiagnosticReport",
    "ServiceRequest",
    "MedicationAdministration",
}
DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(T.*)?$")
URN = re.compile(r"^urn:uuid:([0-9a-f-]{36})$")


def shift_dates(value, delta: timedelta, types: dict[str, str]):
    if isinstance(value, str):
        m = DATE.match(value)
        if m:
            return (date.fromisoformat(m.group(1)) + delta).isoformat() + (m.group(2) or "")
        u = URN.match(value)
        if u and u.group(1) in types:
            return f"{types[u.group(1)]}/{u.group(1)}"
        return value
    if isinstance(value, list):
        return [shift_dates(v, delta, types) for v in value]
    if isinstance(value, dict):
        return {k: (v if k in ("birthDate",) else shift_dates(v, delta, types)) for k, v in value.items()}
    return value


def prepare(path: Path) -> tuple[str, list[dict]]:
    bundle = json.loads(path.read_text())
    resources = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] in KEEP]
    types = {r["id"]: r["resourceType"] for r in (e["resource"] for e in bundle["entry"])}
    latest = max(
        datetime.fromisoformat(o["effectiveDateTime"][:10]).date()
        for o in resources
        if o["resourceType"] == "Observation" and "effectiveDateTime" in o
    )
    delta = (TODAY - timedelta(days=10)) - latest
    resources = [shift_dates(r, delta, types) for r in resources]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    # Some Synthea patients died years ago; deceased patients rightly get no cards, so keep them alive.
    for key in [k for k in patient if k.startswith("deceased")]:
        del patient[key]
    resources.append(
        b.condition(
            f"nmd-{patient['id'][:8]}",
            "86044005",
            pid=patient["id"],
            onset=(TODAY - timedelta(days=400)).isoformat(),
        )
    )
    return patient["id"], resources


@pytest.mark.fhir_server
@pytest.mark.parametrize("path", FILES, ids=[p.name.split("_")[0] for p in FILES])
def test_synthea_patient_on_both_paths(path, fhir_server, settings, assert_valid_response):
    pid, resources = prepare(path)
    fhir_server.load_bundle(transaction_bundle(resources))
    client = create_app(
        settings.with_(fhir_page_count=50, fhir_allowed_servers=(fhir_server.base_url,))
    ).test_client()
    with_prefetch = client.post(
        "/cds-services/nmd-bone-health", json=b.hook_request(prefetch_for(resources, pid), pid=pid)
    )
    without = client.post(
        "/cds-services/nmd-bone-health",
        json=b.hook_request(
            None,
            pid=pid,
            fhirServer=fhir_server.base_url,
            fhirAuthorization={
                "access_token": fhir_server.token,
                "token_type": "Bearer",
                "expires_in": 300,
                "scope": "patient/*.read",
                "subject": "nmd-cds",
            },
        ),
    )
    assert with_prefetch.status_code == 200, with_prefetch.get_json()
    assert without.status_code == 200, without.get_json()
    a = assert_valid_response(with_prefetch.get_json())
    assert outcome(a) == outcome(assert_valid_response(without.get_json()))
    assert a["cards"], "an ALS patient followed for years should get at least one card"

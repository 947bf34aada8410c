"""GET /cds-services: the service, its hook, texts and prefetch templates (CDS Hooks 2.0, Discovery)."""

from __future__ import annotations

import re

import pytest

from service.app import create_app
from service.cds_hooks.request import validator
from service.knowledge import default_knowledge

LOINC = "http://loinc.org"
OBSERVATION_SETS = ("dxa", "body-measurements", "spirometry", "labs", "vertebral-fracture-observation")
LOCAL_WEIGHT = "http://hospital.example/fhir/CodeSystem/local|WT-1"
SITE_FILE = """
local_codes:
  - system: http://hospital.example/fhir/CodeSystem/local
    code: WT-1
    display: Weight (ward scale)
    same_as: {system: loinc, code: 29463-7}
"""


def observation_codes(client) -> list[str]:
    template = client.get("/cds-services").get_json()["services"][0]["prefetch"]["observations"]
    return dict(p.split("=", 1) for p in template.split("?", 1)[1].split("&"))["code"].split(",")


def test_discovery_lists_the_service(client):
    resp = client.get("/cds-services")
    assert resp.status_code == 200
    body = resp.get_json()
    assert not list(validator("discovery").iter_errors(body))
    (svc,) = body["services"]
    assert svc["id"] == "nmd-bone-health"
    assert svc["hook"] == "patient-view"
    for key in ("title", "description", "usageRequirements"):
        assert svc[key].strip()


@pytest.mark.parametrize(
    "key, resource",
    [
        ("patient", "Patient/"),
        ("conditions", "Condition?"),
        ("observations", "Observation?"),
        ("medicationRequests", "MedicationRequest?"),
        ("medicationStatements", "MedicationStatement?"),
        ("medicationAdministrations", "MedicationAdministration?"),
        ("diagnosticReports", "DiagnosticReport?"),
        ("procedures", "Procedure?"),
        ("serviceRequests", "ServiceRequest?"),
    ],
)
def test_prefetch_templates_cover_every_resource_the_rules_need(client, key, resource):
    template = client.get("/cds-services").get_json()["services"][0]["prefetch"][key]
    assert template.startswith(resource)
    # Only {{context.patientId}} tokens; R4 syntax (no DSTU2 sort:desc).
    assert set(re.findall(r"\{\{([^}]*)\}\}", template)) == {"context.patientId"}
    assert "sort:desc" not in template


def test_observation_template_asks_for_every_known_loinc(client):
    template = client.get("/cds-services").get_json()["services"][0]["prefetch"]["observations"]
    assert "_sort=-date" in template
    code_param = dict(p.split("=", 1) for p in template.split("?", 1)[1].split("&"))["code"]
    asked = {c.split("|", 1)[1] for c in code_param.split(",") if c.startswith(LOINC + "|")}
    for loinc in (
        "29463-7",
        "8302-2",
        "39156-5",
        "59576-9",
        "19870-5",
        "19872-1",
        "19867-1",
        "62292-8",
        "1989-3",
        "14635-7",
        "24966-4",
        "85394-5",
        "38267-1",
        "80933-5",
        "2160-0",
        "33863-2",
    ):
        assert loinc in asked


def test_observation_template_asks_for_every_code_of_the_observation_value_sets(client):
    asked = observation_codes(client)
    vocabulary = default_knowledge().vocabulary
    wanted = [f"{system}|{code}" for vs in OBSERVATION_SETS for system, code in vocabulary[vs].pairs()]
    assert set(wanted) <= set(asked) and len(asked) == len(set(asked))
    assert LOCAL_WEIGHT not in asked


def test_a_site_local_code_is_in_the_observation_template(tmp_path, settings):
    path = tmp_path / "site.yaml"
    path.write_text(SITE_FILE)
    site_client = create_app(settings.with_(site_file=str(path))).test_client()
    asked = observation_codes(site_client)
    assert LOCAL_WEIGHT in asked and f"{LOINC}|29463-7" in asked

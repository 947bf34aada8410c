"""The fixture scenarios of the realistic shapes say what they claim (issue item 8): a DXA panel gives
the same card as separate Observations, a gastrostomy coded in CPT suppresses the gastrostomy card as
the SNOMED-coded one does, and the other patient's results in `another-patient-in-the-chart` are loud
— the same values on the patient's own subject would give cards."""

from __future__ import annotations

import copy

import pytest

from service.fixtures.render import load_scenarios, render_scenario
from tests.conftest import TODAY

URL = "/cds-services/nmd-bone-health"
SCENARIOS = {s["name"]: s for s in load_scenarios()}


def _cards(client, request: dict) -> list[tuple]:
    resp = client.post(URL, json=request)
    assert resp.status_code == 200, resp.get_json()
    return sorted(
        (c["indicator"], c["summary"], tuple(c["extension"]["org.example.nmd-cds.rules"]))
        for c in resp.get_json()["cards"]
    )


@pytest.mark.parametrize(
    "shape, twin",
    [
        ("dxa-panel-one-observation", "adult-55-lowest-site-t-score"),
        ("als-gastrostomy-by-cpt", "als-gastrostomy-documented"),
    ],
)
def test_a_shape_gives_the_cards_of_its_twin(client, shape, twin) -> None:
    a = _cards(client, render_scenario(SCENARIOS[shape], TODAY)["request"])
    b = _cards(client, render_scenario(SCENARIOS[twin], TODAY)["request"])
    assert a == b and a


def test_the_other_patients_results_would_give_cards_on_our_patient(client) -> None:
    scenario = copy.deepcopy(SCENARIOS["another-patient-in-the-chart"])
    pid = scenario["patientId"]
    assert _cards(client, render_scenario(scenario, TODAY)["request"]) == []
    for r in scenario["resources"]:
        if r["id"].startswith(f"{pid}-") and r.get("subject", {}).get("reference") != f"Patient/{pid}":
            if r["resourceType"] != "Patient":
                r["subject"] = {"reference": f"Patient/{pid}"}
    loud = _cards(client, render_scenario(scenario, TODAY)["request"])
    assert {"NUT-02", "RESP-01"} <= {r for *_, rules in loud for r in rules}


def test_without_the_fusion_the_lumbar_spine_is_valid(client) -> None:
    fused = _cards(client, render_scenario(SCENARIOS["bmd-spinal-fusion-procedure"], TODAY)["request"])
    plain = _cards(client, render_scenario(SCENARIOS["bmd-single-site-only"], TODAY)["request"])
    assert [rules for *_, rules in fused] == [("BMD-03", "BMD-04")]
    assert [rules for *_, rules in plain] == [("BMD-03",)]


def test_the_same_fracture_after_a_fall_from_bed_is_a_fragility_fracture(client) -> None:
    scenario = copy.deepcopy(SCENARIOS["dmd-vertebral-fracture-car-crash"])
    assert _cards(client, render_scenario(scenario, TODAY)["request"]) == []
    for r in scenario["resources"]:
        if r["id"].endswith("-cause9"):
            r["code"] = {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "W06.XXXA"}]}
    fall = _cards(client, render_scenario(scenario, TODAY)["request"])
    assert {"BT-01", "BMD-02"} <= {r for *_, rules in fall for r in rules}

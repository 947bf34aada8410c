"""No resource referring to another patient, in any reference form, influences a card (issue item 1).

A property-based test: for every fixture scenario, Hypothesis takes clinically loud resources from the
other scenarios (weight loss, vertebral fractures, low DXA scores, steroids, ALS diagnoses …), points
their subject at another patient in one of the reference forms an EHR sends — relative, absolute on
any base, ``urn:uuid`` (with the other patient's entry in the Bundle, or dangling), a logical
identifier, a contained Patient, a display only, no subject at all — sometimes under the very ids of
the scenario's own resources, and mixes them into the scenario's full prefetch. The cards must be
exactly the cards of the scenario alone.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.fixtures.render import fill, load_scenarios, render_scenario
from tests.builders import PREFETCH_KEY_OF
from tests.conftest import TODAY

URL = "/cds-services/nmd-bone-health"
SCENARIOS = list(load_scenarios())
KEY_OF = PREFETCH_KEY_OF
OTHER = "someone-else"
OTHER_ID = {"system": "urn:oid:2.16.840.1.113883.19.5", "value": "MRN-0042"}
OTHER_URN = "urn:uuid:7d5b1f6e-3c1a-4f0e-9a55-000000000042"
FORMS = [
    "relative",
    "absolute",
    "absolute-history",
    "urn-in-bundle",
    "urn-dangling",
    "identifier",
    "identifier-same-value",
    "contained",
    "display-only",
    "no-subject",
    "group",
]
# Every resource a scenario holds for its patient, by type, from every scenario: the loud data.
LOUD = [(s["name"], r) for s in SCENARIOS for r in fill(s["resources"], TODAY) if r["resourceType"] in KEY_OF]


def _subject(form: str, patient_id: str) -> dict[str, Any] | None:
    return {
        "relative": {"reference": f"Patient/{OTHER}"},
        "absolute": {"reference": f"https://ehr.example.org/fhir/Patient/{OTHER}"},
        "absolute-history": {"reference": f"http://10.1.2.3:8080/baseR4/Patient/{OTHER}/_history/7"},
        "urn-in-bundle": {"reference": OTHER_URN},
        "urn-dangling": {"reference": "urn:uuid:00000000-0000-4000-8000-0000000000ff"},
        "identifier": {"identifier": OTHER_ID, "type": "Patient"},
        "identifier-same-value": {"identifier": {"system": "urn:oid:9.9.9", "value": patient_id}},
        "contained": {"reference": "#pat"},
        "display-only": {"display": "Jane Other"},
        "no-subject": None,
        "group": {"reference": f"Group/{patient_id}"},
    }[form]


def _foreign(resource: dict, form: str, patient_id: str, new_id: str) -> dict:
    r = copy.deepcopy(resource)
    r["id"] = new_id
    for key in ("subject", "patient"):
        r.pop(key, None)
    subject = _subject(form, patient_id)
    if subject is not None:
        r["subject"] = subject
    if form == "contained":
        other = {"resourceType": "Patient", "id": "pat", "identifier": [OTHER_ID]}
        r["contained"] = [*r.get("contained", []), other]
    return r


def _mix(request: dict, foreign: list[dict]) -> dict:
    out = copy.deepcopy(request)
    prefetch = out["prefetch"]
    for r in foreign:
        key = KEY_OF[r["resourceType"]]
        bundle = prefetch.get(key) or {"resourceType": "Bundle", "type": "searchset", "entry": []}
        entry: dict[str, Any] = {"fullUrl": f"https://ehr.example.org/fhir/{r['resourceType']}/{r['id']}"}
        if r.get("subject", {}).get("reference") == OTHER_URN:
            bundle["entry"].append(
                {
                    "fullUrl": OTHER_URN,
                    "resource": {"resourceType": "Patient", "id": OTHER, "identifier": [OTHER_ID]},
                }
            )
        bundle["entry"].append({**entry, "resource": r, "search": {"mode": "match"}})
        prefetch[key] = bundle
    return out


def _cards(client, request: dict) -> list[tuple]:
    resp = client.post(URL, json=request)
    assert resp.status_code == 200, resp.get_json()
    return sorted(
        (
            c["indicator"],
            c["summary"],
            c.get("detail", ""),
            tuple(c["extension"]["org.example.nmd-cds.rules"]),
        )
        for c in resp.get_json()["cards"]
    )


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
def test_another_patients_resources_never_change_the_cards(scenario, kit_client) -> None:
    client = kit_client
    request = render_scenario(scenario, TODAY)["request"]
    baseline = _cards(client, request)
    own_ids = [r["id"] for r in fill(scenario["resources"], TODAY) if r["resourceType"] in KEY_OF]
    pid = scenario["patientId"]

    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        st.lists(
            st.tuples(
                st.sampled_from(range(len(LOUD))),
                st.sampled_from(FORMS),
                st.sampled_from([None, *own_ids]) if own_ids else st.none(),
            ),
            min_size=1,
            max_size=6,
        )
    )
    def mixed(picks) -> None:
        foreign = []
        for n, (index, form, same_id) in enumerate(picks):
            _, resource = LOUD[index]
            same_type = same_id is not None and any(
                r["id"] == same_id and r["resourceType"] == resource["resourceType"]
                for r in fill(scenario["resources"], TODAY)
            )
            foreign.append(
                _foreign(resource, form, pid, same_id if same_type else f"other-{n}-{resource['id']}")
            )
        assert _cards(client, _mix(request, foreign)) == baseline

    mixed()

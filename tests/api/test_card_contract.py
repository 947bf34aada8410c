"""The card contract: the response schema that every API test applies rejects what the contract forbids."""

from __future__ import annotations

import copy

import pytest

from tests import builders as b
from tests.conftest import TODAY


@pytest.fixture
def real_response(client, assert_valid_response):
    body = client.post(
        "/cds-services/nmd-bone-health", json=b.hook_request(b.full_prefetch(b.als_weight_loss(TODAY)))
    )
    return assert_valid_response(body.get_json())


def set_path(body: dict, path: tuple, value) -> dict:
    body = copy.deepcopy(body)
    target = body
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    "path, value",
    [
        (("cards", 0, "summary"), "x" * 140),  # must stay under 140 characters
        (("cards", 0, "detail"), None),  # optional fields are omitted, never null
        (("cards", 0, "detail"), ""),
        (("cards", 0, "suggestions"), []),  # ... or empty
        (("cards", 0, "indicator"), "hard-stop"),
        (("cards", 0, "uuid"), KeyError),
        (("cards", 0, "source", "topic", "code"), "bones"),
        (("cards", 0, "source", "topic", "system"), "http://example.org/other"),
        (("cards", 0, "source", "url"), KeyError),
        (("cards", 0, "overrideReasons", 0, "display"), KeyError),
        (("cards", 0, "selectionBehavior"), KeyError),  # suggestions require selectionBehavior
        (("cards", 0, "suggestions", 0, "actions", 0, "description"), KeyError),
        (("cards", 0, "links"), []),
        (("cards", 0, "links"), KeyError),  # every card links to its rule's page
        (("cards", 0, "extension", "org.example.nmd-cds.rules"), []),
    ],
)
def test_schema_rejects_contract_violations(real_response, response_schema, path, value):
    assert not list(response_schema.iter_errors(real_response))
    broken = set_path(real_response, path, value)
    assert list(response_schema.iter_errors(broken)), f"schema accepted {path} = {value!r}"


def test_real_cards_meet_the_contract(real_response):
    for card in real_response["cards"]:
        assert len(card["summary"]) < 140
        assert "| What | Value | Date |" in card["detail"] and "Sources: [" in card["detail"]
        rule = card["extension"]["org.example.nmd-cds.rules"][0]
        assert card["links"][0]["url"].endswith(f"/knowledge/rules/{rule}")
        for suggestion in card.get("suggestions", []):
            for action in suggestion["actions"]:
                assert action["resource"]["resourceType"] == "ServiceRequest"
                assert action["resource"]["subject"] == {"reference": f"Patient/{b.PATIENT_ID}"}

"""POST /cds-services/nmd-bone-health/feedback through the Flask test client."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.app import create_app
from service.feedback.ledger import FeedbackLedger
from service.feedback.sqlite_store import SqliteStore
from service.feedback.store import StoreError
from tests import builders as b
from tests.conftest import DATA, TODAY

URL = "/cds-services/nmd-bone-health"
FEEDBACK = URL + "/feedback"
SPEC = DATA / "cds-hooks-spec"
REASONS = "https://nmd-cds.example.org/fhir/CodeSystem/override-reason"


def spec_example(name: str) -> dict:
    return json.loads((SPEC / f"feedback-{name}-example.json").read_text())


@pytest.fixture
def card(client) -> dict:
    """A nutrition card really issued to pt-1 (with a suggestion)."""
    body = client.post(URL, json=b.hook_request(b.full_prefetch(b.als_weight_loss(TODAY)))).get_json()
    return next(c for c in body["cards"] if c.get("suggestions"))


def _for(card: dict, example: str) -> dict:
    """The spec example, pointed at a card (and suggestion) this service issued."""
    body = spec_example(example)
    item = body["feedback"][0]
    item["card"] = card["uuid"]
    if "acceptedSuggestions" in item:
        item["acceptedSuggestions"] = [{"id": card["suggestions"][0]["uuid"]}]
    return body


@pytest.mark.parametrize("example", ["accepted", "overridden", "overridden-with-reason"])
def test_spec_examples_are_accepted(client, card, example: str) -> None:
    resp = client.post(FEEDBACK, json=_for(card, example))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"stored": 1, "duplicates": 0}
    again = client.post(FEEDBACK, json=_for(card, example))  # an EHR retrying: idempotent
    assert (again.status_code, again.get_json()) == (200, {"stored": 0, "duplicates": 1})


def test_sandbox_override_reason_without_display(client, card) -> None:
    body = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "overridden",
                "outcomeTimestamp": "2026-11-21T10:00:00.52Z",
                "overrideReason": {"reason": {"code": "already-done-elsewhere", "system": REASONS}},
            }
        ]
    }
    assert client.post(FEEDBACK, json=body).status_code == 200


@pytest.mark.parametrize("example", ["accepted", "overridden", "overridden-with-reason"])
def test_spec_example_cards_were_never_issued_here(client, example: str) -> None:
    resp = client.post(FEEDBACK, json=spec_example(example))
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["error"] == "unknown_card" and "feedback/0/card" in body["details"][0]


def test_foreign_suggestion_is_422(client, card) -> None:
    body = _for(card, "accepted")
    body["feedback"][0]["acceptedSuggestions"] = [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}]
    resp = client.post(FEEDBACK, json=body)
    assert resp.status_code == 422 and "acceptedSuggestions" in resp.get_json()["details"][0]


def _mutate(path: str, value: object):
    def apply(item: dict) -> None:
        if value is KeyError:
            item.pop(path)
        else:
            item[path] = value

    return apply


@pytest.mark.parametrize(
    "name, mutate, detail",
    [
        ("no card", _mutate("card", KeyError), "'card' is a required property"),
        ("card not a string", _mutate("card", 12), "feedback/0/card"),
        ("unknown outcome", _mutate("outcome", "ignored"), "feedback/0/outcome"),
        ("no timestamp", _mutate("outcomeTimestamp", KeyError), "'outcomeTimestamp' is a required property"),
        (
            "timestamp without offset",
            _mutate("outcomeTimestamp", "2021-12-11T10:05:31"),
            "feedback/0/outcomeTimestamp",
        ),
        (
            "impossible date",
            _mutate("outcomeTimestamp", "2021-02-30T10:05:31Z"),
            "feedback/0/outcomeTimestamp",
        ),
        (
            "year 1 moved before year 1 by the offset",
            _mutate("outcomeTimestamp", "0001-01-01T00:00:00+01:00"),
            "feedback/0/outcomeTimestamp",
        ),
        (
            "year 9999 moved past year 9999 by the offset",
            _mutate("outcomeTimestamp", "9999-12-31T23:59:59-01:00"),
            "feedback/0/outcomeTimestamp",
        ),
        ("accepted without suggestions", _mutate("acceptedSuggestions", KeyError), "acceptedSuggestions"),
        ("empty suggestions", _mutate("acceptedSuggestions", []), "feedback/0/acceptedSuggestions"),
        ("empty override reason", _mutate("overrideReason", {}), "feedback/0/overrideReason"),
        (
            "reason without code",
            _mutate("overrideReason", {"reason": {"system": REASONS}}),
            "overrideReason/reason",
        ),
    ],
)
def test_malformed_item_is_400_with_details(client, card, name: str, mutate, detail: str) -> None:
    body = _for(card, "accepted")
    mutate(body["feedback"][0])
    resp = client.post(FEEDBACK, json=body)
    assert resp.status_code == 400, name
    assert any(detail in d for d in resp.get_json()["details"]), resp.get_json()


@pytest.mark.parametrize(
    "body, status",
    [
        ({}, 400),
        ({"feedback": []}, 400),
        ({"feedback": {"card": "x"}}, 400),
        ([], 400),
    ],
)
def test_malformed_body(client, body: object, status: int) -> None:
    assert client.post(FEEDBACK, json=body).status_code == status


def test_every_problem_is_reported_at_once(client) -> None:
    body = {"feedback": [{"outcome": "maybe"}, {"card": "a", "outcome": "accepted", "outcomeTimestamp": "x"}]}
    details = client.post(FEEDBACK, json=body).get_json()["details"]
    assert len(details) >= 5


@pytest.mark.parametrize(
    "path, data, content_type, status",
    [
        ("/cds-services/nope/feedback", b"{}", "application/json", 404),
        (FEEDBACK, b"{}", "text/plain", 415),
        (FEEDBACK, b"{not json", "application/json", 400),
        (FEEDBACK, b"[" * 100 + b"]" * 100, "application/json", 400),
    ],
)
def test_http_errors(client, path: str, data: bytes, content_type: str, status: int) -> None:
    resp = client.post(path, data=data, content_type=content_type)
    assert resp.status_code == status and resp.is_json


class BrokenStore:
    def record_feedback(self, *args, **kwargs):
        raise StoreError("database is locked")


def test_storage_failure_is_503(settings) -> None:
    client = create_app(settings, ledger=FeedbackLedger(BrokenStore(), b"k", 180, 7)).test_client()
    body = {"feedback": [{"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-11-21T10:00:00Z"}]}
    resp = client.post(FEEDBACK, json=body)
    assert resp.status_code == 503 and resp.get_json()["error"] == "unavailable"
    assert resp.headers.get("Retry-After") == "5"  # tells the EHR when to retry


def test_retry_after_only_on_503(client, card) -> None:
    assert "Retry-After" not in client.post(FEEDBACK, json=_for(card, "overridden")).headers


def test_authentication_and_cors_apply(settings) -> None:
    client = create_app(settings.with_(auth=True)).test_client()
    origin = settings.cors_origins[0]
    assert client.post(FEEDBACK, json=spec_example("overridden")).status_code == 401
    pre = client.options(FEEDBACK, headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 204 and pre.headers["Access-Control-Allow-Origin"] == origin


def test_feedback_is_committed_before_the_200(settings, client, card) -> None:
    """A second, independent connection to the same file sees the item as soon as the 200 is out."""
    assert client.post(FEEDBACK, json=_for(card, "overridden")).status_code == 200
    other = SqliteStore(Path(settings.sqlite_path))
    assert [i.card_uuid for i in other.feedback_for([card["uuid"]])] == [card["uuid"]]
    other.close()

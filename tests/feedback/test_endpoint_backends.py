"""The feedback endpoint on both backends: input either database would choke on is a 400 first."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from service.app import create_app
from service.config import Settings
from tests import builders as b
from tests.conftest import TODAY
from tests.feedback.conftest import StoreSpec, settings_for

URL = "/cds-services/nmd-bone-health"
FEEDBACK = URL + "/feedback"
REASONS = "https://nmd-cds.example.org/fhir/CodeSystem/override-reason"
NUL = "\u0000"


def _overridden(card: dict) -> dict:
    return {
        "card": card["uuid"],
        "outcome": "overridden",
        "outcomeTimestamp": "2026-11-21T10:00:00Z",
        "overrideReason": {
            "reason": {"code": "already-done-elsewhere", "system": REASONS, "display": "Done"},
            "userComment": "done at the regional centre",
        },
    }


def _accepted(card: dict) -> dict:
    return {
        "card": card["uuid"],
        "outcome": "accepted",
        "outcomeTimestamp": "2026-11-21T10:00:00Z",
        "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}],
    }


def _set(path: tuple[str | int, ...], tail: str) -> Callable[[dict], None]:
    def apply(item: dict) -> None:
        target = item
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = target[path[-1]] + tail

    return apply


@pytest.mark.parametrize(
    "name, make, mutate, detail",
    [
        ("NUL at the end of the card uuid", _overridden, _set(("card",), NUL), "feedback/0/card"),
        ("card uuid 'abc<NUL>'", _overridden, lambda i: i.update(card="abc" + NUL), "feedback/0/card"),
        (
            "NUL in reason.code",
            _overridden,
            _set(("overrideReason", "reason", "code"), NUL),
            "feedback/0/overrideReason/reason/code",
        ),
        (
            "NUL in reason.system",
            _overridden,
            _set(("overrideReason", "reason", "system"), NUL),
            "feedback/0/overrideReason/reason/system",
        ),
        (
            "NUL in reason.display",
            _overridden,
            _set(("overrideReason", "reason", "display"), NUL),
            "feedback/0/overrideReason/reason/display",
        ),
        (
            "NUL in userComment",
            _overridden,
            _set(("overrideReason", "userComment"), NUL + "x"),
            "feedback/0/overrideReason/userComment",
        ),
        (
            "NUL in an accepted suggestion id",
            _accepted,
            _set(("acceptedSuggestions", 0, "id"), NUL),
            "feedback/0/acceptedSuggestions/0/id",
        ),
    ],
)
def test_nul_character_is_400_on_both_backends(
    store_spec: StoreSpec, settings: Settings, name: str, make, mutate, detail: str
) -> None:
    """PostgreSQL text cannot hold U+0000 (psycopg DataError, which would be a 503 retried forever)."""
    app = create_app(settings_for(store_spec, settings))
    client = app.test_client()
    body = client.post(URL, json=b.hook_request(b.full_prefetch(b.als_weight_loss(TODAY)))).get_json()
    card = next(c for c in body["cards"] if c.get("suggestions"))
    item = make(card)
    mutate(item)
    resp = client.post(FEEDBACK, json={"feedback": [make(card), item]})
    assert resp.status_code == 400, (name, resp.get_json())
    details = resp.get_json()["details"]
    second = detail.replace("feedback/0/", "feedback/1/", 1)  # the NUL is in the second item
    assert [d for d in details if d.startswith(second + ":")], details
    store = app.extensions["nmd_cds_engine"].ledger.store
    assert store.feedback_for([card["uuid"]]) == []  # nothing stored, not even the valid first item
    store.close()

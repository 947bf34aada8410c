"""The issue's scenario end to end (Flask test client, real rules, both backends): a card overridden
as "already done elsewhere" is withheld for the same patient, shown for another, and comes back
when the evidence changes (a further weight loss)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.app import create_app
from tests import builders as b
from tests.conftest import TODAY

URL = "/cds-services/nmd-bone-health"
REASONS = "https://nmd-cds.example.org/fhir/CodeSystem/override-reason"


@pytest.fixture
def client(settings, store_spec):
    if store_spec.kind == "postgres":
        settings = settings.with_(
            database_url=f"{store_spec.target}?options=-csearch_path%3D{store_spec.schema}"
        )
    app = create_app(settings)
    yield app.test_client()
    app.extensions["nmd_cds_engine"].ledger.store.close()


def nutrition(client, pid: str, current: float = 67.6) -> list[dict]:
    chart = b.als_weight_loss(TODAY, pid=pid, current=current)
    resp = client.post(URL, json=b.hook_request(b.full_prefetch(chart), pid=pid))
    assert resp.status_code == 200, resp.get_json()
    return [c for c in resp.get_json()["cards"] if c["source"]["topic"]["code"] == "nutrition-referral"]


def override(client, card: dict, code: str | None) -> None:
    item: dict = {
        "card": card["uuid"],
        "outcome": "overridden",
        "outcomeTimestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    if code:
        item["overrideReason"] = {
            "reason": {"system": REASONS, "code": code},
            "userComment": "done at clinic X",
        }
    resp = client.post(URL + "/feedback", json={"feedback": [item]})
    assert resp.status_code == 200, resp.get_json()


@pytest.mark.parametrize(
    "reason, same_patient_again, other_patient, more_weight_lost",
    [
        ("already-done-elsewhere", 0, 1, 1),
        ("patient-declined", 0, 1, 1),
        (None, 1, 1, 1),  # overridden without a reason: not silenced
    ],
)
def test_override_silences_the_same_advice_for_the_same_patient(
    client, reason, same_patient_again: int, other_patient: int, more_weight_lost: int
) -> None:
    [card] = nutrition(client, "pt-a")
    override(client, card, reason)
    assert len(nutrition(client, "pt-a")) == same_patient_again
    assert len(nutrition(client, "pt-b")) == other_patient
    assert len(nutrition(client, "pt-a", current=64.0)) == more_weight_lost  # evidence changed
